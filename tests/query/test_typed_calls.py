"""Issue #14 item 1: every node shape tree-sitter gives a Prisma call (type arguments after `await`, optional
chaining, `as` / `satisfies`, non-null `!`, parenthesised receivers) is extracted the same way."""

from __future__ import annotations

import pytest

from bot.findings import Severity
from bot.ts.extract import analysis_from_text
from bot.ts.model import FrameKind


def _only(code: str):  # type: ignore[no-untyped-def]
    calls = analysis_from_text("src/a.ts", f'import {{ prisma }} from "@/lib/prisma";\n{code}\n').calls
    assert len(calls) == 1, [c.text for c in calls]
    return calls[0]


@pytest.mark.parametrize("code", [
    # `await a.b<T>(x)`: the call's function is the await expression
    "export async function f(sql: string, id: string) { const rows = await prisma.$queryRawUnsafe<Row[]>(sql, id); }",
    "export async function f(sql: string, id: string) { const rows = await prisma.$executeRawUnsafe<1>(sql, id); }",
    # optional chaining on the receiver
    "export async function f(sql: string, id: string) { const rows = await prisma?.$queryRawUnsafe<Row[]>(sql, id); }",
    # parenthesised / asserted / non-null receivers
    "export async function f(sql: string, id: string) { const rows = await (prisma as any).$queryRawUnsafe(sql, id); }",
    "export async function f(sql: string, id: string) { const rows = await prisma!.$queryRawUnsafe<Row[]>(sql, id); }",
    "export async function f(sql: string, id: string) { const rows = await (prisma).$queryRawUnsafe<Row[]>(sql, id); }",
])
def test_raw_call_shapes(code: str) -> None:
    call = _only(code)
    assert call.client == "prisma" and call.client_kind == "client"
    assert call.operation in ("$queryRawUnsafe", "$executeRawUnsafe")
    assert call.awaited and call.result_names == ("rows",)
    assert [a.text for a in call.arguments] == ["sql", "id"]


@pytest.mark.parametrize("code", [
    "export async function f(id: string) { const rows = await prisma.user.findMany<User>({ where: { id } }); }",
    "export async function f(id: string) { const rows = await prisma?.user?.findMany<User>({ where: { id } }); }",
    "export async function f(id: string) { const rows = await prisma!.user!.findMany({ where: { id } }); }",
    "export async function f(id: string) { const rows = await (prisma as any).user.findMany({ where: { id } }); }",
    "export async function f(id: string) { const rows = await prisma.user.findMany({ where: { id } } satisfies A); }",
    "export async function f(id: string) { const rows = await prisma.user.findMany({ where: { id } } as A); }",
    "export async function f(id: string) { const rows = await (prisma.user as any).findMany<U>({ where: { id } }); }",
    "export async function f(id: string) { const rows = (await prisma.user.findMany<User>({ where: { id } }))!; }",
])
def test_model_call_shapes(code: str) -> None:
    call = _only(code)
    assert (call.client, call.accessor, call.operation) == ("prisma", "user", "findMany")
    assert call.awaited and call.result_names == ("rows",)
    assert call.where_fields() == {"id": {"equals"}}


def test_returned_typed_call_and_optional_client_path() -> None:
    call = _only("export function f() { return prisma.user.findMany<User>({ take: 5 }); }")
    assert call.returned and not call.awaited and call.has_arg("take") is True
    code = "export class S { async f() { return await this.db?.order.count<number>(); } }"
    calls = analysis_from_text("src/s.ts", code).calls
    assert [(c.client, c.accessor, c.operation, c.awaited) for c in calls] == [("this.db", "order", "count", True)]


def test_typed_transaction_callback_is_a_transaction_frame() -> None:
    code = """\
export async function f(id: string) {
  await prisma.$transaction<void>(async (tx) => {
    await tx.order.update<Order>({ where: { id }, data: { status: "PAID" } });
  });
}"""
    calls = analysis_from_text("src/a.ts", f'import {{ prisma }} from "@/lib/prisma";\n{code}\n').calls
    update = next(c for c in calls if c.operation == "update")
    assert update.client_kind == "transaction" and update.in_transaction
    assert any(f.kind is FrameKind.TRANSACTION and f.tx_param == "tx" for f in update.frames)


def test_typed_iteration_callback_is_still_a_loop() -> None:
    code = """\
export async function f(ids: string[]) {
  return Promise.all<Order>(ids.map((id) => prisma.order.findUnique({ where: { id } })));
}"""
    call = _only(code)
    frame = call.frames[0]
    assert frame.kind is FrameKind.ITERATION and frame.batch_into == "Promise.all"


TYPED_INJECTION = """\
import { prisma } from "@/lib/prisma";

export async function POST(req: Request) {
  const { name } = await req.json();
  const rows = await prisma.$queryRawUnsafe<{ id: string }[]>(`SELECT id FROM "User" WHERE name = '${name}'`);
  return Response.json(rows);
}
"""


def test_typed_unsafe_call_after_await_is_checked(query_findings) -> None:  # type: ignore[no-untyped-def]
    # The bug that hid 6 of 9 real injection sites: the typed call after `await` was never analysed.
    found = query_findings({"app/api/users/route.ts": TYPED_INJECTION}, rule="query/raw-sql-injection")
    assert [(f.line, f.severity) for f in found] == [(5, Severity.ERROR)]


# -- issue #14 item 2: what is Prisma ------------------------------------------------------------------------

WRAPPER_SERVICE = """\
import { Injectable } from "@nestjs/common";
import { MarketDataService } from "@/services/market-data.service";

@Injectable()
export class DataGatheringService {
  constructor(private readonly marketDataService: MarketDataService) {}

  async gather(dataSource: string, symbol: string) {
    await this.marketDataService.updateMany({ data: [{ dataSource, symbol }] });
    await this.marketDataService.deleteMany({ dataSource, symbol });
  }
}
"""


def test_service_wrapper_with_prisma_like_method_names_is_not_prisma(query_findings) -> None:  # type: ignore[no-untyped-def]
    # ghostfolio's case: there is no `marketDataService` model, so this is the app's own service, not a delegate.
    found = query_findings({"apps/api/src/data-gathering.service.ts": WRAPPER_SERVICE})
    assert [f for f in found if f.rule.startswith("query/")] == []


def test_unknown_receiver_without_schema_named_like_a_service_is_not_prisma() -> None:
    code = "export async function f() { await this.infraConfigService.updateMany([]); await repo.user.findMany(); }"
    calls = analysis_from_text("src/a.ts", code).calls
    assert [(c.client, c.accessor, c.confidence, c.guessed) for c in calls] == [("repo", "user", 0.6, True)]


GUESSED = """\
export async function DELETE(store: Store) {
  await store.session.deleteMany();
}
"""


def test_guessed_receiver_is_never_an_error_and_says_so(query_findings) -> None:  # type: ignore[no-untyped-def]
    # `store` is bound to nothing we can see; `session` is a model of the schema, so it may be Prisma: a warning.
    (finding,) = query_findings({"app/api/sessions/route.ts": GUESSED}, rule="query/mass-write")
    assert finding.severity is Severity.WARNING and finding.confidence == 0.8
    assert "confidence 0.8" in finding.message and "schema model accessor" in finding.message


def test_classes_extending_prisma_client_and_their_instances_are_clients() -> None:
    code = """\
import { PrismaClient } from "@prisma/client";
import { DatabaseService } from "../database/database.service";

export class Db extends PrismaClient {}

export class Orders {
  constructor(private readonly store: Db, private readonly data: DatabaseService) {}
  a() { return this.store.order.findMany({ take: 5 }); }
  b() { return this.data.order.count(); }
}
"""
    calls = analysis_from_text("src/orders.ts", code, model_accessors=frozenset({"order"}),
                               module_is_client=lambda importer, spec: spec.endswith("database.service")).calls
    assert [(c.client, c.client_kind, c.confidence) for c in calls] == [
        ("this.store", "client", 1.0), ("this.data", "client", 1.0)]


def test_project_transaction_wrapper_parameter_is_a_transaction_client() -> None:
    code = """\
export class PluginService {
  constructor(private readonly prismaService: PrismaService) {}
  async remove(id: string) {
    return this.prismaService.$tx(async (client) => {
      await client.plugin.delete({ where: { id } });
      await client.user.delete({ where: { id } });
    });
  }
}
"""
    calls = analysis_from_text("src/plugin.service.ts", code, model_accessors=frozenset({"plugin", "user"})).calls
    assert [(c.client, c.client_kind, c.in_transaction) for c in calls] == [
        ("client", "transaction", True), ("client", "transaction", True)]


def test_client_from_an_imported_factory_is_a_client() -> None:
    code = """\
import { getPrismaClient } from "./lib/db-factory";
export async function list() {
  const store = await getPrismaClient();
  return store.order.findMany({ take: 10 });
}
"""
    calls = analysis_from_text("src/orders.ts", code, model_accessors=frozenset({"order"}),
                               module_is_client=lambda importer, spec: spec.endswith("db-factory")).calls
    assert [(c.client, c.client_kind, c.confidence) for c in calls] == [("store", "client", 1.0)]


def test_a_row_returned_by_a_helper_of_the_client_module_is_no_client() -> None:
    # briefer: `const doc = await getDocument(id)` imports getDocument from the database package; `doc.conns.delete`
    # is a Map's delete
    code = """\
import prisma, { getDocument } from "@briefer/database";
export async function close(id: string) {
  const doc = await getDocument(id);
  doc.conns.delete(id);
  await prisma().document.findUnique({ where: { id } });
}
"""
    calls = analysis_from_text("src/close.ts", code).calls
    assert not [c for c in calls if c.client == "doc" and c.confidence >= 1.0]


def test_an_argument_object_with_keys_prisma_does_not_take_is_not_prisma() -> None:
    # blinko's tRPC caller: `caller.notes.upsert({ content, type })`; ghostfolio's service wrapper
    code = """\
import { prisma } from "@/lib/prisma";
export async function save(caller: any, content: string) {
  await caller.notes.upsert({ content, type: 0 });
  await this.marketDataService.updateMany({ dataSource: "YAHOO", symbol: content });
  await prisma.note.upsert({ where: { id: 1 }, create: { content }, update: { content } });
}
"""
    calls = analysis_from_text("src/tools/save.ts", code).calls
    assert [c.target for c in calls] == ["prisma.note.upsert"]
