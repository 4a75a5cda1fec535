"""Bad input never raises out of the change checks and never produces made-up findings."""

from __future__ import annotations

from change_fixtures import MIG, SCHEMA, base_tree

from bot.change import Change, MemorySnapshot, parse_diff
from bot.checks.change import concurrently, consistency, history
from bot.config import Config
from bot.context import ReviewContext
from bot.surfaces import classify
from bot.testing import context_for, diff_trees

NEW = f"{MIG}/20240301120000_next/migration.sql"
CHECKS = (history.check, concurrently.check, consistency.check)


def all_findings(ctx):
    out = []
    for check in CHECKS:
        out.extend(check(ctx))
    assert not [n for n in ctx.notes if "internal error" in n], ctx.notes
    return out


def with_new(sql: str, schema: str | None = None):
    base = base_tree()
    head = dict(base)
    head[NEW] = sql
    if schema is not None:
        head["prisma/schema.prisma"] = schema
    return context_for(base, head)


def test_malformed_sql_gives_nothing_here():
    assert all_findings(with_new('ALTER TABLE "orders" ADD COLUMN;\nCREATE INDEX CONCURRENTLY ON;\n')) == []


def test_empty_and_comment_only_migrations():
    assert all_findings(with_new("")) == []
    assert all_findings(with_new("-- nothing to do\n/* really */\n")) == []


def test_schema_that_does_not_parse_skips_consistency():
    broken = SCHEMA.replace("model Order {", "model Order {{")
    assert consistency.check(with_new('ALTER TABLE "orders" ADD COLUMN "x" TEXT;\n', broken)) == []


def test_non_utf8_migration_file():
    base = {p: t.encode() for p, t in base_tree().items()}
    head = dict(base)
    head[NEW] = b'ALTER TABLE "orders" ADD COLUMN "caf\xe9" TEXT;\n'
    diff = diff_trees({p: t.decode() for p, t in base.items()},
                      {**{p: t.decode() for p, t in base.items()}, NEW: "x\n"})
    change = Change(files=parse_diff(diff), base=MemorySnapshot(base), head=MemorySnapshot(head))
    config = Config()
    ctx = ReviewContext(change=change, config=config, surfaces=classify(change, config))
    # Read with the bad byte replaced: the column it adds is still compared with the schema (which lacks it).
    assert [f.rule for f in all_findings(ctx)] == ["migration/migration-without-schema-change"]


def test_odd_but_valid_ddl_does_not_crash():
    sql = """\
ALTER TABLE IF EXISTS ONLY "orders" ADD COLUMN IF NOT EXISTS "x" TEXT;
ALTER TABLE "orders" ALTER COLUMN "x" TYPE VARCHAR(20) USING "x"::varchar;
ALTER INDEX IF EXISTS "nope" RENAME TO "nope2";
ALTER TABLE "orders" RENAME CONSTRAINT "orders_pkey" TO "orders_pk";
DROP TABLE IF EXISTS "ghost" CASCADE;
DROP TYPE IF EXISTS "Ghost";
CREATE TABLE "audit" (LIKE "orders" INCLUDING ALL);
CREATE INDEX ON "orders" (("total" * 2));
DO $$ BEGIN PERFORM 1; END $$;
"""
    findings = all_findings(with_new(sql))
    assert {f.rule for f in findings} <= {"migration/migration-without-schema-change"}


def test_rename_without_hunks_to_a_non_migration_path():
    base = base_tree()
    head = dict(base)
    old = f"{MIG}/20240215093000_orders/migration.sql"
    head["archive/orders.sql"] = head.pop(old)
    diff = (f"diff --git a/{old} b/archive/orders.sql\nsimilarity index 100%\n"
            f"rename from {old}\nrename to archive/orders.sql\n")
    change = Change(files=parse_diff(diff), base=MemorySnapshot(base), head=MemorySnapshot(head))
    config = Config()
    ctx = ReviewContext(change=change, config=config, surfaces=classify(change, config))
    rules = [f.rule for f in all_findings(ctx)]
    # Prisma never runs a file outside the migrations folder: the migration is gone, not renamed.
    assert rules == ["migration/deleted-applied-migration"]


def test_an_archive_beside_the_migrations_folder_is_not_reviewed():
    # workout-cool squashed its history into a baseline and kept the old folder, lock file and all, as
    # prisma/migrations_backup: Prisma runs only prisma/migrations, so nothing in the archive is a new migration.
    base = base_tree()
    head = dict(base)
    head["prisma/migrations_backup/migration_lock.toml"] = 'provider = "postgresql"\n'
    head["prisma/migrations_backup/20240301000000_idx/migration.sql"] = 'CREATE INDEX "o_idx" ON "orders"("id");\n'
    ctx = context_for(base, head)
    assert ctx.surfaces.migrations == []
    assert sorted(ctx.surfaces.not_prisma) == ["prisma/migrations_backup/20240301000000_idx/migration.sql",
                                               "prisma/migrations_backup/migration_lock.toml"]
