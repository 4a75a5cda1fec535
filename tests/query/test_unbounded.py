from __future__ import annotations

from bot.findings import Severity

ROUTE = """\
import { NextResponse } from "next/server";
import { prisma } from "@/lib/prisma";

export async function GET(request: Request) {
  const { searchParams } = new URL(request.url);
  const userId = searchParams.get("userId")!;
  const orders = await prisma.order.findMany({ where: { userId }, orderBy: { createdAt: "desc" } });
  return NextResponse.json(orders);
}
"""


def test_find_many_without_take_in_next_route(query_findings):
    found = query_findings({"app/api/orders/route.ts": ROUTE}, rule="query/unbounded-find-many")
    assert len(found) == 1
    f = found[0]
    assert f.line == 7
    assert "a Next.js route handler" in f.message
    assert 'take: 50' in f.message and 'orderBy: { createdAt: "desc" }' in f.message


TRPC = """\
export const postRouter = createTRPCRouter({
  all: publicProcedure.query(({ ctx }) => {
    return ctx.db.post.findMany({ where: { published: true } });
  }),
  bySlug: publicProcedure.input(z.object({ authorId: z.string(), slug: z.string() })).query(({ ctx, input }) => {
    return ctx.db.post.findMany({ where: { authorId: input.authorId, slug: input.slug } });
  }),
  byIds: publicProcedure.input(z.array(z.string())).query(({ ctx, input }) => {
    return ctx.db.post.findMany({ where: { id: { in: input } } });
  }),
  page: publicProcedure.input(z.object({ cursor: z.string().nullish() })).query(({ ctx, input }) => {
    return ctx.db.post.findMany({ take: 20, skip: 1, cursor: input.cursor ? { id: input.cursor } : undefined,
      orderBy: { id: "asc" } });
  }),
});
"""


def test_trpc_router_unbounded_and_bounded_lookalikes(query_findings):
    found = query_findings({"src/server/api/routers/post.ts": TRPC}, rule="query/unbounded-find-many")
    assert [(f.line, f.key) for f in found] == [(3, "postRouter.all:ctx.db.post.findMany")]
    assert "a tRPC procedure" in found[0].message


def test_scripts_and_opaque_arguments_are_not_flagged(query_findings):
    script = """\
import { PrismaClient } from "@prisma/client";
const prisma = new PrismaClient();
async function main() {
  const users = await prisma.user.findMany();
  console.log(users.length);
}
main();
"""
    service = """\
import { prisma } from "@/lib/prisma";
export async function list(args: Prisma.OrderFindManyArgs) {
  return prisma.order.findMany(args);
}
export async function listPaged(page: number) {
  const pagination = { take: 20, skip: page * 20 };
  return prisma.order.findMany({ ...pagination, orderBy: { id: "asc" } });
}
"""
    assert query_findings({"scripts/report.ts": script, "src/services/orders.ts": service},
                          rule="query/unbounded-find-many") == []


PAGINATION = """\
import { Controller, Get, Query } from "@nestjs/common";
import { PrismaService } from "../prisma.service";

@Controller("products")
export class ProductController {
  constructor(private readonly prisma: PrismaService) {}

  @Get()
  list(@Query("page") page = 0) {
    return this.prisma.product.findMany({ skip: page * 20, take: 20 });
  }

  @Get("by-price")
  byPrice(@Query("page") page = 0) {
    return this.prisma.product.findMany({ skip: page * 20, take: 20, orderBy: { price: "asc" } });
  }

  @Get("stable")
  stable(@Query("page") page = 0) {
    return this.prisma.product.findMany({ skip: page * 20, take: 20, orderBy: [{ price: "asc" }, { id: "asc" }] });
  }
}
"""


def test_skip_pagination_order(query_findings):
    found = query_findings({"src/products/product.controller.ts": PAGINATION}, rule="query/unstable-pagination")
    assert [(f.line, f.severity) for f in found] == [(10, Severity.WARNING), (15, Severity.INFO)]
    assert 'orderBy: { id: "asc" }' in found[0].message
    assert '[{ price: "asc" }, { id: "asc" }]' in found[1].message


def test_count_whole_table_in_handler(query_findings):
    code = """\
import { prisma } from "@/lib/prisma";
export async function GET() {
  const total = await prisma.order.count();
  const paid = await prisma.order.count({ where: { status: "PAID" } });
  return Response.json({ total, paid });
}
"""
    found = query_findings({"app/api/stats/route.ts": code}, rule="query/count-whole-table")
    assert [(f.line, f.severity) for f in found] == [(3, Severity.INFO)]


def test_ignore_models_option_skips_reference_tables(query_findings):
    code = """\
import { prisma } from "@/lib/prisma";
export async function GET() {
  const products = await prisma.product.findMany({ select: { id: true, name: true } });
  const posts = await prisma.post.findMany({ select: { id: true } });
  return Response.json({ products, posts });
}
"""
    config = "rules:\n  query/unbounded-find-many:\n    ignore_models: [Product]\n"
    found = query_findings({"app/api/catalog/route.ts": code}, rule="query/unbounded-find-many", config=config)
    assert [f.line for f in found] == [4]


def test_drizzle_relational_queries_are_not_prisma(query_findings):
    code = """\
import { db } from "@/server/db";
export async function GET() {
  const users = await db.query.users.findMany({ with: { posts: true } });
  return Response.json(users);
}
"""
    assert query_findings({"app/api/users/route.ts": code}) == []


def test_next_server_component_page_is_request_code(query_findings):
    code = """\
import { prisma } from "@/lib/prisma";

export default async function PostsPage() {
  const posts = await prisma.post.findMany({ where: { published: true }, orderBy: { createdAt: "desc" } });
  return (
    <ul>
      {posts.map((post) => (
        <li key={post.id}>{post.title}</li>
      ))}
    </ul>
  );
}
"""
    found = query_findings({"app/posts/page.tsx": code}, rule="query/unbounded-find-many")
    assert [f.line for f in found] == [4]
    assert "a Next.js server component" in found[0].message and found[0].key == "PostsPage:prisma.post.findMany"
