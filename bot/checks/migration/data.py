"""Data changes inside migrations: a backfill in the same transaction as DDL, UPDATE/DELETE without WHERE."""

from __future__ import annotations

from bot.checks.migration._common import Env, Hit, q
from bot.findings import Severity, Surface
from bot.registry import define
from bot.sql import locks as L
from bot.sql.state import MigrationModel, OpState

BACKFILL_IN_TX = define(
    "migration/backfill-in-transaction", Severity.WARNING, Surface.MIGRATION,
    "A data backfill runs in the same transaction as DDL that locks a table with data",
)
UNBOUNDED_DML = define(
    "migration/update-without-where", Severity.WARNING, Surface.MIGRATION,
    "UPDATE or DELETE without WHERE on a table with data: every row in one transaction",
)


def check(model: MigrationModel, env: Env) -> list[Hit]:
    hits: list[Hit] = []
    ddl_lines = [st for st in model.ops if any(m in L.STRONG for _t, m in st.locks)]
    backfills: list[tuple[OpState, str, bool]] = []  # (op, why the lock matters, no WHERE)
    # A table the file drops is gone for every reader anyway (drop-table says what that does to them): its lock
    # does not make a backfill in the same transaction worse (langfuse's cleanup of background_migrations).
    dropped = {st.op.table for st in model.ops if st.op.kind == "drop_table"}
    for st in model.ops:
        op = st.op
        if op.kind not in ("update", "delete", "insert") or not st.existing:
            continue
        if op.kind == "insert" and not op.data.get("select"):
            continue
        # the lock on the table being written matters most: name it first when the file holds one
        held = sorted(((t, m) for t, m in st.held_before.items() if t not in dropped), key=lambda tm: tm[0] != op.table)
        ddl_after = ([o for o in ddl_lines if o.op.stmt.line > op.stmt.line and o.tx == st.tx]
                     if st.in_transaction else [])
        no_where = op.kind in ("update", "delete") and not op.data.get("where")
        if st.in_transaction and (held or ddl_after):
            if held:
                t, m = held[0]
                cause = (f"the {m} lock this file took on {q(t)} earlier is held for the whole "
                         f"{op.kind.upper()} (it blocks {L.BLOCKS[m]})")
            else:
                o = ddl_after[0]
                cause = (f"its row locks on {q(op.table)} are held while line {o.op.stmt.line} waits for its "
                         "lock, and the DDL lock is then held until the file ends")
            backfills.append((st, cause, no_where))
        elif no_where:
            hits.append(Hit(
                UNBOUNDED_DML, op.stmt, f"dml {op.table}",
                f"{op.kind.upper()} on {q(op.table)} without WHERE " + ("deletes every row" if op.kind == "delete"
                                                                        else "rewrites every row") +
                " in one transaction: row locks block every concurrent writer of those rows until it commits, and "
                "the table bloats. If that is intended, run it in batches keyed by id outside the migration; "
                "otherwise add the missing WHERE.",
                "it touches every row in one transaction",
                key=f"{op.kind} without where {op.table}",
            ))
    if backfills:
        hits.append(_backfill_hit(backfills))
    return hits


def _backfill_hit(backfills: list[tuple[OpState, str, bool]]) -> Hit:
    """One finding per file: the first backfill statement, with the others listed."""
    first, cause, no_where = backfills[0]
    op = first.op
    whole = " It has no WHERE, so it touches every row." if no_where else ""
    others = [b for b in backfills[1:]]
    more = ""
    if others:
        listed = ", ".join(f"{b[0].op.stmt.line} ({b[0].op.kind.upper()} {q(b[0].op.table)}"
                           + (", no WHERE" if b[2] else "") + ")" for b in others[:6])
        more = f" The same holds for line{'s' if len(others) > 1 else ''} {listed}."
    last = max((b[0].op.stmt for b in backfills), key=lambda s: s.end_line)
    return Hit(
        BACKFILL_IN_TX, op.stmt, f"dml {op.table}",
        f"This {op.kind.upper()} on {q(op.table)} runs in the same transaction as the migration's DDL (Prisma runs "
        f"a multi-statement migration.sql as one), so {cause}.{whole}{more} Move the backfill to its own "
        "migration or a script that updates in batches (e.g. 10,000 rows per statement, keyed by id), after the "
        "DDL has committed.",
        "the backfill holds the DDL lock",
        end_stmt=last if last is not op.stmt else None,
        key=f"backfill {op.kind} {op.table}",
    )
