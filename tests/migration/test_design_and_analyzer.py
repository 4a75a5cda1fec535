# ruff: noqa: E501  (Prisma writes long SQL lines; fixtures keep them verbatim)
"""New-table design rules, the Prisma warnings mapping, the lock facts, and runs over the real corpus."""

from __future__ import annotations

from pathlib import Path

import pytest
from mig_fixtures import MIG, NEW_PATH, SCHEMA, of, run

from bot.checks.migration import analyze, file_findings
from bot.checks.migration._common import Env
from bot.sql.load import parse_migration_text
from bot.sql.state import Catalog, walk

INVOICE = """-- CreateTable
CREATE TABLE "Invoice" (
    "id" SERIAL NOT NULL,
    "userId" TEXT NOT NULL,
    "amount" DOUBLE PRECISION NOT NULL,
    "meta" JSON,
    "code" CHAR(8) NOT NULL,
    "createdAt" TIMESTAMP(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT "Invoice_pkey" PRIMARY KEY ("id")
);

-- AddForeignKey
ALTER TABLE "Invoice" ADD CONSTRAINT "Invoice_userId_fkey" FOREIGN KEY ("userId") REFERENCES "User"("id") ON DELETE RESTRICT ON UPDATE CASCADE;
"""


def test_new_table_types_once_per_table() -> None:
    found = run(INVOICE)
    (f,) = of(found, "migration/new-table-types")
    assert f.severity.value == "warning"  # money as float and json make it more than info
    for needle in ('"amount"', "Decimal", "jsonb", '"createdAt"', "Timestamptz", "char(8)", "32-bit"):
        assert needle in f.message, needle


def test_prisma_default_timestamp_alone_is_quiet_unless_enabled() -> None:
    tag = ('CREATE TABLE "Tag" ("id" TEXT NOT NULL, "at" TIMESTAMP(3) NOT NULL, '
           'CONSTRAINT "Tag_pkey" PRIMARY KEY ("id"));\n')
    assert not of(run(tag), "migration/new-table-types")
    model = walk(parse_migration_text(tag), Catalog())
    (f,) = of(file_findings(model, Env(type_options={"timestamp": True})), "migration/new-table-types")
    assert f.severity.value == "info" and "Timestamptz" in f.message
    clean = run('CREATE TABLE "Tag" ("id" BIGSERIAL NOT NULL, "name" TEXT NOT NULL, "price" DECIMAL(12,2), '
                '"at" TIMESTAMPTZ(3) NOT NULL, CONSTRAINT "Tag_pkey" PRIMARY KEY ("id"));\n')
    assert not of(clean, "migration/new-table-types")


def test_fk_without_index_and_with_index() -> None:
    (f,) = of(run(INVOICE), "migration/fk-without-index")
    assert "@@index([userId])" in f.message and f.line == 14
    indexed = INVOICE + '\n-- CreateIndex\nCREATE INDEX "Invoice_userId_idx" ON "Invoice"("userId");\n'
    assert not of(run(indexed), "migration/fk-without-index")


def test_design_rules_defer_to_the_schema_analyzer_when_the_schema_changes() -> None:
    schema = SCHEMA + "\nmodel Invoice {\n  id Int @id @default(autoincrement())\n  userId String\n}\n"
    found = run(INVOICE, extra_head={"prisma/schema.prisma": schema})
    assert not of(found, "migration/fk-without-index")
    assert not of(found, "migration/new-table-types")


def test_rls_missing_only_when_the_project_uses_rls() -> None:
    rls_history = {f"{MIG}/20240201000000_rls/migration.sql": 'ALTER TABLE "Order" ENABLE ROW LEVEL SECURITY;\n'}
    table = ('CREATE TABLE "Report" ("id" TEXT NOT NULL, "tenantId" TEXT NOT NULL, '
             'CONSTRAINT "Report_pkey" PRIMARY KEY ("id"));\n')
    (f,) = of(run(table, base_extra=rls_history), "migration/rls-missing")
    assert "ENABLE ROW LEVEL SECURITY" in f.message
    assert not of(run(table), "migration/rls-missing")
    covered = run(table + 'ALTER TABLE "Report" ENABLE ROW LEVEL SECURITY;\n', base_extra=rls_history)
    assert not of(covered, "migration/rls-missing")


def test_unmatched_prisma_warning_becomes_a_finding_and_stale_ones_stay_quiet() -> None:
    header = ("/*\n  Warnings:\n\n  - Changed the column `tags` on the `Order` table from a scalar field to a list "
              "field. If there are non-null values in that column, this step will fail.\n  - THIS IS BREAKING\n\n*/\n")
    found = run(header + 'ALTER TABLE "Order" ADD COLUMN "note" TEXT;\n')
    warned = of(found, "migration/prisma-warning")
    assert [w.line for w in warned] == [5]  # the scalar-to-list step is not in the SQL; the free text bullet is
    stale = ("/*\n  Warnings:\n\n  - Added the required column `project` to the `Order` table without a default value."
             " This is not possible if the table is not empty.\n\n*/\n"
             'ALTER TABLE "Order" ADD COLUMN "project" TEXT;\nUPDATE "Order" SET "project" = \'p\' WHERE "id" > 0;\n')
    assert not of(run(stale), "migration/prisma-warning")


def test_lock_facts_for_the_summary() -> None:
    ctxs: list = []  # type: ignore[type-arg]
    run('ALTER TABLE "User" ADD COLUMN "bio" TEXT;\nCREATE INDEX "User_name_idx" ON "User"("name");\n', ctx_out=ctxs)
    locks = ctxs[0].facts["locks"]
    assert [(r["line"], r["lock"], r["table"], r["held_until"]) for r in locks] == [
        (1, "ACCESS EXCLUSIVE", "User", "end of file"), (2, "SHARE", "User", "end of file")]
    assert locks[0]["path"] == NEW_PATH and locks[0]["blocks"] == "every read and write"


def test_modified_migration_lines_are_reported_at_head() -> None:
    base_extra = {NEW_PATH: 'ALTER TABLE "User" ADD COLUMN "bio" TEXT;\n'}
    found = run('ALTER TABLE "User" ADD COLUMN "bio" TEXT;\nALTER TABLE "Order" DROP COLUMN "status";\n',
                base_extra=base_extra)
    (f,) = of(found, "migration/drop-column")
    assert f.line == 2


def _histories(corpus_dir: Path) -> list[Path]:
    return sorted(p for p in corpus_dir.rglob("migrations") if p.is_dir() and (p / "migration_lock.toml").exists())


def test_every_corpus_migration_parses(corpus_dir: Path) -> None:
    files = sorted(corpus_dir.rglob("migration.sql"))
    assert len(files) > 400
    bad = [(str(f), p.error) for f in files for p in [parse_migration_text(f.read_text(encoding="utf-8"), str(f))]
           if p.error is not None]
    assert bad == []


@pytest.mark.parametrize("project", ["hoppscotch", "umami", "langfuse"])
def test_full_history_runs_and_findings_stay_prisma_aware(corpus_dir: Path, project: str) -> None:
    (root,) = [h for h in _histories(corpus_dir) if project in str(h)]
    catalog = Catalog()
    findings = []
    statements = 0
    migrations = sorted(root.glob("*/migration.sql"))
    for path in migrations:
        model = walk(parse_migration_text(path.read_text(encoding="utf-8"), str(path)), catalog)
        statements += len(model.parsed.statements)
        findings.extend(file_findings(model))
    # Replayed in order, the first migration creates every table: nothing there is a lock risk.
    first = str(migrations[0])
    assert not [f for f in findings if f.path == first and f.rule in (
        "migration/index-not-concurrent", "migration/constraint-not-valid", "migration/missing-lock-timeout")]
    # no statement gets two findings for the same rule
    seen = [(f.path, f.line, f.rule, f.key) for f in findings]
    assert len(seen) == len(set(seen))
    # squawk reports several findings per Prisma statement; we stay below one
    assert len(findings) < statements


def test_prisma_level_default_read_from_the_schema() -> None:
    schema = SCHEMA.replace("  userId    String\n", "  userId    String\n  publicId  String   @default(uuid())\n")
    found = run('ALTER TABLE "Order" ADD COLUMN "publicId" TEXT NOT NULL;\n', extra_head={"prisma/schema.prisma": schema})
    (f,) = of(found, "migration/add-required-column")
    assert "applied by Prisma Client" in f.message
    (plain,) = of(run('ALTER TABLE "Order" ADD COLUMN "publicId" TEXT NOT NULL;\n'), "migration/add-required-column")
    assert "Prisma Client" not in plain.message


def test_prisma8_ops_json_migrations_are_analysed_with_their_history() -> None:
    import json

    init = json.dumps({"operations": [{"sql": 'CREATE TABLE "User" ("id" TEXT NOT NULL, "name" TEXT, "email" TEXT)'}]})
    doc = json.dumps({"operations": [{"sql": 'ALTER TABLE "User" DROP COLUMN "name"'},
                                     {"sql": 'CREATE INDEX "User_email_idx" ON "User"("email")'}]}, indent=2)
    found = run(doc, path=f"{MIG}/app/20240301000000_change/ops.json",
                base_extra={f"{MIG}/app/20240101000000_init/ops.json": init})
    assert sorted((f.rule, f.line) for f in found) == [("migration/drop-column", 4),
                                                       ("migration/index-not-concurrent", 7)]


def test_whole_pipeline_review_keeps_one_finding_per_problem() -> None:
    from mig_fixtures import base_tree

    from bot.pipeline import review
    from bot.testing import change_from_trees

    head = base_tree()
    head[NEW_PATH] = ('-- AddForeignKey\nALTER TABLE "Order" ADD CONSTRAINT "Order_u2_fkey" FOREIGN KEY ("userId") '
                      'REFERENCES "User"("id") ON DELETE RESTRICT ON UPDATE CASCADE;\n')
    result = review(change_from_trees(base_tree(), head))
    mine = [f for f in result.findings if f.path == NEW_PATH and f.rule.startswith("migration/")
            and f.source.value == "rule"]
    assert [f.rule for f in mine] == ["migration/constraint-not-valid"]
    assert mine[0].fingerprint
    assert result.facts["locks"][0]["lock"] == "SHARE ROW EXCLUSIVE"


@pytest.mark.parametrize("project", ["hoppscotch", "umami", "langfuse"])
def test_last_migrations_of_each_history_through_analyze(corpus_dir: Path, project: str) -> None:
    """The real entry point: the last three migrations added by a change, the rest of the history at base."""
    from bot.testing import context_for

    (root,) = [h for h in _histories(corpus_dir) if project in str(h)]
    prefix = "prisma/migrations"
    files = {f"{prefix}/{p.relative_to(root)}": p.read_text(encoding="utf-8")
             for p in sorted(root.glob("*/migration.sql"))}
    files[f"{prefix}/migration_lock.toml"] = (root / "migration_lock.toml").read_text(encoding="utf-8")
    added = sorted(k for k in files if k.endswith("migration.sql"))[-3:]
    base = {k: v for k, v in files.items() if k not in added}
    ctx = context_for(base, files)
    findings = analyze(ctx)
    assert not [n for n in ctx.notes if "internal error" in n or "could not be replayed" in n]
    assert {f.path for f in findings} <= set(added)
    assert all(f.key and f.scope for f in findings)


def test_prisma_warning_on_what_the_change_itself_created_stays_quiet() -> None:
    # Real PRs (spliit): one migration creates a table or column, a later one of the same PR drops the column or adds
    # a required one; Prisma's header warns, but no deployed row exists for it.
    create = ('CREATE TABLE "Doc" ("id" TEXT NOT NULL, "url" TEXT, CONSTRAINT "Doc_pkey" PRIMARY KEY ("id"));\n'
              'ALTER TABLE "Order" ADD COLUMN "tmp" TEXT;\n')
    later = ("/*\n  Warnings:\n\n  - You are about to drop the column `tmp` on the `Order` table. All the data in the "
             "column will be lost.\n  - Added the required column `width` to the `Doc` table without a default value. "
             "This is not possible if the table is not empty.\n\n*/\n"
             'ALTER TABLE "Order" DROP COLUMN "tmp";\nALTER TABLE "Doc" ADD COLUMN "width" INTEGER NOT NULL;\n')
    found = run(later, path=f"{MIG}/20240302000000_later/migration.sql",
                extra_head={f"{MIG}/20240301000000_create/migration.sql": create})
    assert not of(found, "migration/prisma-warning")
    assert not of(found, "migration/drop-column")
    # The same header over a column that deployed databases hold is still reported.
    found = run(later.replace('"tmp"', '"status"').replace("`tmp`", "`status`"),
                extra_head={f"{MIG}/20240201000000_create/migration.sql": create})
    assert of(found, "migration/drop-column") or of(found, "migration/prisma-warning")


def test_a_type_change_copied_through_a_new_column_by_hand_is_handled() -> None:
    # workout-cool turned a text column into an enum under Prisma's "No cast exists" header by adding a temporary
    # column, filling it, dropping the old one and renaming the new one into its place: the advice, already done.
    header = ("/*\n  Warnings:\n\n  - Changed the type of `status` on the `Order` table. No cast exists, the column "
              "would be dropped and recreated, which cannot be done if there is data, since the column is "
              "required.\n\n*/\n")
    copied = (header + 'ALTER TABLE "Order" ADD COLUMN "status_tmp" INTEGER;\n'
              'UPDATE "Order" SET "status_tmp" = length("status");\n'
              'ALTER TABLE "Order" DROP COLUMN "status";\n'
              'ALTER TABLE "Order" RENAME COLUMN "status_tmp" TO "status";\n')
    assert not of(run(copied), "migration/prisma-warning")
    # Without the copy the values are lost, and the warning stands.
    dropped = (header + 'ALTER TABLE "Order" ADD COLUMN "status_tmp" INTEGER;\n'
               'ALTER TABLE "Order" DROP COLUMN "status";\n'
               'ALTER TABLE "Order" RENAME COLUMN "status_tmp" TO "status";\n')
    found = run(dropped)
    assert of(found, "migration/prisma-warning") or of(found, "migration/drop-column")
