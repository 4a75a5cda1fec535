"""Measured locks, rewrites and failures of typical Prisma migrations, on the real server."""

from __future__ import annotations

from trace_helpers import SCENARIO_ROWS, requires_pg, scenario_path

from bot.findings import Finding, Severity, Source
from bot.trace.rules import lock_table, measured_findings
from bot.trace.runner import StatementTrace, TraceResult

pytestmark = requires_pg


def _statements(result: TraceResult, name: str) -> list[StatementTrace]:
    path = scenario_path(name)
    return [s for s in result.statements() if s.path == path and s.skipped is None]


def _only(result: TraceResult, name: str) -> StatementTrace:
    statements = _statements(result, name)
    assert len(statements) == 1, [s.statement.summary for s in statements]
    return statements[0]


def _findings(result: TraceResult, name: str) -> list[Finding]:
    return [f for f in measured_findings(result) if f.path == scenario_path(name)]


def _table_lock(stmt: StatementTrace, table: str) -> str | None:
    return next((lk.mode for lk in stmt.locks if lk.relation == table), None)


def test_the_scenario_ran_on_seeded_tables(scenario: TraceResult) -> None:
    assert scenario.base_migrations == 1 and scenario.base_error is None
    assert scenario.seeded == {"User": SCENARIO_ROWS, "Post": SCENARIO_ROWS}
    errors = [s.statement.summary for s in scenario.statements() if s.error]
    assert errors == ['UPDATE "Post" SET "views" = 1 WHERE "authorId" IN (SELECT "id" FROM "tmp_authors")',
                      'ALTER TABLE "Post" ADD COLUMN;'], errors


def test_create_index_takes_share_lock(scenario: TraceResult) -> None:
    stmt = _only(scenario, "idx")
    assert _table_lock(stmt, "Post") == "ShareLock"
    assert not stmt.autocommit and stmt.created == ["index Post_authorId_idx"]
    [finding] = _findings(scenario, "idx")
    assert finding.rule == "migration/measured-write-lock" and finding.severity is Severity.WARNING
    assert finding.source is Source.MEASURED and finding.line == 2 and finding.scope == (2, 2)
    assert 'SHARE on "Post"' in finding.message and "CREATE INDEX CONCURRENTLY" in finding.message
    assert f"{SCENARIO_ROWS} generated rows" in finding.message


def test_create_index_concurrently_takes_no_write_lock(scenario: TraceResult) -> None:
    stmt = _only(scenario, "cic")
    assert stmt.autocommit  # it cannot run in a transaction, so the trace ran it through the observer gate
    assert _table_lock(stmt, "User") == "ShareUpdateExclusiveLock"
    assert stmt.created == ["index User_name_idx"]
    assert _findings(scenario, "cic") == []


def test_volatile_default_rewrites_the_table(scenario: TraceResult) -> None:
    stmt = _only(scenario, "token")
    assert "table User" in stmt.rewritten and "index User_pkey" in stmt.rewritten
    [finding] = _findings(scenario, "token")
    assert finding.rule == "migration/measured-rewrite" and finding.line == 2
    assert "rewrote table User" in finding.message and "ACCESS EXCLUSIVE" in finding.message


def test_constant_default_does_not_rewrite(scenario: TraceResult) -> None:
    stmt = _only(scenario, "flag")
    assert stmt.rewritten == []
    assert _table_lock(stmt, "User") == "AccessExclusiveLock"
    # A catalog-only change: brief, so only listed in the lock table, not reported as a finding.
    assert _findings(scenario, "flag") == []
    assert any(r["path"] == scenario_path("flag") and r["lock"] == "ACCESS EXCLUSIVE" for r in lock_table(scenario))


def test_set_not_null_takes_access_exclusive_and_scans(scenario: TraceResult) -> None:
    stmt = _only(scenario, "required")
    assert stmt.error is None  # seeded rows carry values, as production rows without NULLs would
    assert _table_lock(stmt, "User") == "AccessExclusiveLock" and stmt.rewritten == []
    [finding] = _findings(scenario, "required")
    assert finding.rule == "migration/measured-access-exclusive" and finding.severity is Severity.WARNING
    assert "NOT VALID" in finding.message


def test_foreign_key_without_not_valid_blocks_writes_on_both_tables(scenario: TraceResult) -> None:
    stmt = _only(scenario, "fk")
    assert stmt.error is None  # the seed points the existing Post rows at existing users
    assert _table_lock(stmt, "Post") == "ShareRowExclusiveLock"
    assert _table_lock(stmt, "User") == "ShareRowExclusiveLock"
    [finding] = _findings(scenario, "fk")
    assert finding.rule == "migration/measured-write-lock" and finding.severity is Severity.WARNING
    assert '"Post" and "User"' in finding.message and "NOT VALID" in finding.message


def test_foreign_key_not_valid_then_validate(scenario: TraceResult) -> None:
    add, validate = _only(scenario, "fk_not_valid"), _only(scenario, "validate")
    # NOT VALID takes the same mode, but only for a catalog change: no scan, nothing to report.
    assert _table_lock(add, "Post") == "ShareRowExclusiveLock"
    assert _findings(scenario, "fk_not_valid") == []
    assert _table_lock(validate, "Post") == "ShareUpdateExclusiveLock"
    assert _table_lock(validate, "User") == "RowShareLock"
    assert _findings(scenario, "validate") == []


def test_alter_type_rewrite_versus_binary_coercible(scenario: TraceResult) -> None:
    assert "table Post" in _only(scenario, "bigint").rewritten
    assert [f.rule for f in _findings(scenario, "bigint")] == ["migration/measured-rewrite"]
    for name in ("widen", "text"):  # VARCHAR(50) -> VARCHAR(200) -> TEXT: binary-coercible, no rewrite
        assert _only(scenario, name).rewritten == [], name
        assert "migration/measured-rewrite" not in [f.rule for f in _findings(scenario, name)]
    # TEXT -> VARCHAR(n) has to check every value: PostgreSQL rewrites. Measured, where an allowlist may guess.
    assert "table User" in _only(scenario, "email").rewritten


def test_replay_holds_locks_until_the_file_commits(scenario: TraceResult) -> None:
    mig = next(m for m in scenario.migrations if m.path == scenario_path("multi"))
    assert mig.replay_mode == "transaction"
    first, index, last = mig.statements
    user_lock = next(lk for lk in first.locks if lk.relation == "User")
    assert user_lock.mode == "AccessExclusiveLock"
    # held across the two later statements: at least as long as the three statements together
    assert user_lock.held_ms is not None and first.replay_ms is not None
    assert user_lock.held_ms >= first.replay_ms + (index.replay_ms or 0) + (last.replay_ms or 0)
    rows = [r for r in lock_table(scenario) if r["path"] == scenario_path("multi")]
    assert {(r["line"], r["table"], r["lock"]) for r in rows} == {
        (2, "User", "ACCESS EXCLUSIVE"), (5, "Post", "SHARE"), (8, "Post", "ACCESS EXCLUSIVE")}
    assert all(r["held_ms"] is not None and r["existing"] for r in rows)


def test_single_statement_files_replay_in_autocommit(scenario: TraceResult) -> None:
    modes = {m.path: m.replay_mode for m in scenario.migrations}
    assert modes[scenario_path("idx")] == "autocommit" and modes[scenario_path("cic")] == "autocommit"


def test_replay_modes_follow_prisma() -> None:
    from bot.trace.runner import replay_mode
    from bot.trace.statements import split_statements

    assert replay_mode(split_statements('CREATE INDEX CONCURRENTLY "i" ON "T"("a");')) == "autocommit"
    assert replay_mode(split_statements('ALTER TABLE "T" ADD COLUMN "b" INT; CREATE INDEX "i" ON "T"("b");')) \
        == "transaction"
    assert replay_mode(split_statements('SET lock_timeout = 1000; CREATE INDEX CONCURRENTLY "i" ON "T"("a");')) \
        == "split"


def test_new_tables_are_not_reported(scenario: TraceResult) -> None:
    create, index, fk = _statements(scenario, "comment")
    assert "table Comment" in create.created and "index Comment_postId_idx" in index.created
    # The new table's foreign key locks the existing parent (SHARE ROW EXCLUSIVE on "Post") but scans only the
    # new, empty table: brief, so it is not reported.
    assert _table_lock(fk, "Post") == "ShareRowExclusiveLock"
    assert _findings(scenario, "comment") == []


def test_enum_value_used_in_the_same_file_fails_only_under_prisma_semantics(scenario: TraceResult) -> None:
    add, use = _statements(scenario, "enum")
    assert add.error is None and use.error is None  # each statement committed on its own: fine
    assert use.replay_sqlstate == "55P04"  # one transaction, as Prisma runs the file: unsafe use of new value
    failures = [f for f in _findings(scenario, "enum") if f.rule == "migration/measured-failure"]
    assert [(f.line, f.extra["phase"]) for f in failures] == [(5, "replay")]
    assert "later migration" in failures[0].message


def test_not_null_column_without_default_fails_on_rows(failing: TraceResult) -> None:
    first, second, third = failing.statements()
    assert first.sqlstate == "23502" and "contains null values" in (first.error or "")
    # The trace goes on after a failure; the index on the column that was never added fails as a consequence,
    # which is not reported as a problem of its own.
    assert second.after_failure and second.sqlstate == "42703" and second.cascade
    finding, later = measured_findings(failing)
    assert finding.rule == "migration/measured-failure" and finding.severity is Severity.ERROR
    assert finding.line == 2 and "23502" in finding.message and "DEFAULT" in finding.message
    # An independent later statement is still measured, and says that production would have stopped earlier.
    assert third.error is None and later.rule == "migration/measured-write-lock"
    assert later.extra["after_failure"] and "fix it first" in later.message
    # run_scenario has already checked that every scratch database was dropped


def test_not_null_on_an_empty_new_table_is_fine_and_a_syntax_error_fails(scenario: TraceResult) -> None:
    assert _only(scenario, "comment_slug").error is None
    assert _findings(scenario, "comment_slug") == []
    bad = _only(scenario, "bad")
    assert bad.sqlstate == "42601"
    [finding] = _findings(scenario, "bad")
    assert finding.rule == "migration/measured-failure" and "42601" in finding.message


def test_a_brief_lock_held_until_a_slow_file_ends_is_reported(scenario: TraceResult) -> None:
    # "bio" is a catalog-only ADD COLUMN, but its ACCESS EXCLUSIVE lasts until the file's transaction commits,
    # after the index build. With slow_ms at 0 every such hold counts as slow.
    assert _findings(scenario, "multi") == [f for f in _findings(scenario, "multi") if f.line != 2]
    options = {"migration/measured-access-exclusive": {"slow_ms": 0}}
    [bio] = [f for f in measured_findings(scenario, options) if f.path == scenario_path("multi") and f.line == 2]
    assert bio.rule == "migration/measured-access-exclusive" and bio.severity is Severity.WARNING
    assert "until the migration's transaction committed" in bio.message


def test_a_failure_that_only_the_step_pass_sees_is_not_reported(scenario: TraceResult) -> None:
    create, update = _statements(scenario, "temp")
    assert create.error is None
    assert update.sqlstate == "42P01" and update.replay_error is None and update.step_artifact
    assert not update.real_failure
    assert _findings(scenario, "temp") == []
    # and it does not mark the statements after it as "after a failure"
    assert not any(f.extra.get("after_failure") for f in _findings(scenario, "comment_slug"))


def test_text_lock_table_and_statement_facts(scenario: TraceResult) -> None:
    from bot.trace.rules import format_lock_table, trace_facts

    text = format_lock_table(lock_table(scenario))
    assert text.startswith("Measured locks")
    assert any("20240201000001_idx:2" in line and "SHARE " in line and "Post" in line for line in text.splitlines())
    facts = trace_facts(scenario)
    created = {tuple(s["created"]) for s in facts["statements"] if s["path"] == scenario_path("idx")}
    assert created == {("index Post_authorId_idx",)}
    assert facts["base_migrations"] == 1 and facts["rows"] == SCENARIO_ROWS
