"""query/missing-transaction: the lost writes issue #14 lists, and the look-alikes that must stay quiet."""

from __future__ import annotations

RULE = "query/missing-transaction"


def _found(query_findings, code: str, path: str = "src/services/account.service.ts"):  # type: ignore[no-untyped-def]
    return query_findings({path: code}, rule=RULE)


def test_children_deleted_then_the_parent_with_errors_swallowed(query_findings) -> None:
    code = """\
import { prisma } from "@/lib/prisma";
export async function deleteUser(id: string) {
  try {
    await prisma.session.deleteMany({ where: { userId: id } });
  } catch {}
  try {
    await prisma.order.deleteMany({ where: { userId: id } });
  } catch {}
  return prisma.user.delete({ where: { id } });
}
"""
    [f] = _found(query_findings, code)
    assert f.line == 9 and "half-deleted" in f.message and "$transaction" in f.message


def test_catch_that_undoes_the_first_write_is_a_saga(query_findings) -> None:
    code = """\
import { prisma } from "@/lib/prisma";
export async function deleteUser(id: string) {
  await prisma.session.deleteMany({ where: { userId: id } });
  try {
    await chargeRefund(id);
  } catch (e) {
    await restoreSessions(id);
    throw e;
  }
  await prisma.user.delete({ where: { id } });
}
"""
    assert _found(query_findings, code) == []



def test_a_delete_in_the_catch_that_undoes_the_create_is_a_saga(query_findings) -> None:
    # OpenPipe: create the row, start the jobs for it; if that fails, delete the row again.
    code = """\
import { prisma } from "@/lib/prisma";
export async function startEval(userId: string) {
  let order;
  try {
    order = await prisma.order.create({ data: { userId, reference: "eval" } });
    await startJobs(order.id);
  } catch (e) {
    console.error("failed", e);
    if (order) await prisma.order.delete({ where: { id: order.id } });
    return null;
  }
  return order.id;
}
"""
    assert _found(query_findings, code) == []

def test_replace_a_set_returned_and_item_by_item(query_findings) -> None:
    code = """\
import { prisma } from "@/lib/prisma";
export async function resetOrders(userId: string, rows: any[]) {
  await prisma.order.deleteMany({ where: { userId } });
  return prisma.order.createMany({ data: rows });
}
export async function rotateCodes(orderId: string, codes: string[]) {
  await prisma.payment.deleteMany({ where: { orderId } });
  for (const code of codes) {
    await prisma.payment.create({ data: { orderId, provider: code, amount: 0 } });
  }
}
"""
    assert sorted(f.line for f in _found(query_findings, code)) == [4, 9]


def test_id_through_a_let_assigned_in_an_if(query_findings) -> None:
    code = """\
import { prisma } from "@/lib/prisma";
export async function onboard(userId: string, create: boolean) {
  let orderId: string | undefined;
  if (create) {
    const order = await prisma.order.create({ data: { userId, total: 1, reference: "r" } });
    orderId = order.id;
  }
  await prisma.payment.create({ data: { orderId, amount: 1, provider: "stripe" } });
}
"""
    [f] = _found(query_findings, code)
    assert f.line == 8 and "uses `orderId`" in f.message


def test_upsert_per_item_and_one_update_many_over_the_set(query_findings) -> None:
    code = """\
import { prisma } from "@/lib/prisma";
export async function sync(userId: string, items: { id: string; name: string }[]) {
  for (const item of items) {
    await prisma.post.upsert({ where: { id: item.id }, create: { ...item, authorId: userId, slug: item.id },
      update: { title: item.name } });
  }
  await prisma.post.updateMany({ where: { authorId: userId, id: { notIn: items.map((i) => i.id) } },
    data: { published: false } });
}
"""
    [f] = _found(query_findings, code)
    assert f.line == 7 and "inconsistent" in f.message


def test_project_wrappers_and_tx_client_are_transactions(query_findings) -> None:
    code = """\
import { Injectable } from "@nestjs/common";
@Injectable()
export class PluginService {
  constructor(private readonly prismaService: PrismaService, private readonly cls: ClsService) {}
  async delete(id: string) {
    await this.prismaService.$tx(async (prisma) => {
      const res = await prisma.order.delete({ where: { id } });
      await prisma.payment.deleteMany({ where: { orderId: res.id } });
    });
  }
  async viaCls(id: string) {
    const prisma = this.prismaService.txClient();
    const res = await prisma.order.delete({ where: { id } });
    await prisma.payment.deleteMany({ where: { orderId: res.id } });
  }
  async viaHelper(id: string) {
    await withTransaction(async (db) => {
      const res = await db.order.delete({ where: { id } });
      await db.payment.deleteMany({ where: { orderId: res.id } });
    });
  }
}
"""
    assert _found(query_findings, code, "src/plugin/plugin.service.ts") == []


def test_exclusive_branches_and_get_or_create_are_quiet(query_findings) -> None:
    code = """\
import { prisma } from "@/lib/prisma";
export async function touch(userId: string, email: string) {
  let user = await prisma.user.findUnique({ where: { email } });
  if (!user) {
    user = await prisma.user.create({ data: { email, passwordHash: "" } });
  } else {
    await prisma.user.update({ where: { id: user.id }, data: { name: "x" } });
  }
  let order = await prisma.order.findFirst({ where: { userId } });
  if (!order) {
    order = await prisma.order.create({ data: { userId, total: 0, reference: "shared" } });
  }
  await prisma.payment.create({ data: { orderId: order.id, amount: 0, provider: "log" } });
}
"""
    assert _found(query_findings, code) == []


def test_early_return_upsert_by_hand_and_separate_callbacks_are_quiet(query_findings) -> None:
    code = """\
import { prisma } from "@/lib/prisma";
export async function setPaid(id: string, version?: number) {
  if (version !== undefined) {
    const result = await prisma.order.updateMany({ where: { id, total: version }, data: { status: "PAID" } });
    return result.count;
  }
  await prisma.order.update({ where: { id }, data: { status: "PAID" } });
  return 1;
}
export async function saveData(rows: { orderId: string; provider: string }[]) {
  for (const row of rows) {
    const updated = await prisma.payment.updateMany({ where: { orderId: row.orderId }, data: row });
    if (updated.count === 0) {
      await prisma.payment.create({ data: { ...row, amount: 0 } });
    }
  }
}
export const clear = action.action(async () => {
  await prisma.order.deleteMany({ where: { status: "PENDING" } });
});
export const refresh = action.action(async () => {
  await prisma.order.update({ where: { id: "1" }, data: { status: "PAID" } });
});
"""
    assert _found(query_findings, code) == []
