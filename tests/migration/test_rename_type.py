"""ALTER TYPE ... RENAME breaks pods on the old client; Prisma's own enum recreate dance is not a rename."""

from __future__ import annotations

from bot.config import Config
from bot.pipeline import review
from bot.testing import change_from_trees

INIT = """-- CreateEnum
CREATE TYPE "Role" AS ENUM ('CUSTOMER', 'ADMIN', 'LEGACY');

-- CreateTable
CREATE TABLE "users" ("id" TEXT NOT NULL, "role" "Role" NOT NULL DEFAULT 'CUSTOMER',
    CONSTRAINT "users_pkey" PRIMARY KEY ("id"));
"""
BASE = {
    "prisma/migrations/migration_lock.toml": 'provider = "postgresql"\n',
    "prisma/migrations/20240101000000_init/migration.sql": INIT,
}


def _findings(sql: str):  # type: ignore[no-untyped-def]
    head = {**BASE, "prisma/migrations/20240601000000_change/migration.sql": sql}
    return review(change_from_trees(BASE, head), Config()).findings


def test_renaming_an_existing_enum_type_is_reported() -> None:
    [finding] = [f for f in _findings('ALTER TYPE "Role" RENAME TO "UserRole";\n') if f.rule == "migration/rename"]
    assert 'CAST($1::text AS "Role")' in finding.message and '@@map("Role")' in finding.message


def test_prismas_enum_recreate_is_not_a_rename() -> None:
    dance = """-- AlterEnum
BEGIN;
CREATE TYPE "Role_new" AS ENUM ('CUSTOMER', 'ADMIN');
ALTER TABLE "users" ALTER COLUMN "role" DROP DEFAULT;
ALTER TABLE "users" ALTER COLUMN "role" TYPE "Role_new" USING ("role"::text::"Role_new");
ALTER TYPE "Role" RENAME TO "Role_old";
ALTER TYPE "Role_new" RENAME TO "Role";
DROP TYPE "Role_old";
ALTER TABLE "users" ALTER COLUMN "role" SET DEFAULT 'CUSTOMER';
COMMIT;
"""
    rules = {f.rule for f in _findings(dance)}
    assert "migration/rename" not in rules
    assert "migration/enum-value-removal" in rules


def test_renaming_a_type_created_in_the_same_file_is_quiet() -> None:
    sql = 'CREATE TYPE "Tmp" AS ENUM (\'A\');\nALTER TYPE "Tmp" RENAME TO "Kind";\n'
    assert "migration/rename" not in {f.rule for f in _findings(sql)}
