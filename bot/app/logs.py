"""JSON logs, one object a line, carrying the delivery id, repo and PR of the work at hand; secrets redacted."""

from __future__ import annotations

import contextlib
import contextvars
import json
import logging
import sys
import time
from collections.abc import Iterator
from typing import Any

from bot.redact import scrub

_context: contextvars.ContextVar[dict[str, Any]] = contextvars.ContextVar("dbreview_log_context", default={})  # noqa: B039

# Values registered here are replaced by "***" in every record, whatever logged them.
_secrets: list[str] = []


def register_secrets(values: list[str]) -> None:
    for value in values:
        if value and value not in _secrets:
            _secrets.append(value)
            escaped = json.dumps(value)[1:-1]  # how a value with quotes or backslashes appears inside JSON
            if escaped != value:
                _secrets.append(escaped)
            # A PEM key is logged, if ever, line by line.
            _secrets.extend(line for line in value.splitlines() if len(line) >= 16 and line not in _secrets)


def redact(text: str) -> str:
    for value in _secrets:
        if value in text:
            text = text.replace(value, "***")
    # Also every secret in the environment (the Anthropic key, database and queue URL passwords, ...), minted
    # installation tokens and anything secret-shaped.
    return scrub(text)


@contextlib.contextmanager
def log_context(**fields: Any) -> Iterator[None]:
    """Fields (delivery, repo, pr, review) added to every record logged inside the block, in this thread/task."""
    merged = {**_context.get(), **{k: v for k, v in fields.items() if v is not None}}
    token = _context.set(merged)
    try:
        yield
    finally:
        _context.reset(token)


_RESERVED = set(vars(logging.LogRecord("", 0, "", 0, "", (), None)))
_RESERVED |= {"message", "asctime", "taskName", "color_message"}


class JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        data: dict[str, Any] = {
            "ts": time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(record.created)) + f".{int(record.msecs):03d}Z",
            "level": record.levelname.lower(),
            "logger": record.name,
            "msg": record.getMessage(),
        }
        data.update(_context.get())
        for key, value in vars(record).items():
            if key not in _RESERVED and not key.startswith("_"):
                data[key] = value
        if record.exc_info:
            data["exc"] = self.formatException(record.exc_info)
        return redact(json.dumps(data, default=str, ensure_ascii=False))


def configure_logging(level: str = "INFO", secrets: list[str] | None = None) -> None:
    register_secrets(secrets or [])
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(JsonFormatter())
    root = logging.getLogger()
    for old in list(root.handlers):
        root.removeHandler(old)
    root.addHandler(handler)
    root.setLevel(level)
    # uvicorn's own access log repeats every request without our context; our webhook log line replaces it.
    for name in ("uvicorn", "uvicorn.error", "uvicorn.access", "huey"):
        logger = logging.getLogger(name)
        logger.handlers = []
        logger.propagate = True
    logging.getLogger("uvicorn.access").setLevel("WARNING")
    logging.getLogger("huey").setLevel("WARNING")
    logging.getLogger("alembic").setLevel("WARNING")
