"""Schema checks: one module per rule or tight family of rules, run over every schema the change touches.

Each check is a pure function `check(SchemaInput) -> list[Finding]` over the parsed head schema (and the base → head
diff); parsing happens once, through `bot.prisma.load` and the review's memo.
"""

from __future__ import annotations

import gc
from collections.abc import Callable
from typing import TYPE_CHECKING

from bot.change import split_lines
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
from bot.context import check_deadline
from bot.findings import Finding
from bot.prisma.load import schema_at, schema_diff
from bot.registry import Rule

if TYPE_CHECKING:
    from bot.context import ReviewContext

# Each check with the rules it can report (a check runs when at least one of them is enabled).
CHECKS: list[tuple[Callable[[SchemaInput], list[Finding]], tuple[Rule, ...]]] = [
    (fk_index.check, (fk_index.RULE,)),
    (relation_types.check, (relation_types.RULE,)),
    (money.check, (money.FLOAT_MONEY, money.MONEY_TYPE, money.DECIMAL_DEFAULT)),
    (timestamps.check, (timestamps.NO_TZ, timestamps.MISSING)),
    (ids.check, (ids.AUTOINCREMENT, ids.UUID_TEXT, ids.MIXED)),
    (indexes.check, (indexes.REDUNDANT, indexes.TOO_MANY)),
    (sensitive.check, (sensitive.RULE,)),
    (column_types.check, (column_types.VARCHAR, column_types.CHAR, column_types.JSON)),
    (field_rules.check, (field_rules.LIST_DEFAULT, field_rules.IGNORED_REQUIRED)),
    (cascade.check, (cascade.RULE,)),
    (enums.check, (enums.RULE,)),
    (naming.check, (naming.MODEL_PASCAL, naming.FIELD_CAMEL, naming.TABLE_SNAKE, naming.COLUMN_SNAKE)),
]


def run_checks(inp: SchemaInput) -> list[Finding]:
    findings: list[Finding] = []
    # The checks only allocate findings (no reference cycles). With the collector on, the first collections after
    # a large schema was built rescan the whole model graph; on a 500-model schema that costs as much as the checks.
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        for check, rules in CHECKS:
            if any(inp.enabled(rule) for rule in rules):
                findings.extend(check(inp))
    finally:
        if was_enabled:
            gc.enable()
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
        check_deadline()
        load = schema_at(ctx, "head", group)
        if load is None:
            continue
        for path in load.missing:
            ctx.note(f"{path}: not UTF-8 text; the schema rules skipped its schema")
        if load.errors or load.schema is None:
            findings.extend(parse_error.finding(e, e.path in changed) for e in load.errors)
            continue
        diff = schema_diff(ctx, group)
        inp = SchemaInput(load.schema, diff, ctx.options, ctx.config.is_enabled,
                          {p: split_lines(t) for p, t in load.texts.items()})
        findings.extend(run_checks(inp))
        ctx.facts.setdefault("schema", {})[group[0]] = {
            "models": len(load.schema.models),
            "relations": len(load.schema.relations),
            "provider": load.schema.provider,
            "relation_mode": load.schema.relation_mode,
        }
    return findings
