"""Prisma 7.4.0+ sends each statement of migration.sql on its own: no file-long transaction, no file-long locks."""

from __future__ import annotations

import json

from bot.config import Config
from bot.pipeline import review
from bot.testing import change_from_trees

INIT = """-- CreateTable
CREATE TABLE "orders" (
    "id" TEXT NOT NULL,
    "status" TEXT NOT NULL,
    CONSTRAINT "orders_pkey" PRIMARY KEY ("id")
);
"""
CHANGE = """-- AlterTable
ALTER TABLE "orders" ADD COLUMN "paidAt" TIMESTAMPTZ(3);

-- CreateIndex
CREATE INDEX "orders_status_idx" ON "orders"("status");
"""


def _findings(prisma_version: str):  # type: ignore[no-untyped-def]
    base = {
        "package.json": json.dumps({"devDependencies": {"prisma": prisma_version}}),
        "prisma/migrations/migration_lock.toml": 'provider = "postgresql"\n',
        "prisma/migrations/20240101000000_init/migration.sql": INIT,
    }
    head = {**base, "prisma/migrations/20240601000000_paid/migration.sql": CHANGE}
    return review(change_from_trees(base, head), Config()).findings


def _rules(prisma_version: str) -> set[str]:
    return {f.rule for f in _findings(prisma_version)}


def _index_finding(prisma_version: str):  # type: ignore[no-untyped-def]
    return next(f for f in _findings(prisma_version) if f.rule == "migration/index-not-concurrent")


def test_before_7_4_the_file_is_one_transaction() -> None:
    finding = _index_finding("5.22.0")
    assert "already holds ACCESS EXCLUSIVE" in finding.message
    assert "move it to a migration of its own" in finding.message
    assert finding.suggestion is None  # CONCURRENTLY would fail inside the file's transaction


def test_from_7_4_each_statement_commits_on_its_own() -> None:
    finding = _index_finding("7.5.0")
    assert "already holds ACCESS EXCLUSIVE" not in finding.message
    assert "runs each statement of the file on its own" in finding.message
    assert finding.suggestion is not None and "INDEX CONCURRENTLY" in finding.suggestion.replacement


def test_unknown_version_assumes_the_transaction() -> None:
    assert "move it to a migration of its own" in _index_finding("^7.0.0").message
