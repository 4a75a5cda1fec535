"""prisma/parse-error: a .prisma file the parser cannot read. The schema rules then skip that schema."""

from __future__ import annotations

from bot.findings import Finding, Severity, Surface
from bot.prisma.load import SchemaError
from bot.registry import define

RULE = define(
    "prisma/parse-error",
    Severity.ERROR,
    Surface.SCHEMA,
    "A .prisma file that does not parse",
)


def finding(error: SchemaError, changed: bool) -> Finding:
    return RULE.finding(
        error.path, error.line,
        f"This schema file does not parse: {error.message} (line {error.line}, column {error.column}). "
        "`prisma validate` and `prisma generate` will fail; fix the syntax. dbreview skipped the schema rules for "
        "this schema.",
        key=f"parse-error:{error.message}", caused_by_change=changed,
    )
