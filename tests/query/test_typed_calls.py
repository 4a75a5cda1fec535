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
