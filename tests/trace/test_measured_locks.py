"""Measured locks, rewrites and failures of typical Prisma migrations, on the real server."""

from __future__ import annotations

from collections.abc import Callable

from conftest import change_adding, requires_pg

from bot.findings import Severity, Source
from bot.trace.rules import lock_table, measured_findings
from bot.trace.runner import StatementTrace, TraceResult

pytestmark = requires_pg

Trace = Callable[..., TraceResult]


def _only(result: TraceResult) -> StatementTrace:
    statements = [s for s in result.statements() if s.skipped is None]
    assert len(statements) == 1, [s.statement.summary for s in statements]
    return statements[0]


def _table_lock(stmt: StatementTrace, table: str) -> str | None:
    return next((lk.mode for lk in stmt.locks if lk.relation == table), None)


def test_create_index_takes_share_lock_and_concurrently_does_not(trace: Trace) -> None:
    plain = trace(change_adding({"20240201000000_idx": 'CREATE INDEX "Post_authorId_idx" ON "Post"("authorId");\n'}))
    stmt = _only(plain)
    assert _table_lock(stmt, "Post") == "ShareLock"
    assert not stmt.autocommit and stmt.created == ["index Post_authorId_idx"]
    findings = measured_findings(plain)
    assert [f.rule for f in findings] == ["migration/measured-write-lock"]
    assert findings[0].source is Source.MEASURED and findings[0].line == 1
    assert "SHARE on \"Post\"" in findings[0].message and "CONCURRENTLY" in findings[0].message

    concurrent = trace(change_adding(
        {"20240201000000_idx": 'CREATE INDEX CONCURRENTLY "Post_authorId_idx" ON "Post"("authorId");\n'}))
    stmt = _only(concurrent)
    assert stmt.autocommit  # it cannot run in a transaction, so the trace ran it through the observer gate
    assert _table_lock(stmt, "Post") == "ShareUpdateExclusiveLock"
    assert stmt.created == ["index Post_authorId_idx"]
    assert measured_findings(concurrent) == []


def test_volatile_default_rewrites_and_constant_default_does_not(trace: Trace) -> None:
    volatile = trace(change_adding({"20240201000000_token": (
        '-- AlterTable\nALTER TABLE "User" ADD COLUMN "token" UUID NOT NULL DEFAULT gen_random_uuid();\n')}))
    stmt = _only(volatile)
    assert "table User" in stmt.rewritten and "index User_pkey" in stmt.rewritten
    findings = measured_findings(volatile)
    assert [f.rule for f in findings] == ["migration/measured-rewrite"]
    assert findings[0].line == 2 and "rewrote table User" in findings[0].message

    constant = trace(change_adding({"20240201000000_flag": (
        '-- AlterTable\nALTER TABLE "User" ADD COLUMN "active" BOOLEAN NOT NULL DEFAULT true;\n')}))
    stmt = _only(constant)
    assert stmt.rewritten == []
    assert _table_lock(stmt, "User") == "AccessExclusiveLock"
    findings = measured_findings(constant)
    # A catalog-only change: the lock is listed but as info (it is brief; it still queues behind long queries).
    assert [(f.rule, f.severity) for f in findings] == [("migration/measured-access-exclusive", Severity.INFO)]


def test_set_not_null_takes_access_exclusive_and_scans(trace: Trace) -> None:
    result = trace(change_adding({"20240201000000_required": (
        '-- AlterTable\nALTER TABLE "User" ALTER COLUMN "name" SET NOT NULL;\n')}), rows=200)
    stmt = _only(result)
    assert result.seeded.get("User") == 200
    assert stmt.error is None, stmt.error  # seeded rows carry values, as production rows without NULLs would
    assert _table_lock(stmt, "User") == "AccessExclusiveLock"
    assert stmt.rewritten == []
    [finding] = measured_findings(result)
    assert finding.rule == "migration/measured-access-exclusive" and finding.severity is Severity.WARNING
    assert "NOT VALID" in finding.message and "200 generated rows" in finding.message


def test_foreign_key_with_and_without_not_valid(trace: Trace) -> None:
    fk = ('ALTER TABLE "Post" ADD CONSTRAINT "Post_authorId_fkey" FOREIGN KEY ("authorId") REFERENCES "User"("id") '
          'ON DELETE RESTRICT ON UPDATE CASCADE')
    validated = trace(change_adding({"20240201000000_fk": f"-- AddForeignKey\n{fk};\n"}), rows=50)
    stmt = _only(validated)
    assert stmt.error is None, stmt.error  # the seed points existing Post rows at existing users
    assert _table_lock(stmt, "Post") == "ShareRowExclusiveLock"
    assert _table_lock(stmt, "User") == "ShareRowExclusiveLock"
    [finding] = measured_findings(validated)
    assert finding.rule == "migration/measured-write-lock" and finding.severity is Severity.WARNING
    assert '"Post" and "User"' in finding.message and "NOT VALID" in finding.message

    not_valid = trace(change_adding({
        "20240201000000_fk": f"-- AddForeignKey\n{fk} NOT VALID;\n",
        "20240202000000_validate": 'ALTER TABLE "Post" VALIDATE CONSTRAINT "Post_authorId_fkey";\n',
    }))
    add, validate = [s for s in not_valid.statements()]
    # NOT VALID still takes the same lock mode, but only for a catalog change: no scan, so only info.
    assert _table_lock(add, "Post") == "ShareRowExclusiveLock"
    assert _table_lock(validate, "Post") == "ShareUpdateExclusiveLock"
    assert _table_lock(validate, "User") == "RowShareLock"
    findings = measured_findings(not_valid)
    assert [(f.rule, f.severity, f.line) for f in findings] == [
        ("migration/measured-write-lock", Severity.INFO, 2)]
    assert all(f.path.endswith("20240201000000_fk/migration.sql") for f in findings)


def test_alter_type_rewrite_versus_binary_coercible(trace: Trace) -> None:
    rewrite = trace(change_adding({"20240201000000_bigint": (
        '-- AlterTable\nALTER TABLE "Post" ALTER COLUMN "views" SET DATA TYPE BIGINT;\n')}))
    stmt = _only(rewrite)
    assert "table Post" in stmt.rewritten
    assert [f.rule for f in measured_findings(rewrite)] == ["migration/measured-rewrite"]

    coercible = trace(change_adding({
        "20240201000000_widen": '-- AlterTable\nALTER TABLE "User" ALTER COLUMN "name" SET DATA TYPE VARCHAR(200);\n',
        "20240202000000_text": '-- AlterTable\nALTER TABLE "User" ALTER COLUMN "name" SET DATA TYPE TEXT;\n',
    }))
    for stmt in coercible.statements():
        assert stmt.rewritten == [] and stmt.error is None, stmt.statement.summary
    assert "migration/measured-rewrite" not in [f.rule for f in measured_findings(coercible)]

    # TEXT -> VARCHAR(n) looks like a harmless narrowing-free change but has to check every value: PostgreSQL
    # rewrites the table. The measurement says so where a cast allowlist might not.
    narrowing = trace(change_adding({"20240201000000_email": (
        '-- AlterTable\nALTER TABLE "User" ALTER COLUMN "email" SET DATA TYPE VARCHAR(320);\n')}))
    assert "table User" in _only(narrowing).rewritten


def test_failing_migration_is_reported_and_leaves_nothing_behind(trace: Trace) -> None:
    result = trace(change_adding({
        "20240201000000_slug": '-- AlterTable\nALTER TABLE "Post" ADD COLUMN "slug" TEXT NOT NULL;\n',
        "20240202000000_after": 'CREATE INDEX "Post_slug_idx" ON "Post"("slug");\n',
    }), rows=20)
    first, second = result.statements()
    assert second.error is None and second.duration_ms == 0
    assert first.sqlstate == "23502" and "contains null values" in (first.error or "")
    assert result.migrations[1].not_run  # nothing runs after a failure, as with `prisma migrate deploy`
    [finding] = measured_findings(result)
    assert finding.rule == "migration/measured-failure" and finding.severity is Severity.ERROR
    assert finding.line == 2 and "23502" in finding.message and "DEFAULT" in finding.message
    # the `trace` fixture has already checked that every scratch database was dropped


def test_same_migration_on_empty_tables_succeeds(trace: Trace) -> None:
    result = trace(change_adding({
        "20240201000000_slug": '-- AlterTable\nALTER TABLE "Post" ADD COLUMN "slug" TEXT NOT NULL;\n'}))
    assert _only(result).error is None  # without --rows the tables are empty and PostgreSQL accepts it


def test_syntax_error_is_a_measured_failure(trace: Trace) -> None:
    result = trace(change_adding({"20240201000000_bad": 'ALTER TABLE "Post" ADD COLUMN;\n'}))
    [finding] = measured_findings(result)
    assert finding.rule == "migration/measured-failure" and "42601" in finding.message


def test_replay_holds_locks_until_the_file_commits(trace: Trace) -> None:
    result = trace(change_adding({"20240201000000_multi": (
        '-- AlterTable\nALTER TABLE "User" ADD COLUMN "bio" TEXT;\n\n'
        '-- CreateIndex\nCREATE INDEX "Post_authorId_idx" ON "Post"("authorId");\n\n'
        '-- AlterTable\nALTER TABLE "Post" ADD COLUMN "score" INTEGER;\n')}), rows=2000)
    mig = result.migrations[0]
    assert mig.replay_mode == "transaction"
    first, index, last = mig.statements
    user_lock = next(lk for lk in first.locks if lk.relation == "User")
    assert user_lock.mode == "AccessExclusiveLock"
    # held across the two later statements: at least as long as all three statements together
    assert user_lock.held_ms is not None and first.replay_ms is not None
    assert user_lock.held_ms >= first.replay_ms + (index.replay_ms or 0) + (last.replay_ms or 0)
    rows = lock_table(result)
    assert {(r["line"], r["table"], r["lock"]) for r in rows} >= {
        (2, "User", "ACCESS EXCLUSIVE"), (5, "Post", "SHARE"), (8, "Post", "ACCESS EXCLUSIVE")}
    assert all(r["held_ms"] is not None for r in rows)


def test_replay_modes_follow_prisma() -> None:
    from bot.trace.runner import replay_mode
    from bot.trace.statements import split_statements

    assert replay_mode(split_statements('CREATE INDEX CONCURRENTLY "i" ON "T"("a");')) == "autocommit"
    assert replay_mode(split_statements('ALTER TABLE "T" ADD COLUMN "b" INT; CREATE INDEX "i" ON "T"("b");')) \
        == "transaction"
    assert replay_mode(split_statements('SET lock_timeout = 1000; CREATE INDEX CONCURRENTLY "i" ON "T"("a");')) \
        == "split"


def test_enum_value_used_in_the_same_file_fails_only_under_prisma_semantics(trace: Trace) -> None:
    result = trace(change_adding({"20240201000000_moderator": (
        "-- AlterEnum\nALTER TYPE \"Role\" ADD VALUE 'MODERATOR';\n\n"
        "-- AlterTable\nALTER TABLE \"User\" ALTER COLUMN \"role\" SET DEFAULT 'MODERATOR';\n")}))
    add, use = result.statements()
    assert add.error is None and use.error is None  # each statement committed on its own: fine
    assert use.replay_sqlstate == "55P04"  # one transaction, as Prisma runs the file: unsafe use of new value
    failures = [f for f in measured_findings(result) if f.rule == "migration/measured-failure"]
    assert [(f.line, f.extra["phase"]) for f in failures] == [(5, "replay")]
    assert "later migration" in failures[0].message


def test_new_tables_are_not_reported(trace: Trace) -> None:
    result = trace(change_adding({"20240201000000_comment": (
        '-- CreateTable\nCREATE TABLE "Comment" (\n    "id" TEXT NOT NULL,\n    "postId" INTEGER NOT NULL,\n'
        '    CONSTRAINT "Comment_pkey" PRIMARY KEY ("id")\n);\n\n'
        '-- CreateIndex\nCREATE INDEX "Comment_postId_idx" ON "Comment"("postId");\n')}))
    create, index = result.statements()
    assert "table Comment" in create.created and "index Comment_postId_idx" in index.created
    assert measured_findings(result) == []
