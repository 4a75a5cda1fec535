"""Measured findings: what a traced statement really did to tables that exist on the base branch.

One finding per statement and problem, on the statement's line, with the measured evidence (lock mode, relation,
how long the lock was held in the Prisma-semantics replay, whether the relfilenode changed) and the fix.
Relations created by the change itself are never reported: nobody else is using them yet.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from bot.findings import Finding, Severity, Source, Surface
from bot.registry import define

if TYPE_CHECKING:  # the runner and probe need psycopg (the [trace] extra); the rules must register without it
    from bot.trace.runner import LockTaken, StatementTrace, TraceResult

_OPTIONS = {"slow_ms": 500}

ACCESS_EXCLUSIVE = define(
    "migration/measured-access-exclusive", Severity.WARNING, Surface.MIGRATION,
    "A traced statement took ACCESS EXCLUSIVE on an existing table, blocking reads and writes while held",
    options=dict(_OPTIONS),
)
WRITE_LOCK = define(
    "migration/measured-write-lock", Severity.WARNING, Surface.MIGRATION,
    "A traced statement took a SHARE-class lock on an existing table, blocking writes while held",
    options=dict(_OPTIONS),
)
REWRITE = define(
    "migration/measured-rewrite", Severity.WARNING, Surface.MIGRATION,
    "A traced statement rewrote an existing table or index (its relfilenode changed)",
)
FAILURE = define(
    "migration/measured-failure", Severity.ERROR, Surface.MIGRATION,
    "A new migration statement failed when run on a copy of the base branch's database",
)

MEASURED_RULES = (ACCESS_EXCLUSIVE, WRITE_LOCK, REWRITE, FAILURE)


def _ms(value: float | None) -> str:
    if value is None:
        return "?"
    return f"{value:.0f} ms" if value >= 10 else f"{value:.1f} ms"


def _key(trace: StatementTrace, subject: str) -> str:
    return f"{subject}: {' '.join(trace.statement.text.split())[:200]}"


def _fix_for(trace: StatementTrace) -> str:
    """The safe rewrite for the kind of statement that took the lock."""
    text = " ".join(trace.statement.text.upper().split())
    if trace.statement.kind == "IndexStmt":
        return ("Build the index with CREATE INDEX CONCURRENTLY, alone in its own migration (Prisma runs a "
                "single-statement migration outside a transaction).")
    if "FOREIGN KEY" in text and "NOT VALID" not in text:
        return ("Add the constraint with NOT VALID (brief lock, no scan), then VALIDATE CONSTRAINT in a later "
                "migration (SHARE UPDATE EXCLUSIVE: reads and writes go on).")
    if " CHECK " in f" {text} " and "NOT VALID" not in text:
        return "Add the CHECK with NOT VALID, then VALIDATE CONSTRAINT in a later migration."
    if "SET NOT NULL" in text:
        return ("Add CHECK (\"col\" IS NOT NULL) NOT VALID, VALIDATE it in a later migration, then SET NOT NULL "
                "(PostgreSQL 12+ skips the scan when a valid CHECK proves it) and drop the CHECK.")
    if trace.rewritten and " TYPE " in f" {text} " and "ALTER COLUMN" in text:
        return ("Add a new column of the new type, backfill it in batches, switch the code, then drop the old "
                "column (expand and contract); or keep the change binary-coercible (e.g. VARCHAR(n) → TEXT).")
    if trace.rewritten and "ADD COLUMN" in text and "DEFAULT" in text:
        return ("Add the column without the volatile default (or with a constant one), then backfill in batches "
                "and set the default afterwards.")
    if trace.statement.kind == "DropStmt" and "INDEX" in text:
        return "Use DROP INDEX CONCURRENTLY, alone in its own migration."
    if "UNIQUE" in text or "PRIMARY KEY" in text:
        return ("Build a unique index with CREATE UNIQUE INDEX CONCURRENTLY first, then ADD CONSTRAINT … "
                "USING INDEX.")
    return ("Run it in a migration of its own with `SET lock_timeout = '5s';` first, so it gives up instead of "
            "queueing every query on the table behind it.")


def _held_text(trace: StatementTrace, lock: LockTaken, mode: str) -> str:
    held = lock.held_ms
    if held is not None and trace.replay_ms is not None and held > trace.replay_ms * 1.5 + 1:
        return (f"held {_ms(held)} in the replay, until the migration's transaction committed "
                f"(the statement itself took {_ms(trace.replay_ms)})")
    if trace.autocommit:
        return f"held while the statement ran ({_ms(trace.duration_ms)}), outside a transaction"
    return f"held {_ms(held if held is not None else trace.duration_ms)}"


def _worth_reporting(trace: StatementTrace, lock: LockTaken, slow_ms: float, scans: bool) -> bool:
    """Report when the work grows with the table (a scan or a build) or the lock was held at least `slow_ms`.
    A quick catalog-only lock (ADD COLUMN without a default, a NOT VALID constraint, a new table's foreign key)
    is only listed in the lock table: it is brief, and missing-lock-timeout rules already cover its queueing."""
    held = max(lock.held_ms or 0.0, trace.duration_ms)
    return scans or held >= slow_ms


def _target_is_existing(trace: StatementTrace) -> bool:
    """Whether the statement's own table (ALTER TABLE's, the index's) existed on the base branch. A table created
    by the change is empty: validating or indexing it scans nothing, whatever it references."""
    if not trace.statement.relations:
        return True
    target = trace.statement.relations[0].removeprefix("public.")
    for lock in trace.locks:
        if lock.relation == target or lock.table == target:
            return lock.existing if lock.relation == target else True
    return True


def _scans(trace: StatementTrace) -> bool:
    """Statements whose work grows with the table: index builds, validations, NOT NULL checks, type changes."""
    if not _target_is_existing(trace):
        return False
    text = " ".join(trace.statement.text.upper().split())
    if trace.statement.kind in ("IndexStmt", "ClusterStmt", "VacuumStmt", "ReindexStmt"):
        return True
    if trace.statement.kind != "AlterTableStmt":
        return False
    # A type change scans only when it rewrites, and rewrites are reported by their own rule.
    if "SET NOT NULL" in text or "VALIDATE CONSTRAINT" in text:
        return True
    adds_constraint = any(word in text for word in ("FOREIGN KEY", " CHECK", "UNIQUE", "PRIMARY KEY"))
    return adds_constraint and "NOT VALID" not in text and "USING INDEX" not in text


def measured_findings(result: TraceResult, options: dict[str, dict[str, Any]] | None = None) -> list[Finding]:
    """Findings for every traced statement; `options` maps rule id -> options (from the repo config)."""
    options = options or {}
    out: list[Finding] = []
    failed_before = False
    for trace in result.statements():
        out.extend(_statement_findings(trace, result, options, failed_before))
        failed_before = failed_before or trace.real_failure
    return out


def _finding(rule: Any, trace: StatementTrace, message: str, key: str, severity: Severity | None = None,
             extra: dict[str, Any] | None = None) -> Finding:
    return rule.finding(
        trace.path, trace.line, message, end_line=trace.end_line, severity=severity, key=key,
        scope=(trace.line, trace.end_line), source=Source.MEASURED,
        extra={"statement_ms": round(trace.duration_ms, 2), **(extra or {})},
    )


def _statement_findings(trace: StatementTrace, result: TraceResult, options: dict[str, dict[str, Any]],
                        failed_before: bool) -> list[Finding]:
    out = _measurements(trace, result, options)
    if failed_before:
        note = (" (Measured after an earlier statement of this change failed; `prisma migrate deploy` stops at "
                "that failure, so fix it first.)")
        out = [f.with_(message=f.message + note, extra={**f.extra, "after_failure": True}) for f in out]
    return out


def _measurements(trace: StatementTrace, result: TraceResult,
                  options: dict[str, dict[str, Any]]) -> list[Finding]:
    out: list[Finding] = []
    if trace.cascade or trace.step_artifact:
        # "column does not exist" because a failed statement did not add it, or a failure that only happens when
        # statements run in separate transactions: not a problem of this statement.
        return out
    if trace.real_failure:
        out.append(_failure(trace, result))
    rewritten_tables = [r for r in trace.rewritten if r.startswith(("table ", "materialized view "))]
    strong = [lk for lk in trace.locks if lk.existing and lk.kind in ("r", "p", "m")]
    if rewritten_tables:
        lock = next((lk for lk in strong if lk.mode == "AccessExclusiveLock"), None)
        held = f" under ACCESS EXCLUSIVE ({_held_text(trace, lock, 'AccessExclusiveLock')})" if lock else ""
        others = [r for r in trace.rewritten if r not in rewritten_tables]
        also = f", and rebuilt {', '.join(others)}" if others else ""
        seeded = _seeded_text(result, rewritten_tables)
        out.append(_finding(
            REWRITE, trace,
            f"Measured: this statement rewrote {', '.join(rewritten_tables)} (new relfilenode){also}{held}; "
            f"reads and writes wait for the whole copy, which grows with the table{seeded}. {_fix_for(trace)}",
            _key(trace, "rewrite " + ", ".join(rewritten_tables)),
            extra={"rewritten": trace.rewritten, "tables": [r.split(" ", 1)[1] for r in rewritten_tables],
                   "table": rewritten_tables[0].split(" ", 1)[1], "lock": "ACCESS EXCLUSIVE" if lock else None,
                   "held_ms": lock.held_ms if lock else None},
        ))
        return out  # the rewrite finding already names the lock; one finding per statement
    scans = _scans(trace)
    for lock in strong:
        if lock.mode == "AccessExclusiveLock":
            rule = ACCESS_EXCLUSIVE
        elif lock.mode in _write_blocking():
            rule = WRITE_LOCK
        else:
            continue
        slow_ms = float(options.get(rule.id, {}).get("slow_ms", _OPTIONS["slow_ms"]))
        if not _worth_reporting(trace, lock, slow_ms, scans):
            break
        verb = "waited for" if lock.waited else "took"
        same = [lk.relation for lk in strong if lk.mode == lock.mode]
        on = " and ".join(f'"{name}"' for name in same)
        out.append(_finding(
            rule, trace,
            f"Measured: this statement {verb} {lock.mode_name} on {on} "
            f"({_held_text(trace, lock, lock.mode)}); while held it blocks {lock.blocks}."
            f"{_seeded_text(result, [lock.relation])} {_fix_for(trace)}",
            _key(trace, f"{lock.mode_name} {lock.relation}"),
            extra={"table": lock.relation, "tables": same, "lock": lock.mode_name, "held_ms": lock.held_ms,
                   "scans": scans},
        ))
        break  # the strongest lock on an existing table speaks for the statement (locks are sorted strongest first)
    return out


def _write_blocking() -> set[str]:
    from bot.trace import probe

    return probe.WRITE_BLOCKING


def _seeded_text(result: TraceResult, relations: list[str]) -> str:
    names = [r.split(" ", 1)[-1] for r in relations]
    seeded = [n for n in names if n in result.seeded]
    if not seeded:
        return ""
    return f" (measured with {result.seeded[seeded[0]]:,} generated rows in {seeded[0]})"


def _failure(trace: StatementTrace, result: TraceResult) -> Finding:
    if trace.error:
        error, state, where = trace.error, trace.sqlstate, "on a copy of the base branch's database"
    else:
        error, state, where = trace.replay_error, trace.replay_sqlstate, "when replayed the way Prisma runs the file"
    hint = _failure_hint(state, result)
    return _finding(
        FAILURE, trace,
        f"Measured: this statement fails {where}: {error} (SQLSTATE {state}). `prisma migrate deploy` stops here "
        f"and the migration is marked failed.{hint}",
        _key(trace, f"failure {state}"),
        extra={"sqlstate": state, "error": error, "phase": "step" if trace.error else "replay"},
    )


def _failure_hint(state: str | None, result: TraceResult) -> str:
    if state == "23502":
        rows = " (the trace seeded rows first)" if result.seeded else ""
        return (f" Existing rows have no value for the new NOT NULL column{rows}: add it with a DEFAULT, or add it "
                f"nullable, backfill, then SET NOT NULL.")
    if state == "25001":
        return " Put the CONCURRENTLY statement alone in its own migration."
    if state == "55P04":
        return " Commit the new enum value first: move its use to a later migration."
    if state in ("23505", "23503", "23514"):
        return " Existing data violates the new constraint: clean it up in an earlier migration."
    return ""


def lock_table(result: TraceResult) -> list[dict[str, Any]]:
    """Rows for the summary's lock table: every lock a new statement took on a relation, strongest first."""
    rows: list[dict[str, Any]] = []
    for trace in result.statements():
        for lock in trace.locks:
            if lock.kind not in ("r", "p", "m"):
                continue
            rows.append({
                "path": trace.path,
                "line": trace.line,
                "statement": trace.statement.summary,
                "table": lock.relation,
                "lock": lock.mode_name,
                "blocks": lock.blocks,
                "existing": lock.existing,
                "rewrite": any(r.endswith(f" {lock.relation}") for r in trace.rewritten),
                "statement_ms": round(trace.duration_ms, 2),
                "held_ms": round(lock.held_ms, 2) if lock.held_ms is not None else None,
                "autocommit": trace.autocommit,
            })
    return rows


def trace_facts(result: TraceResult) -> dict[str, Any]:
    """The trace's own summary (server, base history, seeding, timings) for Review.facts["measured_trace"]."""
    return {
        "server": result.server,
        "server_version": result.server_version,
        "base_migrations": result.base_migrations,
        "base_seconds": round(result.base_seconds, 3),
        "rows": result.rows,
        "seeded": dict(result.seeded),
        "migrations": [
            {"path": m.path, "replay_mode": m.replay_mode,
             "replay_ms": round(m.replay_ms, 2) if m.replay_ms is not None else None}
            for m in result.migrations
        ],
        "statements": [
            {"path": t.path, "line": t.line, "end_line": t.end_line, "statement": t.statement.summary,
             "statement_ms": round(t.duration_ms, 2),
             "replay_ms": round(t.replay_ms, 2) if t.replay_ms is not None else None,
             "autocommit": t.autocommit, "created": t.created, "dropped": t.dropped, "rewritten": t.rewritten,
             "error": t.error or t.replay_error, "sqlstate": t.sqlstate or t.replay_sqlstate}
            for t in result.statements() if t.skipped is None
        ],
        "base_error": result.base_error,
    }


def format_lock_table(rows: list[dict[str, Any]], limit: int = 60) -> str:
    """The measured lock table as plain text, for `dbreview trace --format text`."""
    if not rows:
        return ""
    lines = ["Measured locks (held = until the statement's transaction ended, in the Prisma-semantics replay):"]
    for row in rows[:limit]:
        migration = row["path"].rsplit("/", 2)[-2] if row["path"].count("/") >= 1 else row["path"]
        held = f"{row['held_ms']:.1f} ms" if row["held_ms"] is not None else "? (replay stopped earlier)"
        flags = [flag for flag, on in (("new table", not row["existing"]), ("rewrite", row["rewrite"]),
                                       ("autocommit", row["autocommit"])) if on]
        lines.append(f"  {migration}:{row['line']:<5} {row['lock']:<22} {row['table']:<28} "
                     f"stmt {row['statement_ms']:.1f} ms, held {held}{' (' + ', '.join(flags) + ')' if flags else ''}")
    if len(rows) > limit:
        lines.append(f"  … and {len(rows) - limit} more")
    return "\n".join(lines) + "\n"
