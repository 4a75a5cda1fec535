# ruff: noqa: E501  (Prisma writes long SQL lines; fixtures keep them verbatim)
"""Issue #20, "Missed": lock and deploy hazards the analyzer did not report, each with a look-alike that stays quiet.
Every statement runs against "Order"/"User", which the history creates (they hold data)."""

from __future__ import annotations

from mig_fixtures import INIT, of, rules, run

from bot.findings import Severity

PACKAGE_JSON_74 = '{"dependencies": {"@prisma/client": "7.4.1"}, "devDependencies": {"prisma": "7.4.1"}}\n'
PACKAGE_JSON_5 = '{"dependencies": {"@prisma/client": "5.22.0"}, "devDependencies": {"prisma": "5.22.0"}}\n'


# -- 1. constraints written on the column of ADD COLUMN -----------------------------------------------------------


def test_add_column_unique_builds_its_index_under_access_exclusive() -> None:
    for sql in ('ALTER TABLE "Order" ADD COLUMN "code" TEXT UNIQUE;',
                'ALTER TABLE "Order" ADD COLUMN "code" TEXT CONSTRAINT "Order_code_key" UNIQUE;'):
        (f,) = of(run(sql + "\n"), "migration/unique-without-index")
        assert "ACCESS EXCLUSIVE" in f.message and "CREATE UNIQUE INDEX CONCURRENTLY" in f.message
        assert 'ADD COLUMN "code" TEXT;' in f.message  # the column alone first
        assert "fails (23505)" not in f.message  # NULLs never collide


def test_add_column_unique_with_a_constant_default_fails_on_two_rows() -> None:
    sql = "ALTER TABLE \"Order\" ADD COLUMN \"code\" TEXT NOT NULL DEFAULT 'x' UNIQUE;\n"
    (f,) = of(run(sql), "migration/unique-without-index")
    assert "default 'x'" in f.message and "fails (23505)" in f.message


def test_add_column_primary_key_is_one_finding_with_the_rewrite() -> None:
    found = run('ALTER TABLE "Order" ADD COLUMN "n" SERIAL PRIMARY KEY;\n')
    (f,) = found
    assert f.rule == "migration/add-column-rewrite"  # the rewrite leads; the index build is named with it
    assert "PRIMARY KEY builds the index under ACCESS EXCLUSIVE" in f.message


def test_add_column_references_with_a_default_is_validated_under_lock() -> None:
    sql = "ALTER TABLE \"Order\" ADD COLUMN \"buyerId\" TEXT DEFAULT 'u1' REFERENCES \"User\"(\"id\");\n"
    (f,) = of(run(sql), "migration/constraint-not-valid")
    assert "ACCESS EXCLUSIVE" in f.message and "NOT VALID" in f.message and "VALIDATE CONSTRAINT" in f.message


def test_add_column_references_without_default_is_not_scanned() -> None:
    # measured on PostgreSQL 15: a new column that is NULL everywhere skips the validation scan
    found = run('ALTER TABLE "Order" ADD COLUMN "buyerId" TEXT REFERENCES "User"("id");\n')
    assert not of(found, "migration/constraint-not-valid")


def test_add_column_check_scans_the_table() -> None:
    (f,) = of(run('ALTER TABLE "Order" ADD COLUMN "qty" INTEGER CHECK ("qty" > 0);\n'), "migration/constraint-not-valid")
    assert "CHECK" in f.message and "NOT VALID" in f.message


def test_column_constraints_on_a_new_table_are_quiet() -> None:
    sql = 'CREATE TABLE "Coupon" ("id" TEXT PRIMARY KEY, "code" TEXT UNIQUE, "qty" INTEGER CHECK ("qty" > 0));\n'
    sql += 'ALTER TABLE "Coupon" ADD COLUMN "slug" TEXT UNIQUE;\n'
    assert not of(run(sql), "migration/unique-without-index") and not of(run(sql), "migration/constraint-not-valid")


# -- 2. ALTER TABLE forms that copy the table ---------------------------------------------------------------------


def test_set_unlogged_tablespace_and_access_method_rewrite_the_table() -> None:
    for form in ("SET UNLOGGED", "SET TABLESPACE fast_ssd", "SET ACCESS METHOD heap2"):
        (f,) = of(run(f'ALTER TABLE "Order" {form};\n'), "migration/table-rewrite")
        assert "ACCESS EXCLUSIVE" in f.message and form.split()[1] in f.message


def test_set_storage_and_compression_do_not_rewrite() -> None:
    for form in ('ALTER COLUMN "status" SET STORAGE EXTERNAL', 'ALTER COLUMN "status" SET COMPRESSION lz4'):
        found = run(f'ALTER TABLE "Order" {form};\n')
        assert not of(found, "migration/table-rewrite") and not of(found, "migration/add-column-rewrite")


def test_set_unlogged_on_a_table_created_unlogged_is_a_no_op() -> None:
    init = INIT + '\nCREATE UNLOGGED TABLE "Cache" ("k" TEXT PRIMARY KEY, "v" TEXT);\n'
    assert not of(run('ALTER TABLE "Cache" SET UNLOGGED;\n', init=init), "migration/table-rewrite")
    (f,) = of(run('ALTER TABLE "Cache" SET LOGGED;\n', init=init), "migration/table-rewrite")
    assert "WAL" in f.message
    assert not of(run('ALTER TABLE "Order" SET LOGGED;\n'), "migration/table-rewrite")  # already logged


# -- 3. defaults calling functions nobody vouches for -------------------------------------------------------------


def test_default_calling_an_unknown_function_counts_as_volatile() -> None:
    (f,) = of(run('ALTER TABLE "Order" ADD COLUMN "slug" TEXT DEFAULT make_slug();\n'), "migration/add-column-rewrite")
    assert "make_slug()" in f.message and "IMMUTABLE or STABLE" in f.message


def test_default_calling_a_function_the_history_declares_stable_is_metadata_only() -> None:
    init = INIT + "\nCREATE FUNCTION make_slug() RETURNS text LANGUAGE sql STABLE AS $$ SELECT 'x' $$;\n"
    assert not of(run('ALTER TABLE "Order" ADD COLUMN "slug" TEXT DEFAULT make_slug();\n', init=init),
                  "migration/add-column-rewrite")
    # defined in the same file, before the column
    same = ("CREATE OR REPLACE FUNCTION public.make_slug() RETURNS text AS $$ SELECT 'x' $$ LANGUAGE sql IMMUTABLE;\n"
            'ALTER TABLE "Order" ADD COLUMN "slug" TEXT DEFAULT make_slug();\n')
    assert not of(run(same), "migration/add-column-rewrite")


def test_default_calling_a_function_the_history_declares_volatile_rewrites() -> None:
    init = INIT + "\nCREATE FUNCTION make_slug() RETURNS text LANGUAGE sql AS $$ SELECT md5(random()::text) $$;\n"
    assert of(run('ALTER TABLE "Order" ADD COLUMN "slug" TEXT DEFAULT make_slug();\n', init=init),
              "migration/add-column-rewrite")


def test_stable_and_immutable_builtins_stay_metadata_only() -> None:
    for default in ("now()", "statement_timestamp()", "lower('X')", "timezone('utc', now())", "to_jsonb('{}'::text)",
                    "(now() + interval '30 days')", "jsonb_build_object()"):
        found = run(f'ALTER TABLE "Order" ADD COLUMN "c" TEXT DEFAULT {default};\n')
        assert not of(found, "migration/add-column-rewrite"), default


# -- 4. ALTER DOMAIN ... ADD CONSTRAINT ... CHECK -----------------------------------------------------------------

DOMAIN_INIT = INIT + '\nCREATE DOMAIN "positive_int" AS INTEGER;\nALTER TABLE "Order" ADD COLUMN "qty" "positive_int";\n'


def test_domain_check_without_not_valid_scans_every_column_of_the_type() -> None:
    sql = 'ALTER DOMAIN "positive_int" ADD CONSTRAINT "positive_int_check" CHECK (VALUE > 0);\n'
    (f,) = of(run(sql, init=DOMAIN_INIT), "migration/constraint-not-valid")
    assert '"Order"."qty"' in f.message and "SHARE lock" in f.message and "NOT VALID" in f.message


def test_domain_check_not_valid_or_unused_domain_is_quiet() -> None:
    sql = 'ALTER DOMAIN "positive_int" ADD CONSTRAINT "positive_int_check" CHECK (VALUE > 0) NOT VALID;\n'
    assert not of(run(sql, init=DOMAIN_INIT), "migration/constraint-not-valid")
    unused = INIT + '\nCREATE DOMAIN "positive_int" AS INTEGER;\n'
    sql = 'ALTER DOMAIN "positive_int" ADD CONSTRAINT "positive_int_check" CHECK (VALUE > 0);\n'
    assert not of(run(sql, init=unused), "migration/constraint-not-valid")


# -- 5. DROP DATABASE ---------------------------------------------------------------------------------------------


def test_drop_database_is_reported() -> None:
    (f,) = of(run("DROP DATABASE old_app;\n"), "migration/drop-table")
    assert f.severity is Severity.ERROR and "whole database" in f.message and "25001" not in f.message
    (f,) = of(run('ALTER TABLE "Order" ADD COLUMN "x" TEXT;\nDROP DATABASE old_app;\n'), "migration/drop-table")
    assert "cannot run inside a transaction block" in f.message


def test_dropping_an_index_is_not_dropping_a_database() -> None:
    found = run('DROP INDEX "Order_userId_idx";\n')
    assert not of(found, "migration/drop-table")


# -- 6. BEGIN / COMMIT / ROLLBACK in a migration.sql --------------------------------------------------------------

ADD = 'ALTER TABLE "Order" ADD COLUMN "x" TEXT;\n'


def test_file_wrapped_in_begin_commit_is_fine_under_every_prisma_version() -> None:
    sql = "BEGIN;\n" + ADD + 'ALTER TABLE "Order" ADD COLUMN "y" TEXT;\nCOMMIT;\n'
    for pkg in (None, PACKAGE_JSON_5, PACKAGE_JSON_74):
        extra = {"package.json": pkg} if pkg else None
        assert not of(run(sql, extra_head=extra, base_extra=extra), "migration/transaction-control")


def test_begin_without_commit_leaves_the_transaction_open() -> None:
    (f,) = of(run("BEGIN;\n" + ADD), "migration/transaction-control")
    assert f.severity is Severity.ERROR and "never committed" in f.message and f.line == 1


def test_commit_in_the_middle_ends_prismas_transaction_early_before_7_4() -> None:
    sql = ADD + "COMMIT;\n" + 'ALTER TABLE "Order" ADD COLUMN "y" TEXT;\n'
    extra = {"package.json": PACKAGE_JSON_5}
    (f,) = of(run(sql, extra_head=extra, base_extra=extra), "migration/transaction-control")
    assert f.severity is Severity.WARNING and f.line == 2 and "5.22.0" in f.message and "half-applied" in f.message
    # from 7.4.0 every statement commits on its own: the stray COMMIT does nothing
    extra = {"package.json": PACKAGE_JSON_74}
    (f,) = of(run(sql, extra_head=extra, base_extra=extra), "migration/transaction-control")
    assert f.severity is Severity.INFO and "does nothing" in f.message


def test_commit_at_the_very_end_changes_nothing() -> None:
    assert not of(run(ADD + 'ALTER TABLE "Order" ADD COLUMN "y" TEXT;\nCOMMIT;\n'), "migration/transaction-control")


def test_rollback_undoes_the_migration() -> None:
    (f,) = of(run(ADD + "ROLLBACK;\n"), "migration/transaction-control")
    assert f.severity is Severity.ERROR and "records the migration as applied" in f.message and "version is unknown" in f.message


def test_nested_begin_is_reported_as_advice() -> None:
    (f,) = of(run("BEGIN;\nBEGIN;\n" + ADD + "COMMIT;\n"), "migration/transaction-control")
    assert f.severity is Severity.INFO and f.line == 2


def test_savepoints_inside_a_wrapped_file_are_fine() -> None:
    sql = "BEGIN;\n" + ADD + "SAVEPOINT a;\nRELEASE SAVEPOINT a;\nCOMMIT;\n"
    assert not of(run(sql), "migration/transaction-control")


# -- 7. a column assigned twice -----------------------------------------------------------------------------------


def test_update_setting_a_column_twice_fails_the_deploy() -> None:
    (f,) = of(run("UPDATE \"Order\" SET \"status\" = 'a', \"status\" = 'b' WHERE \"id\" = 1;\n"),
              "migration/duplicate-column-assignment")
    assert f.severity is Severity.ERROR and "42601" in f.message and '"status"' in f.message
    (f,) = of(run('INSERT INTO "Order" ("id", "id") VALUES (1, 2);\n'), "migration/duplicate-column-assignment")
    assert "42701" in f.message
    (f,) = of(run('CREATE TABLE "T" ("a" INTEGER, "a" TEXT);\n'), "migration/duplicate-column-assignment")
    assert "declares" in f.message


def test_assigning_different_columns_or_fields_of_one_column_is_fine() -> None:
    found = run("UPDATE \"Order\" SET \"status\" = 'a', \"note\" = 'b' WHERE \"id\" = 1;\n"
                'UPDATE "Order" SET "addr".street = \'x\', "addr".city = \'y\' WHERE "id" = 1;\n'
                'INSERT INTO "Order" ("id", "userId") VALUES (1, \'u\');\n')
    assert not of(found, "migration/duplicate-column-assignment")


def test_new_rules_stay_quiet_on_a_plain_prisma_migration() -> None:
    sql = ('-- AlterTable\nALTER TABLE "Order" ADD COLUMN     "note" TEXT;\n\n'
           '-- CreateIndex\nCREATE INDEX "Order_note_idx" ON "Order"("note");\n')
    assert rules(run(sql)) == ["migration/index-not-concurrent", "migration/missing-lock-timeout"]


def test_prismas_own_enum_block_is_not_an_early_commit() -> None:
    sql = ("-- AlterEnum\nBEGIN;\nCREATE TYPE \"Role_new\" AS ENUM ('USER', 'ADMIN');\n"
           'ALTER TABLE "User" ALTER COLUMN "role" DROP DEFAULT;\n'
           'ALTER TABLE "User" ALTER COLUMN "role" TYPE "Role_new" USING ("role"::text::"Role_new");\n'
           'ALTER TYPE "Role" RENAME TO "Role_old";\nALTER TYPE "Role_new" RENAME TO "Role";\nDROP TYPE "Role_old";\n'
           "ALTER TABLE \"User\" ALTER COLUMN \"role\" SET DEFAULT 'USER';\nCOMMIT;\n\n"
           '-- AlterTable\nALTER TABLE "Order" ADD COLUMN "x" TEXT;\n')
    found = run(sql)
    assert not of(found, "migration/transaction-control") and of(found, "migration/enum-value-removal")


def test_commit_after_add_value_lets_later_statements_use_it() -> None:
    sql = ("ALTER TYPE \"Role\" ADD VALUE 'SUPPORT';\nCOMMIT;\n"
           "UPDATE \"User\" SET \"role\" = 'SUPPORT' WHERE \"email\" LIKE '%@support.example';\n")
    found = run(sql)
    assert not of(found, "migration/enum-value-same-transaction")  # the COMMIT made the value usable
    (f,) = of(found, "migration/transaction-control")
    assert f.severity is Severity.INFO and "55P04" in f.message and "non-atomic" in f.message
    # without the COMMIT the deploy fails
    assert of(run(sql.replace("COMMIT;\n", "")), "migration/enum-value-same-transaction")


def test_blocks_committed_on_purpose_are_said_not_warned() -> None:
    sql = ("BEGIN;\n" + ADD + "COMMIT;\n\nBEGIN;\n" + 'ALTER TABLE "User" ADD COLUMN "y" TEXT;\nCOMMIT;\n')
    (f,) = of(run(sql), "migration/transaction-control")
    assert f.severity is Severity.INFO and "several transactions" in f.message and f.line == 3
    # Prisma's enum block with a statement the author added inside it is still Prisma's block
    enum = ("BEGIN;\nUPDATE \"User\" SET \"role\" = 'USER' WHERE \"role\" = 'MODERATOR';\n"
            "CREATE TYPE \"Role_new\" AS ENUM ('USER', 'ADMIN');\n"
            'ALTER TABLE "User" ALTER COLUMN "role" TYPE "Role_new" USING ("role"::text::"Role_new");\n'
            'ALTER TYPE "Role" RENAME TO "Role_old";\nALTER TYPE "Role_new" RENAME TO "Role";\nDROP TYPE "Role_old";\n'
            "COMMIT;\n" + ADD)
    assert not of(run(enum), "migration/transaction-control")


def test_history_that_redefines_a_builtin_name_as_volatile_wins() -> None:
    init = INIT + "\nCREATE FUNCTION uid() RETURNS text LANGUAGE sql VOLATILE AS $$ SELECT md5(random()::text) $$;\n"
    assert of(run('ALTER TABLE "Order" ADD COLUMN "owner" TEXT DEFAULT uid();\n', init=init),
              "migration/add-column-rewrite")
    assert not of(run('ALTER TABLE "Order" ADD COLUMN "owner" TEXT DEFAULT auth.uid();\n'),
                  "migration/add-column-rewrite")  # Supabase's auth.uid() is STABLE
