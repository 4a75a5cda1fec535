# ruff: noqa: E501  (Prisma writes long SQL lines; fixtures keep them verbatim)
"""bot.sql: statements and 1-based lines, the Prisma warnings header, ops.json, other providers, bad input."""

from __future__ import annotations

import json

from mig_fixtures import INIT, NEW_PATH, base_tree, run

from bot.change import Change, ChangedFile, FileStatus, MemorySnapshot
from bot.checks.migration import analyze
from bot.config import Config
from bot.context import ReviewContext
from bot.sql.load import parse_migration_text, parsed_migration
from bot.sql.ops import ops_of
from bot.surfaces import classify
from bot.testing import context_for

PRISMA_FILE = """/*
  Warnings:

  - You are about to drop the column `legacy` on the `User` table. All the data in the column will be lost.
  - Added the required column `currency` to the `Order` table without a default value. This is not possible if the table is not empty.
  - The values [MODERATOR] on the enum `Role` will be removed. If these variants are still used in the database, this will fail.
  - A unique constraint covering the columns `[userId,status]` on the table `Order` will be added. If there are existing duplicate values, this will fail.
  - You are about to alter the column `total` on the `Order` table. The data in that column will be cast from `Decimal(65,30)` to `Decimal(12,2)`. This cast may fail. Please make sure the data in the column can be cast.

*/
-- AlterTable
ALTER TABLE "User" DROP COLUMN "legacy";

-- AlterTable
ALTER TABLE "Order" ADD COLUMN     "currency" TEXT NOT NULL,
ADD COLUMN     "note" TEXT;
"""


def test_statement_lines_skip_the_header_and_comments() -> None:
    parsed = parse_migration_text(PRISMA_FILE)
    assert parsed.ok
    assert [(s.line, s.end_line, s.kind) for s in parsed.statements] == [
        (12, 12, "AlterTableStmt"), (15, 16, "AlterTableStmt")]
    assert parsed.statements[1].text.endswith('ADD COLUMN     "note" TEXT')


def test_warnings_header_is_parsed_with_tables_and_columns() -> None:
    warnings = parse_migration_text(PRISMA_FILE).warnings
    assert [(w.kind, w.table, w.column, w.line) for w in warnings] == [
        ("drop_column", "User", "legacy", 4),
        ("add_required", "Order", "currency", 5),
        ("enum_values_removed", "Role", None, 6),
        ("unique_added", "Order", None, 7),
        ("not_castable", "Order", "total", 8),
    ]
    assert warnings[2].values == ("MODERATOR",)
    assert warnings[3].values == ("userId", "status")
    assert (warnings[4].from_type, warnings[4].to_type) == ("Decimal(65,30)", "Decimal(12,2)")


def test_non_ascii_text_keeps_character_offsets() -> None:
    sql = "-- Café\nUPDATE \"User\" SET \"name\" = 'Zoë' WHERE \"id\" = 'é';\n\nDROP TABLE \"Légacy\";\n"
    parsed = parse_migration_text(sql)
    assert [(s.line, s.kind) for s in parsed.statements] == [(2, "UpdateStmt"), (4, "DropStmt")]
    assert parsed.statements[1].text == 'DROP TABLE "Légacy"'
    assert ops_of(parsed.statements[1])[0].table == "Légacy"


def test_syntax_error_reports_its_line() -> None:
    parsed = parse_migration_text('-- AlterTable\nALTER TABLE "User" ADD COLUMN "x" TEXT;\n\nALTER TABLE "User" '
                                  'ADD COLUMN "y" TEXT NOT NUL;\n')
    assert parsed.error is not None and parsed.error.line == 4
    assert "NUL" in parsed.error.message


def test_non_ascii_syntax_error_line() -> None:
    parsed = parse_migration_text("UPDATE \"User\" SET \"name\" = 'é';\n\nSELEC 1;\n")
    assert parsed.error is not None and parsed.error.line == 3


def test_mysql_and_sqlite_use_sqlglot() -> None:
    mysql = parse_migration_text("-- AlterTable\nALTER TABLE `User` ADD COLUMN `x` VARCHAR(191) NOT NULL;\n\n"
                                 "DROP TABLE `Post`;\n", provider="mysql")
    assert [(s.line, s.kind) for s in mysql.statements] == [(2, "Alter"), (4, "Drop")]
    sqlite = parse_migration_text('PRAGMA foreign_keys=OFF;\nCREATE TABLE "new_User" ("id" TEXT NOT NULL);\n',
                                  provider="sqlite")
    assert [s.line for s in sqlite.statements] == [1, 2]


def test_ops_json_statements_map_to_their_json_lines() -> None:
    doc = json.dumps({"operations": [
        {"id": "addColumn", "sql": 'ALTER TABLE "User" ADD COLUMN "age" INTEGER NOT NULL'},
        {"id": "index", "sql": 'CREATE INDEX "User_age_idx" ON "User"("age")'},
    ]}, indent=2)
    parsed = parse_migration_text(doc, "prisma/migrations/app/20260101_a/ops.json")
    assert parsed.source == "ops.json"
    assert [s.kind for s in parsed.statements] == ["AlterTableStmt", "IndexStmt"]
    lines = doc.splitlines()
    assert '"sql": "ALTER TABLE' in lines[parsed.statements[0].line - 1]
    assert "CREATE INDEX" in lines[parsed.statements[1].line - 1]


def test_ops_json_that_is_not_json_is_a_parse_error() -> None:
    parsed = parse_migration_text("{not json", "migrations/app/x/ops.json")
    assert parsed.error is not None


def test_empty_comment_only_and_huge_files_are_skipped_with_a_reason() -> None:
    assert "empty" in (parse_migration_text("\n\n").skipped or "")
    assert "only comments" in (parse_migration_text("-- nothing\n/* here */\n").skipped or "")
    big = 'INSERT INTO "User" ("id") VALUES (\'x\');\n' * 130_000  # ~5 MB
    assert "MB" in (parse_migration_text(big).skipped or "")


def test_parsed_once_per_review_through_the_memo() -> None:
    head = base_tree()
    head[NEW_PATH] = 'ALTER TABLE "User" ADD COLUMN "x" TEXT;\n'
    ctx = context_for(base_tree(), head)
    first = parsed_migration(ctx, NEW_PATH)
    assert first is parsed_migration(ctx, NEW_PATH)
    assert parsed_migration(ctx, "prisma/migrations/nope/migration.sql") is None


def test_bad_input_gives_a_finding_or_a_note_never_an_exception() -> None:
    notes: list = []  # type: ignore[type-arg]
    assert run("", ctx_out=notes) == []
    assert any("empty" in n for n in notes[0].notes)
    notes.clear()
    assert run("-- just a comment\n", ctx_out=notes) == []
    assert any("only comments" in n for n in notes[0].notes)
    notes.clear()
    assert run('INSERT INTO "User" ("id") VALUES (\'x\');\n' * 130_000, ctx_out=notes) == []
    # Too large to analyse: the author hears it as a finding (change/file-not-analysed), not as a note.
    assert "over the 2 MB limit" in next(iter(notes[0].unanalysed.values()))
    malformed = run('ALTER TABLE "User" ADD COLUMN "x" TEXT;\nCREATE TABLE "A" ("id" TEXT NOT NULL,, "b" INT);\n')
    assert [(f.rule, f.line) for f in malformed] == [("migration/parse-error", 2)]


def test_non_utf8_file_is_analysed_with_the_bad_bytes_replaced() -> None:
    base = base_tree()
    head: dict[str, str | bytes] = dict(base)
    head[NEW_PATH] = b"-- caf\xe9\nALTER TABLE \"User\" DROP COLUMN \"email\";\n"
    change = Change(files=[ChangedFile(NEW_PATH, FileStatus.ADDED, added_lines={1, 2})],
                    base=MemorySnapshot(base), head=MemorySnapshot(head))
    ctx = ReviewContext(change=change, config=Config(), surfaces=classify(change, Config()))
    # One bad byte in a comment no longer hides the DROP COLUMN below it.
    assert [f.rule for f in analyze(ctx)] == ["migration/drop-column"]


def test_init_migration_parses() -> None:
    assert parse_migration_text(INIT).ok
