# ruff: noqa: E501  (Prisma writes long SQL lines; fixtures keep them verbatim)
"""Locks and rewrites, on SQL written the way `prisma migrate dev` writes it (plus hand-edited variants)."""

from __future__ import annotations

from mig_fixtures import MIG, of, rules, run

from bot.findings import Severity

NEW_TABLE = """-- CreateTable
CREATE TABLE "Coupon" (
    "id" TEXT NOT NULL,
    "code" TEXT NOT NULL,
    "orderId" INTEGER NOT NULL,
    "createdAt" TIMESTAMP(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT "Coupon_pkey" PRIMARY KEY ("id")
);

-- CreateIndex
CREATE UNIQUE INDEX "Coupon_code_key" ON "Coupon"("code");

-- CreateIndex
CREATE INDEX "Coupon_orderId_idx" ON "Coupon"("orderId");

-- AddForeignKey
ALTER TABLE "Coupon" ADD CONSTRAINT "Coupon_orderId_fkey" FOREIGN KEY ("orderId") REFERENCES "Order"("id") ON DELETE RESTRICT ON UPDATE CASCADE;
"""


def test_new_prisma_table_with_indexes_and_fk_is_quiet_about_locks() -> None:
    found = run(NEW_TABLE)
    lock_rules = {"migration/index-not-concurrent", "migration/constraint-not-valid", "migration/long-held-lock",
                  "migration/unique-on-existing-data", "migration/fk-without-index"}
    assert not [f for f in found if f.rule in lock_rules]
    # the FK locks "Order" with SHARE ROW EXCLUSIVE, briefly, and reads go on: not worth the lock_timeout reminder
    assert rules(found) == []


def test_index_on_existing_table_is_flagged_with_lock_and_fix() -> None:
    found = run('-- CreateIndex\nCREATE INDEX "Order_status_idx" ON "Order"("status");\n')
    (f,) = of(found, "migration/index-not-concurrent")
    assert "SHARE lock" in f.message and "blocks inserts, updates and deletes" in f.message
    assert f.suggestion is not None
    assert f.suggestion.replacement == 'CREATE INDEX CONCURRENTLY "Order_status_idx" ON "Order"("status");'
    assert (f.line, f.end_line, f.scope) == (2, 2, (2, 2))
    assert f.key == "create index Order_status_idx on Order"
    # SHARE lets reads go on: no lock_timeout reminder (it is for ACCESS EXCLUSIVE), and no second finding
    assert rules(found) == ["migration/index-not-concurrent"]
    assert "lock_timeout" not in f.message


def test_index_in_multi_statement_file_says_to_move_it_and_has_no_suggestion() -> None:
    found = run('-- AlterTable\nALTER TABLE "Order" ADD COLUMN "note" TEXT;\n\n'
                '-- CreateIndex\nCREATE INDEX "Order_status_idx" ON "Order"("status");\n')
    (f,) = of(found, "migration/index-not-concurrent")
    assert f.suggestion is None and "migration of its own" in f.message
    assert "reads wait too" in f.message  # ACCESS EXCLUSIVE from the ALTER is still held


def test_concurrent_index_alone_is_fine() -> None:
    found = run('-- CreateIndex\nCREATE INDEX CONCURRENTLY "Order_status_idx" ON "Order"("status");\n')
    assert not of(found, "migration/index-not-concurrent")


def test_unique_concurrent_index_on_existing_data() -> None:
    found = run('CREATE UNIQUE INDEX CONCURRENTLY "Order_userId_status_key" ON "Order"("userId", "status");\n')
    (f,) = of(found, "migration/unique-on-existing-data")
    assert "duplicates" in f.message and "INVALID" in f.message
    assert not of(run('CREATE INDEX CONCURRENTLY "Order_s" ON "Order"("status");\n'),
                  "migration/unique-on-existing-data")


def test_unique_plain_index_reports_duplicates_inside_the_single_finding() -> None:
    found = run('/*\n  Warnings:\n\n  - A unique constraint covering the columns `[userId,status]` on the table '
                '`Order` will be added. If there are existing duplicate values, this will fail.\n\n*/\n'
                'CREATE UNIQUE INDEX "Order_userId_status_key" ON "Order"("userId", "status");\n')
    assert rules(found) == ["migration/index-not-concurrent"]  # warning covered, one finding
    assert "duplicates" in found[0].message


def test_drop_index_on_existing_table() -> None:
    found = run('-- DropIndex\nDROP INDEX "Order_userId_idx";\n')
    (f,) = of(found, "migration/drop-index-not-concurrent")
    assert '"Order"' in f.message and "ACCESS EXCLUSIVE" in f.message
    assert not of(run('DROP INDEX CONCURRENTLY "Order_userId_idx";\n'), "migration/drop-index-not-concurrent")


def test_drop_index_beside_an_access_exclusive_alter_of_its_table_adds_nothing() -> None:
    sql = ('-- DropIndex\nDROP INDEX "Order_userId_idx";\n\n'
           '-- AlterTable\nALTER TABLE "Order" ALTER COLUMN "userId" TYPE BIGINT;\n')
    assert not of(run(sql), "migration/drop-index-not-concurrent")
    # on its own, or beside a statement on another table, it is still reported
    other = '-- DropIndex\nDROP INDEX "Order_userId_idx";\n\n-- AlterTable\nALTER TABLE "User" ADD COLUMN "x" TEXT;\n'
    assert of(run(other), "migration/drop-index-not-concurrent")


def test_fk_on_existing_table_is_one_finding_with_not_valid_fix() -> None:
    sql = ('-- AlterTable\nALTER TABLE "Order" ADD COLUMN "couponId" TEXT;\n\n-- AddForeignKey\n'
           'ALTER TABLE "Order" ADD CONSTRAINT "Order_couponId_fkey" FOREIGN KEY ("couponId") REFERENCES '
           '"User"("id") ON DELETE SET NULL ON UPDATE CASCADE;\n')
    found = run(sql)
    fk = of(found, "migration/constraint-not-valid")
    assert len(fk) == 1
    assert "SHARE ROW EXCLUSIVE" in fk[0].message and '"User"' in fk[0].message
    assert fk[0].suggestion is not None and fk[0].suggestion.replacement.endswith("ON UPDATE CASCADE NOT VALID;")
    assert "VALIDATE CONSTRAINT" in fk[0].message
    assert fk[0].line == 5
    # The column is new and NULL in every row (Prisma's usual relation add): one read of the table, no lookups.
    assert fk[0].severity is Severity.INFO and "NULL in every row" in fk[0].message
    # On an existing column (or one added with a default) the validation looks every value up: a warning.
    existing = run('ALTER TABLE "Order" ADD CONSTRAINT "Order_u_fkey" FOREIGN KEY ("userId") REFERENCES "User"("id");\n')
    defaulted = run(sql.replace('"couponId" TEXT;', '"couponId" TEXT DEFAULT \'c1\';'))
    # A table named for a stream of happenings (evolution-api's Message, AFFiNE's snapshots) is read long anyway.
    message = run(sql.replace('"Order"', '"Message"').replace('Order_couponId', 'Message_couponId'),
                  base_extra={f"{MIG}/20240101000001_msg/migration.sql":
                              'CREATE TABLE "Message" ("id" TEXT NOT NULL, CONSTRAINT "Message_pkey" PRIMARY KEY ("id"));\n'})
    for found in (existing, defaulted):
        (f,) = of(found, "migration/constraint-not-valid")
        assert f.severity is Severity.WARNING and "NULL in every row" not in f.message
    (f,) = of(message, "migration/constraint-not-valid")
    assert f.severity is Severity.WARNING and "NULL in every row" in f.message


def test_fk_not_valid_then_validate_in_a_later_migration_is_fine_and_same_file_is_not() -> None:
    add = ('ALTER TABLE "Order" ADD CONSTRAINT "Order_x_fkey" FOREIGN KEY ("userId") REFERENCES "User"("id") '
           'NOT VALID;\n')
    assert not of(run(add), "migration/constraint-not-valid")
    found = run(add + 'ALTER TABLE "Order" VALIDATE CONSTRAINT "Order_x_fkey";\n')
    (f,) = of(found, "migration/validate-same-transaction")
    assert f.line == 2 and "line 1" in f.message
    later = run('ALTER TABLE "Order" VALIDATE CONSTRAINT "Order_x_fkey";\n',
                extra_head={f"{MIG}/20240201000000_fk/migration.sql": add})
    assert not of(later, "migration/validate-same-transaction")


def test_check_constraint_without_not_valid() -> None:
    found = run('ALTER TABLE "Order" ADD CONSTRAINT "Order_total_check" CHECK ("total" >= 0);\n')
    (f,) = of(found, "migration/constraint-not-valid")
    assert "ACCESS EXCLUSIVE" in f.message


def test_unique_and_primary_key_constraints_without_using_index() -> None:
    found = run('ALTER TABLE "Order" DROP CONSTRAINT "Order_pkey",\nADD CONSTRAINT "Order_pkey" PRIMARY KEY '
                '("id", "userId");\n')
    (f,) = of(found, "migration/unique-without-index")
    assert "USING INDEX" in f.message and (f.line, f.end_line) == (1, 2)
    ok = run('ALTER TABLE "Order" ADD CONSTRAINT "Order_pkey2" PRIMARY KEY USING INDEX "Order_id_userId_key";\n')
    assert not of(ok, "migration/unique-without-index")


def test_set_not_null_on_existing_column_and_check_pattern_exemption() -> None:
    found = run('-- AlterTable\nALTER TABLE "User" ALTER COLUMN "name" SET NOT NULL;\n')
    (f,) = of(found, "migration/set-not-null")
    assert "CHECK" in f.message and "NOT VALID" in f.message and "ACCESS EXCLUSIVE" in f.message
    safe = run('ALTER TABLE "User" ADD CONSTRAINT "n" CHECK ("name" IS NOT NULL) NOT VALID;\n'
               'ALTER TABLE "User" VALIDATE CONSTRAINT "n";\nALTER TABLE "User" ALTER COLUMN "name" SET NOT NULL;\n')
    assert not of(safe, "migration/set-not-null")


def test_add_required_column_without_default() -> None:
    found = run('/*\n  Warnings:\n\n  - Added the required column `currency` to the `Order` table without a '
                'default value. This is not possible if the table is not empty.\n\n*/\n-- AlterTable\n'
                'ALTER TABLE "Order" ADD COLUMN     "currency" TEXT NOT NULL;\n')
    assert rules(found) == ["migration/add-required-column"]
    assert found[0].severity.value == "error"
    ok = run('ALTER TABLE "Order" ADD COLUMN "currency" TEXT NOT NULL DEFAULT \'EUR\';\n')
    assert not of(ok, "migration/add-required-column")
    new_table = run('CREATE TABLE "T" ("id" TEXT NOT NULL);\nALTER TABLE "T" ADD COLUMN "x" TEXT NOT NULL;\n')
    assert not of(new_table, "migration/add-required-column")


def test_add_required_column_mentions_prisma_level_default() -> None:
    found = run('/*\n  Warnings:\n\n  - The required column `publicId` was added to the `Order` table with a '
                'prisma-level default value. This is not possible if the table is not empty. Please add this column '
                'as optional, then populate it before making it required.\n\n*/\n'
                'ALTER TABLE "Order" ADD COLUMN "publicId" TEXT NOT NULL;\n')
    (f,) = of(found, "migration/add-required-column")
    assert "Prisma Client" in f.message and "@default(uuid()" in f.message
    assert not of(found, "migration/prisma-warning")


def test_volatile_default_serial_and_generated_columns_rewrite() -> None:
    for col in ('"publicId" UUID NOT NULL DEFAULT gen_random_uuid()', '"seq" SERIAL NOT NULL',
                '"n" INTEGER GENERATED ALWAYS AS IDENTITY', '"t" NUMERIC GENERATED ALWAYS AS ("total" * 2) STORED'):
        found = run(f'ALTER TABLE "Order" ADD COLUMN {col};\n')
        assert of(found, "migration/add-column-rewrite"), col
    for col in ('"flag" BOOLEAN NOT NULL DEFAULT false', '"at" TIMESTAMP(3) NOT NULL DEFAULT CURRENT_TIMESTAMP',
                '"x" TEXT'):
        assert not of(run(f'ALTER TABLE "Order" ADD COLUMN {col};\n'), "migration/add-column-rewrite"), col


def test_column_type_change_uses_history_for_safe_casts() -> None:
    widen = run('ALTER TABLE "Order" ALTER COLUMN "status" SET DATA TYPE VARCHAR(50);\n')
    assert not of(widen, "migration/column-type-change")
    to_text = run('ALTER TABLE "Order" ALTER COLUMN "status" SET DATA TYPE TEXT;\n')
    assert not of(to_text, "migration/column-type-change")
    precision = run('ALTER TABLE "Order" ALTER COLUMN "total" SET DATA TYPE DECIMAL(14,2);\n')
    assert not of(precision, "migration/column-type-change")
    shrink = run('ALTER TABLE "Order" ALTER COLUMN "status" SET DATA TYPE VARCHAR(10);\n')
    (f,) = of(shrink, "migration/column-type-change")
    assert "varchar(20) to varchar(10)" in f.message
    bigint = run('ALTER TABLE "Order" ALTER COLUMN "id" SET DATA TYPE BIGINT,\nALTER COLUMN "userId" SET DATA TYPE '
                 'UUID USING "userId"::uuid;\n')
    assert len(of(bigint, "migration/column-type-change")) == 1  # one finding per statement and table
    utc = run('ALTER TABLE "Order" ALTER COLUMN "createdAt" SET DATA TYPE TIMESTAMPTZ(3);\n')
    (u,) = of(utc, "migration/column-type-change")
    assert u.severity.value == "info"


def test_slow_work_after_access_exclusive_is_one_finding_on_the_lock() -> None:
    sql = ('ALTER TABLE "User" ADD COLUMN "bio" TEXT;\n\n'
           'ALTER TABLE "Order" ADD CONSTRAINT "Order_total_check" CHECK ("total" >= 0);\n')
    found = run(sql)
    (f,) = of(found, "migration/long-held-lock")
    assert f.line == 1 and "line 3" in f.message
    quick = run('ALTER TABLE "User" ADD COLUMN "bio" TEXT;\nALTER TABLE "User" ADD COLUMN "avatar" TEXT;\n')
    assert not of(quick, "migration/long-held-lock")


def test_lock_timeout_set_first_silences_the_advice() -> None:
    sql = 'ALTER TABLE "User" ADD COLUMN "bio" TEXT;\n'
    (f,) = of(run(sql), "migration/missing-lock-timeout")
    assert "SET lock_timeout" in f.message and "ACCESS EXCLUSIVE" in f.message
    assert not of(run("SET lock_timeout = '5s';\n" + sql), "migration/missing-lock-timeout")


def test_blocking_maintenance() -> None:
    assert of(run('VACUUM FULL "Order";\n'), "migration/blocking-maintenance")
    assert of(run('REINDEX TABLE "Order";\n'), "migration/blocking-maintenance")
    assert not of(run('REINDEX TABLE CONCURRENTLY "Order";\n'), "migration/blocking-maintenance")
    assert not of(run('VACUUM "Order";\n'), "migration/blocking-maintenance")


def test_table_created_by_an_earlier_migration_of_the_same_change_is_new() -> None:
    earlier = {f"{MIG}/20240201000000_coupon/migration.sql":
               'CREATE TABLE "Coupon" ("id" TEXT NOT NULL, "code" TEXT NOT NULL, '
               'CONSTRAINT "Coupon_pkey" PRIMARY KEY ("id"));\n'}
    found = run('CREATE INDEX "Coupon_code_idx" ON "Coupon"("code");\n', extra_head=earlier)
    assert not [f for f in found if f.path.endswith("20240301000000_change/migration.sql")
                and f.rule == "migration/index-not-concurrent"]


def test_table_emptied_earlier_in_the_transaction_is_treated_as_empty() -> None:
    sql = ('-- Delete all orders, migrated elsewhere above\nDELETE FROM "Order";\n\n'
           '-- ok to be not null on a now empty table\nALTER TABLE "Order" ADD COLUMN "shop_id" TEXT NOT NULL;\n')
    assert not of(run(sql), "migration/add-required-column")
    # with a WHERE the table keeps rows: still reported
    kept = sql.replace('DELETE FROM "Order";', 'DELETE FROM "Order" WHERE "status" = \'void\';')
    assert of(run(kept), "migration/add-required-column")
