"""prisma/enum-value-added: a value added to an existing enum (information about what PostgreSQL allows next)."""

from __future__ import annotations

from bot.checks.schema._common import SchemaInput
from bot.findings import Finding, Severity, Surface
from bot.registry import define

RULE = define(
    "prisma/enum-value-added",
    Severity.INFO,
    Surface.SCHEMA,
    "Value added to an existing enum: PostgreSQL enums only grow; a fast-growing list belongs in a table",
    options={"min_values": 6},
)


def check(inp: SchemaInput) -> list[Finding]:
    if inp.diff is None or not inp.schema.is_postgres:
        return []
    min_values = int(inp.options(RULE).get("min_values", 6))
    added = inp.diff.of("enum_value_added")
    findings: list[Finding] = []
    seen: set[str] = set()
    for item in added:
        enum = inp.schema.enums.get(item.model)
        if enum is None or item.model in seen or len(enum.values) < min_values:
            continue
        seen.add(item.model)
        names = [i.name for i in added if i.model == item.model]
        findings.append(RULE.finding(
            enum.path, item.line or enum.line,
            f"Enum {enum.name} grows to {len(enum.values)} values ({', '.join(names)} added). In PostgreSQL a value "
            "can be added but never removed or renamed without recreating the type, and the new value cannot be "
            "used in the same transaction that adds it (Prisma runs each migration in one). If this list follows "
            "the business (plans, categories, providers), a lookup table with a foreign key is easier to change; "
            "if it is a true closed set, keep the enum.",
            key=f"{enum.name}:enum-growth", scope=enum.scope, caused_by_change=True))
    return findings
