"""Optional parts of the install (`pip install 'dbreview[github]'`, …) and the one-line message when one is missing.

The core install runs the analyzers and `check`, `rules`, `explain`, `config-schema`, `init`. Modules that need an
extra import its packages inside the functions that use them, so the core never imports a server package.
"""

from __future__ import annotations

import importlib.util

# extra -> (import names that must be present, what it is for)
EXTRAS: dict[str, tuple[tuple[str, ...], str]] = {
    "github": (("github", "httpx", "jwt"), "GitHub Actions and publishing reviews"),
    "llm": (("anthropic",), "the AI review"),
    "app": (("fastapi", "uvicorn", "huey", "sqlalchemy", "alembic", "redis", "psycopg", "github", "httpx", "jwt"),
            "the GitHub App server and workers"),
    "trace": (("psycopg",), "measured locks on PostgreSQL"),
}


class MissingExtra(Exception):
    """A command needs an optional part that is not installed; the message says which one to install."""

    def __init__(self, extra: str, what: str) -> None:
        self.extra = extra
        super().__init__(f"{what} needs the [{extra}] extra ({EXTRAS[extra][1]}): "
                         f"pip install 'dbreview[{extra}]'")


def missing_modules(extra: str) -> list[str]:
    modules, _ = EXTRAS[extra]
    out = []
    for name in modules:
        try:
            if importlib.util.find_spec(name) is None:
                out.append(name)
        except (ImportError, ValueError):
            out.append(name)
    return out


def installed(extra: str) -> bool:
    return not missing_modules(extra)


def require(extra: str, what: str) -> None:
    """Raise MissingExtra when `extra` is not installed; `what` names the command ("`dbreview serve`")."""
    if not installed(extra):
        raise MissingExtra(extra, what)
