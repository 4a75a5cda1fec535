"""query/unawaited-query: a dropped PrismaPromise never runs."""

from __future__ import annotations

from bot.findings import Severity

RULE = "query/unawaited-query"


def test_a_dropped_write_and_read_are_reported_and_handled_promises_are_not(query_findings) -> None:
    code = """\
import { prisma } from "@/lib/prisma";
export async function save(id: string) {
  prisma.order.create({ data: { id } });
  void prisma.session.deleteMany({ where: { id } });
  prisma.user.findMany();
  await prisma.user.update({ where: { id }, data: {} });
  const pending = prisma.user.findMany();
  prisma.user.count().then((n) => console.log(n));
  void prisma.order.create({ data: { id } }).catch(console.error);
  await Promise.all([prisma.user.count()]);
  await prisma.$transaction(async (tx) => {
    tx.session.deleteMany({ where: { id } });
  });
  return pending;
}
"""
    found = query_findings({"src/services/save.ts": code}, rule=RULE)
    assert [(f.line, f.severity) for f in found] == [
        (3, Severity.ERROR), (4, Severity.ERROR), (5, Severity.WARNING), (12, Severity.ERROR)]
    assert "never runs" in found[0].message and "after the transaction ended" in found[3].message


def test_a_dropped_query_gets_no_index_or_loop_advice(query_findings) -> None:
    code = """\
import { prisma } from "@/lib/prisma";
export async function purge(ids: string[]) {
  for (const id of ids) {
    prisma.session.deleteMany({ where: { userId: id } });
  }
}
"""
    found = query_findings({"src/services/purge.ts": code})
    assert [f.rule for f in found if f.severity is not Severity.INFO] == [RULE]


def test_a_collection_method_of_the_same_name_is_not_a_query(query_findings) -> None:
    # briefer: `doc.conns.delete(conn)` is a Map's delete, statement of its own like a dropped query
    code = """\
import { prisma } from "@/lib/prisma";
export function close(doc: { conns: Map<string, number> }, conn: string) {
  doc.conns.delete(conn);
  prisma.user.findMany();
}
"""
    assert [f.line for f in query_findings({"src/yjs/index.ts": code}, rule=RULE)] == [4]
