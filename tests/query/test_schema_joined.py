from __future__ import annotations

from bot.findings import Severity

LIST = """\
import { prisma } from "@/lib/prisma";

export async function GET() {
  const orders = await prisma.order.findMany({ take: 20, orderBy: { id: "desc" } });
  const slim = await prisma.order.findMany({ take: 20, select: { id: true, total: true } });
  const products = await prisma.product.findFirst({ where: { sku: "A-1" } });
  const users = await prisma.user.findMany({ take: 20 });
  const safeUsers = await prisma.user.findMany({ take: 20, select: { id: true, email: true } });
  return Response.json({ orders, slim, products, users, safeUsers });
}
"""


def test_over_fetching_large_columns(query_findings):
    found = query_findings({"app/api/orders/route.ts": LIST}, rule="query/over-fetching")
    # advice, always (a Json column on a list included): whether it is large in practice the code cannot show
    assert [(f.line, f.severity) for f in found] == [(4, Severity.INFO), (6, Severity.INFO)]
    assert "`metadata`" in found[0].message and "omit: { metadata: true }" in found[0].message
    assert "`description`" in found[1].message


def test_sensitive_columns_returned(query_findings):
    code = """\
import { prisma } from "@/lib/prisma";

export async function GET() {
  const orders = await prisma.order.findMany({ take: 20, select: { id: true }, include: { user: true } });
  const ok = await prisma.order.findMany({ take: 20, include: { user: { select: { id: true, email: true } } } });
  const sessions = await prisma.session.findMany({ take: 5, include: { user: true } });
  return Response.json({ orders, ok, sessions });
}
"""
    found = query_findings({"app/api/orders/route.ts": code}, rule="query/include-sensitive")
    # one finding per call: line 6 names the included user's passwordHash and the session rows' own `token`
    assert sorted((f.line, f.key.rsplit(":", 1)[-1]) for f in found) == [(4, "user"), (6, "user")]
    assert "`passwordHash`" in found[0].message
    assert "`token`" in found[1].message and "`passwordHash`" in found[1].message
    assert "reaches the response at line 7" in found[1].message
    assert "user: { select: { id: true, email: true, name: true, createdAt: true } }" in found[0].message
    own = query_findings({"app/api/orders/route.ts": LIST}, rule="query/include-sensitive")
    assert [f.line for f in own] == [7]


def test_include_depth(query_findings):
    code = """\
import { prisma } from "@/lib/prisma";
export async function userTree(id: string) {
  return prisma.user.findUnique({
    where: { id },
    include: { orders: { include: { items: { include: { product: { include: { items: true } } } } } } },
  });
}
export async function shallow(id: string) {
  return prisma.user.findUnique({ where: { id }, include: { orders: { include: { items: true } } } });
}
"""
    found = query_findings({"src/services/tree.ts": code}, rule="query/include-depth")
    assert [f.line for f in found] == [3]
    assert "4 levels" in found[0].message


INDEX = """\
import { Injectable } from "@nestjs/common";
import { PrismaService } from "../prisma/prisma.service";

@Injectable()
export class PaymentService {
  constructor(private readonly prismaService: PrismaService) {}

  byProvider(provider: string) {
    return this.prismaService.payment.findMany({ where: { provider }, take: 50, orderBy: { id: "desc" } });
  }

  recentForUser(userId: string, since: Date) {
    return this.prismaService.order.findMany({ where: { userId, createdAt: { gte: since } }, take: 50 });
  }

  paidSince(since: Date) {
    return this.prismaService.order.findMany({
      where: { status: "PAID", createdAt: { gte: since } },
      orderBy: { createdAt: "desc" },
      take: 100,
    });
  }

  bySlug(authorId: string, slug: string) {
    return this.prismaService.post.findUnique({ where: { authorId_slug: { authorId, slug } } });
  }

  forOrder(orderId: string) {
    return this.prismaService.payment.count({ where: { orderId } });
  }

  published() {
    return this.prismaService.post.findMany({ where: { published: true }, take: 10 });
  }
}
"""


def test_index_advisor_proposes_exact_composite_index(query_findings):
    found = query_findings({"src/payments/payment.service.ts": INDEX}, rule="query/missing-index")
    by_line = {f.line: f for f in found}
    assert set(by_line) == {9, 17, 29}
    assert "`@@index([provider, id])`" in by_line[9].message  # equality first, then the sort column
    assert "`@@index([status, createdAt])`" in by_line[17].message
    assert "`@@index([orderId])`" in by_line[29].message
    assert "prisma/schema.prisma:" in by_line[9].message
    assert by_line[9].key.endswith("@@index([provider, id])")


def test_index_added_in_the_same_change_serves_the_query(query_findings):
    from query_testkit import SCHEMA

    head_schema = SCHEMA.replace("  provider String\n}", "  provider String\n\n  @@index([provider])\n}")
    assert head_schema != SCHEMA
    code = """\
import { prisma } from "@/lib/prisma";
export const byProvider = (provider: string) => prisma.payment.findMany({ where: { provider }, take: 5 });
"""
    found = query_findings({"src/services/p.ts": code, "prisma/schema.prisma": head_schema},
                           rule="query/missing-index")
    assert found == []


def test_text_search_needs_trigram_index(query_findings):
    code = """\
import { prisma } from "@/lib/prisma";
export async function GET(req: Request) {
  const q = new URL(req.url).searchParams.get("q") ?? "";
  const products = await prisma.product.findMany({ where: { name: { contains: q, mode: "insensitive" } }, take: 20 });
  const exact = await prisma.product.findMany({ where: { sku: "A", name: { contains: q } }, take: 20 });
  return Response.json({ products, exact });
}
"""
    found = query_findings({"app/api/search/route.ts": code}, rule="query/unindexed-text-search")
    assert [f.line for f in found] == [4]
    assert '@@index([name(ops: raw("gin_trgm_ops"))], type: Gin)' in found[0].message


def test_delete_blast_radius(query_findings):
    code = """\
import { prisma } from "@/lib/prisma";

export async function DELETE(req: Request, { params }: { params: { id: string } }) {
  await prisma.order.delete({ where: { id: params.id } });
  return new Response(null, { status: 204 });
}

export async function deleteUser(id: string) {
  await prisma.payment.deleteMany({ where: { order: { userId: id } } });
  await prisma.session.deleteMany({ where: { userId: id } });
}

export async function deleteOrderSafely(id: string) {
  await prisma.payment.deleteMany({ where: { orderId: id } });
  await prisma.order.delete({ where: { id } });
}

export async function deleteOrderThroughAHelper(id: string) {
  const clearPayments = async () => {
    await prisma.payment.deleteMany({ where: { orderId: id } });
  };
  await clearPayments();
  await prisma.order.delete({ where: { id } });
}
"""
    found = query_findings({"app/api/orders/[id]/route.ts": code}, rule="query/delete-blast-radius")
    by_line = {f.line: f for f in found}
    assert set(by_line) == {4, 15, 23}
    # the helper defined inside the function clears the payments first: only the cascade is left to say
    assert by_line[23].severity is Severity.INFO and "P2003" not in by_line[23].message
    assert by_line[4].severity is Severity.WARNING
    assert "P2003" in by_line[4].message and "`Payment.orderId` (Restrict, the default)" in by_line[4].message
    assert "`Order → OrderItem`" in by_line[4].message
    assert by_line[15].severity is Severity.INFO and "P2003" not in by_line[15].message


def test_schema_rules_are_quiet_without_a_schema(query_findings):
    found = query_findings({"app/api/orders/route.ts": LIST}, schema=None)
    assert not {f.rule for f in found} & {"query/over-fetching", "query/include-sensitive", "query/missing-index",
                                          "query/delete-blast-radius"}


def test_text_search_inside_or_branches(query_findings):
    code = """\
"use server";
import prisma from "@/lib/prisma";
export async function searchPosts(q: string) {
  return prisma.post.findMany({
    where: { OR: [{ title: { contains: q } }, { slug: { contains: q } }] },
    take: 10,
  });
}
"""
    found = query_findings({"app/posts/actions.ts": code}, rule="query/unindexed-text-search")
    assert len(found) == 1 and found[0].key.endswith(":title,slug")
    assert '@@index([title(ops: raw("gin_trgm_ops"))], type: Gin)' in found[0].message
    assert '@@index([slug(ops: raw("gin_trgm_ops"))], type: Gin)' in found[0].message
    assert query_findings({"app/posts/actions.ts": code}, rule="query/missing-index") == []


def test_text_search_behind_an_unindexed_equality_is_one_missing_index(query_findings):
    # comp: `member.findFirst({ where: { organizationId, role: { contains } } })` got two comments; the index on the
    # equality column is the fix, and after it the text match runs on one organisation's rows.
    code = """\
import { prisma } from "@/lib/prisma";
export async function GET(req: Request) {
  const q = new URL(req.url).searchParams.get("q") ?? "";
  const orderId = new URL(req.url).searchParams.get("order") ?? "";
  return Response.json(await prisma.payment.findMany({ where: { orderId, provider: { contains: q } }, take: 20 }));
}
"""
    files = {"app/api/orders/route.ts": code}
    assert query_findings(files, rule="query/unindexed-text-search") == []
    assert [f.line for f in query_findings(files, rule="query/missing-index")] == [5]
