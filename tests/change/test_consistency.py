from __future__ import annotations

from change_fixtures import MIG, SCHEMA, base_tree

from bot.checks.change import consistency
from bot.findings import Severity, Side
from bot.testing import context_for

NEW_MIG = f"{MIG}/20240301120000_order_status/migration.sql"

SCHEMA_WITH_STATUS = SCHEMA.replace(
    "model Order {", 'enum OrderStatus {\n  PENDING\n  PAID\n}\n\nmodel Order {'
).replace(
    "  total  Int\n",
    "  total  Int\n  status OrderStatus @default(PENDING)\n  note   String?     @map(\"customer_note\")\n",
).replace("  @@index([userId])\n", "  @@index([userId])\n  @@index([status, total])\n")

# What `prisma migrate dev` generates for SCHEMA -> SCHEMA_WITH_STATUS.
GENERATED = """\
-- CreateEnum
CREATE TYPE "OrderStatus" AS ENUM ('PENDING', 'PAID');

-- AlterTable
ALTER TABLE "orders" ADD COLUMN     "customer_note" TEXT,
ADD COLUMN     "status" "OrderStatus" NOT NULL DEFAULT 'PENDING';

-- CreateIndex
CREATE INDEX "orders_status_total_idx" ON "orders"("status", "total");
"""


def run(schema: str | None = None, migrations: dict[str, str] | None = None):
    base = base_tree()
    head = dict(base)
    if schema is not None:
        head["prisma/schema.prisma"] = schema
    head.update(migrations or {})
    return consistency.check(context_for(base, head))


def summary(findings):
    return sorted((f.rule, f.severity.value, f.key) for f in findings)


# -- negatives: matching schema + SQL ----------------------------------------------------------------------------


def test_generated_migration_matches_schema():
    assert run(SCHEMA_WITH_STATUS, {NEW_MIG: GENERATED}) == []


def test_hand_edited_concurrent_index_in_its_own_migration_still_matches():
    split = {
        NEW_MIG: GENERATED.split("-- CreateIndex")[0],
        f"{MIG}/20240301120001_order_status_idx/migration.sql":
            'CREATE INDEX CONCURRENTLY "orders_status_total_idx" ON "orders"("status", "total");\n',
    }
    assert run(SCHEMA_WITH_STATUS, split) == []


def test_schema_change_without_database_effect_needs_no_migration():
    schema = SCHEMA.replace("id        String   @id @default(cuid())", "id        String   @id @default(uuid())")
    schema = schema.replace("model User {", "/// A customer account.\nmodel User {")
    assert run(schema) == []


def test_field_rename_kept_on_the_same_column_needs_no_migration():
    schema = SCHEMA.replace("  total  Int\n", '  amount Int    @map("total")\n')
    assert run(schema) == []


def test_data_only_migration_with_unchanged_schema_is_fine():
    backfill = 'UPDATE "users" SET "name" = split_part("email", \'@\', 1) WHERE "name" IS NULL;\n'
    assert run(None, {NEW_MIG: backfill}) == []


def test_functions_and_triggers_are_not_schema_objects():
    sql = """\
CREATE OR REPLACE FUNCTION set_updated() RETURNS trigger AS $$
BEGIN
  NEW."created_at" = now();
  RETURN NEW;
END;
$$ LANGUAGE plpgsql;

CREATE TRIGGER users_touch BEFORE UPDATE ON "users" FOR EACH ROW EXECUTE FUNCTION set_updated();
"""
    assert run(None, {NEW_MIG: sql}) == []


def test_partial_index_the_schema_cannot_express_is_not_reported():
    sql = 'CREATE INDEX CONCURRENTLY "orders_unpaid_idx" ON "orders"("user_id") WHERE "total" > 0;\n'
    assert run(None, {NEW_MIG: sql}) == []


def test_no_migrations_folder_means_db_push_project():
    base = {p: t for p, t in base_tree().items() if "/migrations/" not in p}
    head = dict(base)
    head["prisma/schema.prisma"] = SCHEMA_WITH_STATUS
    assert consistency.check(context_for(base, head)) == []


def test_column_already_added_by_a_committed_migration_is_not_missing():
    base = base_tree()
    base[f"{MIG}/20240220000000_order_note/migration.sql"] = 'ALTER TABLE "orders" ADD COLUMN "customer_note" TEXT;\n'
    head = dict(base)
    note = '  total  Int\n  note   String? @map("customer_note")\n'
    head["prisma/schema.prisma"] = SCHEMA.replace("  total  Int\n", note)
    assert consistency.check(context_for(base, head)) == []


# -- schema without migration ----------------------------------------------------------------------------------


def test_schema_change_without_migration_is_one_error_at_the_first_change():
    findings = run(SCHEMA_WITH_STATUS)
    assert [f.rule for f in findings] == ["migration/schema-without-migration"]
    f = findings[0]
    assert f.severity is Severity.ERROR and f.path == "prisma/schema.prisma"
    assert "orders.status" in f.message and "enum `OrderStatus`" in f.message
    assert "npx prisma migrate dev" in f.message


def test_removed_field_without_migration_points_at_the_old_line():
    schema = SCHEMA.replace("  name      String?\n", "")
    findings = run(schema)
    assert [f.rule for f in findings] == ["migration/schema-without-migration"]
    assert findings[0].side is Side.OLD and "users.name" in findings[0].message


# -- drift: schema changed, SQL disagrees -----------------------------------------------------------------------


def test_field_added_without_column():
    sql = GENERATED.replace(',\nADD COLUMN     "status" "OrderStatus" NOT NULL DEFAULT \'PENDING\'', "")
    findings = run(SCHEMA_WITH_STATUS, {NEW_MIG: sql.replace('("status", "total")', '("total")')})
    keys = summary(findings)
    assert ("migration/schema-drift", "error", "column:orders.status") in keys
    # the hand-written index on (total) is not the declared one on (status, total)
    assert ("migration/schema-drift", "warning", "index:orders:IndexSig(unique=False, columns=('total',))") in keys


def test_column_dropped_in_sql_but_kept_in_schema():
    sql = GENERATED + '\n-- AlterTable\nALTER TABLE "users" DROP COLUMN "name";\n'
    findings = run(SCHEMA_WITH_STATUS, {NEW_MIG: sql})
    assert summary(findings) == [("migration/schema-drift", "error", "column:users.name")]
    assert findings[0].path == NEW_MIG and findings[0].line == 12 and "P2022" in findings[0].message


def test_column_added_in_sql_without_field():
    sql = GENERATED + '\nALTER TABLE "orders" ADD COLUMN "legacy_ref" TEXT;\n'
    findings = run(SCHEMA_WITH_STATUS, {NEW_MIG: sql})
    assert summary(findings) == [("migration/schema-drift", "warning", "column:orders.legacy_ref")]
    assert '@map("legacy_ref")' in findings[0].message


def test_enum_value_missing_from_sql():
    schema = SCHEMA_WITH_STATUS.replace("  PAID\n", "  PAID\n  REFUNDED\n")
    findings = run(schema, {NEW_MIG: GENERATED})
    assert summary(findings) == [("migration/schema-drift", "error", "enum:OrderStatus.REFUNDED")]


def test_renamed_field_done_with_rename_column_matches():
    schema = SCHEMA.replace("  total  Int\n", '  amount Int    @map("amount_cents")\n')
    sql = 'ALTER TABLE "orders" RENAME COLUMN "total" TO "amount_cents";\n'
    assert run(schema, {NEW_MIG: sql}) == []


def test_removed_required_field_with_column_kept_breaks_inserts():
    schema = SCHEMA.replace("  total  Int\n", "")
    sql = 'CREATE INDEX "orders_id_idx" ON "orders"("id");\n'
    findings = [f for f in run(schema, {NEW_MIG: sql}) if f.key == "column:orders.total"]
    assert len(findings) == 1 and findings[0].severity is Severity.ERROR and findings[0].side is Side.OLD
    assert "not-null violation" in findings[0].message


def test_removed_optional_field_with_column_kept_is_info():
    schema = SCHEMA.replace("  name      String?\n", "")
    sql = 'UPDATE "users" SET "name" = NULL;\n'
    findings = run(schema, {NEW_MIG: sql})
    assert summary(findings) == [("migration/schema-drift", "info", "column:users.name")]


# -- migration without schema change ----------------------------------------------------------------------------


def test_hand_written_column_with_unchanged_schema():
    findings = run(None, {NEW_MIG: 'ALTER TABLE "orders" ADD COLUMN "status" TEXT;\n'})
    assert [f.rule for f in findings] == ["migration/migration-without-schema-change"]
    assert findings[0].path == NEW_MIG and findings[0].line == 1 and findings[0].severity is Severity.WARNING


def test_index_created_for_an_already_declared_index_is_fine():
    # The schema declared @@index([userId]) all along; re-creating it concurrently keeps the two in line.
    sql = ('DROP INDEX IF EXISTS "orders_user_id_idx";\n'
           'CREATE INDEX CONCURRENTLY "orders_user_id_idx" ON "orders"("user_id");\n')
    assert run(None, {NEW_MIG: sql}) == []


def test_dropping_a_declared_index_with_unchanged_schema():
    findings = run(None, {NEW_MIG: 'DROP INDEX "orders_user_id_idx";\n'})
    assert [f.rule for f in findings] == ["migration/migration-without-schema-change"]
    assert "recreates it" in findings[0].message


def test_hand_written_not_null_for_an_optional_field_without_default():
    schema = SCHEMA.replace("  total  Int\n", "  total  Int\n  note   String?\n")
    findings = run(schema, {NEW_MIG: 'ALTER TABLE "orders" ADD COLUMN "note" TEXT NOT NULL;\n'})
    assert summary(findings) == [("migration/schema-drift", "error", "nullability:orders.note")]


def test_required_field_added_as_nullable_column():
    schema = SCHEMA.replace("  total  Int\n", "  total  Int\n  note   String @default(\"\")\n")
    findings = run(schema, {NEW_MIG: 'ALTER TABLE "orders" ADD COLUMN "note" TEXT DEFAULT \'\';\n'})
    assert summary(findings) == [("migration/schema-drift", "warning", "nullability:orders.note")]


def test_expand_then_set_not_null_in_the_same_migration_matches():
    schema = SCHEMA.replace("  total  Int\n", "  total  Int\n  note   String\n")
    sql = ('ALTER TABLE "orders" ADD COLUMN "note" TEXT;\n'
           'UPDATE "orders" SET "note" = \'\' WHERE "note" IS NULL;\n'
           'ALTER TABLE "orders" ALTER COLUMN "note" SET NOT NULL;\n')
    assert run(schema, {NEW_MIG: sql}) == []


def test_drop_not_null_on_a_field_made_optional_matches():
    schema = SCHEMA.replace("  total  Int\n", "  total  Int?\n")
    assert run(schema, {NEW_MIG: 'ALTER TABLE "orders" ALTER COLUMN "total" DROP NOT NULL;\n'}) == []


def test_not_null_array_column_for_a_list_field_matches():
    schema = SCHEMA.replace("  total  Int\n", "  total  Int\n  tags   String[] @default([])\n")
    sql = 'ALTER TABLE "orders" ADD COLUMN "tags" TEXT[] NOT NULL DEFAULT ARRAY[]::TEXT[];\n'
    assert run(schema, {NEW_MIG: sql}) == []


def test_prisma_enum_value_removal_dance_matches():
    base = base_tree()
    base["prisma/schema.prisma"] = SCHEMA_WITH_STATUS.replace("  PAID\n", "  PAID\n  VOID\n")
    head = dict(base)
    head["prisma/schema.prisma"] = SCHEMA_WITH_STATUS
    head[NEW_MIG] = """\
/*
  Warnings:

  - The values [VOID] on the enum `OrderStatus` will be removed. If these variants are still used in the database, \
this will fail.

*/
-- AlterEnum
BEGIN;
CREATE TYPE "OrderStatus_new" AS ENUM ('PENDING', 'PAID');
ALTER TABLE "orders" ALTER COLUMN "status" DROP DEFAULT;
ALTER TABLE "orders" ALTER COLUMN "status" TYPE "OrderStatus_new" USING ("status"::text::"OrderStatus_new");
ALTER TYPE "OrderStatus" RENAME TO "OrderStatus_old";
ALTER TYPE "OrderStatus_new" RENAME TO "OrderStatus";
DROP TYPE "OrderStatus_old";
ALTER TABLE "orders" ALTER COLUMN "status" SET DEFAULT 'PENDING';
COMMIT;
"""
    assert consistency.check(context_for(base, head)) == []


def test_new_models_with_implicit_many_to_many_match_generated_sql():
    schema = SCHEMA.replace("  orders    Order[]\n", "  orders    Order[]\n  tags      Tag[]\n") + """
model Tag {
  id    Int    @id @default(autoincrement())
  label String
  users User[]

  @@unique([label])
  @@map("tags")
}
"""
    sql = """\
-- CreateTable
CREATE TABLE "tags" (
    "id" SERIAL NOT NULL,
    "label" TEXT NOT NULL,

    CONSTRAINT "tags_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "_TagToUser" (
    "A" INTEGER NOT NULL,
    "B" TEXT NOT NULL,

    CONSTRAINT "_TagToUser_AB_pkey" PRIMARY KEY ("A","B")
);

-- CreateIndex
CREATE UNIQUE INDEX "tags_label_key" ON "tags"("label");

-- CreateIndex
CREATE INDEX "_TagToUser_B_index" ON "_TagToUser"("B");

-- AddForeignKey
ALTER TABLE "_TagToUser" ADD CONSTRAINT "_TagToUser_A_fkey" FOREIGN KEY ("A") REFERENCES "tags"("id") \
ON DELETE CASCADE ON UPDATE CASCADE;
"""
    assert run(schema, {NEW_MIG: sql}) == []
    findings = run(schema, {NEW_MIG: sql.replace('CREATE UNIQUE INDEX "tags_label_key" ON "tags"("label");', "")})
    assert summary(findings) == [
        ("migration/schema-drift", "error", "index:tags:IndexSig(unique=True, columns=('label',))")]


def test_map_changed_without_rename_column_is_one_error():
    schema = SCHEMA.replace('  userId String @map("user_id")', '  userId String @map("customer_id")')
    schema = schema.replace("  @@index([userId])\n", "")
    sql = 'DROP INDEX "orders_user_id_idx";\n'
    findings = run(schema, {NEW_MIG: sql})
    assert summary(findings) == [("migration/schema-drift", "error", "column:orders.customer_id")]
    assert 'RENAME COLUMN "user_id" TO "customer_id"' in findings[0].message


def test_table_map_changed_without_rename_is_one_error():
    schema = SCHEMA.replace('@@map("orders")', '@@map("purchase_orders")')
    findings = run(schema, {NEW_MIG: 'UPDATE "orders" SET "total" = 0 WHERE "total" < 0;\n'})
    assert summary(findings) == [("migration/schema-drift", "error", "table:purchase_orders")]
    assert 'ALTER TABLE "orders" RENAME TO "purchase_orders"' in findings[0].message


def test_table_map_change_with_rename_matches():
    schema = SCHEMA.replace('@@map("orders")', '@@map("purchase_orders")')
    assert run(schema, {NEW_MIG: 'ALTER TABLE "orders" RENAME TO "purchase_orders";\n'}) == []


def test_gin_index_declared_in_schema_matches_sql():
    schema = SCHEMA.replace("  @@index([userId])\n", "  @@index([userId])\n  @@index([total], type: Gin)\n")
    sql = 'CREATE INDEX "orders_total_idx" ON "orders" USING GIN ("total");\n'
    assert run(schema, {NEW_MIG: sql}) == []


def test_map_change_of_an_indexed_column_is_reported_once():
    schema = SCHEMA.replace('  userId String @map("user_id")', '  userId String @map("customer_id")')
    findings = run(schema, {NEW_MIG: 'UPDATE "orders" SET "total" = 0 WHERE "total" < 0;\n'})
    assert summary(findings) == [("migration/schema-drift", "error", "column:orders.customer_id")]


def test_sql_type_other_than_the_fields_type():
    schema = SCHEMA.replace("  total  Int\n", "  total  Int\n  paidAt DateTime? @db.Timestamptz(3)\n")
    findings = run(schema, {NEW_MIG: 'ALTER TABLE "orders" ADD COLUMN "paidAt" TIMESTAMP(3);\n'})
    assert summary(findings) == [("migration/schema-drift", "warning", "type:orders.paidAt")]
    assert "`timestamp`" in findings[0].message and "@db.Timestamptz(3)" in findings[0].message


def test_sql_type_spellings_that_agree_with_the_schema():
    schema = SCHEMA.replace("  total  Int\n", "  total  Int\n  paidAt DateTime? @db.Timestamptz(6)\n"
                            "  ref    String?  @db.VarChar(40)\n  ratio  Float?\n  tags   String[]\n")
    sql = ('ALTER TABLE "orders" ADD COLUMN "paidAt" TIMESTAMP WITH TIME ZONE, ADD COLUMN "ref" VARCHAR(64),\n'
           '  ADD COLUMN "ratio" DOUBLE PRECISION, ADD COLUMN "tags" TEXT[];\n')
    assert run(schema, {NEW_MIG: sql}) == []


def test_alter_column_type_to_match_a_changed_field():
    schema = SCHEMA.replace("  total  Int\n", "  total  BigInt\n")
    assert run(schema, {NEW_MIG: 'ALTER TABLE "orders" ALTER COLUMN "total" SET DATA TYPE BIGINT;\n'}) == []
    findings = run(schema, {NEW_MIG: 'ALTER TABLE "orders" ALTER COLUMN "total" TYPE NUMERIC(20,0);\n'})
    assert summary(findings) == [("migration/schema-drift", "warning", "type:orders.total")]


def test_field_made_optional_without_drop_not_null():
    schema = SCHEMA.replace("  total  Int\n", "  total  Int?\n")
    findings = run(schema, {NEW_MIG: 'CREATE INDEX "orders_id_idx" ON "orders"("id");\n'})
    assert ("migration/schema-drift", "error", "nullability:orders.total") in summary(findings)


def test_field_type_changed_without_alter():
    schema = SCHEMA.replace("  total  Int\n", "  total  Decimal\n")
    findings = run(schema, {NEW_MIG: 'ALTER TABLE "users" ADD COLUMN "nick" TEXT;\n'})
    assert ("migration/schema-drift", "warning", "type:orders.total") in summary(findings)


def test_drop_not_null_alone_does_not_question_the_type():
    schema = SCHEMA.replace('  createdAt DateTime @default(now()) @map("created_at")',
                            '  createdAt DateTime? @default(now()) @map("created_at")')
    sql = 'ALTER TABLE "users" ALTER COLUMN "created_at" DROP NOT NULL;\n'
    assert run(schema, {NEW_MIG: sql}) == []


def test_prisma_2s_implicit_unique_on_a_one_to_one_foreign_key_is_not_drift():
    # zipline's init migration (Prisma 2): the FK of a 1:1 relation got "InvisibleImage_id_unique" with no @unique.
    from bot.pipeline import review
    from bot.testing import change_from_trees

    schema = (
        'datasource db {\n  provider = "postgresql"\n  url = env("DATABASE_URL")\n}\n'
        "model Image {\n  id        Int             @id @default(autoincrement())\n  invisible InvisibleImage?\n}\n"
        "model InvisibleImage {\n  id    Int\n  image Image  @relation(fields: [id], references: [id])\n"
        "  invis String @unique\n}\n")
    sql = ('CREATE TABLE "Image" ("id" SERIAL NOT NULL, PRIMARY KEY ("id"));\n'
           'CREATE TABLE "InvisibleImage" ("id" INTEGER NOT NULL, "invis" TEXT NOT NULL);\n'
           'CREATE UNIQUE INDEX "InvisibleImage.invis_unique" ON "InvisibleImage"("invis");\n'
           'CREATE UNIQUE INDEX "InvisibleImage_id_unique" ON "InvisibleImage"("id");\n'
           'ALTER TABLE "InvisibleImage" ADD FOREIGN KEY ("id") REFERENCES "Image"("id") ON DELETE CASCADE;\n')
    head = {"prisma/schema.prisma": schema, "prisma/migrations/migration_lock.toml": 'provider = "postgresql"\n',
            "prisma/migrations/20210825043706_init/migration.sql": sql}
    result = review(change_from_trees({}, head))
    assert not [f for f in result.findings
                if f.rule in ("migration/migration-without-schema-change", "migration/schema-drift")]


def test_renaming_an_enum_type_retypes_its_columns_without_altering_them():
    # hoppscotch: `ALTER TYPE "TeamMemberRole" RENAME TO "TeamAccessRole"` with the enum renamed in the schema.
    base = {**base_tree(), "prisma/schema.prisma": SCHEMA_WITH_STATUS, NEW_MIG: GENERATED}
    renamed = SCHEMA_WITH_STATUS.replace("OrderStatus", "OrderState")
    rename_sql = f"{MIG}/20240401000000_rename_enum/migration.sql"
    head = {**base, "prisma/schema.prisma": renamed, rename_sql: 'ALTER TYPE "OrderStatus" RENAME TO "OrderState";\n'}
    assert consistency.check(context_for(base, head)) == []
    # Renaming it in the schema alone is still drift.
    head = {**base, "prisma/schema.prisma": renamed, rename_sql: 'ALTER TABLE "users" ADD COLUMN "nick" TEXT;\n'}
    assert "type:orders.status" in {f.key for f in consistency.check(context_for(base, head))}


def test_a_nullable_column_made_the_primary_key_is_not_null():
    # split-pro: a nullable uuid column, renamed into `id`, gets the primary key; the key makes it NOT NULL
    sql = ('ALTER TABLE "orders" ADD COLUMN "uuid" TEXT;\n'
           'ALTER TABLE "orders" DROP CONSTRAINT "orders_pkey";\n'
           'ALTER TABLE "orders" ADD CONSTRAINT "orders_pkey" PRIMARY KEY ("uuid");\n')
    schema = SCHEMA.replace("  total  Int\n", "  total  Int\n  uuid   String\n")
    assert [f.key for f in run(schema, {NEW_MIG: sql}) if f.key.startswith("nullability")] == []
