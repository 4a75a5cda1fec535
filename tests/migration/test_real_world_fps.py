# ruff: noqa: E501  (Prisma writes long SQL lines; fixtures keep them verbatim)
"""False positives and wrong messages found by running public Prisma migration histories through the analyzer;
each test is a small look-alike written for this suite."""

from __future__ import annotations

from mig_fixtures import of, run

ON_DELETE_CHANGE = """-- DropForeignKey
ALTER TABLE "Order" DROP CONSTRAINT "Order_userId_fkey";

-- AddForeignKey
ALTER TABLE "Order" ADD CONSTRAINT "Order_userId_fkey" FOREIGN KEY ("userId") REFERENCES "User"("id") ON DELETE CASCADE ON UPDATE CASCADE;
"""


def test_on_delete_change_is_not_a_long_held_lock_but_the_fk_says_reads_wait() -> None:
    found = run(ON_DELETE_CHANGE)
    assert not of(found, "migration/long-held-lock")
    (fk,) = of(found, "migration/constraint-not-valid")
    assert fk.line == 5 and "reads wait for the scan too" in fk.message
    assert of(found, "migration/missing-lock-timeout")


def test_fk_without_an_earlier_exclusive_lock_keeps_the_reads_go_on_message() -> None:
    sql = ('-- AddForeignKey\nALTER TABLE "Order" ADD CONSTRAINT "Order_user2_fkey" FOREIGN KEY ("userId") '
           'REFERENCES "User"("id") ON DELETE RESTRICT ON UPDATE CASCADE;\n')
    (fk,) = of(run(sql), "migration/constraint-not-valid")
    assert "reads wait" not in fk.message and "reads go on" in fk.message


def test_exclusive_lock_held_through_work_on_another_table_is_still_reported() -> None:
    sql = ON_DELETE_CHANGE + '\n-- CreateIndex\nCREATE INDEX "User_name_idx" ON "User"("name");\n'
    (f,) = of(run(sql), "migration/long-held-lock")
    assert f.line == 2 and 'line 8 builds index "User_name_idx"' in f.message


def test_primary_key_swap_on_one_table_is_reported_once_by_unique_without_index() -> None:
    sql = ('-- AlterTable\nALTER TABLE "User" DROP CONSTRAINT "User_pkey",\n'
           'ADD CONSTRAINT "User_pkey" PRIMARY KEY ("id", "email");\n')
    found = run(sql)
    assert not of(found, "migration/long-held-lock")
    (pk,) = of(found, "migration/unique-without-index")
    assert "PRIMARY KEY USING INDEX" in pk.message


def test_drop_default_names_the_default_from_before_the_migration() -> None:
    # Prisma's autoincrement -> uuid() switch: SET DEFAULT and DROP DEFAULT in one ALTER TABLE
    sql = ('-- AlterTable\nALTER TABLE "Order" ALTER COLUMN "id" SET DEFAULT gen_random_uuid(),\n'
           'ALTER COLUMN "id" DROP DEFAULT,\nALTER COLUMN "id" SET DATA TYPE TEXT;\n')
    (f,) = of(run(sql), "migration/drop-default")
    assert "nextval" in f.message and "gen_random_uuid" not in f.message


def test_default_set_and_dropped_in_the_same_file_is_not_a_lost_default() -> None:
    # "email" had no default before this file: old pods never relied on one
    sql = ('-- AlterTable\nALTER TABLE "User" ALTER COLUMN "email" SET DEFAULT \'\';\n\n'
           'UPDATE "User" SET "email" = DEFAULT WHERE "email" IS NULL;\n\n'
           '-- AlterTable\nALTER TABLE "User" ALTER COLUMN "email" DROP DEFAULT;\n')
    assert not of(run(sql), "migration/drop-default")


def test_drop_of_an_index_the_history_does_not_know_names_no_fake_table() -> None:
    found = run('-- DropIndex\nDROP INDEX "legacy_lookup_idx";\n')
    (f,) = of(found, "migration/drop-index-not-concurrent")
    assert 'the table of index "legacy_lookup_idx"' in f.message
    assert '"table of index' not in f.message


def test_unique_index_fix_keeps_unique() -> None:
    (f,) = of(run('-- CreateIndex\nCREATE UNIQUE INDEX "User_name_key" ON "User"("name");\n'),
              "migration/index-not-concurrent")
    assert "`CREATE UNIQUE INDEX CONCURRENTLY`" in f.message
    (plain,) = of(run('-- CreateIndex\nCREATE INDEX "User_name_idx" ON "User"("name");\n'),
                  "migration/index-not-concurrent")
    assert "`CREATE INDEX CONCURRENTLY`" in plain.message


def test_prisma2_dotted_index_names_are_one_identifier() -> None:
    # Prisma 2 named indexes "Model.field_unique"; they are not schema-qualified names
    (f,) = of(run('-- CreateIndex\nCREATE UNIQUE INDEX "User.name_unique" ON "User"("name");\n'),
              "migration/index-not-concurrent")
    assert 'CREATE UNIQUE INDEX "User.name_unique" on "User"' in f.message
    assert '"User"."name_unique"' not in f.message
    (d,) = of(run('-- DropIndex\nDROP INDEX "User.email_unique";\n'), "migration/drop-index-not-concurrent")
    assert 'DROP INDEX "User.email_unique"' in d.message


def test_schema_qualified_drop_index_keeps_its_schema() -> None:
    (d,) = of(run('-- DropIndex\nDROP INDEX "audit"."Event_at_idx";\n'), "migration/drop-index-not-concurrent")
    assert 'DROP INDEX "audit"."Event_at_idx"' in d.message


COMPOSITE_KEY_TABLE = """-- CreateTable
CREATE TABLE "Favorite" (
    "userIdx" INTEGER NOT NULL,
    "orderId" INTEGER NOT NULL,

    CONSTRAINT "Favorite_pkey" PRIMARY KEY ("userIdx","orderId")
);

-- CreateTable
CREATE TABLE "OrderNote" (
    "orderId" INTEGER NOT NULL,
    "body" TEXT NOT NULL,

    CONSTRAINT "OrderNote_pkey" PRIMARY KEY ("orderId")
);
"""


def test_int_key_advice_only_for_keys_the_table_numbers_itself() -> None:
    # composite keys and a 1:1 table keyed by its parent's id follow the parent's type
    assert not [f for f in of(run(COMPOSITE_KEY_TABLE), "migration/new-table-types") if "32-bit" in f.message]
    serial = ('-- CreateTable\nCREATE TABLE "Invoice" (\n    "id" SERIAL NOT NULL,\n    "total" INTEGER NOT NULL,\n\n'
              '    CONSTRAINT "Invoice_pkey" PRIMARY KEY ("id")\n);\n')
    (f,) = of(run(serial), "migration/new-table-types")
    assert 'the key "id" is a 32-bit integer' in f.message


TYPE_SWAP = """-- CreateEnum
CREATE TYPE "OrderStatus" AS ENUM ('new', 'paid');

-- AlterTable
ALTER TABLE "Order" RENAME COLUMN "status" TO "status_old";
ALTER TABLE "Order" ADD COLUMN "status" "OrderStatus";
{copy}
-- AlterTable
ALTER TABLE "Order" DROP COLUMN "status_old";
"""


def test_rename_add_copy_drop_type_swap_is_neither_a_rename_nor_a_drop() -> None:
    found = run(TYPE_SWAP.format(copy='UPDATE "Order" SET "status" = "status_old"::"OrderStatus";\n'))
    assert not of(found, "migration/rename") and not of(found, "migration/drop-column")
    assert of(found, "migration/backfill-in-transaction")


def test_type_swap_without_the_copy_still_loses_the_data() -> None:
    found = run(TYPE_SWAP.format(copy=""))
    # the data goes with the drop of the renamed-aside column; the rename itself breaks no pod (the name is back)
    assert of(found, "migration/drop-column") and not of(found, "migration/rename")


def test_set_not_null_after_an_exclusive_lock_on_the_same_table_is_one_finding() -> None:
    sql = ('-- AlterTable\nALTER TABLE "User" ADD COLUMN "bio" TEXT;\n\n'
           'UPDATE "User" SET "bio" = \'\' WHERE "bio" IS NULL;\n\n'
           '-- AlterTable\nALTER TABLE "User" ALTER COLUMN "bio" SET NOT NULL;\n')
    found = run(sql)
    assert not of(found, "migration/long-held-lock")
    assert of(found, "migration/set-not-null")


def test_backfill_of_another_table_while_an_exclusive_lock_is_held() -> None:
    sql = ('-- AlterTable\nALTER TABLE "User" DROP COLUMN "name";\n\n'
           'UPDATE "Order" SET "status" = \'paid\' WHERE "status" = \'done\';\n')
    (f,) = of(run(sql), "migration/drop-column")
    assert 'line 4 updates "Order"' in f.message  # folded into the drop's finding
    same = run('-- AlterTable\nALTER TABLE "Order" ADD COLUMN "paidAt" TIMESTAMP(3);\n\n'
               'UPDATE "Order" SET "paidAt" = "createdAt";\n')
    assert not of(same, "migration/long-held-lock")
    assert "held until the file ends" not in " ".join(f.message for f in same)
    assert of(same, "migration/backfill-in-transaction")


def test_primary_key_swap_fix_builds_the_new_index_under_a_free_name() -> None:
    sql = ('-- AlterTable\nALTER TABLE "User" DROP CONSTRAINT "User_pkey",\n'
           'ADD CONSTRAINT "User_pkey" PRIMARY KEY ("id", "email");\n')
    (pk,) = of(run(sql), "migration/unique-without-index")
    assert 'CREATE UNIQUE INDEX CONCURRENTLY "User_pkey_new" ON "User" ("id", "email")' in pk.message
    assert 'PRIMARY KEY USING INDEX "User_pkey_new"' in pk.message
    fresh = run('-- AlterTable\nALTER TABLE "Order" ADD CONSTRAINT "Order_status_key" UNIQUE ("status");\n')
    (u,) = of(fresh, "migration/unique-without-index")
    assert 'CREATE UNIQUE INDEX CONCURRENTLY "Order_status_key" ON' in u.message


def test_text_to_citext_keeps_the_rows_and_rebuilds_only_indexes() -> None:
    (f,) = of(run('-- AlterTable\nALTER TABLE "User" ALTER COLUMN "email" SET DATA TYPE CITEXT;\n'),
              "migration/column-type-change")
    assert "binary-compatible" in f.message and "rewrites" not in f.message
    assert f.severity.value == "info"
    (r,) = of(run('-- AlterTable\nALTER TABLE "User" ALTER COLUMN "email" SET DATA TYPE VARCHAR(100);\n'),
              "migration/column-type-change")
    assert "rewrites" in r.message


NEW_RELATION = """-- CreateTable
CREATE TABLE "Team" ("id" TEXT NOT NULL, CONSTRAINT "Team_pkey" PRIMARY KEY ("id"));
"""


def test_column_pointing_at_another_table_is_a_new_relation_not_a_rename() -> None:
    # Order.userId -> User is replaced by Order.teamId -> Team: a different relation, not a renamed field
    sql = ('-- DropForeignKey\nALTER TABLE "Order" DROP CONSTRAINT "Order_userId_fkey";\n\n'
           '-- AlterTable\nALTER TABLE "Order" DROP COLUMN "userId",\nADD COLUMN     "teamId" TEXT NOT NULL;\n\n'
           '-- AddForeignKey\nALTER TABLE "Order" ADD CONSTRAINT "Order_teamId_fkey" FOREIGN KEY ("teamId") '
           'REFERENCES "Team"("id") ON DELETE RESTRICT ON UPDATE CASCADE;\n')
    found = run(sql, base_extra={"prisma/migrations/20240201000000_team/migration.sql": NEW_RELATION})
    assert not of(found, "migration/rename-as-drop-add")
    assert of(found, "migration/drop-column") and of(found, "migration/add-required-column")


def test_renamed_fk_column_to_the_same_table_is_still_a_rename() -> None:
    sql = ('-- DropForeignKey\nALTER TABLE "Order" DROP CONSTRAINT "Order_userId_fkey";\n\n'
           '-- AlterTable\nALTER TABLE "Order" DROP COLUMN "userId",\nADD COLUMN     "ownerId" TEXT NOT NULL;\n\n'
           '-- AddForeignKey\nALTER TABLE "Order" ADD CONSTRAINT "Order_ownerId_fkey" FOREIGN KEY ("ownerId") '
           'REFERENCES "User"("id") ON DELETE RESTRICT ON UPDATE CASCADE;\n')
    (f,) = of(run(sql), "migration/rename-as-drop-add")
    assert 'RENAME COLUMN "userId" TO "ownerId"' in f.message


def test_backfill_names_the_lock_on_the_table_it_writes() -> None:
    sql = ('-- AlterTable\nALTER TABLE "User" DROP COLUMN "name";\n\n'
           '-- AlterTable\nALTER TABLE "Order" ADD COLUMN "note" TEXT;\n\n'
           'UPDATE "Order" SET "note" = \'\' WHERE "note" IS NULL;\n')
    (f,) = of(run(sql), "migration/backfill-in-transaction")
    assert 'lock this file took on "Order" earlier' in f.message


def test_enum_recreate_of_an_enum_the_history_does_not_know_reads_well() -> None:
    sql = ('-- AlterEnum\nBEGIN;\nCREATE TYPE "Kind_new" AS ENUM (\'A\', \'B\');\n'
           'ALTER TABLE "Order" ALTER COLUMN "kind" TYPE "Kind_new" USING ("kind"::text::"Kind_new");\n'
           'ALTER TYPE "Kind" RENAME TO "Kind_old";\nALTER TYPE "Kind_new" RENAME TO "Kind";\n'
           'DROP TYPE "Kind_old";\nCOMMIT;\n')
    (f,) = of(run(sql), "migration/enum-value-removal")
    assert "the values the new type leaves out" in f.message
    assert "IN ('<removed value>')" in f.message and "IN (values)" not in f.message


def test_unknown_index_is_placed_on_its_table_by_prisma_naming() -> None:
    # an index created outside the replayed history, dropped next to DDL on its own table (Prisma's naming)
    sql = ('-- DropIndex\nDROP INDEX "Order_status_createdAt_idx";\n\n'
           '-- CreateIndex\nCREATE INDEX "Order_status_idx" ON "Order"("status");\n')
    found = run(sql)
    (d,) = of(found, "migration/drop-index-not-concurrent")
    assert 'on "Order"' in d.message and "table of index" not in d.message
    assert not of(found, "migration/long-held-lock")
    assert "held until the file ends" not in d.message


def test_type_change_from_an_unknown_type_does_not_claim_a_rewrite_for_sure() -> None:
    (f,) = of(run('-- AlterTable\nALTER TABLE "Order" ALTER COLUMN "legacyCode" SET DATA TYPE CITEXT;\n'),
              "migration/column-type-change")
    assert "current type unknown" in f.message and "Unless the current type is binary-compatible" in f.message
    (k,) = of(run('-- AlterTable\nALTER TABLE "Order" ALTER COLUMN "total" SET DATA TYPE DOUBLE PRECISION;\n'),
              "migration/column-type-change")
    assert "That is not a binary-compatible change" in k.message


def test_drop_type_cascade_reports_the_columns_it_drops_and_not_an_unused_type() -> None:
    (f,) = of(run('-- DropEnum\nDROP TYPE "Role" CASCADE;\n'), "migration/drop-column")
    assert '"User"."role"' in f.message and "without CASCADE" in f.message
    converted = ('-- AlterTable\nALTER TABLE "User" ALTER COLUMN "role" TYPE TEXT;\n\n'
                 '-- DropEnum\nDROP TYPE "Role" CASCADE;\n')
    assert not [x for x in run(converted) if "CASCADE" in x.message]


def test_dropping_an_implicit_relation_table_names_the_relation_not_a_model() -> None:
    rel = ('-- CreateTable\nCREATE TABLE "_OrderToUser" ("A" INTEGER NOT NULL, "B" TEXT NOT NULL);\n'
           '-- CreateIndex\nCREATE UNIQUE INDEX "_OrderToUser_AB_unique" ON "_OrderToUser"("A", "B");\n')
    found = run('-- DropTable\nDROP TABLE "_OrderToUser";\n',
                base_extra={"prisma/migrations/20240201000000_rel/migration.sql": rel})
    (f,) = of(found, "migration/drop-table")
    assert "implicit many-to-many" in f.message and "@@ignore" not in f.message
    (m,) = of(run('-- DropTable\nDROP TABLE "Order";\n'), "migration/drop-table")
    assert "@@ignore" in m.message


def test_key_on_a_column_added_in_the_same_file_says_to_add_the_column_first() -> None:
    sql = ('-- AlterTable\nALTER TABLE "User" DROP CONSTRAINT "User_pkey",\nADD COLUMN     "seq" SERIAL NOT NULL,\n'
           'ADD CONSTRAINT "User_pkey" PRIMARY KEY ("seq");\n')
    (pk,) = of(run(sql), "migration/unique-without-index")
    assert 'add "seq" in a migration of its own, then build the index in the next one' in pk.message
    (plain,) = of(run('-- AlterTable\nALTER TABLE "Order" ADD CONSTRAINT "Order_status_key" UNIQUE ("status");\n'),
                  "migration/unique-without-index")
    assert "build the index first in a migration of its own" in plain.message


def test_lock_on_a_table_the_file_drops_is_not_a_long_held_lock() -> None:
    rel = ('-- CreateTable\nCREATE TABLE "_OrderToUser" ("A" INTEGER NOT NULL, "B" TEXT NOT NULL);\n'
           '-- AddForeignKey\nALTER TABLE "_OrderToUser" ADD CONSTRAINT "_OrderToUser_B_fkey" FOREIGN KEY ("B") '
           'REFERENCES "User"("id") ON DELETE CASCADE ON UPDATE CASCADE;\n')
    sql = ('-- DropForeignKey\nALTER TABLE "_OrderToUser" DROP CONSTRAINT "_OrderToUser_B_fkey";\n\n'
           '-- DropTable\nDROP TABLE "_OrderToUser";\n\n'
           '-- CreateIndex\nCREATE INDEX "Order_status_idx" ON "Order"("status");\n')
    found = run(sql, base_extra={"prisma/migrations/20240201000000_rel/migration.sql": rel})
    assert not of(found, "migration/long-held-lock")
    assert of(found, "migration/drop-table") and of(found, "migration/index-not-concurrent")


def test_unnamed_foreign_key_gets_postgres_default_name_in_the_fix() -> None:
    sql = ('-- AddForeignKey\nALTER TABLE "Order" ADD FOREIGN KEY ("userId") REFERENCES "User"("id") '
           'ON DELETE SET NULL ON UPDATE CASCADE;\n')
    (f,) = of(run(sql), "migration/constraint-not-valid")
    assert 'Adding FOREIGN KEY "Order_userId_fkey" on "Order"' in f.message
    assert 'VALIDATE CONSTRAINT "Order_userId_fkey";' in f.message and "the constraint" not in f.message


def test_unnamed_unique_and_primary_key_use_postgres_default_names() -> None:
    (u,) = of(run('-- AlterTable\nALTER TABLE "Order" ADD UNIQUE ("status");\n'), "migration/unique-without-index")
    assert 'ADD CONSTRAINT "Order_status_key" UNIQUE' in u.message
