"""Statements PostgreSQL parses but rejects when it plans them: a column assigned twice in one UPDATE, listed
twice in one INSERT, or declared twice in one CREATE TABLE. The deploy fails on them every time."""

from __future__ import annotations

from bot.checks.migration._common import Env, Hit, q
from bot.findings import Severity, Surface
from bot.registry import define
from bot.sql.state import MigrationModel

DUPLICATE_COLUMN = define(
    "migration/duplicate-column-assignment", Severity.ERROR, Surface.MIGRATION,
    "A column assigned twice in one UPDATE, or named twice in one INSERT or CREATE TABLE: the deploy fails",
    aliases=("squawk:ban-duplicate-column-assignments",),
)

_FAILS = {
    "update": ("UPDATE {t} sets {c} more than once: PostgreSQL rejects the statement (ERROR 42601: multiple "
               "assignments to same column), so `prisma migrate deploy` fails here (P3018) every time. Keep one "
               "assignment per column (combine them into one expression if both were meant)."),
    "insert": ("INSERT INTO {t} names {c} more than once in its column list: PostgreSQL rejects it (ERROR 42701: "
               "column specified more than once), so the deploy fails here (P3018). List each column once."),
    "create_table": ("CREATE TABLE {t} declares {c} more than once: PostgreSQL rejects it (ERROR 42701: column "
                     "specified more than once), so the deploy fails here (P3018). Rename or remove the duplicate."),
}


def check(model: MigrationModel, env: Env) -> list[Hit]:
    hits: list[Hit] = []
    for st in model.ops:
        op = st.op
        duplicates = op.data.get("duplicates") if op.kind in _FAILS else None
        if not duplicates:
            continue
        c = ", ".join(q(d) if "." not in d and "[" not in d else d for d in duplicates)
        hits.append(Hit(
            DUPLICATE_COLUMN, op.stmt, f"duplicate {op.kind} {op.table}",
            _FAILS[op.kind].format(t=q(op.table), c=c),
            f"{c} is assigned twice, which fails the deploy",
            key=f"duplicate column {op.kind} {op.table} {','.join(duplicates)}",
        ))
    return hits
