# ruff: noqa: E501  (Prisma writes long SQL lines; fixtures keep them verbatim)
"""Issue #20, "Wrong": findings that said something untrue, each with the look-alike that must still fire."""

from __future__ import annotations

from mig_fixtures import INIT, MIG, of, run

SET_NN = 'ALTER TABLE "Order" ALTER COLUMN "status" SET NOT NULL;\n'


# -- 1. SET NOT NULL after a validated CHECK (col IS NOT NULL) skips the scan (PostgreSQL 12+) ------------------


def test_check_added_and_validated_in_the_same_file() -> None:
    sql = ('ALTER TABLE "Order" ADD CONSTRAINT "Order_status_nn" CHECK ("status" IS NOT NULL) NOT VALID;\n'
           'ALTER TABLE "Order" VALIDATE CONSTRAINT "Order_status_nn";\n' + SET_NN)
    assert not of(run(sql), "migration/set-not-null")


def test_check_added_in_an_earlier_migration_and_validated_here() -> None:
    init = INIT + '\nALTER TABLE "Order" ADD CONSTRAINT "Order_status_check" CHECK ("status" IS NOT NULL) NOT VALID;\n'
    sql = 'ALTER TABLE "Order" VALIDATE CONSTRAINT "Order_status_check";\n' + SET_NN
    assert not of(run(sql, init=init), "migration/set-not-null")


def test_check_validated_in_an_earlier_migration() -> None:
    earlier = {f"{MIG}/20240201000000_check/migration.sql":
               'ALTER TABLE "Order" ADD CONSTRAINT "c1" CHECK ("status" IS NOT NULL) NOT VALID;\n',
               f"{MIG}/20240202000000_validate/migration.sql": 'ALTER TABLE "Order" VALIDATE CONSTRAINT "c1";\n'}
    assert not of(run(SET_NN, base_extra=earlier), "migration/set-not-null")


def test_validate_of_a_constraint_the_history_does_not_know_named_for_the_column() -> None:
    # the example: the CHECK was added outside the replayed history
    sql = 'ALTER TABLE "Order" VALIDATE CONSTRAINT "Order_status_not_null";\n' + SET_NN
    assert not of(run(sql), "migration/set-not-null")


def test_check_that_is_still_not_valid_or_on_another_column_keeps_the_finding() -> None:
    not_validated = 'ALTER TABLE "Order" ADD CONSTRAINT "c1" CHECK ("status" IS NOT NULL) NOT VALID;\n' + SET_NN
    (f,) = of(run(not_validated), "migration/set-not-null")
    assert "scans the whole table" in f.message
    other_column = ('ALTER TABLE "Order" ADD CONSTRAINT "c2" CHECK ("userId" IS NOT NULL) NOT VALID;\n'
                    'ALTER TABLE "Order" VALIDATE CONSTRAINT "c2";\n' + SET_NN)
    assert of(run(other_column), "migration/set-not-null")
    unrelated = 'ALTER TABLE "Order" VALIDATE CONSTRAINT "Order_userId_fkey";\n' + SET_NN
    assert of(run(unrelated), "migration/set-not-null")
    dropped = ('ALTER TABLE "Order" ADD CONSTRAINT "c3" CHECK ("status" IS NOT NULL);\n'
               'ALTER TABLE "Order" DROP CONSTRAINT "c3";\n' + SET_NN)
    assert of(run(dropped), "migration/set-not-null")


# -- 2. VACUUM options are read with their values ---------------------------------------------------------------


def test_vacuum_full_false_is_a_plain_vacuum() -> None:
    for sql in ('VACUUM (FULL FALSE) "Order";', 'VACUUM (FULL off, ANALYZE) "Order";', 'VACUUM (FULL 0) "Order";'):
        assert not of(run(sql + "\n"), "migration/blocking-maintenance"), sql
    for sql in ('VACUUM FULL "Order";', 'VACUUM (FULL) "Order";', 'VACUUM (FULL TRUE) "Order";', 'VACUUM (FULL 1) "Order";'):
        (f,) = of(run(sql + "\n"), "migration/blocking-maintenance")
        assert "VACUUM FULL" in f.message, sql


def test_reindex_concurrently_false_is_not_concurrent() -> None:
    assert of(run('REINDEX (CONCURRENTLY FALSE) TABLE "Order";\n'), "migration/blocking-maintenance")
    assert not of(run('REINDEX (CONCURRENTLY) TABLE "Order";\n'), "migration/blocking-maintenance")


# -- 3. REINDEX SYSTEM cannot be CONCURRENTLY ---------------------------------------------------------------------


def test_reindex_system_gets_no_concurrently_advice() -> None:
    (f,) = of(run("REINDEX SYSTEM app;\n"), "migration/blocking-maintenance")
    assert "cannot do it CONCURRENTLY" in f.message and "REINDEX SYSTEM CONCURRENTLY" not in f.message
    (f,) = of(run('ALTER TABLE "Order" ADD COLUMN "x" TEXT;\nREINDEX SYSTEM app;\n'), "migration/blocking-maintenance")
    assert "25001" in f.message  # and it cannot run in the migration's transaction


def test_reindex_database_keeps_its_concurrently_advice() -> None:
    (f,) = of(run("REINDEX DATABASE app;\n"), "migration/blocking-maintenance")
    assert "REINDEX DATABASE CONCURRENTLY" in f.message


def test_reindex_of_an_index_this_change_created_is_quiet() -> None:
    sql = 'CREATE TABLE "T" ("a" TEXT);\nCREATE INDEX "T_a_idx" ON "T"("a");\nREINDEX INDEX "T_a_idx";\n'
    assert not of(run(sql), "migration/blocking-maintenance")


def test_statements_after_a_required_column_without_default_run_on_an_empty_table() -> None:
    # pezzo: ADD COLUMN ... NOT NULL (no default) fails on any row, so the FK check after it scans nothing
    sql = ('ALTER TABLE "Order" ADD COLUMN "shopId" TEXT NOT NULL;\n'
           'ALTER TABLE "Order" ADD CONSTRAINT "Order_shopId_fkey" FOREIGN KEY ("shopId") REFERENCES "User"("id");\n'
           'CREATE INDEX "Order_shopId_idx" ON "Order"("shopId");\n')
    found = run(sql)
    assert sorted({f.rule for f in found if f.severity.value != "info"}) == ["migration/add-required-column"]


def test_a_drop_after_a_required_column_keeps_its_finding() -> None:
    # the drop says what to keep once the ADD is fixed; only lock and scan findings go quiet on the empty table
    sql = ('ALTER TABLE "Order" ADD COLUMN "ownerId" TEXT NOT NULL;\n'
           'ALTER TABLE "Order" DROP COLUMN "total";\n'
           'CREATE INDEX "Order_ownerId_idx" ON "Order"("ownerId");\n')
    rules = {f.rule for f in run(sql) if f.severity.value != "info"}
    assert "migration/drop-column" in rules and "migration/index-not-concurrent" not in rules


def test_two_required_columns_added_to_one_table_are_both_reported() -> None:
    found = run('ALTER TABLE "Order" ADD COLUMN "a" TEXT NOT NULL;\nALTER TABLE "Order" ADD COLUMN "b" TEXT NOT NULL;\n')
    # the table is empty only if the first one succeeds: the second fails the same way and is said too
    assert sorted(f.line for f in found if f.rule == "migration/add-required-column") == [1, 2]
