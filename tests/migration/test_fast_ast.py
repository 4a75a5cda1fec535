"""The pglast AST built from the JSON parse tree equals pglast.parse_sql's, statement by statement."""

from __future__ import annotations

from pathlib import Path

import pglast
import pytest

from bot.sql.fast_ast import UnknownShape, statement_node
from bot.sql.pg import parse_postgres

# Shapes the corpus has few of: enums, types, functions, policies, partitions, NIL list items, every constant kind.
OURS = """
CREATE TYPE "Role" AS ENUM ('USER', 'ADMIN');
ALTER TYPE "Role" ADD VALUE IF NOT EXISTS 'OWNER' BEFORE 'ADMIN';
ALTER TYPE "Role" RENAME VALUE 'USER' TO 'MEMBER';
CREATE TABLE IF NOT EXISTS "Event" ("id" BIGSERIAL, "at" TIMESTAMPTZ(3) NOT NULL DEFAULT now(),
  "price" DECIMAL(10,2) DEFAULT 1.5, "flag" BOOLEAN DEFAULT false, "bits" BIT(3) DEFAULT B'101', "n" INT DEFAULT 0,
  "tags" TEXT[] DEFAULT ARRAY[]::TEXT[], "data" JSONB DEFAULT '{}', "gone" TEXT DEFAULT NULL,
  CONSTRAINT "Event_pkey" PRIMARY KEY ("id", "at")) PARTITION BY RANGE ("at");
CREATE UNIQUE INDEX CONCURRENTLY IF NOT EXISTS "e_idx" ON "Event" USING gin ("data" jsonb_path_ops) WHERE "flag";
ALTER TABLE "Event" ADD CONSTRAINT "chk" CHECK ("n" >= 0) NOT VALID, VALIDATE CONSTRAINT "chk";
ALTER TABLE ONLY "Event" ALTER COLUMN "n" TYPE BIGINT USING "n"::BIGINT, ALTER COLUMN "n" DROP DEFAULT;
CREATE POLICY "own" ON "Event" FOR SELECT TO PUBLIC USING (current_user = 'x');
CREATE OR REPLACE FUNCTION f() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN RETURN NEW; END $$;
CREATE TRIGGER t BEFORE UPDATE ON "Event" FOR EACH ROW EXECUTE FUNCTION f();
DO $$ BEGIN PERFORM 1; END $$;
SELECT DISTINCT ON ("n") "n" FROM "Event" ORDER BY "n" DESC NULLS LAST LIMIT 5 OFFSET 2;
UPDATE "Event" e SET "n" = s.n FROM (SELECT DISTINCT "id", -1 AS n FROM "Event") s WHERE e."id" = s."id";
DROP INDEX CONCURRENTLY IF EXISTS "e_idx" CASCADE;
COMMENT ON COLUMN "Event"."n" IS 'count';
"""


def _statements(text: str) -> list:  # type: ignore[type-arg]
    stmts, _ = parse_postgres(text)
    return [s for s in stmts if s.json is not None]


def _assert_same(text: str) -> int:
    checked = 0
    for s in _statements(text):
        try:
            fast = statement_node(s.json)
        except UnknownShape:
            continue  # the model falls back to pglast for these
        assert fast == pglast.parse_sql(s.text)[0].stmt, s.text
        checked += 1
    return checked


def test_our_statements_build_the_same_ast() -> None:
    assert _assert_same(OURS) == len(_statements(OURS)) == 15


def test_every_corpus_statement_builds_the_same_ast(corpus_dir: Path) -> None:
    checked = sum(_assert_same(p.read_text()) for p in sorted(corpus_dir.rglob("migration.sql")))
    assert checked > 1400


def test_statement_node_uses_the_fast_builder_and_falls_back() -> None:
    [stmt] = _statements('ALTER TABLE "T" ADD COLUMN "c" TEXT NOT NULL;')
    assert stmt.node == pglast.parse_sql(stmt.text)[0].stmt
    with pytest.raises(UnknownShape):
        statement_node({"NoSuchStmt": {}})
