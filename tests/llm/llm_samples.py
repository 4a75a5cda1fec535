"""Realistic in-memory changes for the LLM tests: a marketplace adding payouts (schema, migration, service)."""

from __future__ import annotations

SCHEMA_BASE = """generator client {
  provider = "prisma-client-js"
}

datasource db {
  provider = "postgresql"
  url      = env("DATABASE_URL")
}

model Vendor {
  id        String   @id @default(uuid()) @db.Uuid
  name      String
  orders    Order[]
  createdAt DateTime @default(now()) @db.Timestamptz
}

model Order {
  id         String   @id @default(uuid()) @db.Uuid
  vendorId   String   @db.Uuid
  vendor     Vendor   @relation(fields: [vendorId], references: [id])
  totalCents Int
  status     String
  createdAt  DateTime @default(now()) @db.Timestamptz

  @@index([vendorId])
}

model Customer {
  id    String @id @default(uuid()) @db.Uuid
  email String @unique
}
"""

SCHEMA_HEAD = SCHEMA_BASE.replace(
    "  orders    Order[]\n",
    "  orders    Order[]\n  payouts   Payout[]\n",
) + """
model Payout {
  id        String   @id @default(uuid()) @db.Uuid
  vendorId  String   @db.Uuid
  vendor    Vendor   @relation(fields: [vendorId], references: [id])
  amount    Float
  status    String
  createdAt DateTime @default(now())
}
"""

MIGRATION = """-- CreateTable
CREATE TABLE "Payout" (
    "id" UUID NOT NULL,
    "vendorId" UUID NOT NULL,
    "amount" DOUBLE PRECISION NOT NULL,
    "status" TEXT NOT NULL,
    "createdAt" TIMESTAMP(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT "Payout_pkey" PRIMARY KEY ("id")
);

-- AddForeignKey
""" + (
    'ALTER TABLE "Payout" ADD CONSTRAINT "Payout_vendorId_fkey" FOREIGN KEY ("vendorId") '
    'REFERENCES "Vendor"("id") ON DELETE RESTRICT ON UPDATE CASCADE;\n'
)

SERVICE_BASE = """import { prisma } from '@/lib/prisma'

export async function listOrders(vendorId: string) {
  return prisma.order.findMany({ where: { vendorId } })
}
"""

SERVICE_HEAD = SERVICE_BASE + """
export async function payVendor(vendorId: string) {
  const orders = await prisma.order.findMany({ where: { vendorId, status: 'delivered' } })
  const total = orders.reduce((sum, o) => sum + o.totalCents, 0)
  await prisma.payout.create({ data: { vendorId, amount: total / 100, status: 'pending' } })
  await prisma.order.updateMany({ where: { vendorId, status: 'delivered' }, data: { status: 'paid' } })
}
"""

UNRELATED = "export const greeting = 'hello'\n"

MIGRATION_PATH = "prisma/migrations/20261124090000_add_payouts/migration.sql"


def base_tree() -> dict[str, str]:
    return {
        "prisma/schema.prisma": SCHEMA_BASE,
        "prisma/migrations/migration_lock.toml": 'provider = "postgresql"\n',
        "src/payouts/service.ts": SERVICE_BASE,
        "src/ui/greeting.ts": "export const greeting = 'hi'\n",
    }


def head_tree() -> dict[str, str]:
    tree = base_tree()
    tree["prisma/schema.prisma"] = SCHEMA_HEAD
    tree[MIGRATION_PATH] = MIGRATION
    tree["src/payouts/service.ts"] = SERVICE_HEAD
    tree["src/ui/greeting.ts"] = UNRELATED
    return tree


def line_of(text: str, needle: str) -> int:
    for number, line in enumerate(text.splitlines(), start=1):
        if needle in line:
            return number
    raise AssertionError(f"{needle!r} not found")
