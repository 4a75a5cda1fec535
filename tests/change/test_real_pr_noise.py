"""False positives found by replaying real merged pull requests (bench/real_prs.py), each reduced to a few lines."""

from __future__ import annotations

from change_fixtures import LOCK, MIG, SCHEMA, base_tree

from bot.change import Change, MemorySnapshot, parse_diff
from bot.config import Config
from bot.findings import Severity
from bot.pipeline import review

INDEX_SQL = 'CREATE INDEX "orders_total_idx" ON "orders"("total");\n'
MYSQL_SCHEMA = SCHEMA.replace('"postgresql"', '"mysql"').replace("name      String?",
                                                             "name      String? @db.VarChar(191)")


def _deleted(path: str, text: str) -> str:
    lines = text.splitlines()
    body = "".join(f"-{line}\n" for line in lines)
    return (f"diff --git a/{path} b/{path}\ndeleted file mode 100644\n--- a/{path}\n+++ /dev/null\n"
            f"@@ -1,{len(lines)} +0,0 @@\n{body}")


def _renamed(old: str, new: str) -> str:
    return f"diff --git a/{old} b/{new}\nsimilarity index 100%\nrename from {old}\nrename to {new}\n"


def test_moving_the_history_and_dropping_the_other_providers_one():
    # umami's move: db/postgresql/{schema.prisma,migrations} became prisma/..., and db/mysql/ (its MySQL schema and
    # history) was deleted. The moved migrations are the ones every database already ran; the deleted schema is not
    # the base of the kept one; the deleted history is one decision, said once.
    head = {**base_tree(), f"{MIG}/20240301000000_total_idx/migration.sql": INDEX_SQL}
    moved = {p.replace("prisma/", "db/postgresql/", 1): t for p, t in head.items() if p.startswith("prisma/")}
    mysql = {"db/mysql/schema.prisma": MYSQL_SCHEMA,
             "db/mysql/migrations/migration_lock.toml": LOCK.replace("postgresql", "mysql"),
             "db/mysql/migrations/01_init/migration.sql": "CREATE TABLE `users` (`id` VARCHAR(191) NOT NULL);\n",
             "db/mysql/migrations/02_orders/migration.sql": "CREATE TABLE `orders` (`id` INTEGER NOT NULL);\n"}
    base = {"package.json": head["package.json"], **moved, **mysql}
    diff = "".join(_deleted(p, t) for p, t in sorted(mysql.items()))
    diff += "".join(_renamed(p.replace("prisma/", "db/postgresql/", 1), p) for p in sorted(head)
                    if p.startswith("prisma/"))
    change = Change(files=parse_diff(diff), base=MemorySnapshot(base), head=MemorySnapshot(head))
    result = review(change, Config())
    found = result.findings + result.preexisting
    assert not [f for f in found if f.rule in ("migration/index-not-concurrent", "migration/schema-drift",
                                               "migration/schema-without-migration",
                                               "migration/renamed-applied-migration")]
    deleted = [f for f in found if f.rule == "migration/deleted-applied-migration"]
    assert len(deleted) == 1 and deleted[0].severity is Severity.WARNING
    assert "`db/mysql/migrations`" in deleted[0].message and "2 applied migrations" in deleted[0].message


def test_deleting_one_applied_migration_is_still_an_error():
    base = base_tree()
    head = {p: t for p, t in base.items() if "20240215093000_orders" not in p}
    diff = _deleted(f"{MIG}/20240215093000_orders/migration.sql", base[f"{MIG}/20240215093000_orders/migration.sql"])
    result = review(Change(files=parse_diff(diff), base=MemorySnapshot(base), head=MemorySnapshot(head)), Config())
    deleted = [f for f in result.findings if f.rule == "migration/deleted-applied-migration"]
    assert len(deleted) == 1 and deleted[0].severity is Severity.ERROR


def test_a_moved_migration_whose_directory_is_renamed_is_still_reviewed():
    base = {**base_tree(), f"{MIG}/20240301000000_total_idx/migration.sql": INDEX_SQL}
    head = {p: t for p, t in base.items() if "total_idx" not in p}
    head[f"{MIG}/20240302000000_total_index/migration.sql"] = INDEX_SQL
    diff = _renamed(f"{MIG}/20240301000000_total_idx/migration.sql", f"{MIG}/20240302000000_total_index/migration.sql")
    result = review(Change(files=parse_diff(diff), base=MemorySnapshot(base), head=MemorySnapshot(head)), Config())
    rules = {f.rule for f in result.findings + result.preexisting}
    assert "migration/renamed-applied-migration" in rules


def test_a_file_added_to_a_multi_file_schema_is_compared_with_that_schema():
    # comp: the change adds one file to packages/db/prisma/schema/; the project's first schema (sorted) is another
    # app's. Comparing with that one made all 199 models of the main schema "new" (schema-drift errors).
    from change_fixtures import SCHEMA as MAIN

    from bot.testing import change_from_trees

    datasource, models = MAIN.split("model User", 1)
    other = 'datasource db {\n  provider = "postgresql"\n  url = env("X")\n}\nmodel Audit {\n  id Int @id\n}\n'
    base = {"apps/api/prisma/schema/schema.prisma": other,
            "packages/db/prisma/schema/main.prisma": datasource,
            "packages/db/prisma/schema/models.prisma": "model User" + models,
            "packages/db/prisma/migrations/migration_lock.toml": LOCK}
    base.update({p.replace(f"{MIG}/", "packages/db/prisma/migrations/"): t for p, t in base_tree().items()
                 if p.endswith("migration.sql")})
    head = {**base, "packages/db/prisma/schema/tag.prisma": "model Tag {\n  id Int @id\n}\n",
            "packages/db/prisma/migrations/20240301000000_tag/migration.sql":
                'CREATE TABLE "Tag" ("id" INTEGER NOT NULL,\n    CONSTRAINT "Tag_pkey" PRIMARY KEY ("id"));\n'}
    result = review(change_from_trees(base, head), Config())
    drift = [f for f in result.findings + result.preexisting if f.rule.startswith("migration/schema")]
    assert drift == [], [f.message for f in drift]
