"""Shared builders for the schema rule tests (imported by path: tests/ has no packages)."""

from __future__ import annotations

from typing import Any

from bot.checks.schema import SchemaInput, run_checks
from bot.findings import Finding
from bot.prisma.diff import diff_schemas
from bot.prisma.load import load_texts

PG = '''generator client {
  provider = "prisma-client-js"
}

datasource db {
  provider = "postgresql"
  url      = env("DATABASE_URL")
}
'''

PG_EMULATED = '''datasource db {
  provider     = "postgresql"
  url          = env("DATABASE_URL")
  relationMode = "prisma"
}
'''

MYSQL = '''datasource db {
  provider = "mysql"
  url      = env("DATABASE_URL")
}
'''


def findings(text: str, rule: str | None = None, *, base: str | None = None, new_schema: bool = False,
             options: dict[str, dict[str, Any]] | None = None) -> list[Finding]:
    """Run every schema check on `text`; `base` (or `new_schema=True`) gives the diff that new-model rules use."""
    load = load_texts({"prisma/schema.prisma": text})
    assert load.schema is not None, load.errors
    diff = None
    if base is not None:
        base_schema = load_texts({"prisma/schema.prisma": base}).schema
        assert base_schema is not None
        diff = diff_schemas(base_schema, load.schema)
    elif new_schema:
        diff = diff_schemas(None, load.schema)

    def options_for(r: Any) -> dict[str, Any]:
        return {**r.options, **((options or {}).get(r.id, {}))}

    out = run_checks(SchemaInput(load.schema, diff, options_for, sources={"prisma/schema.prisma": text.splitlines()}))
    return [f for f in out if rule is None or f.rule == rule]


def line_of(text: str, needle: str) -> int:
    for i, line in enumerate(text.splitlines(), 1):
        if needle in line:
            return i
    raise AssertionError(f"{needle!r} not in text")
