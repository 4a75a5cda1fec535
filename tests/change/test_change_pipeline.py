"""The change-level findings go through the real pipeline: they survive the diff-aware filter and get fingerprints."""

from __future__ import annotations

from change_fixtures import MIG, ORDERS_SQL, SCHEMA, base_tree

from bot.pipeline import review
from bot.testing import change_from_trees

MINE = ("migration/edited-applied-migration", "migration/deleted-applied-migration", "migration/out-of-order",
        "migration/schema-without-migration", "migration/schema-drift", "migration/migration-without-schema-change",
        "migration/concurrently-deploy-failure", "migration/renamed-applied-migration")


def mine(result):
    return sorted((f.rule, f.path, f.line, f.side.value) for f in result.findings if f.rule in MINE)


def test_deleted_migration_and_schema_without_migration_survive_the_pipeline():
    base = base_tree()
    head = dict(base)
    del head[f"{MIG}/20240215093000_orders/migration.sql"]
    head["prisma/schema.prisma"] = SCHEMA.replace("  total  Int\n", "  total  Int\n  note   String?\n")
    result = review(change_from_trees(base, head))
    assert mine(result) == [
        ("migration/deleted-applied-migration", f"{MIG}/20240215093000_orders/migration.sql", 1, "old"),
        ("migration/schema-without-migration", "prisma/schema.prisma", 24, "new"),
    ]
    assert all(f.fingerprint for f in result.findings)


def test_edit_and_out_of_order_survive_and_clean_change_has_none():
    base = base_tree()
    head = dict(base)
    head[f"{MIG}/20240215093000_orders/migration.sql"] = ORDERS_SQL.replace("SERIAL", "BIGSERIAL")
    head[f"{MIG}/20240110080000_users_nick/migration.sql"] = 'ALTER TABLE "users" ADD COLUMN "nick" TEXT;\n'
    head["prisma/schema.prisma"] = SCHEMA.replace("  name      String?\n", "  name      String?\n  nick      String?\n")
    rules = [r for r, *_ in mine(review(change_from_trees(base, head)))]
    assert rules == ["migration/edited-applied-migration", "migration/out-of-order"]

    clean = dict(base)
    clean[f"{MIG}/20240301120000_users_nick/migration.sql"] = 'ALTER TABLE "users" ADD COLUMN "nick" TEXT;\n'
    clean["prisma/schema.prisma"] = head["prisma/schema.prisma"]
    assert mine(review(change_from_trees(base, clean))) == []
