"""How long locks are held and waited for: slow work after an ACCESS EXCLUSIVE lock in the same transaction,
no lock_timeout before a strong lock, and VACUUM FULL / CLUSTER / REINDEX / DETACH / REFRESH that block."""

from __future__ import annotations

from dataclasses import dataclass

from bot.checks.migration._common import Env, Hit, prisma_tx_note, q, qn, table_ref
from bot.checks.migration.columns import cast_verdict
from bot.findings import Severity, Surface
from bot.registry import define
from bot.sql import locks as L
from bot.sql.state import MigrationModel, OpState

LONG_HELD_LOCK = define(
    "migration/long-held-lock", Severity.WARNING, Surface.MIGRATION,
    "Slow work after an ACCESS EXCLUSIVE lock in the same migration: the table is blocked until the file ends",
    aliases=("eugene:E4",),
)
MISSING_LOCK_TIMEOUT = define(
    "migration/missing-lock-timeout", Severity.INFO, Surface.MIGRATION,
    "ACCESS EXCLUSIVE on a table with data is requested without SET lock_timeout (once per review)",
    aliases=("squawk:require-lock-timeout", "squawk:require-timeout-settings", "eugene:E9"),
)
BLOCKING_MAINTENANCE = define(
    "migration/blocking-maintenance", Severity.WARNING, Surface.MIGRATION,
    "VACUUM FULL, CLUSTER, REINDEX, DETACH PARTITION or REFRESH MATERIALIZED VIEW without CONCURRENTLY",
    aliases=("squawk:prefer-repack", "squawk:require-concurrent-reindex",
             "squawk:require-concurrent-partition-detach"),
)


def slow_work(st: OpState) -> str | None:
    """What makes this op take time proportional to the table (None when it is metadata-only or on a new table)."""
    op = st.op
    if not st.existing:
        return None
    k = op.kind
    if k == "create_index" and not op.data.get("concurrent"):
        return f"builds index {qn(op.name)}"
    if k == "add_constraint" and not op.data.get("not_valid") and op.data.get("contype") in ("unique", "pk"):
        return f"builds the index of {qn(op.name)} on {q(op.table)}"
    if k == "add_constraint" and not op.data.get("not_valid") and op.data.get("contype") in ("fk", "check") and not (
            op.data.get("inline") and op.data.get("contype") == "fk" and not op.data.get("column_filled")):
        return f"validates {qn(op.name)} by scanning {q(op.table)}"
    if k == "validate_constraint":
        return f"scans {q(op.table)} to validate {qn(op.name)}"
    if k == "set_not_null":
        return f"scans {q(op.table)} for NULLs in {q(op.column)}"
    if k == "alter_type":
        old = st.column_before.type if st.column_before else None
        verdict = cast_verdict(old, op.data["new_type"], op.data.get("using"))
        if verdict == "reindex":
            return f"rebuilds the indexes on {q(op.table)}.{q(op.column)}"
        if verdict != "safe":
            return f"rewrites {q(op.table)} to change {q(op.column)}'s type"
    if k == "add_column":
        col = op.data["col"]
        if col.default_volatile or col.identity or col.generated_stored:
            return f"rewrites {q(op.table)} to fill {q(op.column)}"
    if k in ("update", "delete"):
        # a backfill: backfill-in-transaction reports it on its own table; held locks on other tables are ours
        verb = "updates" if k == "update" else "deletes from"
        return f"{verb} {'every row of ' if not op.data.get('where') else ''}{q(op.table)}"
    if k == "insert" and op.data.get("select"):
        return f"copies rows into {q(op.table)}"
    if k == "table_rewrite" and not op.data.get("noop"):
        return f"copies {q(op.table)} ({op.data.get('form', 'rewrite')})"
    if k == "domain_add_constraint" and not op.data.get("not_valid") and st.locks:
        return f"checks every column of domain {q(op.name)}"
    if k in ("vacuum_full", "cluster", "reindex"):
        return f"rewrites {q(op.table or op.name)}"
    return None


def check(model: MigrationModel, env: Env) -> list[Hit]:
    return _long_held(model) + _lock_timeout(model, env) + _maintenance(model)


def _long_held(model: MigrationModel) -> list[Hit]:
    # a table the file drops is locked until the end anyway, and drop-table reports what that does to its readers
    dropped = {st.op.table for st in model.ops if st.op.kind == "drop_table"}
    for i, st in enumerate(model.ops):
        if not st.in_transaction:
            continue
        ae = [t for t, m in st.locks if m == L.ACCESS_EXCLUSIVE and t not in st.held_before and t not in dropped]
        if not ae:
            continue
        later = [(o, why) for o in model.ops[i + 1:] if o.in_transaction and o.tx == st.tx
                 and o.op.stmt.index != st.op.stmt.index
                 and not _reported_with_the_lock(o, ae) for why in [slow_work(o)] if why]
        if not later:
            continue
        t = table_ref(ae[0])
        work = "; ".join(f"line {o.op.stmt.line} {why}" for o, why in later[:3])
        more = f" (and {len(later) - 3} more)" if len(later) > 3 else ""
        end = next((f"the COMMIT at line {o.op.stmt.line}" for o in model.ops[i + 1:]
                    if o.op.kind == "transaction" and o.tx != st.tx), "the file ends")
        why_tx = ("the file's BEGIN keeps it in one transaction" if st.explicit_transaction else
                  "Prisma runs the whole migration.sql as one transaction")
        return [Hit(
            LONG_HELD_LOCK, st.op.stmt, f"lock {ae[0]}",
            f"This statement takes {L.a_lock(L.ACCESS_EXCLUSIVE)} on {t}, and {why_tx}, so {t} stays locked "
            f"until {end}, through slow work: "
            f"{work}{more}. Move the slow statements into a migration of their own (or put this statement last), "
            "so the exclusive lock is held for milliseconds.",
            f"the {L.ACCESS_EXCLUSIVE} lock on {t} is then held until {end}, through {work}; move "
            "that slow work to its own migration",
            key=f"lock held {ae[0]}",
            file_level=True,
        )]
    return []


def _reported_with_the_lock(st: OpState, locked: list[str]) -> bool:
    """Slow work on the table this statement locked is reported by its own rule, which already says it runs under
    ACCESS EXCLUSIVE (set-not-null, column-type-change, add-column-rewrite, unique-without-index) or that the
    earlier lock makes reads wait too (index-not-concurrent, constraint-not-valid); the statements in between are
    quick, so holding the lock from the earlier statement adds nothing, and the usual case cannot follow "put this
    statement last": Prisma's onDelete change drops a foreign key and adds it again. VALIDATE CONSTRAINT is the
    exception: alone it lets reads and writes go on. Slow work on another table stays reported."""
    return st.op.table in locked and st.op.kind != "validate_constraint"


@dataclass(frozen=True)
class LockWait:
    """A statement that queues for ACCESS EXCLUSIVE on a table with data, with no lock_timeout set before it."""

    path: str
    line: int
    table: str


def lock_waits(model: MigrationModel, env: Env) -> list[LockWait]:
    """Where this file waits for ACCESS EXCLUSIVE on a table that holds data without lock_timeout. Tables created by
    the change are not locked by anyone else; tables dbreview-stats.json calls small are not worth the reminder."""
    out: list[LockWait] = []
    seen: set[tuple[int, str]] = set()
    for st in model.ops:
        if st.lock_timeout:
            continue
        for t, m in st.locks:
            if m != L.ACCESS_EXCLUSIVE or t in env.small_tables or (st.op.stmt.line, t) in seen:
                continue
            seen.add((st.op.stmt.line, t))
            out.append(LockWait(model.path, st.op.stmt.line, t))
    return out


def _lock_timeout(model: MigrationModel, env: Env) -> list[Hit]:
    """The lock_timeout reminder: one per review (the analyzer hands this file the review's waits when it is the
    first file that needs the reminder, and none otherwise), one per file when a file is checked on its own."""
    waits = env.lock_waits[model.path] if env.lock_waits is not None else lock_waits(model, env)
    if not waits:
        return []
    first = waits[0]
    stmt = next((st.op.stmt for st in model.ops if st.op.stmt.line == first.line), None)
    if stmt is None:
        return []
    tables = list(dict.fromkeys(w.table for w in waits))
    others = [w for w in waits[1:]]
    listed = "; ".join(
        (f"line {w.line}" if w.path == first.path else f"{w.path}:{w.line}") + f" ({table_ref(w.table)})"
        for w in others[:6]) + (f" and {len(others) - 6} more" if len(others) > 6 else "")
    also = f" The same holds for {listed}." if others else ""
    chained = (" While it waits for one table, the tables it already locked stay blocked too (one transaction)."
               if len(tables) > 1 and model.multi_statement and model.implicit_transaction else "")
    large = [t for t in tables if t in env.large_tables]
    size = (f" dbreview-stats.json lists {', '.join(table_ref(t) for t in large[:3])} as large, where long "
            "queries that hold the lock up are likely." if large else "")
    t0 = table_ref(first.table)
    return [Hit(
        MISSING_LOCK_TIMEOUT, stmt, "lock_timeout",
        f"Line {first.line} waits for {L.a_lock(L.ACCESS_EXCLUSIVE)} on {t0} with no lock_timeout: the "
        f"statement itself is quick, but if a long query or an open transaction holds {t0}, it queues, and every "
        f"later query on {t0} queues behind it for as long as that query runs.{also}{chained}{size} Add "
        "`SET lock_timeout = '5s';` as the first statement of the migration and retry the deploy if it times out "
        "(said once per review; if your deploy job or role already sets lock_timeout, turn this rule off in "
        "`.dbreview.yml`).",
        "no lock_timeout is set before it: add `SET lock_timeout = '5s';` as the first statement of the "
        "migration, so a blocked lock request fails fast instead of queueing all traffic"
        + (f" (also {listed})" if others else ""),
        severity=Severity.WARNING if large else None,
        key="lock_timeout",
        file_level=True,
    )]


def _maintenance(model: MigrationModel) -> list[Hit]:
    hits: list[Hit] = []
    for st in model.ops:
        op = st.op
        if not st.existing and op.kind != "reindex":
            continue
        if op.kind == "reindex" and op.data.get("object") in ("index", "table") and not st.locks:
            continue  # an index or table this change created: empty, nobody waits
        what = None
        if op.kind == "vacuum_full":
            what = (f"VACUUM FULL rewrites {q(op.table) if op.table else 'every table'} under an "
                    f"{L.describe(L.ACCESS_EXCLUSIVE)}. Use pg_repack (or REPACK CONCURRENTLY on PostgreSQL 19) "
                    "outside the migration, or a plain VACUUM.")
        elif op.kind == "cluster":
            what = (f"CLUSTER rewrites {q(op.table) if op.table else 'the clustered tables'} under an "
                    f"{L.describe(L.ACCESS_EXCLUSIVE)}. Use pg_repack outside the migration instead.")
        elif op.kind == "reindex" and not op.data.get("concurrent"):
            what = _reindex_message(st)
        elif op.kind == "detach_partition" and not op.data.get("concurrent"):
            what = (f"DETACH PARTITION takes {L.a_lock(L.ACCESS_EXCLUSIVE)} on {q(op.table)}. Use "
                    "`DETACH PARTITION ... CONCURRENTLY` (PostgreSQL 14+) alone in its own migration.")
        elif op.kind == "refresh_matview" and not op.data.get("concurrent"):
            what = (f"REFRESH MATERIALIZED VIEW {q(op.name)} takes {L.a_lock(L.ACCESS_EXCLUSIVE)} on the view "
                    "for the whole refresh. Use `REFRESH MATERIALIZED VIEW CONCURRENTLY` (needs a unique index).")
        if what:
            hits.append(Hit(BLOCKING_MAINTENANCE, op.stmt, f"{op.kind} {op.subject}", what,
                            "the maintenance command blocks the table", key=f"{op.kind} {op.subject}"))
    return hits


def _reindex_message(st: OpState) -> str:
    op = st.op
    obj = str(op.data.get("object", "")).upper()
    name = q(op.name)
    in_tx = st.in_transaction and obj in ("SYSTEM", "DATABASE")
    fails = (f" It also cannot run inside a transaction block (ERROR 25001), and {prisma_tx_note(st)}: the deploy "
             "fails here." if in_tx else "")
    if obj == "SYSTEM":
        return (f"REINDEX SYSTEM {name} rebuilds the indexes of the system catalogs, one catalog at a time under "
                f"{L.a_lock(L.SHARE)}: DDL, temporary tables and everything else that writes the catalogs wait "
                f"while it runs, and PostgreSQL cannot do it CONCURRENTLY.{fails} A schema migration is no place "
                "for it: run it by hand in a maintenance window, if at all.")
    if obj == "DATABASE":
        return (f"REINDEX DATABASE {name} rebuilds every index of the database, each one under "
                f"{L.a_lock(L.SHARE)} on its table while reads that use it wait.{fails} Run `REINDEX DATABASE "
                f"CONCURRENTLY {name};` (PostgreSQL 12+; it skips the system catalogs) outside the migration, or "
                "reindex only the indexes that need it, one migration each with `REINDEX INDEX CONCURRENTLY`.")
    return (f"REINDEX {obj} {name} holds {L.a_lock(L.SHARE)} on the table and blocks reads that use the index "
            f"while it rebuilds. Use `REINDEX {obj} CONCURRENTLY {name};` alone in its own migration.")
