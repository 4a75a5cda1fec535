"""`dbreview init`: a commented `.dbreview.yml` detected from the repository, and the example GitHub workflow.

Detection reads the files the way a review does (bot.surfaces.detect_layout): the schema files or multi-file schema
folder, the migrations folders, the provider from `migration_lock.toml` or the schema's datasource, and where the
code that calls Prisma Client lives. Nothing is overwritten: when a target exists, init says so and writes nothing
(`--force` replaces).
"""

from __future__ import annotations

import posixpath
from collections import Counter
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path

from bot.config import CONFIG_PATHS, Config, parse_config
from bot.surfaces import calls_prisma, detect_layout, is_query_path

CONFIG_NAME = ".dbreview.yml"
WORKFLOW_PATH = ".github/workflows/dbreview.yml"
MAX_QUERY_SCAN = 5_000  # files read to find where Prisma Client is called


class InitError(Exception):
    """A target exists (or cannot be written); nothing was written."""


@dataclass
class Detected:
    schemas: list[list[str]] = field(default_factory=list)
    migration_dirs: list[str] = field(default_factory=list)
    provider: str | None = None
    provider_source: str = ""
    query_roots: list[tuple[str, int]] = field(default_factory=list)  # top folder, files calling Prisma Client


def detect(repo: Path) -> Detected:
    from bot.gitrepo import WorkTreeSnapshot
    from bot.prisma.load import load_texts

    snapshot = WorkTreeSnapshot(repo)
    layout = detect_layout(snapshot, Config())
    found = Detected(schemas=layout.schemas, migration_dirs=layout.migration_dirs)
    if layout.provider:
        lock = next((f"{d}/migration_lock.toml" for d in layout.migration_dirs
                     if snapshot.read_bytes(f"{d}/migration_lock.toml") is not None), "migration_lock.toml")
        found.provider, found.provider_source = layout.provider, lock
    elif layout.schemas:
        group = layout.schemas[0]
        texts = {p: (snapshot.read_bytes(p) or b"").decode("utf-8", "replace") for p in group}
        schema = load_texts(texts).schema
        if schema is not None and schema.provider:
            found.provider, found.provider_source = schema.provider, "the schema's datasource"
    roots: Counter[str] = Counter()
    scanned = 0
    for path in snapshot.list_files():
        if not is_query_path(path) or scanned >= MAX_QUERY_SCAN:
            continue
        scanned += 1
        data = snapshot.read_bytes(path)
        if data and len(data) < 1_000_000 and calls_prisma(data.decode("utf-8", "replace")):
            roots[path.split("/", 1)[0] if "/" in path else "."] += 1
    found.query_roots = roots.most_common()
    return found


def _glob_for_schema(group: list[str]) -> str:
    if len(group) == 1:
        return group[0]
    folder = posixpath.commonpath(group)
    return f"{folder}/**/*.prisma"


def _yaml_list(items: list[str]) -> str:
    return "[" + ", ".join(f'"{i}"' for i in items) + "]"


def config_text(found: Detected) -> str:
    """The commented config; every active line is what detection found (and what dbreview would find anyway)."""
    lines = [
        "# dbreview: review of the database side of pull requests (Prisma schema, migrations, Prisma Client code).",
        "# Docs: https://github.com/dbreview/dbreview#configuration-dbreviewyml",
        "# In pull requests this file is read from the base branch: a PR cannot change its own review rules.",
        "#",
        "# Detected by `dbreview init`:",
    ]
    if found.provider:
        lines.append(f"#   database: {found.provider} (from {found.provider_source})")
        if found.provider not in ("postgresql", "postgres"):
            lines.append("#   note: the lock and rewrite rules are written for PostgreSQL; on this database the")
            lines.append("#   schema, history and query rules apply, the PostgreSQL lock rules do not.")
    else:
        lines.append("#   database: not found (no migration_lock.toml, no datasource provider)")
    if found.schemas:
        for group in found.schemas:
            lines.append(f"#   schema: {group[0]}" + (f" and {len(group) - 1} more .prisma files" if len(group) > 1
                                                    else ""))
    else:
        lines.append("#   schema: none found (set paths.schema below when it is added)")
    lines += [f"#   migrations: {d}/" for d in found.migration_dirs] or ["#   migrations: none found"]
    if found.query_roots:
        listed = ", ".join(f"{root}/ ({n} file{'s' if n != 1 else ''})" for root, n in found.query_roots[:6])
        lines.append(f"#   code calling Prisma Client: {listed}")
    lines += [
        "",
        "# Exit code of `dbreview check` and the check run's result: fail on findings at or above this severity.",
        "fail_on: error                     # error | warning | info | never",
        "",
        "# Where the Prisma files are. Without these keys dbreview finds them by content; listing them keeps the",
        "# review on these paths as the repository grows.",
        "paths:",
    ]
    if found.schemas:
        lines.append(f"  schema: {_yaml_list([_glob_for_schema(g) for g in found.schemas])}")
    else:
        lines.append('  # schema: ["prisma/schema.prisma"]')
    if found.migration_dirs:
        lines.append(f"  migrations: {_yaml_list([f'{d}/**' for d in found.migration_dirs])}")
    else:
        lines.append('  # migrations: ["prisma/migrations/**"]')
    if found.query_roots:
        roots = [r for r, _ in found.query_roots if r != "."][:6]
        example = _yaml_list([f"{r}/**" for r in roots]) if roots else '["src/**"]'
        lines.append(f"  # query: {example}   # default: every TS/JS file that calls Prisma Client")
    else:
        lines.append('  # query: ["src/**"]              # default: every TS/JS file that calls Prisma Client')
    lines += [
        '  ignore: ["**/generated/**"]',
        "",
        "# What a reviewer should know: table sizes, tenancy, conventions. Also given to the AI review.",
        '# context: "orders holds 50M rows; vendors see only their own rows (RLS)."',
        "",
        "# Opt-in rule packs and per-rule settings (`dbreview rules` lists every rule, `dbreview explain <rule>`).",
        "# enable: [naming]",
        "# rules:",
        "#   prisma/float-money: error       # off | info | warning | error",
        "#   prisma/too-many-indexes: {severity: info, max_indexes: 8}",
        "",
        "review:",
        "  max_inline_comments: 10          # line comments per push; the rest are listed in the summary",
        "  inline_info: false               # info findings stay in the summary",
        "  request_changes: false           # true: errors request changes (dbreview never approves)",
        "",
        "# The AI review runs when ANTHROPIC_API_KEY is set (pip install 'dbreview[llm]').",
        "# llm: {model: claude-sonnet-4-6, max_findings: 10, max_cost_usd_per_review: 1.0}",
        "",
    ]
    return "\n".join(lines)


def workflow_text() -> str:
    return resources.files("bot").joinpath("data/dbreview-workflow.yml").read_text(encoding="utf-8")


def run_init(repo: Path, *, workflow: bool = True, force: bool = False) -> list[str]:
    """Write the config (and the workflow); the paths written. Raises InitError, writing nothing, on a conflict."""
    if not repo.is_dir():
        raise InitError(f"no such directory: {repo}")
    targets: dict[str, str] = {}
    existing_config = next((p for p in CONFIG_PATHS if (repo / p).exists()), None)
    if existing_config and not force:
        raise InitError(f"{existing_config} already exists; nothing written (--force replaces it)")
    text = config_text(detect(repo))
    parse_config(text, CONFIG_NAME)  # what init writes must load: a failure here is a bug, not a user error
    targets[existing_config or CONFIG_NAME] = text
    if workflow:
        if (repo / WORKFLOW_PATH).exists() and not force:
            raise InitError(f"{WORKFLOW_PATH} already exists; nothing written (--force replaces it, "
                            "--no-workflow writes only the config)")
        targets[WORKFLOW_PATH] = workflow_text()
    written = []
    for rel, content in targets.items():
        path = repo / rel
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(content, encoding="utf-8")
        except OSError as exc:
            raise InitError(f"cannot write {rel}: {exc.strerror}") from None
        written.append(rel)
    return written
