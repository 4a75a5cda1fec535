"""Schema checks: one module per rule or tight family of rules, run over every schema the change touches.

Each check is a pure function `check(SchemaInput) -> list[Finding]` over the parsed head schema (and the base → head
diff); parsing happens once, through `bot.prisma.load` and the review's memo.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

from bot.checks.schema import (
    cascade,
    column_types,
    enums,
    field_rules,
    fk_index,
    ids,
    indexes,
    money,
    naming,
    parse_error,
    relation_types,
    sensitive,
    timestamps,
)
from bot.checks.schema._common import SchemaInput
from bot.findings import Finding
from bot.prisma.load import schema_at, schema_diff

if TYPE_CHECKING:
    from bot.context import ReviewContext

CHECKS: list[Callable[[SchemaInput], list[Finding]]] = [
    fk_index.check,
    relation_types.check,
    money.check,
    timestamps.check,
    ids.check,
    indexes.check,
    sensitive.check,
    column_types.check,
    field_rules.check,
    cascade.check,
    enums.check,
    naming.check,
]


def run_checks(inp: SchemaInput) -> list[Finding]:
    findings: list[Finding] = []
    for check in CHECKS:
        findings.extend(check(inp))
    return findings


def analyze(ctx: ReviewContext) -> list[Finding]:
    findings: list[Finding] = []
    layout = ctx.surfaces.head_layout
    changed = {f.path for f in ctx.surfaces.schema if f.head_path}
    groups: list[list[str]] = []
    for path in sorted(changed):
        group = layout.schema_group_of(path)
        if group is not None and group not in groups:
            groups.append(group)
    for group in groups:
        load = schema_at(ctx, "head", group)
        if load is None:
            continue
        for path in load.missing:
            ctx.note(f"{path}: not UTF-8 text; the schema rules skipped its schema")
        if load.errors or load.schema is None:
            findings.extend(parse_error.finding(e, e.path in changed) for e in load.errors)
            continue
        diff = schema_diff(ctx, group)
        inp = SchemaInput(load.schema, diff, ctx.options)
        findings.extend(run_checks(inp))
        ctx.facts.setdefault("schema", {})[group[0]] = {
            "models": len(load.schema.models),
            "relations": len(load.schema.relations),
            "provider": load.schema.provider,
            "relation_mode": load.schema.relation_mode,
        }
    return findings
