"""Shared by the query analyzer tests: a realistic marketplace schema and a runner for analyze(ctx)."""

from __future__ import annotations

from collections.abc import Callable

from bot.checks.query import analyze
from bot.findings import Finding
from bot.testing import context_for

SCHEMA = """\
generator client {
  provider = "prisma-client-js"
}

datasource db {
  provider = "postgresql"
  url      = env("DATABASE_URL")
}

enum OrderStatus {
  PENDING
  PAID
  SHIPPED
}

model User {
  id           String    @id @default(cuid())
  email        String    @unique
  name         String?
  passwordHash String
  createdAt    DateTime  @default(now())
  orders       Order[]
  sessions     Session[]
  posts        Post[]
}

model Session {
  id        String   @id @default(cuid())
  token     String   @unique
  userId    String
  user      User     @relation(fields: [userId], references: [id], onDelete: Cascade)
  expiresAt DateTime
}

model Order {
  id         String      @id @default(cuid())
  userId     String
  user       User        @relation(fields: [userId], references: [id])
  status     OrderStatus @default(PENDING)
  total      Decimal     @db.Decimal(12, 2)
  reference  String
  legacyCode String?
  metadata   Json?
  createdAt  DateTime    @default(now())
  items      OrderItem[]
  payments   Payment[]

  @@index([userId, createdAt])
}

model OrderItem {
  id        String  @id @default(cuid())
  orderId   String
  order     Order   @relation(fields: [orderId], references: [id], onDelete: Cascade)
  productId String
  product   Product @relation(fields: [productId], references: [id])
  quantity  Int
}

model Payment {
  id       String @id @default(cuid())
  orderId  String
  order    Order  @relation(fields: [orderId], references: [id])
  amount   Decimal @db.Decimal(12, 2)
  provider String
}

model Product {
  id          String      @id @default(cuid())
  sku         String      @unique
  name        String
  description String      @db.Text
  price       Decimal     @db.Decimal(12, 2)
  items       OrderItem[]
}

model Post {
  id        String   @id @default(cuid())
  authorId  String
  author    User     @relation(fields: [authorId], references: [id])
  title     String
  slug      String
  published Boolean  @default(false)
  createdAt DateTime @default(now())

  @@unique([authorId, slug])
}

model Account {
  id      String  @id @default(cuid())
  balance Decimal @db.Decimal(12, 2)
}
"""

SCHEMA_PATH = "prisma/schema.prisma"

Run = Callable[..., list[Finding]]


def run_query(head: dict[str, str], base: dict[str, str] | None = None, *, schema: str | None = SCHEMA,
              config: str | None = None) -> tuple[list[Finding], list[str]]:
    base = dict(base or {})
    head = dict(head)
    if schema is not None:
        base.setdefault(SCHEMA_PATH, schema)
        head.setdefault(SCHEMA_PATH, schema)
    ctx = context_for(base, head, config)
    return analyze(ctx), ctx.notes
