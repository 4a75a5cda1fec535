from __future__ import annotations

from query_testkit import SCHEMA

from bot.config import Config
from bot.findings import Severity
from bot.pipeline import review
from bot.testing import change_from_trees

SERVICE = """\
import { prisma } from "@/lib/prisma";

export async function findLegacy(code: string) {
  return prisma.order.findFirst({ where: { legacyCode: code }, select: { id: true, reference: true } });
}

export async function untouched(userId: string) {
  return prisma.order.findMany({ where: { userId }, take: 10, select: { id: true } });
}

export async function otherModel(code: string) {
  return prisma.payment.findFirst({ where: { provider: code } });
}
"""

DROPPED = SCHEMA.replace("  legacyCode String?\n", "")
RENAMED = SCHEMA.replace("  reference  String\n", "  externalRef String\n")


def test_dropped_field_still_filtered_in_unchanged_code(query_findings):
    base = {"prisma/schema.prisma": SCHEMA, "src/services/legacy.ts": SERVICE}
    head = {"prisma/schema.prisma": DROPPED, "src/services/legacy.ts": SERVICE}
    found = query_findings(head, base, rule="query/dropped-column-used", schema=None)
    assert len(found) == 1
    f = found[0]
    assert f.path == "src/services/legacy.ts" and f.line == 4
    assert f.caused_by_change and f.severity is Severity.ERROR
    assert "drops `Order.legacyCode`" in f.message


def test_renamed_field_still_selected(query_findings):
    base = {"prisma/schema.prisma": SCHEMA, "src/services/legacy.ts": SERVICE}
    head = {"prisma/schema.prisma": RENAMED, "src/services/legacy.ts": SERVICE}
    found = query_findings(head, base, rule="query/dropped-column-used", schema=None)
    assert [f.line for f in found] == [4]
    assert "use `externalRef`" in found[0].message


def test_dropped_column_finding_survives_the_diff_filter():
    base = {"prisma/schema.prisma": SCHEMA, "src/services/legacy.ts": SERVICE}
    head = {"prisma/schema.prisma": DROPPED, "src/services/legacy.ts": SERVICE}
    result = review(change_from_trees(base, head), Config())
    assert any(f.rule == "query/dropped-column-used" and f.path == "src/services/legacy.ts"
               for f in result.findings)


def test_no_finding_when_code_no_longer_uses_the_field(query_findings):
    clean = SERVICE.replace("legacyCode: code", "reference: code").replace(", reference: true", "")
    base = {"prisma/schema.prisma": SCHEMA, "src/services/legacy.ts": SERVICE}
    head = {"prisma/schema.prisma": DROPPED, "src/services/legacy.ts": clean}
    assert query_findings(head, base, rule="query/dropped-column-used", schema=None) == []


def test_column_dropped_by_a_hand_written_migration(query_findings):
    migration = """\
-- Drop the legacy code column
ALTER TABLE "Order" DROP COLUMN "legacyCode";
"""
    lock = 'provider = "postgresql"\n'
    base = {"prisma/schema.prisma": SCHEMA, "src/services/legacy.ts": SERVICE,
            "prisma/migrations/migration_lock.toml": lock}
    head = {**base, "prisma/migrations/20240101000000_drop_legacy/migration.sql": migration}
    found = query_findings(head, base, rule="query/dropped-column-used", schema=None)
    assert [(f.path, f.line) for f in found] == [("src/services/legacy.ts", 4)]
    assert "drop_legacy/migration.sql:2" in found[0].message


def test_dropped_field_and_migration_report_once(query_findings):
    migration = 'ALTER TABLE "Order" DROP COLUMN "legacyCode";\n'
    base = {"prisma/schema.prisma": SCHEMA, "src/services/legacy.ts": SERVICE}
    head = {"prisma/schema.prisma": DROPPED, "src/services/legacy.ts": SERVICE,
            "prisma/migrations/20240101000000_drop_legacy/migration.sql": migration}
    found = query_findings(head, base, rule="query/dropped-column-used", schema=None)
    assert len(found) == 1


def test_calls_to_a_dropped_model_are_errors(query_findings):
    import re

    no_payment = re.sub(r"model Payment \{.*?\n\}\n", "", SCHEMA, flags=re.S).replace("  payments   Payment[]\n", "")
    assert "model Payment" not in no_payment
    base = {"prisma/schema.prisma": SCHEMA, "src/services/legacy.ts": SERVICE}
    head = {"prisma/schema.prisma": no_payment, "src/services/legacy.ts": SERVICE}
    found = query_findings(head, base, rule="query/dropped-column-used", schema=None)
    # The head schema no longer knows `payment`, but the receiver is the bound client: certain, so an error.
    [f] = [f for f in found if f.line == 12]
    assert f.severity is Severity.ERROR and "confidence" not in f.message


def test_a_column_dropped_and_added_back_is_a_type_change_not_a_drop(query_findings):
    # Prisma's way to change a type it cannot cast: the column keeps its name, so the code keeps working.
    migration = 'ALTER TABLE "Order" DROP COLUMN "legacyCode",\nADD COLUMN "legacyCode" INTEGER;\n'
    lock = 'provider = "postgresql"\n'
    base = {"prisma/schema.prisma": SCHEMA, "src/services/legacy.ts": SERVICE,
            "prisma/migrations/migration_lock.toml": lock}
    head = {**base, "prisma/schema.prisma": SCHEMA.replace("legacyCode String?", "legacyCode Int?"),
            "prisma/migrations/20240101000000_retype/migration.sql": migration}
    assert "legacyCode Int?" in head["prisma/schema.prisma"]
    assert query_findings(head, base, rule="query/dropped-column-used", schema=None) == []


def _migrated(query_findings, migration: str, *, base_schema: str = SCHEMA, head_schema: str | None = None):  # type: ignore[no-untyped-def]
    """The dropped-column findings of a change that adds `migration` (and optionally edits the schema)."""
    base = {"prisma/schema.prisma": base_schema, "src/services/legacy.ts": SERVICE,
            "prisma/migrations/migration_lock.toml": 'provider = "postgresql"\n'}
    head = {**base, "prisma/migrations/20240101000000_change/migration.sql": migration}
    if head_schema is not None:
        head["prisma/schema.prisma"] = head_schema
    return query_findings(head, base, rule="query/dropped-column-used", schema=None)


def test_a_table_rebuilt_under_a_new_name_and_renamed_back_is_not_dropped(query_findings):
    # OpenPipe's way to rebuild a table: the new table takes the old name, the model and the code keep working.
    migration = ('CREATE TABLE "NewPayment" ("id" TEXT NOT NULL, "provider" TEXT NOT NULL);\n'
                 'DROP TABLE "Payment";\n'
                 'ALTER TABLE "NewPayment" RENAME TO "Payment";\n'
                 'ALTER TABLE "Order" DROP COLUMN "legacyCode";\n'
                 'ALTER TABLE "Order" RENAME COLUMN "legacyCode_new" TO "legacyCode";\n')
    assert _migrated(query_findings, migration) == []
    # Without the rename back, the drop is a drop.
    assert [f.line for f in _migrated(query_findings, migration.split("ALTER")[0])] == [12]


def test_a_table_renamed_away_and_created_again_under_its_name_is_not_gone(query_findings):
    # formbricks: "Team" became "Organization" and a new "Team" took the name; a column renamed and added back.
    migration = ('ALTER TABLE "Payment" RENAME TO "LegacyPayment";\n'
                 'CREATE TABLE "Payment" ("id" TEXT NOT NULL, "provider" TEXT NOT NULL, "orderId" TEXT);\n'
                 'ALTER TABLE "Payment" RENAME COLUMN "orderId" TO "order_id";\n'
                 'ALTER TABLE "Order" RENAME COLUMN "legacyCode" TO "oldCode";\n'
                 'ALTER TABLE "Order" ADD COLUMN "legacyCode" TEXT;\n')
    assert _migrated(query_findings, migration) == []


def test_a_column_renamed_to_its_field_name_when_the_map_is_dropped_is_not_gone(query_findings):
    # formbricks: `organization_id` became `organizationId` and the schema dropped its @map: the field keeps its name.
    mapped = SCHEMA.replace("  legacyCode String?\n", '  legacyCode String? @map("legacy_code")\n')
    migration = 'ALTER TABLE "Order" RENAME COLUMN "legacy_code" TO "legacyCode";\n'
    assert _migrated(query_findings, migration, base_schema=mapped, head_schema=SCHEMA) == []


def test_a_column_that_became_a_relation_of_the_same_name_is_not_used_when_the_relation_is(query_findings):
    # dyrectorio dropped `Node.token` and added a relation `token NodeToken?`: `data: { token: { delete: true } }`
    migration = 'ALTER TABLE "Order" DROP COLUMN "legacyCode";\n'
    head_schema = SCHEMA.replace(
        "  legacyCode String?\n",
        '  legacyCodeId String?\n'
        '  legacyCode   Payment? @relation("legacy", fields: [legacyCodeId], references: [id])\n',
    ).replace("model Payment {\n", 'model Payment {\n  legacyOrders Order[] @relation("legacy")\n')
    code = """\
import { prisma } from "@/lib/prisma";
export async function clear(id: string) {
  return prisma.order.update({ where: { id }, data: { legacyCode: { disconnect: true } } });
}
"""
    lock = 'provider = "postgresql"\n'
    base = {"prisma/schema.prisma": SCHEMA, "src/services/legacy.ts": code,
            "prisma/migrations/migration_lock.toml": lock}
    head = {**base, "prisma/schema.prisma": head_schema,
            "prisma/migrations/20240101000000_drop_legacy/migration.sql": migration}
    assert query_findings(head, base, rule="query/dropped-column-used", schema=None) == []


def test_a_column_renamed_onto_a_dropped_one_by_a_later_migration_of_the_change_is_not_gone(query_findings):
    # supaglue dropped "id" in one migration and renamed "cuid" to "id" in the next, in one pull request.
    base = {"prisma/schema.prisma": SCHEMA, "src/services/legacy.ts": SERVICE,
            "prisma/migrations/migration_lock.toml": 'provider = "postgresql"\n'}
    first = "prisma/migrations/20240101000000_drop/migration.sql"
    second = "prisma/migrations/20240101000001_rename/migration.sql"
    head = {**base, first: 'ALTER TABLE "Order" DROP COLUMN "legacyCode";\n',
            second: 'ALTER TABLE "Order" RENAME COLUMN "legacyCode_v2" TO "legacyCode";\n'}
    assert query_findings(head, base, rule="query/dropped-column-used", schema=None) == []
    # The drop alone is a drop.
    head.pop(second)
    assert [f.line for f in query_findings(head, base, rule="query/dropped-column-used", schema=None)] == [4]


def test_a_dropped_table_whose_model_now_maps_to_another_table_is_not_gone(query_findings):
    # invoicerr: `DROP TABLE "User"` after `model User` took `@@map("user")` (a new table): prisma.user still works.
    head_schema = SCHEMA.replace("model Payment {", 'model Payment {\n  @@map("payments")')
    migration = 'CREATE TABLE "payments" ("id" TEXT NOT NULL);\nDROP TABLE "Payment";\n'
    assert _migrated(query_findings, migration, head_schema=head_schema) == []
    # Dropped with its model, it is gone.
    gone_schema = SCHEMA.split("model Payment {")[0] + "model" + SCHEMA.split("model Payment {")[1].split("model", 1)[1]
    assert [f.line for f in _migrated(query_findings, migration, head_schema=gone_schema)] == [12]
