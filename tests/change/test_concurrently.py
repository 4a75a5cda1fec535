from __future__ import annotations

import json

from change_fixtures import MIG, base_tree

from bot.checks.change import concurrently
from bot.findings import Severity
from bot.testing import context_for

NEW = f"{MIG}/20240301120000_orders_total_idx/migration.sql"

MIXED = """\
-- AlterTable
ALTER TABLE "orders" ADD COLUMN "status" TEXT;

-- CreateIndex
CREATE INDEX CONCURRENTLY "orders_total_idx" ON "orders"("total");
"""

ONLY_CONCURRENT = """\
-- CreateIndex
CREATE INDEX CONCURRENTLY IF NOT EXISTS "orders_total_idx" ON "orders"("total");
"""

DROP_MIXED = """\
DROP INDEX CONCURRENTLY IF EXISTS "orders_user_id_idx";
CREATE INDEX CONCURRENTLY "orders_user_id_total_idx" ON "orders"("user_id", "total");
"""

EXPLICIT_TX = """\
BEGIN;
ALTER TABLE "orders" ADD COLUMN "status" TEXT;
CREATE INDEX CONCURRENTLY "orders_status_idx" ON "orders"("status");
COMMIT;
"""

AFTER_COMMIT = """\
BEGIN;
ALTER TABLE "orders" ADD COLUMN "status" TEXT;
COMMIT;
CREATE INDEX CONCURRENTLY "orders_status_idx" ON "orders"("status");
"""


def run(sql: str, prisma: str | None):
    base = base_tree()
    if prisma is None:
        del base["package.json"]
    else:
        base["package.json"] = json.dumps({"devDependencies": {"prisma": prisma}})
    head = dict(base)
    head[NEW] = sql
    return concurrently.check(context_for(base, head))


def test_mixed_file_fails_on_prisma_5():
    findings = run(MIXED, "5.22.0")
    assert [f.rule for f in findings] == ["migration/concurrently-deploy-failure"]
    f = findings[0]
    assert f.severity is Severity.ERROR and f.line == 5
    assert "before 7.4.0" in f.message and "25001" in f.message and "`prisma` 5.22.0" in f.message


def test_mixed_create_index_is_fine_on_prisma_7_8():
    assert run(MIXED, "7.8.0") == []


def test_mixed_with_unknown_range_is_a_warning_naming_the_range():
    findings = run(MIXED, "^7.0.0")
    assert len(findings) == 1 and findings[0].severity is Severity.WARNING
    assert "^7.0.0" in findings[0].message


def test_mixed_without_any_version_is_a_warning():
    findings = run(MIXED, None)
    assert len(findings) == 1 and findings[0].severity is Severity.WARNING
    assert "no Prisma version was found" in findings[0].message


def test_single_concurrent_statement_is_fine_on_every_version():
    for version in ("4.16.2", "5.22.0", "7.8.0", None):
        assert run(ONLY_CONCURRENT, version) == []


def test_drop_index_concurrently_mixed_fails_even_on_new_prisma():
    findings = run(DROP_MIXED, "7.8.0")
    assert len(findings) == 1 and findings[0].severity is Severity.ERROR
    assert findings[0].line == 1 and "#5847" in findings[0].message


def test_concurrently_inside_explicit_transaction_fails_everywhere():
    findings = run(EXPLICIT_TX, "7.8.0")
    assert len(findings) == 1 and findings[0].line == 3 and "BEGIN" in findings[0].message


def test_concurrently_after_commit_is_fine_on_splitting_prisma():
    assert run(AFTER_COMMIT, "7.8.0") == []


def test_plain_create_index_is_not_this_rule():
    assert run(MIXED.replace(" CONCURRENTLY", ""), "5.22.0") == []


def test_analyze_is_not_vacuum():
    assert run('ALTER TABLE "orders" ADD COLUMN "status" TEXT;\nANALYZE "orders";\n', "5.22.0") == []


def test_reindex_concurrently_mixed_on_new_prisma_is_a_warning():
    sql = 'ALTER TABLE "orders" ADD COLUMN "status" TEXT;\nREINDEX INDEX CONCURRENTLY "orders_user_id_idx";\n'
    findings = run(sql, "7.8.0")
    assert len(findings) == 1 and findings[0].severity is Severity.WARNING and findings[0].line == 2


def test_split_since_option_is_configurable():
    base = base_tree()
    base["package.json"] = json.dumps({"devDependencies": {"prisma": "7.4.0"}})
    head = dict(base)
    head[NEW] = MIXED
    config = "rules:\n  migration/concurrently-deploy-failure:\n    split_since: 7.5.0\n"
    findings = concurrently.check(context_for(base, head, config_text=config))
    assert len(findings) == 1 and findings[0].severity is Severity.ERROR


def test_runner_facts_are_recorded():
    base = base_tree()
    head = dict(base)
    head[NEW] = ONLY_CONCURRENT
    ctx = context_for(base, head)
    concurrently.check(ctx)
    assert ctx.facts["prisma_version"]["spec"] == "5.22.0"
    assert "one transaction" in ctx.facts["migration_transactions"]
