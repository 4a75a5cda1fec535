# ruff: noqa: E501  (Prisma writes long SQL lines; fixtures keep them verbatim)
"""Destructive and incompatible changes, enums, data changes."""

from __future__ import annotations

from mig_fixtures import of, rules, run

DROP_HEADER = ("/*\n  Warnings:\n\n  - You are about to drop the column `name` on the `User` table. All the data in "
               "the column will be lost.\n\n*/\n")


def test_drop_column_on_existing_table_with_prisma_warning_is_one_finding() -> None:
    found = run(DROP_HEADER + '-- AlterTable\nALTER TABLE "User" DROP COLUMN "name";\n')
    assert rules(found) == ["migration/drop-column"]
    assert "@ignore" in found[0].message and "P2022" in found[0].message
    assert found[0].key == "drop column User.name"


def test_drop_column_of_table_created_in_the_same_file_is_fine() -> None:
    found = run('CREATE TABLE "Tmp" ("id" TEXT NOT NULL, "x" TEXT);\nALTER TABLE "Tmp" DROP COLUMN "x";\n')
    assert not of(found, "migration/drop-column")


def test_rename_as_drop_add_is_one_finding_for_both_columns() -> None:
    sql = ("/*\n  Warnings:\n\n  - You are about to drop the column `name` on the `User` table. All the data in the "
           "column will be lost.\n  - Added the required column `fullName` to the `User` table without a default "
           "value. This is not possible if the table is not empty.\n\n*/\n-- AlterTable\n"
           'ALTER TABLE "User" DROP COLUMN "name",\nADD COLUMN     "fullName" TEXT NOT NULL;\n')
    found = run(sql)
    assert rules(found) == ["migration/rename-as-drop-add"]
    assert '@map("name")' in found[0].message and "RENAME COLUMN" in found[0].message


def test_drop_and_add_of_different_types_is_not_a_rename() -> None:
    found = run('ALTER TABLE "User" DROP COLUMN "name",\nADD COLUMN "age" INTEGER;\n')
    assert rules(found) == ["migration/drop-column"]


def test_rename_picks_the_matching_name_among_candidates() -> None:
    found = run('ALTER TABLE "Order" DROP COLUMN "userId",\nADD COLUMN "user_id" TEXT,\nADD COLUMN "note" TEXT;\n')
    (f,) = of(found, "migration/rename-as-drop-add")
    assert '"user_id"' in f.message


def test_column_recreated_under_the_same_name_is_one_finding() -> None:
    found = run('ALTER TABLE "Order" DROP COLUMN "status",\nADD COLUMN "status" INTEGER NOT NULL;\n')
    assert rules(found) == ["migration/drop-column"]
    assert "dropped and added again" in found[0].message


def test_drop_table_and_new_table_drop() -> None:
    found = run('/*\n  Warnings:\n\n  - You are about to drop the `Order` table. If the table is not empty, all the '
                'data it contains will be lost.\n\n*/\n-- DropTable\nDROP TABLE "Order";\n')
    assert rules(found) == ["migration/drop-table"]
    assert not of(run('CREATE TABLE "Tmp" ("id" TEXT);\nDROP TABLE "Tmp";\n'), "migration/drop-table")


def test_rename_column_and_table() -> None:
    (col,) = of(run('ALTER TABLE "User" RENAME COLUMN "name" TO "fullName";\n'), "migration/rename")
    assert '@map("name")' in col.message
    (tab,) = of(run('ALTER TABLE "Order" RENAME TO "Purchase";\n'), "migration/rename")
    assert '@@map("Order")' in tab.message
    assert not of(run('ALTER INDEX "Order_userId_idx" RENAME TO "Order_user_idx";\n'), "migration/rename")


def test_drop_not_null_is_info() -> None:
    (f,) = of(run('ALTER TABLE "Order" ALTER COLUMN "userId" DROP NOT NULL;\n'), "migration/drop-not-null")
    assert f.severity.value == "info"


def test_drop_default_only_when_not_null_with_default() -> None:
    (f,) = of(run('ALTER TABLE "Order" ALTER COLUMN "status" DROP DEFAULT;\n'), "migration/drop-default")
    assert "'new'" in f.message
    assert not of(run('ALTER TABLE "User" ALTER COLUMN "name" DROP DEFAULT;\n'), "migration/drop-default")


def test_truncate_cascade() -> None:
    assert of(run('TRUNCATE "User" CASCADE;\n'), "migration/truncate-cascade")
    assert not of(run('TRUNCATE "User";\n'), "migration/truncate-cascade")


ENUM_REMOVAL = """/*
  Warnings:

  - The values [MODERATOR] on the enum `Role` will be removed. If these variants are still used in the database, this will fail.

*/
-- AlterEnum
BEGIN;
CREATE TYPE "Role_new" AS ENUM ('USER', 'ADMIN');
ALTER TABLE "User" ALTER COLUMN "role" DROP DEFAULT;
ALTER TABLE "User" ALTER COLUMN "role" TYPE "Role_new" USING ("role"::text::"Role_new");
ALTER TYPE "Role" RENAME TO "Role_old";
ALTER TYPE "Role_new" RENAME TO "Role";
DROP TYPE "Role_old";
ALTER TABLE "User" ALTER COLUMN "role" SET DEFAULT 'USER';
COMMIT;
"""


def test_enum_value_removal_dance_is_one_finding() -> None:
    found = run(ENUM_REMOVAL)
    assert rules(found) == ["migration/enum-value-removal"]
    f = found[0]
    assert "'MODERATOR'" in f.message and '"User"."role"' in f.message
    assert f.line == 9 and f.end_line >= 14


def test_enum_recreate_without_removal_is_reported_as_recreate() -> None:
    sql = ENUM_REMOVAL.replace("('USER', 'ADMIN')", "('ADMIN', 'USER', 'MODERATOR')").split("*/\n", 1)[1]
    (f,) = of(run(sql), "migration/enum-value-removal")
    assert "without removing a value" in f.message


def test_enum_value_added_and_used_in_the_same_file() -> None:
    sql = ("-- AlterEnum\nALTER TYPE \"Role\" ADD VALUE 'OWNER';\n\n-- AlterTable\n"
           "ALTER TABLE \"User\" ALTER COLUMN \"role\" SET DEFAULT 'OWNER';\n")
    (f,) = of(run(sql), "migration/enum-value-same-transaction")
    assert f.line == 5 and "55P04" in f.message
    alone = run("ALTER TYPE \"Role\" ADD VALUE 'OWNER';\n")
    assert not of(alone, "migration/enum-value-same-transaction")
    other_literal = run("ALTER TYPE \"Role\" ADD VALUE 'OWNER';\nALTER TABLE \"Order\" ALTER COLUMN \"status\" "
                        "SET DEFAULT 'paid';\n")
    assert not of(other_literal, "migration/enum-value-same-transaction")


def test_backfill_in_the_same_transaction_as_ddl() -> None:
    sql = ('-- AlterTable\nALTER TABLE "Order" ADD COLUMN "total_cents" INTEGER;\n\n'
           '-- Backfill\nUPDATE "Order" SET "total_cents" = ("total" * 100)::int;\n')
    found = run(sql)
    (f,) = of(found, "migration/backfill-in-transaction")
    assert f.line == 5 and "ACCESS EXCLUSIVE" in f.message and "no WHERE" in f.message
    assert not of(found, "migration/update-without-where")  # one finding for the statement


def test_bookkeeping_after_dropping_a_table_is_no_backfill_under_its_lock() -> None:
    # langfuse: DROP TABLE of a legacy table, then DELETE of its row in a bookkeeping table. The dropped table's lock
    # blocks nobody who could still use it; a lock on a table that stays is still reported.
    drop = 'DROP TABLE "Order";\nDELETE FROM "User" WHERE "email" = \'legacy@example.com\';\n'
    assert not of(run(drop), "migration/backfill-in-transaction")
    kept = 'ALTER TABLE "User" ADD COLUMN "legacy" BOOLEAN;\nDELETE FROM "User" WHERE "email" = \'x@example.com\';\n'
    assert of(run(kept), "migration/backfill-in-transaction")


def test_update_without_where_alone_and_seed_insert_is_fine() -> None:
    (f,) = of(run('UPDATE "Order" SET "status" = \'new\';\n'), "migration/update-without-where")
    assert "every row" in f.message
    assert not of(run('UPDATE "Order" SET "status" = \'new\' WHERE "status" IS NULL;\n'),
                  "migration/update-without-where")
    seed = run('CREATE TABLE "Plan" ("id" TEXT NOT NULL);\nINSERT INTO "Plan" ("id") VALUES (\'free\');\n')
    assert not [f for f in seed if f.rule in ("migration/backfill-in-transaction", "migration/update-without-where")]


def test_squawk_ignore_comment_suppresses_through_the_alias() -> None:
    from mig_fixtures import NEW_PATH, base_tree

    from bot.pipeline import review
    from bot.testing import change_from_trees

    head = base_tree()
    head[NEW_PATH] = '-- squawk-ignore ban-drop-column\nALTER TABLE "User" DROP COLUMN "name";\n'
    result = review(change_from_trees(base_tree(), head))
    assert not [f for f in result.findings if f.rule == "migration/drop-column"]
    assert [f.rule for f in result.suppressed] == ["migration/drop-column"]



def test_a_scratch_table_made_by_select_into_is_dropped_without_a_finding() -> None:
    # dyrectorio: `SELECT ... INTO "_tmp" FROM "Image"`, an UPDATE that reads it, then `DROP TABLE "_tmp"`
    sql = ('SELECT "versionId", MIN("order") "order" INTO "_tmp" FROM "Order" GROUP BY "versionId";\n'
           'UPDATE "Order" SET "total" = 0;\n'
           'DROP TABLE "_tmp";\n')
    assert not of(run(sql), "migration/drop-table")


def test_a_column_dropped_for_a_prepared_column_renamed_into_its_place() -> None:
    # split-pro: "uuidId" was added and filled by an earlier migration; this one swaps it in as "id"
    found = run('ALTER TABLE "Order" DROP COLUMN "status";\n'
                'ALTER TABLE "Order" RENAME COLUMN "total" TO "status";\n')
    assert not of(found, "migration/drop-column")
    assert of(found, "migration/rename")  # old pods still select "total"


def test_a_primary_key_makes_its_column_not_null_in_the_replayed_history() -> None:
    # split-pro renames a nullable "uuidId" to "id", then adds the primary key on it: the column is NOT NULL after
    from bot.sql.load import parse_migration_text
    from bot.sql.state import Catalog, apply_file

    catalog = Catalog()
    apply_file(parse_migration_text('CREATE TABLE "T" ("uuidId" TEXT);\n'
                                    'ALTER TABLE "T" ADD CONSTRAINT "T_pkey" PRIMARY KEY ("uuidId");\n'), catalog)
    assert catalog.tables["T"].columns["uuidId"].not_null


def test_a_column_renamed_aside_and_added_again_under_its_name_is_no_rename_finding() -> None:
    # maybe-archive: RENAME "category" TO "category_old"; ADD COLUMN "category" TEXT NOT NULL DEFAULT 'Other'
    found = run('ALTER TABLE "Order" RENAME COLUMN "status" TO "status_old";\n'
                'ALTER TABLE "Order" ADD COLUMN "status" TEXT NOT NULL DEFAULT \'new\';\n')
    assert not of(found, "migration/rename")
