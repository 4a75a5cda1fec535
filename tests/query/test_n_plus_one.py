from __future__ import annotations

from bot.findings import Severity

RULE = "query/n-plus-one"

NEST_SERVICE = """\
import { Injectable } from "@nestjs/common";
import { PrismaService } from "../prisma/prisma.service";

@Injectable()
export class OrderService {
  constructor(private readonly prisma: PrismaService) {}

  async totals(orderIds: string[]) {
    const result = [];
    for (const orderId of orderIds) {
      const order = await this.prisma.order.findUnique({ where: { id: orderId }, select: { total: true } });
      result.push(order?.total);
    }
    return result;
  }
}
"""


def test_find_unique_in_for_of_loop_in_nest_service(query_findings):
    found = query_findings({"src/orders/order.service.ts": NEST_SERVICE}, rule=RULE)
    assert len(found) == 1
    f = found[0]
    assert f.line == 11 and f.severity is Severity.WARNING
    assert f.key == "OrderService.totals:this.prisma.order.findUnique"
    assert f.scope == (8, 15)
    assert "this.prisma.order.findMany({ where: { id: { in: orderIds } }" in f.message


EXPRESS_MAP = """\
import express from "express";
import { prisma } from "../lib/prisma";

const router = express.Router();

router.get("/users/:id/orders", async (req, res) => {
  const orders = await prisma.order.findMany({ where: { userId: req.params.id }, take: 20 });
  const withItems = await Promise.all(
    orders.map(async (order) => {
      const items = await prisma.orderItem.findMany({ where: { orderId: order.id } });
      return { ...order, items };
    }),
  );
  res.json(withItems);
});

export default router;
"""


def test_find_many_in_promise_all_map_in_express_handler(query_findings):
    found = query_findings({"src/routes/orders.ts": EXPRESS_MAP}, rule=RULE)
    assert len(found) == 1
    f = found[0]
    assert f.line == 10
    assert f.key == "GET /users/:id/orders:prisma.orderItem.findMany"
    assert "orderId: { in: orders.map((order) => order.id) }" in f.message


SAME_TICK = """\
import { db } from "~/server/db";

export async function getAuthors(ids: string[]) {
  return Promise.all(ids.map((id) => db.user.findUnique({ where: { id } })));
}
"""


def test_same_tick_find_unique_is_info(query_findings):
    found = query_findings({"src/server/authors.ts": SAME_TICK}, rule=RULE)
    assert len(found) == 1
    assert found[0].severity is Severity.INFO
    assert "batches" in found[0].message


CREATE_LOOP = """\
"use server";
import prisma from "@/lib/prisma";

export async function importTags(postId: string, tags: string[]) {
  for (const tag of tags) {
    await prisma.post.create({ data: { title: tag, slug: tag, authorId: postId } });
  }
}
"""


def test_create_in_loop_in_server_action_suggests_create_many(query_findings):
    found = query_findings({"app/actions/tags.ts": CREATE_LOOP}, rule=RULE)
    assert len(found) == 1
    assert "createMany({ data: tags.map((tag) => ({ title: tag, slug: tag, authorId: postId })) })" in found[0].message


NEGATIVES = """\
import { prisma } from "@/lib/prisma";

const DEFAULT_ROLES = ["admin", "member", "guest"];

export async function seedRoles() {
  for (const name of DEFAULT_ROLES) {
    const email = `${name}@example.com`;
    await prisma.user.upsert({ where: { email }, create: { email, passwordHash: "" }, update: {} });
  }
}

export async function markPaid(orderIds: string[]) {
  await prisma.$transaction(async (tx) => {
    for (const id of orderIds) {
      await tx.order.update({ where: { id }, data: { status: "PAID" } });
    }
  });
}

export async function batchUpdate(orderIds: string[]) {
  await prisma.$transaction(orderIds.map((id) => prisma.order.update({ where: { id }, data: { status: "PAID" } })));
}

export async function collect(orderIds: string[]) {
  const ops = [];
  for (const id of orderIds) {
    ops.push(prisma.order.update({ where: { id }, data: { status: "SHIPPED" } }));
  }
  await prisma.$transaction(ops);
}

export async function listOnce(userId: string) {
  for (const order of await prisma.order.findMany({ where: { userId }, take: 10 })) {
    console.log(order.id);
  }
}

export async function threeTimes() {
  for (let i = 0; i < 3; i++) {
    await prisma.order.count({ where: { status: "PAID" } });
  }
}
"""


def test_look_alike_negatives(query_findings):
    found = query_findings({"src/services/orders.ts": NEGATIVES}, rule=RULE)
    # the write loop inside the interactive transaction is atomic, yet still a round trip per item: advice at info
    assert [(f.line, f.severity) for f in found] == [(15, Severity.INFO)]
    assert "Inside the transaction the loop is still one round trip per item" in found[0].message


def test_read_loop_inside_transaction_still_counts(query_findings):
    code = """\
import { prisma } from "@/lib/prisma";

export async function reprice(ids: string[]) {
  await prisma.$transaction(async (tx) => {
    for (const id of ids) {
      const product = await tx.product.findUnique({ where: { id } });
      await tx.product.update({ where: { id }, data: { price: product!.price } });
    }
  });
}
"""
    found = query_findings({"src/services/reprice.ts": code}, rule=RULE)
    # One loop, one finding: the read per item decides the severity, the write is listed with it.
    assert [(f.line, f.severity) for f in found] == [(6, Severity.WARNING)]
    assert "The same loop also queries per item: `tx.product.update` (line 7)" in found[0].message
    assert [s["line"] for s in found[0].extra["call_sites"]] == [7]


def test_scripts_get_info_and_tests_nothing(query_findings):
    code = """\
import { PrismaClient } from "@prisma/client";
const prisma = new PrismaClient();
export async function backfill(ids: string[]) {
  for (const id of ids) {
    await prisma.order.update({ where: { id }, data: { status: "PAID" } });
  }
}
"""
    found = query_findings({"scripts/backfill-status.ts": code, "tests/orders.spec.ts": code}, rule=RULE)
    assert [(f.path, f.severity) for f in found] == [("scripts/backfill-status.ts", Severity.INFO)]
    assert "updateMany({ where: { id: { in: ids } }, data: { status: \"PAID\" } })" in found[0].message


def test_create_many_rewrite_is_not_offered_when_data_uses_per_item_lookups(query_findings):
    code = """\
const express = require("express");
const { PrismaClient } = require("@prisma/client");
const prisma = new PrismaClient();
const app = express();
app.post("/api/orders/:id/items", async (req, res) => {
  for (const item of req.body.items) {
    const product = await prisma.product.findUnique({ where: { sku: item.sku } });
    await prisma.orderItem.create({ data: { orderId: req.params.id, productId: product.id, quantity: 1 } });
  }
  res.status(201).end();
});
"""
    found = query_findings({"server/index.js": code}, rule=RULE)
    assert [f.line for f in found] == [7]  # one loop, one finding; the create's own advice rides along
    first, also = found[0].message.split("The same loop also queries per item: ", 1)
    assert "sku: { in: req.body.items.map((item) => item.sku) }" in first
    assert also.startswith("`prisma.orderItem.create` (line 8): ")
    assert "createMany({ data:" not in also and "createMany" in also


def test_batched_pagination_loop_is_not_n_plus_one(query_findings):
    code = """\
import { prisma } from "../src/lib/prisma";

export async function exportOrders(write: (rows: unknown[]) => Promise<void>) {
  let cursor: string | undefined;
  while (true) {
    const batch = await prisma.order.findMany({
      take: 1000,
      ...(cursor ? { skip: 1, cursor: { id: cursor } } : {}),
      orderBy: { id: "asc" },
    });
    if (batch.length === 0) break;
    await write(batch);
    cursor = batch[batch.length - 1].id;
  }
}

export async function latestPerUser(userIds: string[]) {
  for (const userId of userIds) {
    await prisma.order.findMany({ where: { userId }, take: 5 });
  }
}
"""
    found = query_findings({"src/jobs/export.ts": code}, rule=RULE)
    assert [f.line for f in found] == [19]


def test_a_loop_that_walks_rows_in_batches_is_not_n_plus_one(query_findings):
    # OpenPipe's import: one createMany and one progress update per 1,000 rows; tianji's classifier: one updateMany
    # per category over all of its ids. Both are the batched form already.
    code = """\
import { prisma } from "../src/lib/prisma";

export async function save(rows: { orderId: string; productId: string; quantity: number }[], uploadId: string) {
  for (let i = 0; i < rows.length; i += 1000) {
    const chunk = rows.slice(i, i + 1000);
    await prisma.orderItem.createMany({ data: chunk, skipDuplicates: true });
    await prisma.order.update({ where: { id: uploadId }, data: { reference: String(i) } });
  }
}

export async function classify(byStatus: Record<string, string[]>) {
  for (const status of Object.keys(byStatus)) {
    await prisma.order.updateMany({ where: { id: { in: byStatus[status] } }, data: { reference: status } });
  }
}

export async function perItem(rows: { id: string }[]) {
  for (let i = 0; i < rows.length; i += 1) {
    await prisma.order.updateMany({ where: { id: rows[i].id }, data: { reference: "x" } });
  }
}
"""
    found = query_findings({"src/server/import.ts": code}, rule=RULE)
    assert [f.line for f in found] == [19]
