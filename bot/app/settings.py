"""Everything the App reads from the environment, in one place, validated once at start-up."""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path


class SettingsError(Exception):
    """A missing or invalid setting; the message names the variable and never its value."""


def _int(env: dict[str, str], name: str, default: int) -> int:
    raw = env.get(name, "").strip()
    if not raw:
        return default
    try:
        return int(raw)
    except ValueError:
        raise SettingsError(f"{name} must be an integer") from None


def _float(env: dict[str, str], name: str, default: float) -> float:
    raw = env.get(name, "").strip()
    if not raw:
        return default
    try:
        return float(raw)
    except ValueError:
        raise SettingsError(f"{name} must be a number") from None


@dataclass(frozen=True)
class Settings:
    webhook_secret: str = field(repr=False)
    data_dir: Path = Path(".dbreview")
    database_url: str = ""
    queue_url: str = ""
    github_app_id: str = ""
    github_private_key: str = field(default="", repr=False)
    github_token: str = field(default="", repr=False)
    github_api_url: str = "https://api.github.com"
    # Login of our own App's bot user ("dbreview[bot]"); comments from it are never commands.
    app_slug: str = "dbreview"
    queue_name: str = "dbreview"
    # A running review holds a lease it renews; a worker that dies stops renewing, and after this many seconds
    # another worker takes the job over.
    lease_seconds: float = 60.0
    # No review holds its lease longer than this: past it the heartbeat stops renewing, the job posts nothing and
    # another worker may retry it (each analyzer, the LLM and the trace have their own, shorter limits).
    max_review_seconds: float = 900.0
    max_attempts: int = 3
    retry_delay_seconds: float = 10.0
    # Review-triggering commands per PR per window, so a comment loop cannot spend the LLM budget.
    command_limit: int = 6
    command_window_seconds: float = 3600.0
    # How long SQLite queue polling may sleep when idle (huey's default of 10 s delays the first job after idle).
    poll_max_delay: float = 0.5
    log_level: str = "INFO"

    @property
    def store_url(self) -> str:
        if self.database_url:
            return sqlalchemy_url(self.database_url)
        return f"sqlite:///{(self.data_dir / 'state.db').resolve()}"

    @property
    def queue_backend(self) -> str:
        url = self.queue_url
        if url.startswith(("redis://", "rediss://", "unix://")):
            return "redis"
        if url.startswith(("postgresql://", "postgres://")):
            return "postgresql"
        return "sqlite"

    def secrets(self) -> list[str]:
        """Values that must never reach a log line."""
        values = [self.webhook_secret, self.github_private_key, self.github_token]
        return [v for v in values if v and len(v) >= 4]


def sqlalchemy_url(url: str) -> str:
    """`postgresql://` as GitHub-style deployments write it, with the psycopg 3 driver SQLAlchemy needs."""
    for prefix in ("postgresql://", "postgres://"):
        if url.startswith(prefix):
            return "postgresql+psycopg://" + url[len(prefix) :]
    return url


def load_settings(env: dict[str, str] | None = None, *, require_secret: bool = True) -> Settings:
    env = dict(os.environ if env is None else env)
    secret = env.get("DBREVIEW_WEBHOOK_SECRET", "")
    if require_secret and not secret.strip():
        raise SettingsError(
            "DBREVIEW_WEBHOOK_SECRET is not set: refusing to accept unsigned webhooks "
            "(set it to the secret configured on the GitHub App)"
        )
    key = env.get("GITHUB_APP_PRIVATE_KEY", "")
    key_path = env.get("GITHUB_APP_PRIVATE_KEY_PATH", "")
    if not key and key_path:
        try:
            key = Path(key_path).read_text("utf-8")
        except OSError as exc:
            raise SettingsError(f"GITHUB_APP_PRIVATE_KEY_PATH: cannot read the file ({exc.strerror})") from None
    if "-----BEGIN" in key and "\\n" in key and "\n" not in key.strip():
        # A PEM pasted into a one-line environment variable with literal \n escapes.
        key = key.replace("\\n", "\n")
    app_id = env.get("GITHUB_APP_ID", "").strip()
    if app_id and not key:
        raise SettingsError("GITHUB_APP_ID is set but neither GITHUB_APP_PRIVATE_KEY nor GITHUB_APP_PRIVATE_KEY_PATH")
    settings = Settings(
        webhook_secret=secret,
        data_dir=Path(env.get("DBREVIEW_DATA_DIR") or ".dbreview"),
        database_url=env.get("DATABASE_URL", "").strip(),
        queue_url=env.get("DBREVIEW_QUEUE_URL", "").strip(),
        github_app_id=app_id,
        github_private_key=key,
        github_token=env.get("GITHUB_TOKEN", "").strip(),
        github_api_url=(env.get("GITHUB_API_URL") or "https://api.github.com").rstrip("/"),
        app_slug=env.get("DBREVIEW_APP_SLUG", "dbreview").strip() or "dbreview",
        queue_name=env.get("DBREVIEW_QUEUE_NAME", "dbreview").strip() or "dbreview",
        lease_seconds=_float(env, "DBREVIEW_LEASE_SECONDS", 60.0),
        max_review_seconds=_float(env, "DBREVIEW_MAX_REVIEW_SECONDS", 900.0),
        max_attempts=_int(env, "DBREVIEW_MAX_ATTEMPTS", 3),
        retry_delay_seconds=_float(env, "DBREVIEW_RETRY_DELAY_SECONDS", 10.0),
        command_limit=_int(env, "DBREVIEW_COMMAND_LIMIT", 6),
        command_window_seconds=_float(env, "DBREVIEW_COMMAND_WINDOW_SECONDS", 3600.0),
        poll_max_delay=_float(env, "DBREVIEW_POLL_MAX_DELAY", 0.5),
        log_level=(env.get("DBREVIEW_LOG_LEVEL") or "INFO").upper(),
    )
    if settings.queue_url and settings.queue_backend == "sqlite" and not settings.queue_url.startswith("sqlite"):
        raise SettingsError("DBREVIEW_QUEUE_URL must start with redis://, postgresql:// or sqlite:///")
    if settings.lease_seconds <= 0 or settings.max_attempts < 1:
        raise SettingsError("DBREVIEW_LEASE_SECONDS must be > 0 and DBREVIEW_MAX_ATTEMPTS >= 1")
    if settings.max_review_seconds <= settings.lease_seconds:
        raise SettingsError("DBREVIEW_MAX_REVIEW_SECONDS must be greater than DBREVIEW_LEASE_SECONDS")
    return settings
