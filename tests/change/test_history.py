from __future__ import annotations

from change_fixtures import MIG, ORDERS_SQL, base_tree, ctx_from_diff

from bot.checks.change import history
from bot.findings import Severity, Side
from bot.testing import context_for

NEW_SQL = """\
-- AlterTable
ALTER TABLE "orders" ADD COLUMN "note" TEXT;
"""


def rules(findings):
    return sorted(f.rule for f in findings)


def test_edited_applied_migration_is_an_error_on_the_changed_line():
    base = base_tree()
    head = dict(base)
    head[f"{MIG}/20240215093000_orders/migration.sql"] = ORDERS_SQL.replace('"total" INTEGER', '"total" BIGINT')
    findings = history.check(context_for(base, head))
    assert rules(findings) == ["migration/edited-applied-migration"]
    f = findings[0]
    assert f.severity is Severity.ERROR and f.caused_by_change
    assert f.path == f"{MIG}/20240215093000_orders/migration.sql"
    assert f.line == 5 and f.side is Side.NEW
    assert "20240215093000_orders" in f.message and "new migration" in f.message


def test_comment_only_edit_is_still_reported_and_says_so():
    base = base_tree()
    head = dict(base)
    head[f"{MIG}/20240215093000_orders/migration.sql"] = "-- orders table\n" + ORDERS_SQL
    findings = history.check(context_for(base, head))
    assert rules(findings) == ["migration/edited-applied-migration"]
    assert "comment edit changes the checksum" in findings[0].message


def test_line_ending_only_change_is_not_an_edit():
    base = base_tree()
    head = dict(base)
    head[f"{MIG}/20240215093000_orders/migration.sql"] = ORDERS_SQL.replace("\n", "\r\n")
    assert history.check(context_for(base, head)) == []


def test_removing_lines_points_at_the_old_side():
    base = base_tree()
    head = dict(base)
    head[f"{MIG}/20240215093000_orders/migration.sql"] = ORDERS_SQL.split("-- AddForeignKey")[0]
    findings = history.check(context_for(base, head))
    assert rules(findings) == ["migration/edited-applied-migration"]
    assert findings[0].side is Side.OLD


def test_new_migration_after_the_newest_is_clean():
    base = base_tree()
    head = dict(base)
    head[f"{MIG}/20240301120000_order_note/migration.sql"] = NEW_SQL
    assert history.check(context_for(base, head)) == []


def test_deleted_applied_migration():
    base = base_tree()
    head = dict(base)
    del head[f"{MIG}/20240215093000_orders/migration.sql"]
    findings = history.check(context_for(base, head))
    assert rules(findings) == ["migration/deleted-applied-migration"]
    assert findings[0].side is Side.OLD and findings[0].line == 1
    assert "revert" in findings[0].message


def test_rename_detected_by_git_is_reported_once():
    base = base_tree()
    head = dict(base)
    old = f"{MIG}/20240215093000_orders/migration.sql"
    new = f"{MIG}/20240215093000_create_orders/migration.sql"
    head[new] = head.pop(old)
    diff = (f"diff --git a/{old} b/{new}\nsimilarity index 100%\nrename from {old}\nrename to {new}\n")
    findings = history.check(ctx_from_diff(base, head, diff))
    assert rules(findings) == ["migration/renamed-applied-migration"]
    assert "runs its SQL a second time" in findings[0].message


def test_rename_seen_as_delete_plus_add_is_one_rename_not_three_findings():
    base = base_tree()
    head = dict(base)
    head[f"{MIG}/20240215093000_create_orders/migration.sql"] = head.pop(f"{MIG}/20240215093000_orders/migration.sql")
    findings = history.check(context_for(base, head))
    assert rules(findings) == ["migration/renamed-applied-migration"]


def test_moving_the_migrations_folder_keeps_every_name_and_is_not_a_rename():
    # umami moved db/postgresql/migrations to prisma/migrations: Prisma keys applied migrations by directory name.
    base = base_tree()
    moved = {path.replace(f"{MIG}/", "db/postgresql/migrations/") if path.startswith(f"{MIG}/") else path: text
             for path, text in base.items()}
    lines = []
    for path in sorted(p for p in base if p.startswith(f"{MIG}/")):
        new = path.replace(f"{MIG}/", "db/postgresql/migrations/")
        lines.append(f"diff --git a/{new} b/{path}\nsimilarity index 100%\nrename from {new}\nrename to {path}\n")
    # Base: the old folder; head: the new one (what the move commit does).
    findings = history.check(ctx_from_diff(moved, base, "".join(lines)))
    assert not [f for f in findings if f.rule in ("migration/renamed-applied-migration",
                                                  "migration/deleted-applied-migration", "migration/out-of-order")]
    # Seen as delete + add (no rename detection): the same.
    assert not [f for f in history.check(context_for(moved, base))
                if f.rule in ("migration/renamed-applied-migration", "migration/deleted-applied-migration")]


def test_new_migration_that_sorts_before_the_newest_is_out_of_order():
    base = base_tree()
    head = dict(base)
    head[f"{MIG}/20240110080000_user_nickname/migration.sql"] = 'ALTER TABLE "users" ADD COLUMN "nickname" TEXT;\n'
    findings = history.check(context_for(base, head))
    assert rules(findings) == ["migration/out-of-order"]
    f = findings[0]
    assert f.severity is Severity.INFO  # no table shared with the later migration: either order, same schema
    assert f.extra["suggested_name"] == "20240215093001_user_nickname"
    assert "20240215093000_orders" in f.message


def test_out_of_order_touching_a_table_of_a_later_migration_is_an_error():
    base = base_tree()
    head = dict(base)
    head[f"{MIG}/20240110080000_order_note/migration.sql"] = NEW_SQL
    findings = history.check(context_for(base, head))
    assert rules(findings) == ["migration/out-of-order"]
    assert findings[0].severity is Severity.ERROR
    assert "`orders`" in findings[0].message


def test_out_of_order_severity_follows_whether_the_order_matters():
    # Real PRs: most out-of-order migrations add their own column to a table a later migration also alters; both
    # orders give the same schema (info). Changing the same column, a table one of them creates, drops or renames,
    # or a type one of them changes, does depend on the order (error).
    base = base_tree()
    base[f"{MIG}/20240301000000_orders_more/migration.sql"] = (
        'ALTER TABLE "orders" ADD COLUMN "note" TEXT;\nCREATE TYPE "Status" AS ENUM (\'NEW\');\n'
        'ALTER TABLE "orders" ADD COLUMN "status" "Status";\n')
    cases = {
        'ALTER TABLE "orders" ADD COLUMN "coupon" TEXT;\n': Severity.INFO,
        'ALTER TABLE "orders" ALTER COLUMN "note" SET DATA TYPE VARCHAR(200);\n': Severity.ERROR,
        'CREATE INDEX "orders_note_idx" ON "orders"("note");\n': Severity.ERROR,
        'ALTER TABLE "orders" RENAME TO "purchases";\n': Severity.ERROR,
        'ALTER TABLE "users" ADD COLUMN "status" "Status";\n': Severity.ERROR,
    }
    for sql, severity in cases.items():
        head = {**base, f"{MIG}/20240220000000_x/migration.sql": sql}
        findings = history.check(context_for(base, head))
        assert [(f.rule, f.severity) for f in findings] == [("migration/out-of-order", severity)], sql
    coupon = history.check(context_for(base, {**base, f"{MIG}/20240220000000_x/migration.sql":
                                              'ALTER TABLE "orders" ADD COLUMN "coupon" TEXT;\n'}))[0]
    assert "not the same columns" in coupon.message and "20240301000001_x" in coupon.message


def test_same_timestamp_later_name_is_in_order():
    base = base_tree()
    head = dict(base)
    head[f"{MIG}/20240215093000_zz_note/migration.sql"] = NEW_SQL
    assert history.check(context_for(base, head)) == []


def test_squash_is_one_warning_with_the_resolve_command():
    base = base_tree()
    head = {p: t for p, t in base.items() if "/2024" not in p}
    head[f"{MIG}/0_init/migration.sql"] = base[f"{MIG}/20240101100000_init/migration.sql"] + ORDERS_SQL
    findings = history.check(context_for(base, head))
    assert rules(findings) == ["migration/deleted-applied-migration"]
    assert findings[0].severity is Severity.WARNING
    assert "prisma migrate resolve --applied 0_init" in findings[0].message


def test_first_migration_of_a_new_project_is_clean():
    head = base_tree()
    base = {"package.json": head["package.json"]}
    assert history.check(context_for(base, head)) == []


def test_schema_only_change_has_no_history_findings():
    base = base_tree()
    head = dict(base)
    head["prisma/schema.prisma"] = base["prisma/schema.prisma"].replace("name      String?", "name      String? // x")
    assert history.check(context_for(base, head)) == []


def test_lock_provider_edited_to_disagree_with_schema():
    base = base_tree()
    head = dict(base)
    head[f"{MIG}/migration_lock.toml"] = base[f"{MIG}/migration_lock.toml"].replace("postgresql", "mysql")
    findings = history.check(context_for(base, head))
    assert rules(findings) == ["migration/provider-mismatch"]
    assert findings[0].path == f"{MIG}/migration_lock.toml" and findings[0].line == 3 and "P3019" in findings[0].message


def test_schema_provider_switched_without_new_history():
    base = base_tree()
    head = dict(base)
    head["prisma/schema.prisma"] = base["prisma/schema.prisma"].replace('provider = "postgresql"', 'provider = "mysql"')
    findings = history.check(context_for(base, head))
    assert rules(findings) == ["migration/provider-mismatch"]
    assert findings[0].path == "prisma/schema.prisma" and findings[0].line == 6


def test_lock_and_schema_switched_together_but_old_migrations_kept():
    base = base_tree()
    head = dict(base)
    head[f"{MIG}/migration_lock.toml"] = base[f"{MIG}/migration_lock.toml"].replace("postgresql", "mysql")
    head["prisma/schema.prisma"] = base["prisma/schema.prisma"].replace('provider = "postgresql"', 'provider = "mysql"')
    findings = history.check(context_for(base, head))
    assert rules(findings) == ["migration/provider-mismatch"] and "keeps 2 migration(s)" in findings[0].message


def test_postgres_alias_matches_postgresql():
    base = base_tree()
    head = dict(base)
    schema = base["prisma/schema.prisma"]
    head["prisma/schema.prisma"] = schema.replace('provider = "postgresql"', 'provider = "postgres"')
    assert history.check(context_for(base, head)) == []


def test_new_folder_without_migration_sql_blocks_deploy():
    base = base_tree()
    head = dict(base)
    head[f"{MIG}/20240301120000_add_partial_indexes/up.sql"] = 'CREATE INDEX "x" ON "orders"("total");\n'
    head[f"{MIG}/20240301120000_add_partial_indexes/README.md"] = "Run by hand.\n"
    findings = history.check(context_for(base, head))
    assert rules(findings) == ["migration/incomplete-migration-directory"]
    assert "P3015" in findings[0].message and findings[0].severity is Severity.ERROR


def test_stray_sql_in_the_migrations_root_is_never_run():
    base = base_tree()
    head = dict(base)
    head[f"{MIG}/enable_rls.sql"] = 'ALTER TABLE "orders" ENABLE ROW LEVEL SECURITY;\n'
    findings = history.check(context_for(base, head))
    assert rules(findings) == ["migration/incomplete-migration-directory"]
    assert findings[0].severity is Severity.WARNING


def test_extra_file_next_to_migration_sql_is_fine():
    base = base_tree()
    head = dict(base)
    head[f"{MIG}/20240301120000_order_note/migration.sql"] = NEW_SQL
    head[f"{MIG}/20240301120000_order_note/down.sql"] = 'ALTER TABLE "orders" DROP COLUMN "note";\n'
    assert history.check(context_for(base, head)) == []


def test_two_out_of_order_migrations_get_distinct_names_in_their_order():
    base = base_tree()
    head = dict(base)
    head[f"{MIG}/20240110080000_a/migration.sql"] = 'ALTER TABLE "users" ADD COLUMN "a" TEXT;\n'
    head[f"{MIG}/20240111080000_b/migration.sql"] = 'ALTER TABLE "users" ADD COLUMN "b" TEXT;\n'
    findings = sorted(history.check(context_for(base, head)), key=lambda f: f.path)
    assert [f.extra["suggested_name"] for f in findings] == ["20240215093001_a", "20240215093002_b"]


def test_a_newest_name_that_is_no_real_timestamp_still_gets_a_name_that_sorts_last():
    # dyrectorio has `20241126252000_normalize_image_order` (hour 25): suggesting a name must not crash the review
    base = base_tree()
    base[f"{MIG}/20240226252000_orders_note/migration.sql"] = 'ALTER TABLE "orders" ADD COLUMN "x" TEXT;\n'
    head = dict(base)
    head[f"{MIG}/20240110080000_user_nickname/migration.sql"] = 'ALTER TABLE "users" ADD COLUMN "nickname" TEXT;\n'
    [f] = history.check(context_for(base, head))
    assert f.rule == "migration/out-of-order"
    assert f.extra["suggested_name"] == "20240226252001_user_nickname"


def test_a_single_migration_replaced_by_a_baseline_is_a_squash():
    # workout-cool replaced its one committed migration with Prisma's documented `0_init` baseline: one squash
    # warning, not a deleted migration plus an out-of-order one. A plain replacement under another name stays a
    # deletion.
    only = f"{MIG}/20240101100000_init/migration.sql"
    base = {p: t for p, t in base_tree().items() if "/2024" not in p or p == only}
    head = {p: t for p, t in base.items() if p != only}
    head[f"{MIG}/0_init/migration.sql"] = base[only] + ORDERS_SQL
    findings = history.check(context_for(base, head))
    assert rules(findings) == ["migration/deleted-applied-migration"]
    assert "replaces the committed migration" in findings[0].message and findings[0].severity is Severity.WARNING
    head = {p: t for p, t in base.items() if p != only}
    head[f"{MIG}/20240301000000_orders/migration.sql"] = base[only] + ORDERS_SQL
    findings = history.check(context_for(base, head))
    assert "deletes it" in findings[0].message and findings[0].severity is Severity.ERROR
