# ruff: noqa: E501  (Prisma writes long SQL lines; fixtures keep them verbatim)
"""MySQL, SQLite and SQL Server migrations (sqlglot): destructive rules apply, PostgreSQL lock rules do not."""

from __future__ import annotations

from bot.checks.migration import analyze
from bot.testing import context_for

MYSQL_INIT = """-- CreateTable
CREATE TABLE `User` (
    `id` VARCHAR(191) NOT NULL,
    `name` VARCHAR(191) NULL,
    `email` VARCHAR(191) NOT NULL,

    PRIMARY KEY (`id`)
) DEFAULT CHARACTER SET utf8mb4 COLLATE utf8mb4_unicode_ci;
"""
SQLITE_INIT = 'CREATE TABLE "User" (\n    "id" TEXT NOT NULL PRIMARY KEY,\n    "name" TEXT,\n    "email" TEXT NOT NULL\n);\n'


def _run(provider: str, init: str, sql: str) -> list[str]:
    base = {"prisma/schema.prisma": f'datasource db {{\n  provider = "{provider}"\n  url = env("D")\n}}\n',
            "prisma/migrations/migration_lock.toml": f'provider = "{provider}"\n',
            "prisma/migrations/20240101000000_init/migration.sql": init}
    head = dict(base)
    head["prisma/migrations/20240301000000_change/migration.sql"] = sql
    return sorted(f.rule for f in analyze(context_for(base, head)))


def test_mysql_drop_and_rename_as_drop_add() -> None:
    assert _run("mysql", MYSQL_INIT, "ALTER TABLE `User` DROP COLUMN `email`;\n") == ["migration/drop-column"]
    renamed = _run("mysql", MYSQL_INIT, "ALTER TABLE `User` DROP COLUMN `name`,\n    ADD COLUMN `fullName` VARCHAR(191) NULL;\n")
    assert renamed == ["migration/rename-as-drop-add"]
    assert _run("mysql", MYSQL_INIT, "DROP TABLE `User`;\n") == ["migration/drop-table"]


def test_mysql_has_no_postgres_lock_findings_and_required_column_is_filled() -> None:
    sql = "CREATE INDEX `User_name_idx` ON `User`(`name`);\nALTER TABLE `User` ADD COLUMN `age` INTEGER NOT NULL;\n"
    assert _run("mysql", MYSQL_INIT, sql) == []


def test_sqlite_redefine_table_is_not_a_drop() -> None:
    redefine = """-- RedefineTables
PRAGMA defer_foreign_keys=ON;
PRAGMA foreign_keys=OFF;
CREATE TABLE "new_User" (
    "id" TEXT NOT NULL PRIMARY KEY,
    "name" TEXT NOT NULL,
    "email" TEXT NOT NULL
);
INSERT INTO "new_User" ("email", "id", "name") SELECT "email", "id", "name" FROM "User";
DROP TABLE "User";
ALTER TABLE "new_User" RENAME TO "User";
PRAGMA foreign_keys=ON;
PRAGMA defer_foreign_keys=OFF;
"""
    assert _run("sqlite", SQLITE_INIT, redefine) == []
    assert _run("sqlite", SQLITE_INIT, 'DROP TABLE "User";\n') == ["migration/drop-table"]
    assert _run("sqlite", SQLITE_INIT, 'ALTER TABLE "User" ADD COLUMN "age" INTEGER NOT NULL;\n') == [
        "migration/add-required-column"]
