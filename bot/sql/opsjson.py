"""Prisma 8 migrations keep the SQL that will run in `migrations/app/<dir>/ops.json` (written by migration.ts).

The file's exact shape is not pinned down by public docs, so every SQL string in it is taken: values under keys
such as "sql"/"statement"/"query"/"up", or plain strings in lists that look like SQL. Each keeps the line where it
sits in ops.json so findings land on the right line of the reviewed file.
"""

from __future__ import annotations

import json
import re
from typing import Any

_SQL_KEYS = {"sql", "statement", "statements", "query", "queries", "up", "ddl", "execute", "text"}
_SQL_START = re.compile(r"^\s*(?:--[^\n]*\n\s*)*(ALTER|CREATE|DROP|INSERT|UPDATE|DELETE|TRUNCATE|COMMENT|GRANT|REVOKE|"
                        r"SET|BEGIN|COMMIT|DO|REINDEX|VACUUM|CLUSTER|WITH|SELECT|REFRESH|LOCK)\b", re.I)


class OpsJsonError(ValueError):
    pass


def sql_from_ops_json(text: str) -> list[tuple[str, int]]:
    """(sql, 1-based line in ops.json) for every SQL string in the document, in document order."""
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        raise OpsJsonError(f"ops.json is not valid JSON: {exc.msg}") from None
    found: list[str] = []
    _collect(data, False, found)
    out: list[tuple[str, int]] = []
    cursor = 0
    for sql in found:
        encoded = json.dumps(sql)[1:-1]
        pos = text.find(encoded, cursor)
        if pos == -1:
            pos = text.find(json.dumps(sql, ensure_ascii=False)[1:-1], cursor)
        line = text.count("\n", 0, pos) + 1 if pos >= 0 else 1
        if pos >= 0:
            cursor = pos + len(encoded)
        out.append((sql, line))
    return out


def _collect(value: Any, under_sql_key: bool, out: list[str]) -> None:
    if isinstance(value, str):
        if (under_sql_key or _SQL_START.match(value)) and value.strip():
            out.append(value)
    elif isinstance(value, list):
        for item in value:
            _collect(item, under_sql_key, out)
    elif isinstance(value, dict):
        for key, item in value.items():
            _collect(item, str(key).lower() in _SQL_KEYS, out)
