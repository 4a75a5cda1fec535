"""Issue #13: the review reports what the change introduced, once. Each test reproduces a case seen on real pull
requests (the app's shapes, written by us in a few lines)."""

from __future__ import annotations

from bot.pipeline import review
from bot.testing import change_from_trees

SCHEMA = """\
datasource db {
  provider = "postgresql"
  url      = env("DATABASE_URL")
}

model User {
  id        String   @id @default(uuid())
  email     String   @unique
  apiToken  String
  createdAt DateTime @default(now())
  orders    Order[]
}

model Order {
  id        String   @id @default(uuid()) @db.Uuid
  userId    String
  total     Float
  createdAt DateTime @default(now()) @db.Timestamptz(3)
  user      User     @relation(fields: [userId], references: [id])
}
"""
PATH = "prisma/schema.prisma"


def _review(base: str, head: str):  # type: ignore[no-untyped-def]
    return review(change_from_trees({PATH: base}, {PATH: head}))


def test_prisma_format_realigning_a_model_reports_nothing() -> None:
    realigned = SCHEMA.replace("  id        String   @id @default(uuid())\n",
                               "  id          String     @id @default(uuid())\n")
    realigned = realigned.replace("  createdAt DateTime @default(now())\n",
                                  "  createdAt   DateTime   @default(now())\n")
    result = _review(SCHEMA, realigned)
    assert result.findings == []
    # What the touched lines already had is listed apart, never as the author's findings.
    assert {f.rule for f in result.preexisting} <= {"prisma/timestamp-without-timezone", "prisma/uuid-as-text",
                                                     "prisma/sensitive-plaintext"}


def test_a_back_relation_field_does_not_bring_back_the_models_old_problems() -> None:
    head = SCHEMA.replace("  orders    Order[]\n", "  orders    Order[]\n  alerts    Alert[]\n") + """
model Alert {
  id          String   @id @default(uuid()) @db.Uuid
  userId      String
  triggeredAt DateTime
  createdAt   DateTime @default(now())
  updatedAt   DateTime @updatedAt
  user        User     @relation(fields: [userId], references: [id])

  @@index([userId])
}
"""
    result = _review(SCHEMA, head)
    assert not [f for f in result.findings if f.key.startswith("User.")]
    # One new model with three DateTime fields without a time zone: one finding listing the three.
    stamps = [f for f in result.findings if f.rule == "prisma/timestamp-without-timezone"]
    assert len(stamps) == 1
    assert [g["key"] for g in stamps[0].extra["grouped"]] == ["Alert.triggeredAt", "Alert.createdAt",
                                                              "Alert.updatedAt"]
    assert "The same applies to 3 fields of model `Alert`" in stamps[0].message
    suggestion = stamps[0].suggestion
    assert suggestion is not None and suggestion.end_line - suggestion.line == 2
    assert suggestion.replacement.count("@db.Timestamptz") == 3
    assert "fixes all of them" in stamps[0].message


def test_a_real_change_to_a_field_is_new() -> None:
    head = SCHEMA.replace("  total     Float\n", "  total     Float\n  discount  Float\n")
    result = _review(SCHEMA, head)
    assert [(f.rule, f.key) for f in result.findings] == [("prisma/float-money", "Order.discount")]
    # Order.total's Float was there before and its line is untouched: not mentioned at all; the model's missing
    # foreign-key index was there before too and the model was edited: listed as already there.
    assert [(f.rule, f.key) for f in result.preexisting] == [("prisma/fk-missing-index", "Order.userId")]


MIG = "prisma/migrations/20240101000000_init/migration.sql"
INIT = "".join(f'CREATE TABLE "t{i}" ("id" TEXT NOT NULL, "v" TEXT, CONSTRAINT "t{i}_pkey" PRIMARY KEY ("id"));\n'
               for i in range(6))
TABLES = "".join(f"model t{i} {{\n  id String @id\n  v  String?\n\n  @@index([v])\n}}\n" for i in range(6))
DS = 'datasource db {\n  provider = "postgresql"\n  url      = env("DATABASE_URL")\n}\n'


def _migration_review(count: int):  # type: ignore[no-untyped-def]
    base = {"prisma/schema.prisma": DS + TABLES.replace("\n  @@index([v])\n", "\n"),
            "prisma/migrations/migration_lock.toml": 'provider = "postgresql"\n', MIG: INIT}
    sql = "".join(f'CREATE INDEX "t{i}_v_idx" ON "t{i}"("v");\n' for i in range(count))
    schema = DS + "".join(f"model t{i} {{\n  id String @id\n  v  String?\n" + ("\n  @@index([v])\n" if i < count
                                                                                 else "") + "}\n" for i in range(6))
    head = {**base, "prisma/schema.prisma": schema, "prisma/migrations/20240201000000_idx/migration.sql": sql}
    return review(change_from_trees(base, head))


def test_many_identical_migration_findings_in_one_file_are_one_finding() -> None:
    result = _migration_review(6)
    found = [f for f in result.findings if f.rule == "migration/index-not-concurrent"]
    assert len(found) == 1
    assert [g["line"] for g in found[0].extra["grouped"]] == [1, 2, 3, 4, 5, 6]
    assert "lines 2, 3, 4, 5, 6" in found[0].message


def test_two_findings_of_a_rule_in_a_file_stay_two() -> None:
    result = _migration_review(2)
    assert len([f for f in result.findings if f.rule == "migration/index-not-concurrent"]) == 2
