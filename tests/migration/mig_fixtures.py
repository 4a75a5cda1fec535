# ruff: noqa: E501  (Prisma writes long SQL lines; fixtures keep them verbatim)
"""Shared inputs for migration analyzer tests: a Prisma project whose history creates User, Order and Post the way
`prisma migrate dev` writes it, and a helper that adds one migration and runs the analyzer."""

from __future__ import annotations

from bot.checks.migration import analyze
from bot.findings import Finding
from bot.testing import context_for

SCHEMA = """datasource db {
  provider = "postgresql"
  url      = env("DATABASE_URL")
}

model User {
  id     String  @id @default(cuid())
  email  String  @unique
  name   String?
  role   Role    @default(USER)
  orders Order[]
}

enum Role {
  USER
  ADMIN
  MODERATOR
}

model Order {
  id        Int      @id @default(autoincrement())
  userId    String
  total     Decimal  @db.Decimal(12, 2)
  status    String   @default("new") @db.VarChar(20)
  createdAt DateTime @default(now())
  user      User     @relation(fields: [userId], references: [id])
}
"""

INIT = """-- CreateEnum
CREATE TYPE "Role" AS ENUM ('USER', 'ADMIN', 'MODERATOR');

-- CreateTable
CREATE TABLE "User" (
    "id" TEXT NOT NULL,
    "email" TEXT NOT NULL,
    "name" TEXT,
    "role" "Role" NOT NULL DEFAULT 'USER',

    CONSTRAINT "User_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "Order" (
    "id" SERIAL NOT NULL,
    "userId" TEXT NOT NULL,
    "total" DECIMAL(12,2) NOT NULL,
    "status" VARCHAR(20) NOT NULL DEFAULT 'new',
    "createdAt" TIMESTAMP(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT "Order_pkey" PRIMARY KEY ("id")
);

-- CreateIndex
CREATE UNIQUE INDEX "User_email_key" ON "User"("email");

-- CreateIndex
CREATE INDEX "Order_userId_idx" ON "Order"("userId");

-- AddForeignKey
ALTER TABLE "Order" ADD CONSTRAINT "Order_userId_fkey" FOREIGN KEY ("userId") REFERENCES "User"("id") ON DELETE RESTRICT ON UPDATE CASCADE;
"""

MIG = "prisma/migrations"
NEW_PATH = f"{MIG}/20240301000000_change/migration.sql"


def base_tree(init: str = INIT, extra: dict[str, str] | None = None) -> dict[str, str]:
    tree = {
        "prisma/schema.prisma": SCHEMA,
        f"{MIG}/migration_lock.toml": 'provider = "postgresql"\n',
        f"{MIG}/20240101000000_init/migration.sql": init,
    }
    tree.update(extra or {})
    return tree


def run(sql: str | bytes, *, init: str = INIT, path: str = NEW_PATH, extra_head: dict[str, str] | None = None,
        base_extra: dict[str, str] | None = None, ctx_out: list | None = None,  # type: ignore[type-arg]
        config: str | None = None) -> list[Finding]:
    base = base_tree(init, base_extra)
    head = dict(base)
    head[path] = sql  # type: ignore[assignment]
    head.update(extra_head or {})
    ctx = context_for(base, head, config)
    findings = analyze(ctx)
    if ctx_out is not None:
        ctx_out.append(ctx)
    return findings


def rules(findings: list[Finding]) -> list[str]:
    return sorted(f.rule for f in findings)


def of(findings: list[Finding], rule: str) -> list[Finding]:
    return [f for f in findings if f.rule == rule]
