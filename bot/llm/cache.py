"""Cached LLM results per hunk, keyed by (prompt version, model, hunk content), so a push that leaves a hunk
unchanged does not pay for it again.

The stored value is JSON: the findings the model reported on the unit, with lines relative to the unit's first
line, and the assessment of the call that produced them. Two implementations: in memory (tests, one process) and
SQLite under a data directory (the CLI, the worker).
"""

from __future__ import annotations

import hashlib
import json
import os
import sqlite3
import threading
import time
from pathlib import Path
from typing import Any, Protocol


class ResultCache(Protocol):
    def get(self, key: str) -> dict[str, Any] | None: ...

    def put(self, key: str, value: dict[str, Any]) -> None: ...


def cache_key(prompt_version: str, model: str, content_hash: str, instructions: str = "") -> str:
    """`instructions`: the maintainers' config `context` and path instructions, which are part of the prompt."""
    raw = f"{prompt_version}\x1f{model}\x1f{content_hash}\x1f{instructions}"
    return hashlib.sha256(raw.encode("utf-8", "surrogatepass")).hexdigest()


class MemoryResultCache:
    def __init__(self) -> None:
        self._data: dict[str, str] = {}

    def get(self, key: str) -> dict[str, Any] | None:
        raw = self._data.get(key)
        return json.loads(raw) if raw is not None else None

    def put(self, key: str, value: dict[str, Any]) -> None:
        self._data[key] = json.dumps(value)

    def __len__(self) -> int:
        return len(self._data)


class SqliteResultCache:
    """One table in a SQLite file; entries older than `max_age_days` are ignored and pruned on open."""

    def __init__(self, path: Path, max_age_days: float = 30.0) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        self.path = path
        self._max_age = max_age_days * 86400
        self._lock = threading.Lock()
        self._conn = sqlite3.connect(str(path), check_same_thread=False, timeout=10)
        with self._lock, self._conn:
            self._conn.execute("CREATE TABLE IF NOT EXISTS llm_results (key TEXT PRIMARY KEY, value TEXT NOT NULL, "
                               "created REAL NOT NULL)")
            self._conn.execute("DELETE FROM llm_results WHERE created < ?", (time.time() - self._max_age,))

    def get(self, key: str) -> dict[str, Any] | None:
        with self._lock:
            row = self._conn.execute("SELECT value, created FROM llm_results WHERE key = ?", (key,)).fetchone()
        if row is None or row[1] < time.time() - self._max_age:
            return None
        try:
            value = json.loads(row[0])
        except json.JSONDecodeError:
            return None
        return value if isinstance(value, dict) else None

    def put(self, key: str, value: dict[str, Any]) -> None:
        with self._lock, self._conn:
            self._conn.execute("INSERT OR REPLACE INTO llm_results (key, value, created) VALUES (?, ?, ?)",
                               (key, json.dumps(value), time.time()))

    def close(self) -> None:
        self._conn.close()


def default_cache_dir() -> Path:
    configured = os.environ.get("DBREVIEW_DATA_DIR")
    if configured:
        return Path(configured)
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "dbreview"


def default_cache() -> ResultCache:
    try:
        return SqliteResultCache(default_cache_dir() / "llm-results.sqlite3")
    except (OSError, sqlite3.Error):
        return MemoryResultCache()  # a read-only home must not cost the review
