from __future__ import annotations

from bot.findings import Severity

CHECKOUT = """\
import { NextResponse } from "next/server";
import { prisma } from "@/lib/prisma";

export async function POST(req: Request) {
  const body = await req.json();
  const order = await prisma.order.create({
    data: { userId: body.userId, total: body.total, reference: body.ref },
  });
  await prisma.payment.create({
    data: { orderId: order.id, amount: body.total, provider: "stripe" },
  });
  return NextResponse.json(order);
}
"""


def test_dependent_writes_outside_transaction_in_route_handler(query_findings):
    found = query_findings({"app/api/checkout/route.ts": CHECKOUT}, rule="query/missing-transaction")
    assert len(found) == 1
    f = found[0]
    assert f.line == 9 and f.severity is Severity.WARNING
    assert "uses `order`" in f.message
    assert "$transaction(async (tx)" in f.message
    assert f.scope == (4, 13)


TRANSFER = """\
import { Injectable } from "@nestjs/common";
import { PrismaService } from "./prisma.service";

@Injectable()
export class LedgerService {
  constructor(private prisma: PrismaService) {}

  async transfer(from: string, to: string, amount: number) {
    await this.prisma.account.update({ where: { id: from }, data: { balance: { decrement: amount } } });
    await this.prisma.account.update({ where: { id: to }, data: { balance: { increment: amount } } });
  }
}
"""


def test_transfer_without_transaction_in_nest_service(query_findings):
    found = query_findings({"src/ledger/ledger.service.ts": TRANSFER}, rule="query/missing-transaction")
    assert len(found) == 1 and "transfer" in found[0].message


REPLACE_ALL = """\
import { prisma } from "../db";

export async function setItems(orderId: string, items: { productId: string; quantity: number }[]) {
  await prisma.orderItem.deleteMany({ where: { orderId } });
  await prisma.orderItem.createMany({ data: items.map((i) => ({ ...i, orderId })) });
}
"""


def test_delete_then_recreate_outside_transaction(query_findings):
    found = query_findings({"src/services/items.ts": REPLACE_ALL}, rule="query/missing-transaction")
    assert len(found) == 1 and "re-creates" in found[0].message


TX_NEGATIVES = """\
import { prisma } from "@/lib/prisma";
import type { Prisma } from "@prisma/client";

export async function checkout(userId: string, total: number) {
  return prisma.$transaction(async (tx) => {
    const order = await tx.order.create({ data: { userId, total, reference: "r" } });
    await tx.payment.create({ data: { orderId: order.id, amount: total, provider: "stripe" } });
    return order;
  });
}

export async function independent(userId: string) {
  await prisma.user.update({ where: { id: userId }, data: { name: "x" } });
  await prisma.session.deleteMany({ where: { userId } });
}

export async function nested(userId: string, total: number) {
  return prisma.order.create({
    data: { userId, total, reference: "r", payments: { create: { amount: total, provider: "stripe" } } },
  });
}

export async function withTx(tx: Prisma.TransactionClient, userId: string) {
  const order = await tx.order.create({ data: { userId, total: 1, reference: "r" } });
  await tx.payment.create({ data: { orderId: order.id, amount: 1, provider: "stripe" } });
}
"""


def test_transaction_look_alikes(query_findings):
    found = query_findings({"src/services/checkout.ts": TX_NEGATIVES})
    rules = {f.rule for f in found}
    assert not rules & {"query/missing-transaction", "query/transaction-escape", "query/transaction-awaited-batch",
                        "query/transaction-io"}


AWAITED_BATCH = """\
import { prisma } from "@/server/db";

export const orderRouter = router({
  cancel: protectedProcedure.input(z.object({ id: z.string() })).mutation(async ({ ctx, input }) => {
    const order = await ctx.prisma.order.update({ where: { id: input.id }, data: { status: "PENDING" } });
    await ctx.prisma.$transaction([
      order,
      await ctx.prisma.payment.deleteMany({ where: { orderId: input.id } }),
      ctx.prisma.orderItem.deleteMany({ where: { orderId: input.id } }),
    ]);
  }),
});
"""


def test_awaited_items_in_batch_transaction_in_trpc_router(query_findings):
    found = query_findings({"src/server/api/routers/order.ts": AWAITED_BATCH},
                           rule="query/transaction-awaited-batch")
    assert len(found) == 1
    f = found[0]
    assert f.severity is Severity.ERROR
    assert f.line == 7  # `order` (awaited on line 5) is the first awaited item
    assert "and 1 more" in f.message
    assert f.key.startswith("orderRouter.cancel:")


ESCAPE_AND_IO = """\
import { prisma } from "@/lib/prisma";
import { stripe } from "@/lib/stripe";

export async function pay(orderId: string) {
  await prisma.$transaction(async (tx) => {
    const order = await tx.order.update({ where: { id: orderId }, data: { status: "PAID" } });
    await prisma.payment.create({ data: { orderId, amount: order.total, provider: "stripe" } });
    await stripe.paymentIntents.capture(order.reference);
    await tx.order.findUnique({ where: { id: orderId } });
  }, { timeout: 10000 });
}
"""


def test_outer_client_and_network_io_inside_interactive_transaction(query_findings):
    found = query_findings({"src/services/pay.ts": ESCAPE_AND_IO})
    escape = [f for f in found if f.rule == "query/transaction-escape"]
    io = [f for f in found if f.rule == "query/transaction-io"]
    assert [f.line for f in escape] == [7]
    assert "`tx.payment.create`" in escape[0].message
    assert [f.line for f in io] == [8]
    assert "stripe.paymentIntents.capture" in io[0].message and "10000 ms" in io[0].message


def test_update_then_dependent_write_is_not_reported(query_findings):
    code = """\
import { prisma } from "@/lib/prisma";
export async function login(userId: string) {
  const user = await prisma.user.update({ where: { id: userId }, data: { name: "seen" } });
  await prisma.session.create({ data: { userId: user.id, token: "t", expiresAt: new Date() } });
}
"""
    assert query_findings({"src/services/auth.ts": code}, rule="query/missing-transaction") == []


def test_escape_and_awaited_batch_carry_one_line_suggestions(query_findings):
    found = query_findings({"src/services/pay.ts": ESCAPE_AND_IO}, rule="query/transaction-escape")
    assert found[0].suggestion is not None
    assert found[0].suggestion.replacement == \
        '    await tx.payment.create({ data: { orderId, amount: order.total, provider: "stripe" } });'
    code = """\
import { prisma } from "@/lib/prisma";
export async function cancel(orderId: string) {
  await prisma.$transaction([
    await prisma.payment.deleteMany({ where: { orderId } }),
    prisma.order.delete({ where: { id: orderId } }),
  ]);
}
"""
    (batch,) = query_findings({"src/services/cancel.ts": code}, rule="query/transaction-awaited-batch")
    assert batch.line == 4 and batch.suggestion is not None
    assert batch.suggestion.replacement == "    prisma.payment.deleteMany({ where: { orderId } }),"


def test_io_helpers_by_name_inside_transaction(query_findings):
    code = """\
import { prisma } from "@/lib/prisma";
export async function register(email: string) {
  await prisma.$transaction(async (tx) => {
    const user = await tx.user.create({ data: { email, passwordHash: "x" } });
    await sendWelcomeEmail(user.email);
    await this.emailQueue.add("welcome", { id: user.id });
    await recalculateTotals(tx, user.id);
    await bcrypt.hash(email, 10);
  });
}
"""
    found = query_findings({"src/services/register.ts": code}, rule="query/transaction-io")
    assert [f.line for f in found] == [5, 6]


def test_a_transaction_callback_without_its_client_is_reported_once(query_findings):
    code = """\
import { prisma } from "@/lib/prisma";
export async function DELETE(id: string) {
  await prisma.$transaction(async () => {
    await prisma.link.deleteMany({ where: { collectionId: id } });
    await prisma.collection.delete({ where: { id } });
  });
  await prisma.$transaction(async (tx) => {
    await tx.link.deleteMany({ where: { collectionId: id } });
  });
  await withTransaction(async () => {
    await prisma.collection.delete({ where: { id } });
  });
}
"""
    found = query_findings({"src/app/api/x/route.ts": code}, rule="query/transaction-escape")
    assert [f.line for f in found] == [4]
    assert "takes no transaction client" in found[0].message and "async (tx)" in found[0].message


def test_dependent_writes_in_a_seed_or_data_factory_are_a_note(query_findings):
    # documenso's seed, linen's bin/factory: a partial run on a developer's database is simply run again
    for path in ("packages/prisma/seed/documents.ts", "apps/web/bin/factory/communities/index.ts"):
        [f] = query_findings({path: CHECKOUT}, rule="query/missing-transaction")
        assert f.severity is Severity.INFO and "run by hand" in f.message


def test_deleting_the_removed_and_creating_the_added_of_a_diff_is_no_lost_set(query_findings):
    # blinko and OpenPipe sync a set by its two differences: the create never brings back what the delete removed
    code = """\
import { prisma } from "@/lib/prisma";
import _ from "lodash";
export async function POST(req: Request) {
  const { orderId, wanted } = await req.json();
  const old = (await prisma.orderItem.findMany({ where: { orderId } })).map((i) => i.productId);
  const toDelete = _.difference(old, wanted);
  const toAdd = wanted.filter((p) => !old.includes(p));
  await prisma.orderItem.deleteMany({ where: { orderId, productId: { in: toDelete } } });
  for (const productId of toAdd) {
    await prisma.orderItem.create({ data: { orderId, productId, quantity: 1 } });
  }
  await prisma.orderItem.deleteMany({ where: { orderId } });
  for (const productId of wanted) {
    await prisma.orderItem.create({ data: { orderId, productId, quantity: 1 } });
  }
  return Response.json({});
}
"""
    found = query_findings({"app/api/items/route.ts": code}, rule="query/missing-transaction")
    assert [f.line for f in found] == [14]  # only the set replaced whole
