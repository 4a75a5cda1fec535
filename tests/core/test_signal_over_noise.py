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



def test_one_statement_dropping_two_columns_is_one_finding() -> None:
    schema = DS + "model t0 {\n  id String @id\n}\n" + "".join(
        f"model t{i} {{\n  id String @id\n  v  String?\n}}\n" for i in range(1, 6))
    t0 = "model t0 {\n  id String @id\n  v  String?\n"
    base = {"prisma/schema.prisma": DS + TABLES.replace("\n  @@index([v])\n", "\n").replace(t0, t0 + "  w  String?\n"),
            "prisma/migrations/migration_lock.toml": 'provider = "postgresql"\n',
            MIG: INIT.replace('"v" TEXT, CONSTRAINT "t0_pkey"', '"v" TEXT, "w" TEXT, CONSTRAINT "t0_pkey"')}
    drop = 'ALTER TABLE "t0" DROP COLUMN "v",\nDROP COLUMN "w";\n'
    head = {**base, "prisma/schema.prisma": schema, "prisma/migrations/20240201000000_drop/migration.sql": drop}
    found = [f for f in review(change_from_trees(base, head)).findings if f.rule == "migration/drop-column"]
    assert len(found) == 1, [f.message for f in found]
    assert "in the same statement" in found[0].message
    assert [g["line"] for g in found[0].extra["grouped"]] == [1, 1]

# A new model with a foreign key and a listing over it (openpanel's Import, spliit's Activity): the foreign key's
# index and the listing's index are one index.
_IMPORT_MODEL = """
model Project {
  id      String   @id @default(uuid())
  imports Import[]
}

model Import {
  id        String   @id @default(uuid())
  projectId String
  path      String
  createdAt DateTime @default(now()) @db.Timestamptz(3)
  project   Project  @relation(fields: [projectId], references: [id])
}
"""
_ROUTES = """\
import { prisma } from "./db";

export async function listImports(projectId: string) {
  return prisma.import.findMany({ where: { projectId }, orderBy: { createdAt: "desc" }, take: 50 });
}

export async function findImport(projectId: string, path: string) {
  return prisma.import.findFirst({ where: { projectId, path } });
}
"""
_DB = 'import { PrismaClient } from "@prisma/client";\nexport const prisma = new PrismaClient();\n'


def test_one_index_serves_the_foreign_key_and_the_listing() -> None:
    head = {PATH: SCHEMA + _IMPORT_MODEL, "src/db.ts": _DB,
            "src/imports.ts": _ROUTES.split("export async function findImport")[0]}
    result = review(change_from_trees({PATH: SCHEMA, "src/db.ts": _DB}, head))
    fk = [f for f in result.findings if f.rule == "prisma/fk-missing-index" and f.key.startswith("Import.")]
    advice = [f for f in result.findings if f.rule == "query/missing-index"]
    assert fk == [], "the foreign key's own finding is folded into the listing's index"
    assert len(advice) == 1
    message = advice[0].message
    assert "@@index([projectId, createdAt])" in message
    assert "also indexes the foreign key `projectId` of Import.project → Project" in message
    assert advice[0].extra["covers"][0]["rule"] == "prisma/fk-missing-index"


def test_an_index_that_begins_another_is_one_finding_listing_both_calls() -> None:
    head = {PATH: SCHEMA + _IMPORT_MODEL, "src/db.ts": _DB, "src/imports.ts": _ROUTES.replace(
        ', orderBy: { createdAt: "desc" }, take: 50', "")}
    result = review(change_from_trees({PATH: SCHEMA, "src/db.ts": _DB}, head))
    advice = [f for f in result.findings if f.rule == "query/missing-index"]
    assert len(advice) == 1, [f.message for f in advice]
    assert "@@index([projectId, path])" in advice[0].message
    assert [s["line"] for s in advice[0].extra["call_sites"]] == [4]
    assert not [f for f in result.findings if f.rule == "prisma/fk-missing-index" and f.key.startswith("Import.")]


def test_indexes_that_do_not_begin_one_another_stay_apart() -> None:
    routes = _ROUTES.replace("where: { projectId, path }", "where: { path }")
    head = {PATH: SCHEMA + _IMPORT_MODEL, "src/db.ts": _DB, "src/imports.ts": routes}
    result = review(change_from_trees({PATH: SCHEMA, "src/db.ts": _DB}, head))
    advice = sorted(f.message.split("Add `")[1].split("`")[0] for f in result.findings
                    if f.rule == "query/missing-index")
    assert advice == ["@@index([path])", "@@index([projectId, createdAt])"]


def test_a_schema_kept_once_per_provider_gets_each_finding_once() -> None:
    # umami keeps db/mysql/schema.prisma and db/postgresql/schema.prisma in step: one finding, on the PostgreSQL copy.
    model = "model Segment {\n  id   String @id @unique\n  name String\n}\n"
    mysql = DS.replace("postgresql", "mysql")
    base = {"db/mysql/schema.prisma": mysql, "db/postgresql/schema.prisma": DS}
    head = {"db/mysql/schema.prisma": mysql + model, "db/postgresql/schema.prisma": DS + model}
    found = [f for f in review(change_from_trees(base, head)).findings if f.rule == "prisma/redundant-index"]
    assert len(found) == 1, [(f.path, f.line) for f in found]
    assert found[0].path == "db/postgresql/schema.prisma"
    assert "The same applies to the other provider's copy: db/mysql/schema.prisma:6." in found[0].message


def test_a_migration_kept_once_per_provider_gets_each_finding_once() -> None:
    # umami: db/mysql/migrations/04_team/migration.sql and db/postgresql/migrations/04_team/migration.sql.
    init = 'CREATE TABLE "team_website" ("id" TEXT NOT NULL, CONSTRAINT "team_website_pkey" PRIMARY KEY ("id"));\n'
    base: dict[str, str] = {}
    for provider in ("mysql", "postgresql"):
        base[f"db/{provider}/migrations/migration_lock.toml"] = f'provider = "{provider}"\n'
        base[f"db/{provider}/migrations/01_init/migration.sql"] = init
        base[f"db/{provider}/schema.prisma"] = DS.replace("postgresql", provider)
    head = {**base, **{f"db/{p}/migrations/04_team/migration.sql": 'DROP TABLE "team_website";\n'
                       for p in ("mysql", "postgresql")}}
    found = [f for f in review(change_from_trees(base, head)).findings if f.rule == "migration/drop-table"]
    assert [f.path for f in found] == ["db/postgresql/migrations/04_team/migration.sql"]
    assert "db/mysql/migrations/04_team/migration.sql:1" in found[0].message


def test_two_index_findings_on_one_model_are_one_finding() -> None:
    model = "model Link {\n  id   String @id @unique\n  slug String @unique\n\n  @@index([slug])\n}\n"
    found = [f for f in _review(SCHEMA, SCHEMA + model).findings if f.rule == "prisma/redundant-index"]
    assert len(found) == 1, [f.message for f in found]
    assert "2 places of model `Link`" in found[0].message


def test_equality_columns_in_another_order_are_one_index() -> None:
    # linkwarden: `findMany({ where: { ownerId } })` and `findFirst({ where: { name, ownerId } })`: one index,
    # `@@index([projectId, path])`, serves both when its equality columns start with the shared one.
    routes = _ROUTES.replace(', orderBy: { createdAt: "desc" }, take: 50', "").replace(
        "where: { projectId, path }", "where: { path, projectId }")
    head = {PATH: SCHEMA + _IMPORT_MODEL, "src/db.ts": _DB, "src/imports.ts": routes}
    result = review(change_from_trees({PATH: SCHEMA, "src/db.ts": _DB}, head))
    advice = [f for f in result.findings if f.rule == "query/missing-index"]
    assert len(advice) == 1, [f.message for f in advice]
    assert "@@index([projectId, path])" in advice[0].message and "@@index([path, projectId])" not in advice[0].message
    assert advice[0].extra["index"]["columns"] == ["projectId", "path"]
    assert "also indexes the foreign key `projectId`" in advice[0].message


def test_migration_copies_match_without_their_timestamps_but_two_apps_do_not() -> None:
    from bot.findings import Finding, Severity, Side, Source
    from bot.grouping import group

    def drop(path: str) -> Finding:
        return Finding(rule="migration/drop-table", severity=Severity.ERROR, path=path, line=3, message="DROP TABLE",
                       key="drop table t", side=Side.NEW, source=Source.RULE)

    # teable's PostgreSQL and SQLite copies of one migration were created a minute apart.
    pg = "db/prisma/postgres/migrations/20240416092001_clean/migration.sql"
    lite = "db/prisma/sqlite/migrations/20240416091909_clean/migration.sql"
    assert [f.path for f in group([drop(lite), drop(pg)], lambda p, n: None)] == [pg]
    # Two apps of a monorepo with a same-named migration are two problems.
    apps = [f"apps/{app}/prisma/migrations/20240101_init/migration.sql" for app in ("a", "b")]
    assert len(group([drop(p) for p in apps], lambda p, n: None)) == 2


def test_handlers_moved_from_a_deleted_file_bring_their_problems_along() -> None:
    # peppermint ported its Next.js API routes to Fastify controllers: the old file goes, the new one holds the same
    # calls. Their problems were already there; a new call written beside them is the change's own.
    schema = SCHEMA + _IMPORT_MODEL
    old = {PATH: schema, "src/db.ts": _DB, "pages/api/imports.ts": _ROUTES}
    moved = _ROUTES + ('\nexport async function byPath(path: string) {\n'
                       '  return prisma.import.findFirst({ where: { path, createdAt: { gt: new Date(0) } } });\n}\n')
    result = review(change_from_trees(old, {PATH: schema, "src/db.ts": _DB, "src/controllers/imports.ts": moved}))
    mine = [f for f in result.findings if f.rule == "query/missing-index"]
    assert [f.line for f in mine] == [12] and "path" in mine[0].message
    assert {f.line for f in result.preexisting if f.rule == "query/missing-index"} == {4, 8}
    # Written anew (not in the deleted file), the same listing is the change's.
    fresh = review(change_from_trees({PATH: schema, "src/db.ts": _DB},
                                     {PATH: schema, "src/db.ts": _DB, "src/controllers/imports.ts": moved}))
    assert {f.line for f in fresh.findings if f.rule == "query/missing-index"} == {4, 8, 12}


def test_a_schema_split_into_files_does_not_make_the_moved_models_problems_new() -> None:
    # invoicerr moved its models out of schema.prisma into one file per model (Prisma's multi-file schema): the
    # models' old problems (an unindexed foreign key, money in a Float) moved with them. A problem the split adds is
    # new.
    head_main, models = SCHEMA.split("model User {")
    moved = {"prisma/schema/schema.prisma": head_main,
             "prisma/schema/models.prisma": "model User {" + models}
    result = review(change_from_trees({"prisma/schema/schema.prisma": SCHEMA}, moved))
    assert [f.rule for f in result.findings if f.rule.startswith("prisma/")] == []
    assert {"prisma/fk-missing-index", "prisma/float-money"} <= {f.rule for f in result.preexisting}
    worse = dict(moved)
    worse["prisma/schema/models.prisma"] = moved["prisma/schema/models.prisma"].replace(
        "  total     Float\n", "  total     Float\n  fee       Float\n")
    result = review(change_from_trees({"prisma/schema/schema.prisma": SCHEMA}, worse))
    assert [(f.rule, f.key) for f in result.findings if f.rule == "prisma/float-money"] == [
        ("prisma/float-money", "Order.fee")]
