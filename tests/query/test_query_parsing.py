from __future__ import annotations

from query_testkit import SCHEMA, run_query

from bot.ts.extract import analysis_from_text
from bot.ts.model import FrameKind
from bot.ts.parser import parse
from bot.ts.values import JsExpr, JsObject


def test_typed_tagged_raw_query_parses_cleanly():
    # tree-sitter-typescript mis-parses `$queryRaw<T[]>`...``; the parser blanks the type arguments first.
    src = b'const rows = await prisma.$queryRaw<User[]>`SELECT * FROM "User" WHERE id = ${id}`;\n'
    assert not parse("a.ts", src).has_error
    analysis = analysis_from_text("src/a.ts", src.decode())
    assert [(c.operation, c.awaited, c.result_names) for c in analysis.calls] == [("$queryRaw", True, ("rows",))]


def test_arguments_as_data_and_resolved_variables():
    code = """\
import { db } from "./db";
export async function list(userId: string, cursor?: string) {
  const where = { userId, status: { in: ["PAID", "SHIPPED"] }, total: { gte: 10 } };
  const rows = await db.order.findMany({
    where,
    orderBy: [{ createdAt: "desc" }, { id: "desc" }],
    cursor: cursor ? { id: cursor } : undefined,
    take: 20,
    skip: 1,
    include: { items: { include: { product: true } } },
  });
  return rows;
}
"""
    (call,) = analysis_from_text("src/orders.ts", code).calls
    assert call.client == "db" and call.client_kind == "client" and call.confidence == 1.0
    where = call.arg("where")
    assert isinstance(where, JsObject) and where.resolved_from == "where"
    assert set(where.entries) == {"userId", "status", "total"}
    status = where.obj("status")
    assert status is not None and "in" in status
    assert call.has_arg("take") is True and call.has_arg("select") is False
    assert call.function.name == "list" and call.scope == (2, 13)


def test_client_recognition_variants():
    code = """\
import { Injectable } from "@nestjs/common";
import { database } from "@acme/shared";
import type { Prisma } from "@prisma/client";

@Injectable()
export class Repo {
  constructor(private readonly prismaService: PrismaService, private readonly orm: ExtendedPrismaClient) {}
  a() { return this.prismaService.user.findFirst({ where: { email: "x" } }); }
  b() { return this.orm.user.count(); }
}

export function c(tx: Prisma.TransactionClient) { return tx.order.create({ data: {} }); }
export function d(ctx: Context) { return ctx.prisma.order.findMany({ take: 1 }); }
export function e(repo: any) { return repo.client.order.findMany({ take: 1 }); }
export function f(stripe: Stripe) { return stripe.customers.create({ email: "x" }); }
export function g(cache: Map<string, string>) { return cache.entries.delete("x"); }
"""
    calls = analysis_from_text("src/repo.ts", code).calls
    got = {(c.client, c.client_kind, c.confidence) for c in calls}
    assert got == {
        ("this.prismaService", "client", 1.0),
        ("this.orm", "client", 1.0),
        ("tx", "transaction", 1.0),
        ("ctx.prisma", "client", 1.0),
        ("repo.client", "unknown", 0.6),
    }


def test_schema_model_names_admit_generic_operations_on_unknown_receivers():
    code = "export const mk = (svc: any) => svc.client.order.create({ data: {} });\n"
    assert analysis_from_text("src/x.ts", code).calls == []
    (call,) = analysis_from_text("src/x.ts", code, model_accessors=frozenset({"order"})).calls
    assert call.client_kind == "unknown" and call.confidence == 0.8


def test_re_exported_client_module_is_resolved(query_findings):
    client_module = """\
import { PrismaClient } from "@prisma/client";
export const store = new PrismaClient();
"""
    route = """\
import { store } from "../../../lib/store";
export async function GET() {
  for (const id of await ids()) {
    await store.order.findFirst({ where: { id } });
  }
  return Response.json({});
}
"""
    # (findFirst: surface detection only picks up `store.order.update(` files by their Prisma-only verbs)
    found = query_findings({"src/lib/store.ts": client_module, "src/app/api/pay/route.ts": route},
                           rule="query/n-plus-one")
    assert [(f.path, f.line) for f in found] == [("src/app/api/pay/route.ts", 4)]
    assert found[0].confidence is None  # a recognised client: full confidence


def test_frames_and_handlers():
    code = """\
export const resolvers = {
  Query: {
    orders: async (_: unknown, args: { ids: string[] }, { prisma }: Ctx) => {
      return Promise.all(args.ids.map(async (id) => {
        await audit(id);
        return prisma.order.findFirst({ where: { id } });
      }));
    },
  },
};
"""
    (call,) = analysis_from_text("src/graphql/resolvers.ts", code).calls
    kinds = [f.kind for f in call.frames]
    assert kinds[:2] == [FrameKind.ITERATION, FrameKind.FUNCTION]
    assert call.frames[0].batch_into == "Promise.all" and call.frames[0].collection == "args.ids"
    assert call.function.name == "resolvers.Query.orders" and call.function.handler == "resolver"
    assert call.returned and not call.awaited


def test_skipped_files_get_a_note_and_no_findings():
    minified = "var a=1;" + ";".join(f"prisma.user.findMany({{where:{{id:{i}}}}})" for i in range(3000)) + "\n"
    generated = "/* !!! This is code generated by Prisma. Do not edit directly. !!! */\n" \
                "export class PrismaClient { user = { findMany() {} } }\nprisma.user.findMany();\n"
    huge = "export const x = prisma.user.findMany();\n" + "// padding\n" * 100_000
    declaration = "export declare const prisma: PrismaClient;\nprisma.user.findMany();\n"
    head = {
        "public/app.js": minified,
        "src/client/index.js": generated,
        "src/huge.ts": huge,
        "src/types.d.ts": declaration,
    }
    found, notes = run_query(head)
    assert found == []
    joined = "\n".join(notes)
    assert "public/app.js: not analysed by the query rules (a minified bundle" in joined
    assert "src/client/index.js: not analysed by the query rules (Prisma's generated client)" in joined
    assert "src/huge.ts" not in joined  # not a note: the author is told with a finding (below)

    from bot.pipeline import review
    from bot.testing import change_from_trees

    result = review(change_from_trees({}, {**head, "prisma/schema.prisma": SCHEMA}))
    (too_big,) = [f for f in result.findings if f.rule == "change/file-not-analysed"]
    assert too_big.path == "src/huge.ts" and "over the 1 MB limit for query analysis" in too_big.message
    assert not [f for f in result.findings if f.path in ("public/app.js", "src/client/index.js", "src/types.d.ts")]


def test_one_long_line_does_not_make_ordinary_code_a_bundle():
    banner = "// " + "x" * 30_000 + "\n"
    code = banner + "import { prisma } from '@/lib/prisma';\n" + "".join(
        f"export async function f{i}(ids: string[]) {{\n  for (const id of ids) {{\n"
        f"    await prisma.user.findUnique({{ where: {{ id }} }});\n  }}\n}}\n" for i in range(400))
    found, notes = run_query({"src/service.ts": code})
    assert not any("minified" in n for n in notes)
    assert any(f.rule == "query/n-plus-one" for f in found)


def test_syntax_error_region_is_noted_and_the_rest_is_analysed():
    code = """\
import { prisma } from "@/lib/prisma";
export async function GET() {
  const broken = {{{ ;
  for (const id of ids) {
    await prisma.order.findFirst({ where: { id } });
  }
}
export async function other() {
  await prisma.session.deleteMany();
}
"""
    found, notes = run_query({"app/api/x/route.ts": code})
    assert not any(f.rule == "query/parse-error" for f in found)
    assert any("syntax errors at line(s)" in n for n in notes)
    assert any(f.rule == "query/mass-write" for f in found)


def test_garbage_file_gives_one_parse_error():
    garbage = "prisma.user.findMany(\n" + ")))} {{{ <<< >>> ]]]\n" * 40
    found, _notes = run_query({"src/broken.ts": garbage})
    assert [f.rule for f in found] == ["query/parse-error"]


def test_interpolated_template_is_marked():
    (call,) = analysis_from_text("a.ts", "prisma.$executeRawUnsafe(`DELETE FROM t WHERE id = ${id}`);\n").calls
    sql = call.arguments[0]
    assert isinstance(sql, JsExpr) and sql.interpolated and sql.idents == {"id"}

def test_facts_summarise_the_prisma_code_in_the_change():
    from bot.checks.query import analyze
    from bot.testing import context_for

    code = """\
import { prisma } from "@/lib/prisma";
export const a = () => prisma.order.findMany({ take: 1 });
export const b = () => prisma.$transaction([prisma.user.count()]);
"""
    ctx = context_for({}, {"src/services/a.ts": code})
    analyze(ctx)
    assert ctx.facts["query"] == {"files": 1, "calls": 3, "transactions": 1, "models": ["order", "user"]}


def test_where_fields_and_include_depth():
    code = """\
export const q = (userId: string) => prisma.order.findMany({
  where: { userId, AND: [{ total: { gte: 10 } }], status: { in: ["PAID"] }, OR: [{ reference: "x" }] },
  include: { items: { include: { product: true } }, user: { select: { id: true } } },
});
"""
    (call,) = analysis_from_text("src/q.ts", code).calls
    assert call.where_fields() == {"userId": {"equals"}, "total": {"gte"}, "status": {"in"}}
    assert call.include_depth == 2
