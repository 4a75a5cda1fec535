"""query/missing-index: index types that serve the operator, OR branches, one finding per index, composites."""

from __future__ import annotations

from bot.findings import Severity

RULE = "query/missing-index"

SCHEMA = """\
datasource db {
  provider = "postgresql"
  url      = env("DATABASE_URL")
}

model Vote {
  id            String   @id
  pollId        String
  participantId String
  createdAt     DateTime @default(now())

  @@index([pollId], type: Hash)
  @@index([participantId], type: Hash)
}

model Article {
  id    String   @id
  tags  String[]
  meta  Json
  extra String[]

  @@index([tags], type: Gin)
}

model Link {
  id     String  @id
  vanity String?
  code   String  @unique
}

model Product {
  id         String   @id
  categoryId String
  vendorId   String
  createdAt  DateTime @default(now())

  @@index([categoryId])
  @@index([vendorId])
}

model Event {
  id        String   @id
  createdAt DateTime @default(now())
  kind      String

  @@index([createdAt], type: Brin)
}

view Balance {
  userId String
  amount Int

  @@unique([userId, amount])
}
"""


def _run(query_findings, code: str, path: str = "src/app/api/x/route.ts"):  # type: ignore[no-untyped-def]
    return query_findings({path: code}, rule=RULE, schema=SCHEMA)


def test_hash_index_serves_equality(query_findings) -> None:
    code = """\
import { prisma } from "@/lib/prisma";
export async function GET(pollId: string, participantId: string) {
  const votes = await prisma.vote.findMany({ where: { pollId } });
  await prisma.vote.deleteMany({ where: { participantId } });
  return prisma.vote.count({ where: { pollId: { in: [pollId] } } });
}
"""
    assert _run(query_findings, code) == []


def test_hash_index_does_not_serve_a_range_or_sort(query_findings) -> None:
    code = """\
import { prisma } from "@/lib/prisma";
export const recent = (since: Date) => prisma.vote.findMany({ where: { createdAt: { gte: since } } });
"""
    [f] = _run(query_findings, code)
    assert "@@index([createdAt])" in f.message


def test_brin_serves_a_range(query_findings) -> None:
    code = """\
import { prisma } from "@/lib/prisma";
export const recent = (since: Date) => prisma.event.findMany({ where: { createdAt: { gte: since } }, take: 9 });
"""
    assert _run(query_findings, code) == []


def test_gin_serves_list_containment_and_is_advised_when_missing(query_findings) -> None:
    code = """\
import { prisma } from "@/lib/prisma";
export const tagged = (tag: string) => prisma.article.findMany({ where: { tags: { has: tag } }, take: 20 });
export const flagged = (f: string[]) => prisma.article.findMany({ where: { extra: { hasSome: f } }, take: 20 });
"""
    [f] = _run(query_findings, code)
    assert f.line == 3
    assert "`@@index([extra], type: Gin)`" in f.message and "only a GIN index serves" in f.message


def test_or_branch_without_an_index_is_reported(query_findings) -> None:
    code = """\
import { prisma } from "@/lib/prisma";
export async function GET(id: string) {
  return prisma.link.findFirst({ where: { OR: [{ id }, { vanity: id }] } });
}
"""
    [f] = _run(query_findings, code)
    assert "`OR` branch" in f.message and "`@@index([vanity])`" in f.message


def test_or_branches_each_served_are_quiet(query_findings) -> None:
    code = """\
import { prisma } from "@/lib/prisma";
export const find = (id: string) => prisma.link.findFirst({ where: { OR: [{ id }, { code: id }] } });
"""
    assert _run(query_findings, code) == []


def test_one_finding_per_missing_index_lists_every_call_site(query_findings) -> None:
    code = """\
import { prisma } from "@/lib/prisma";
export const a = (vanity: string) => prisma.link.findFirst({ where: { vanity } });
export const b = (vanity: string) => prisma.link.count({ where: { vanity } });
export const c = (vanity: string) => prisma.link.deleteMany({ where: { vanity } });
"""
    [f] = _run(query_findings, code)
    assert f.line == 2
    assert [s["line"] for s in f.extra["call_sites"]] == [3, 4]
    assert "line 3, line 4" in f.message


def test_composite_index_for_a_multi_equality_listing_sorted_by_another_column(query_findings) -> None:
    code = """\
import { prisma } from "@/lib/prisma";
export async function GET(categoryId: string, vendorId: string) {
  return prisma.product.findMany({ where: { categoryId, vendorId }, orderBy: { createdAt: "desc" }, take: 50 });
}
"""
    [f] = _run(query_findings, code)
    assert f.severity is Severity.INFO
    assert "`@@index([categoryId, vendorId, createdAt])`" in f.message and "sorts them" in f.message


def test_single_equality_served_needs_no_composite(query_findings) -> None:
    code = """\
import { prisma } from "@/lib/prisma";
export const list = (categoryId: string) =>
  prisma.product.findMany({ where: { categoryId }, orderBy: { createdAt: "desc" }, take: 50 });
"""
    assert _run(query_findings, code) == []


def test_use_cache_function_runs_once_per_cache_period(query_findings) -> None:
    code = """\
import { prisma } from "@/lib/prisma";
import { cacheLife } from "next/cache";
export const monthly = async (since: Date) => {
  "use cache";
  cacheLife("days");
  return prisma.vote.count({ where: { createdAt: { gte: since } } });
};
export const live = async (since: Date) => prisma.vote.count({ where: { createdAt: { gte: since } } });
"""
    [f] = _run(query_findings, code, "src/lib/data.ts")
    assert f.line == 8


def test_one_finding_per_missing_index_across_the_files_of_the_change(query_findings) -> None:
    a = """\
import { prisma } from "@/lib/prisma";
export const a = (vanity: string) => prisma.link.findFirst({ where: { vanity } });
export const b = (vanity: string) => prisma.link.count({ where: { vanity } });
"""
    b = """\
import { prisma } from "@/lib/prisma";
export const c = (vanity: string) => prisma.link.deleteMany({ where: { vanity } });
"""
    found = query_findings({"src/lib/a.ts": a, "src/lib/b.ts": b}, rule=RULE, schema=SCHEMA)
    [f] = found
    assert (f.path, f.line) == ("src/lib/a.ts", 2)
    assert [(s["path"], s["line"]) for s in f.extra["call_sites"]] == [("src/lib/a.ts", 3), ("src/lib/b.ts", 2)]
    assert f.message.count("The same index serves") == 1 and "line 3, src/lib/b.ts:2" in f.message
    assert f.extra["index"] == {"model": "Link", "columns": ["vanity"], "method": "btree",
                                "schema_path": "prisma/schema.prisma", "equality": 1}


def test_index_advice_is_a_note_in_jobs_and_silent_in_tests(query_findings) -> None:
    code = """\
import { prisma } from "@/lib/prisma";
export async function run(kind: string) {
  return prisma.event.findMany({ where: { kind }, take: 10 });
}
"""
    [request] = _run(query_findings, code, "src/app/api/events/route.ts")
    assert request.severity is Severity.WARNING and "@@index([kind])" in request.message
    [job] = _run(query_findings, code, "src/jobs/cleanup.ts")
    assert job.severity is Severity.INFO
    assert _run(query_findings, code, "src/events.test.ts") == []


def test_a_view_takes_no_index_and_a_case_insensitive_match_no_btree(query_findings) -> None:
    # split-pro's BalanceView is a SQL view; pezzo matches an organisation's name with `mode: "insensitive"`
    code = """\
import { prisma } from "@/lib/prisma";
export async function GET(userId: string, name: string) {
  const balances = await prisma.balance.findMany({ where: { amount: { gt: 0 } }, take: 10 });
  const link = await prisma.link.findFirst({ where: { vanity: { equals: name, mode: "insensitive" } } });
  const plain = await prisma.link.findFirst({ where: { vanity: name } });
  return Response.json({ balances, link, plain });
}
"""
    assert [f.line for f in _run(query_findings, code)] == [5]


def test_a_where_with_a_spread_we_cannot_read_gets_no_index_advice(query_findings) -> None:
    # typebot: `where: { ...tokenWhere(identifier), expires: { gt: now } }`; the spread holds the unique key
    code = """\
import { prisma } from "@/lib/prisma";
export async function GET(id: string) {
  const a = await prisma.event.findMany({ where: { ...scope(id), kind: id }, take: 10 });
  const b = await prisma.event.findMany({ where: { kind: id }, take: 10 });
  return Response.json({ a, b });
}
"""
    assert [f.line for f in _run(query_findings, code)] == [4]


def test_a_sort_under_a_where_we_cannot_read_gets_no_index_advice(query_findings) -> None:
    # RecipeSage: `where` is `isAuthor ? { authorId, ... } : { authorId, ...visible }`, served by its
    # `(authorId, createdAt DESC)` index; without reading the filter, the sort alone proves no full scan.
    code = """\
import { prisma } from "@/lib/prisma";
export async function GET(mine: boolean, kind: string) {
  const where = mine ? { kind } : { kind, id: { not: "" } };
  const a = await prisma.event.findMany({ where, orderBy: { createdAt: "desc" }, take: 10 });
  const b = await prisma.event.findMany({ orderBy: { createdAt: "desc" }, take: 10 });
  const c = await prisma.event.findMany({
    where: mine ? { kind } : undefined, orderBy: { createdAt: "desc" }, take: 9 });
  return Response.json({ a, b, c });
}
"""
    # b lists the whole table sorted, and so does c when `mine` is false (one finding for the one index, two sites)
    [finding] = _run(query_findings, code)
    assert finding.line == 5 and [s["line"] for s in finding.extra["call_sites"]] == [6]
