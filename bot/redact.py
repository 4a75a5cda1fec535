"""Keep secrets out of everything dbreview writes: log lines, GitHub comments and check runs, error messages.

Two nets, because neither alone is enough:
- the values of the secret environment variables (tokens, the App key, the webhook secret, the Anthropic key, the
  passwords inside the database and queue URLs), plus values registered at run time (a minted installation token);
- shapes that are secret wherever they come from: GitHub tokens, Anthropic keys, JWTs, PEM private keys, the
  password in `scheme://user:password@host` and in libpq's `password=…`.
A redacted value becomes `***`.
"""

from __future__ import annotations

import json
import logging
import os
import re
import threading
from collections.abc import Iterable, Mapping
from typing import Any
from urllib.parse import unquote, urlsplit

MASK = "***"

SECRET_ENV = (
    "GITHUB_TOKEN", "INPUT_GITHUB_TOKEN", "INPUT_GITHUB-TOKEN", "GH_TOKEN",
    "GITHUB_APP_PRIVATE_KEY", "DBREVIEW_WEBHOOK_SECRET", "ANTHROPIC_API_KEY", "ANTHROPIC_AUTH_TOKEN",
)
URL_ENV = ("DATABASE_URL", "DBREVIEW_QUEUE_URL", "DBREVIEW_TRACE_DATABASE_URL", "REDIS_URL")
# Shorter values are too likely to occur in ordinary text (and too weak to be real secrets).
MIN_SECRET_LEN = 6

_PATTERNS: tuple[tuple[re.Pattern[str], str], ...] = (
    (re.compile(r"-----BEGIN [A-Z ]*PRIVATE KEY-----.*?(?:-----END [A-Z ]*PRIVATE KEY-----|\Z)", re.S), MASK),
    (re.compile(r"\b(?:gh[pousr]_[A-Za-z0-9]{16,}|github_pat_[A-Za-z0-9_]{20,})"), MASK),
    (re.compile(r"\bsk-ant-[A-Za-z0-9_-]{8,}"), MASK),
    (re.compile(r"\beyJ[A-Za-z0-9_-]{6,}\.eyJ[A-Za-z0-9_-]{6,}\.[A-Za-z0-9_-]{6,}"), MASK),
    # scheme://user:password@host -> scheme://user:***@host
    (re.compile(r"(\b[a-zA-Z][a-zA-Z0-9+.-]*://[^\s:/@'\"]*:)[^\s@/'\"]+@"), r"\1" + MASK + "@"),
    (re.compile(r"(\bpassword\s*=\s*)('[^']*'|\"[^\"]*\"|[^\s'\"]+)", re.I), r"\1" + MASK),
)

_registered: list[str] = []
_guard = threading.Lock()


def register(*values: str | None) -> None:
    """Values only known at run time (an installation token just minted) that must be redacted too."""
    with _guard:
        for value in values:
            if value and len(value) >= MIN_SECRET_LEN and value not in _registered:
                _registered.append(value)


def _url_secrets(url: str) -> list[str]:
    found: list[str] = []
    try:
        password = urlsplit(url).password
    except ValueError:
        password = None
    if password:
        found += [password, unquote(password)]
    else:
        # A malformed URL (`postgresql//user:pw@host`) is exactly the kind a library quotes back in its error.
        loose = re.search(r"//[^:/@\s]*:([^@\s]+)@", url)
        if loose:
            found += [loose.group(1), unquote(loose.group(1))]
    match = re.search(r"\bpassword\s*=\s*('[^']*'|\"[^\"]*\"|[^\s'\"]+)", url, re.I)
    if match:
        found.append(match.group(1).strip("'\""))
    return found


def secret_values(env: Mapping[str, str] | None = None, extra: Iterable[str] = ()) -> list[str]:
    """Every concrete secret value known from `env` (default: the process environment) and `register`."""
    env = os.environ if env is None else env
    values: list[str] = []
    for name in SECRET_ENV:
        value = (env.get(name) or "").strip()
        if value:
            values.append(value)
            # A PEM key may be shown line by line, or with literal \n escapes.
            values += [ln for ln in value.replace("\\n", "\n").splitlines() if len(ln) >= 16]
    for name in URL_ENV:
        value = (env.get(name) or "").strip()
        if value:
            values += _url_secrets(value)
    with _guard:
        values += _registered
    values += list(extra)
    out: list[str] = []
    for value in values:
        if len(value) < MIN_SECRET_LEN:
            continue
        # The JSON-escaped form too: a secret with a quote or backslash is written that way into JSON logs.
        for form in (value, json.dumps(value)[1:-1]):
            if form not in out:
                out.append(form)
    # Longest first, so a value containing another is masked whole.
    return sorted(out, key=len, reverse=True)


def scrub(text: str, env: Mapping[str, str] | None = None, extra: Iterable[str] = ()) -> str:
    """`text` with every known secret value and every secret-shaped string replaced by `***`."""
    if not text:
        return text
    for value in secret_values(env, extra):
        if value in text:
            text = text.replace(value, MASK)
    for pattern, replacement in _PATTERNS:
        text = pattern.sub(replacement, text)
    return text


def scrub_json(data: Any, env: Mapping[str, str] | None = None) -> Any:
    """A JSON-like value with every string scrubbed (the payloads dbreview sends to GitHub)."""
    if isinstance(data, str):
        return scrub(data, env)
    if isinstance(data, dict):
        return {k: scrub_json(v, env) for k, v in data.items()}
    if isinstance(data, list):
        return [scrub_json(v, env) for v in data]
    return data


_COMMAND_LINE = re.compile(r"^(\s*):(?=:)", re.M)


def no_workflow_commands(text: str) -> str:
    """Text whose lines cannot be read as GitHub Actions workflow commands (`::add-mask::`, `::error::`, ...): log
    lines may quote PR text, and the runner parses commands from a step's stdout and stderr."""
    return _COMMAND_LINE.sub(r"\1: ", text)


class RedactingFilter(logging.Filter):
    """A handler filter that scrubs each record's message and traceback before any formatter sees it (and keeps
    quoted text from passing for a workflow command on a line of its own)."""

    def filter(self, record: logging.LogRecord) -> bool:
        record.msg = no_workflow_commands(scrub(record.getMessage()))
        record.args = None
        if record.exc_info:
            record.exc_text = no_workflow_commands(scrub(logging.Formatter().formatException(record.exc_info)))
            record.exc_info = None
        return True


def redact_log_handlers(logger: logging.Logger | None = None) -> None:
    """Add a RedactingFilter to every handler of `logger` (default: the root logger) that lacks one."""
    for handler in (logger or logging.getLogger()).handlers:
        if not any(isinstance(f, RedactingFilter) for f in handler.filters):
            handler.addFilter(RedactingFilter())
