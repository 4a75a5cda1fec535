"""Size-aware severity from the base branch's dbreview-stats.json, and `check --trace-database-url` end to end."""

from __future__ import annotations

import json
from pathlib import Path

import psycopg
import pytest
from gitutil import commit, make_repo

from bot.cli import main
from bot.config import Config
from bot.findings import Severity
from bot.pipeline import review
from bot.testing import change_from_trees

INIT = ('CREATE TABLE "orders" ("id" TEXT NOT NULL, "status" TEXT NOT NULL, '
        'CONSTRAINT "orders_pkey" PRIMARY KEY ("id"));\n')
INDEX = 'CREATE INDEX "orders_status_idx" ON "orders"("status");\n'
BASE = {
    "prisma/migrations/migration_lock.toml": 'provider = "postgresql"\n',
    "prisma/migrations/20240101000000_init/migration.sql": INIT,
}
HEAD = {**BASE, "prisma/migrations/20240601000000_status_idx/migration.sql": INDEX}


def _stats(rows: int) -> str:
    return json.dumps({"generated_at": "2026-11-01T00:00:00Z",
                       "tables": {"orders": {"rows": rows, "bytes": rows * 120, "total_bytes": rows * 200}}})


def _index_finding(base_extra: dict[str, str]):  # type: ignore[no-untyped-def]
    base = {**BASE, **base_extra}
    result = review(change_from_trees(base, {**HEAD, **base_extra}), Config())
    return next(f for f in result.findings if f.rule == "migration/index-not-concurrent")


def test_large_table_makes_the_lock_an_error_with_an_estimate() -> None:
    finding = _index_finding({"dbreview-stats.json": _stats(40_000_000)})
    assert finding.severity is Severity.ERROR
    assert "Size-aware" in finding.message and "40,000,000 rows" in finding.message


def test_small_table_makes_it_info() -> None:
    assert _index_finding({"dbreview-stats.json": _stats(800)}).severity is Severity.INFO


def test_without_stats_the_default_severity_stays() -> None:
    assert _index_finding({}).severity is Severity.WARNING


def test_stats_are_read_from_the_base_branch_only() -> None:
    # A PR that adds (or edits) the stats file cannot lower its own severities.
    result = review(change_from_trees(BASE, {**HEAD, "dbreview-stats.json": _stats(5)}), Config())
    finding = next(f for f in result.findings if f.rule == "migration/index-not-concurrent")
    assert finding.severity is Severity.WARNING


def _server_up(url: str) -> bool:
    try:
        with psycopg.connect(url, connect_timeout=3):
            return True
    except psycopg.Error:
        return False


PG = "postgresql://postgres@127.0.0.1:5432/test"


@pytest.mark.skipif(not _server_up(PG), reason="needs the PostgreSQL server on 127.0.0.1:5432")
def test_check_with_a_trace_database_reports_measured_locks(tmp_path: Path,
                                                            capsys: pytest.CaptureFixture[str]) -> None:
    repo = make_repo(tmp_path, BASE)
    commit(repo, {"prisma/migrations/20240601000000_status_idx/migration.sql": INDEX})
    before = _scratch_databases()
    code = main(["check", "--repo", str(repo), "--base", "HEAD~1", "--head", "HEAD", "--format", "json",
                 "--no-llm", "--fail-on", "never", "--trace-database-url", PG])
    assert code == 0
    data = json.loads(capsys.readouterr().out)
    locks = data["summary"]["measured_locks"]
    assert any(row.get("table") == "orders" and "SHARE" in str(row.get("lock", "")) for row in locks), locks
    # Other runs on a shared server may be tracing right now: theirs are in use, a database this run left is not.
    assert _scratch_databases(idle_only=True) - before == set()


def _scratch_databases(*, idle_only: bool = False) -> set[str]:
    idle = (" AND NOT EXISTS (SELECT 1 FROM pg_stat_activity a WHERE a.datname = d.datname)" if idle_only else "")
    with psycopg.connect(PG) as conn:
        rows = conn.execute(f"SELECT datname FROM pg_database d WHERE datname LIKE 'dbreview_trace_%'{idle}")
        return {name for (name,) in rows.fetchall()}


# -- size guesses from the schema (no dbreview-stats.json) ----------------------------------------------------------

SCHEMA = """datasource db {
  provider = "postgresql"
  url      = env("DATABASE_URL")
}

model Organization {
  id       String           @id
  settings ProviderSetting[]
  events   AuditEvent[]
}

enum Provider {
  OPENAI
  ANTHROPIC
}

model ProviderSetting {
  id             String       @id
  organizationId String
  provider       Provider
  organization   Organization @relation(fields: [organizationId], references: [id])

  @@unique([organizationId, provider])
}

model AuditEvent {
  id             String       @id
  organizationId String
  organization   Organization @relation(fields: [organizationId], references: [id])
}
"""
SIZED_BASE = {
    "prisma/schema.prisma": SCHEMA,
    "prisma/migrations/migration_lock.toml": 'provider = "postgresql"\n',
    "prisma/migrations/20240101000000_init/migration.sql": (
        'CREATE TABLE "Organization" ("id" TEXT NOT NULL, CONSTRAINT "Organization_pkey" PRIMARY KEY ("id"));\n'
        'CREATE TABLE "AuditEvent" ("id" TEXT NOT NULL, "organizationId" TEXT NOT NULL, '
        'CONSTRAINT "AuditEvent_pkey" PRIMARY KEY ("id"));\n'),
}


def _sized(sql: str, extra: dict[str, str] | None = None) -> list:  # type: ignore[type-arg]
    head = {**SIZED_BASE, **(extra or {}),
            "prisma/migrations/20240601000000_more/migration.sql": sql}
    return review(change_from_trees({**SIZED_BASE, **(extra or {})}, head), Config()).findings


def test_a_lock_on_a_tenant_table_is_advice_and_says_why() -> None:
    [finding] = [f for f in _sized('CREATE INDEX "Organization_x_idx" ON "Organization"("id");\n')
                 if f.rule == "migration/index-not-concurrent"]
    assert finding.severity is Severity.INFO
    assert "Size guess" in finding.message and "`Organization`" in finding.message
    assert finding.extra["size_guess_was"] == "warning"


def test_a_lock_on_an_event_table_keeps_its_warning() -> None:
    [finding] = [f for f in _sized('CREATE INDEX "AuditEvent_o_idx" ON "AuditEvent"("organizationId");\n')
                 if f.rule == "migration/index-not-concurrent"]
    assert finding.severity is Severity.WARNING and "Size guess" not in finding.message


def test_measured_sizes_win_over_the_guess() -> None:
    stats = json.dumps({"tables": {"Organization": {"rows": 2_000_000, "bytes": 10**9, "total_bytes": 2 * 10**9}}})
    [finding] = [f for f in _sized('CREATE INDEX "Organization_x_idx" ON "Organization"("id");\n',
                                   {"dbreview-stats.json": stats})
                 if f.rule == "migration/index-not-concurrent"]
    assert finding.severity is Severity.ERROR and "Size guess" not in finding.message


def test_a_configured_severity_is_not_guessed_down() -> None:
    head = {**SIZED_BASE, "prisma/migrations/20240601000000_more/migration.sql":
            'CREATE INDEX "Organization_x_idx" ON "Organization"("id");\n'}
    config = Config.model_validate({"rules": {"migration/index-not-concurrent": {"severity": "warning"}}})
    [finding] = [f for f in review(change_from_trees(SIZED_BASE, head), config).findings
                 if f.rule == "migration/index-not-concurrent"]
    assert finding.severity is Severity.WARNING
