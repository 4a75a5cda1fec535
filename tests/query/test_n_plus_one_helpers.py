"""query/n-plus-one through helpers (bot.ts.callgraph), and loops that are not N+1 whatever they call."""

from __future__ import annotations

from bot.findings import Severity
from bot.ts.callgraph import parse_imports

RULE = "query/n-plus-one"

CONTACTS = """\
import { prisma } from "../lib/prisma";
export class ContactService {
  public static email(projectId: string, email: string) {
    return cached(`c:${email}`, () => prisma.user.findFirst({ where: { email } }));
  }
  public static label(email: string) {
    return email.toLowerCase();
  }
}
export async function loadOrder(id: string) {
  return prisma.order.findUnique({ where: { id } });
}
export default async function countPayments(orderId: string) {
  return prisma.payment.count({ where: { orderId } });
}
"""


def test_parse_imports_reads_named_default_and_namespace_imports() -> None:
    got = parse_imports('import A, { b as c, type D } from "./x";\nimport * as ns from "@/y";\n')
    assert {k: (v.spec, v.name) for k, v in got.items()} == {
        "A": ("./x", "default"), "c": ("./x", "b"), "D": ("./x", "D"), "ns": ("@/y", "*")}


def test_static_method_named_import_and_default_import_in_loops(query_findings) -> None:
    code = """\
import { ContactService, loadOrder } from "@/services/contacts";
import countPayments from "@/services/contacts";
export async function POST(req: Request, emails: string[], ids: string[]) {
  const found = await Promise.all(emails.map(async (e) => ContactService.email("p", e)));
  for (const id of ids) {
    await loadOrder(id);
    await countPayments(id);
    ContactService.label(id);
  }
  // a file is a query surface when it calls Prisma itself
  await prisma.order.count({ where: { userId: "u" } });
  return Response.json(found);
}
"""
    found = query_findings({"src/services/contacts.ts": CONTACTS, "src/app/api/send/route.ts": code}, rule=RULE)
    by_line = {f.line: f for f in found if f.path == "src/app/api/send/route.ts"}
    assert set(by_line) == {4, 6, 7}
    assert "`ContactService.email(...)` runs `prisma.user.findFirst` (src/services/contacts.ts:4)" in by_line[4].message
    assert "batch form" in by_line[6].message and by_line[6].extra["helper"]["name"] == "loadOrder"
    assert by_line[7].extra["helper"]["name"] == "countPayments"


def test_injected_nest_service_and_same_class_method(query_findings) -> None:
    service = """\
import { Injectable } from "@nestjs/common";
@Injectable()
export class SymbolService {
  constructor(private readonly prismaService: PrismaService) {}
  public deleteById(id: string) {
    return this.prismaService.order.delete({ where: { id } });
  }
}
"""
    caller = """\
import { Injectable } from "@nestjs/common";
import { SymbolService } from "../symbol/symbol.service";
@Injectable()
export class CleanupService {
  constructor(private readonly symbolService: SymbolService, private readonly prismaService: PrismaService) {}
  async run(ids: string[]) {
    for (const id of ids) {
      await this.symbolService.deleteById(id);
      await this.count(id);
    }
  }
  private count(id: string) {
    return this.prismaService.payment.count({ where: { orderId: id } });
  }
}
"""
    found = query_findings({"src/symbol/symbol.service.ts": service, "src/cleanup/cleanup.service.ts": caller},
                           rule=RULE)
    assert sorted(f.line for f in found if f.path == "src/cleanup/cleanup.service.ts") == [8, 9]


def test_helpers_without_queries_constant_loops_and_batches_are_quiet(query_findings) -> None:
    code = """\
import { ContactService, loadOrder } from "@/services/contacts";
import { chunk } from "lodash";
export async function POST(ids: string[]) {
  for (const id of ids) ContactService.label(id);
  for (const kind of ["a", "b"]) await loadOrder(kind);
  for (const batch of chunk(ids, 500)) await loadOrder(batch[0]);
  for (let attempt = 0; attempt < MAX_RETRIES; attempt++) await loadOrder(ids[0]);
  await prisma.order.count({ where: { userId: "u" } });
}
"""
    found = query_findings({"src/services/contacts.ts": CONTACTS, "src/app/api/x/route.ts": code}, rule=RULE)
    assert [f for f in found if f.path == "src/app/api/x/route.ts"] == []


def test_per_item_mail_send_memoised_lookups_and_seeds_are_quiet(query_findings) -> None:
    code = """\
import { prisma } from "@/lib/prisma";
export async function remind(recipients: { id: string; email: string }[], cache: Map<string, unknown>) {
  for (const r of recipients) {
    await sendEmail({ to: r.email });
    await prisma.user.update({ where: { id: r.id }, data: { name: "sent" } });
  }
  for (const r of recipients) {
    let user = cache.get(r.id);
    if (!user) {
      user = await prisma.user.findUnique({ where: { id: r.id } });
      cache.set(r.id, user);
    }
  }
}
"""
    assert query_findings({"src/lib/remind.ts": code}, rule=RULE) == []
    seed = """\
import { prisma } from "@/lib/prisma";
export async function main(users: string[]) {
  for (const email of users) await prisma.user.create({ data: { email, passwordHash: "" } });
}
"""
    assert query_findings({"prisma/seed.ts": seed}, rule=RULE) == []


def test_map_into_a_transaction_variable_is_the_batch_idiom(query_findings) -> None:
    code = """\
import { prisma } from "@/lib/prisma";
export async function encryptAll(entries: { name: string; value: string }[]) {
  const ops = entries.map((e) => {
    return prisma.user.update({ where: { id: e.name }, data: { name: e.value } });
  });
  await prisma.$transaction(ops);
}
export async function onModuleInit(entries: string[]) {
  for (const id of entries) await prisma.user.findUnique({ where: { id } });
}
"""
    assert query_findings({"src/lib/config.ts": code}, rule=RULE) == []


def test_helper_in_a_script_is_info(query_findings) -> None:
    code = """\
import { loadOrder } from "@/services/contacts";
export async function backfill(ids: string[]) {
  for (const id of ids) await loadOrder(id);
  await prisma.order.count({ where: { userId: "u" } });
}
"""
    found = query_findings({"src/services/contacts.ts": CONTACTS, "scripts/backfill.ts": code}, rule=RULE)
    assert [(f.path, f.severity) for f in found if f.path == "scripts/backfill.ts"] == \
        [("scripts/backfill.ts", Severity.INFO)]


def test_effect_for_each_p_map_and_for_await_repeat_the_query(query_findings) -> None:
    code = """\
import { prisma } from "@/lib/prisma";
import pMap from "p-map";
export async function POST(ids: string[], stream: AsyncIterable<string>) {
  await pMap(ids, async (id) => prisma.user.findUnique({ where: { id } }), { concurrency: 5 });
  await Effect.forEach(ids, (id) => loadOrder(id));
  for await (const id of stream) {
    await prisma.order.count({ where: { userId: id } });
  }
}
async function loadOrder(id: string) {
  return prisma.order.findUnique({ where: { id } });
}
"""
    found = query_findings({"src/app/api/y/route.ts": code}, rule=RULE)
    by_line = {f.line: f.message for f in found}
    assert 4 in by_line and "`pMap(...)` callback of `ids`" in by_line[4]
    assert 5 in by_line and "`Effect.forEach(...)` callback of `ids`" in by_line[5]
    assert 7 in by_line


def test_tsconfig_paths_aliases_are_followed(query_findings) -> None:
    tsconfig = """{
  // monorepo aliases
  "compilerOptions": { "baseUrl": ".", "paths": { "@acme/api/*": ["apps/api/src/*"], } }
}
"""
    code = """\
import { loadOrder } from "@acme/api/services/contacts";
export async function POST(ids: string[]) {
  for (const id of ids) await loadOrder(id);
  await prisma.order.count({ where: { userId: "u" } });
}
"""
    found = query_findings({"tsconfig.base.json": tsconfig, "apps/api/src/services/contacts.ts": CONTACTS,
                            "apps/web/app/api/z/route.ts": code}, rule=RULE)
    assert [f.line for f in found if f.path == "apps/web/app/api/z/route.ts"] == [3]


def test_a_query_followed_by_return_or_break_runs_once_per_loop(query_findings) -> None:
    code = """\
import { prisma } from "@/lib/prisma";
export async function POST(items: { id: string; ok: boolean }[], groups: { id: string }[][]) {
  for (const item of items) {
    if (!item.ok) {
      await prisma.user.update({ where: { id: item.id }, data: { name: "failed" } });
      return Response.json({ failed: item.id });
    }
  }
  for (const item of items) {
    const found = await prisma.user.findUnique({ where: { id: item.id } });
    if (found) break;
  }
  for (const item of items) {
    switch (item.id) {
      case "a":
        await prisma.user.delete({ where: { id: item.id } });
        break;
    }
  }
  for (const group of groups) {
    for (const item of group) {
      await prisma.user.create({ data: { id: item.id, name: "x" } });
      break;
    }
  }
}
"""
    lines = sorted(f.line for f in query_findings({"src/app/api/x/route.ts": code}, rule="query/n-plus-one"))
    # Line 5 exits the loop right after; line 10's break is conditional; a switch's break stays in the loop;
    # line 22 leaves the inner loop but runs once per item of the outer one.
    assert 5 not in lines and 10 in lines and 16 in lines and 22 in lines


def test_a_helper_that_calls_out_per_item_is_not_n_plus_one(query_findings) -> None:
    # dyrectorio: createRun triggers an Azure DevOps run, then stores its id; the network call sets the cost
    runs = """\
import { prisma } from "../lib/prisma";
export async function createRun(name: string) {
  const run = await azure.trigger(name);
  return prisma.order.create({ data: { id: run.id } });
}
export async function loadRun(id: string) {
  return prisma.order.findUnique({ where: { id } });
}
"""
    code = """\
import { createRun, loadRun } from "@/services/runs";
export async function POST(req: Request, names: string[]) {
  for (const name of names) {
    await createRun(name);
    await loadRun(name);
  }
  await prisma.order.count();
  return Response.json({});
}
"""
    found = query_findings({"src/services/runs.ts": runs, "src/app/api/runs/route.ts": code}, rule=RULE)
    assert [f.line for f in found if f.path == "src/app/api/runs/route.ts"] == [5]


def test_a_create_with_nested_creates_per_item_is_a_note(query_findings) -> None:
    # split-pro's bank import creates each expense with its participants; createMany cannot carry nested creates
    code = """\
import { prisma } from "@/lib/prisma";
export async function POST(req: Request, rows: { total: number }[], userId: string) {
  for (const row of rows) {
    await prisma.order.create({ data: { total: row.total, userId, items: { create: [{ quantity: 1 }] } } });
  }
  for (const row of rows) {
    await prisma.order.create({ data: { total: row.total, userId } });
  }
  return Response.json({});
}
"""
    found = {f.line: f for f in query_findings({"src/app/api/import/route.ts": code}, rule=RULE)}
    assert found[4].severity is Severity.INFO and "createManyAndReturn" in found[4].message
    assert found[7].severity is Severity.WARNING and "createMany" in found[7].message


def test_queries_mapped_and_handed_back_to_the_caller_are_its_batch(query_findings) -> None:
    # maybe-archive's ETL returns `[...accounts.map((a) => prisma.account.upsert(...))]` for one $transaction
    code = """\
import { prisma } from "@/lib/prisma";
export function loadAccounts(accounts: { id: string }[]) {
  return [
    ...accounts.map((a) => {
      return prisma.order.upsert({ where: { id: a.id }, create: { id: a.id }, update: {} });
    }),
  ];
}
export function loadMore(accounts: { id: string }[]) {
  return accounts.map((a) => prisma.order.delete({ where: { id: a.id } }));
}
export async function POST(req: Request, accounts: { id: string }[]) {
  await Promise.all(accounts.map((a) => prisma.order.findUnique({ where: { id: a.id }, include: { items: true } })));
  await prisma.$transaction([...loadAccounts(accounts), ...loadMore(accounts)]);
  return Response.json({});
}
"""
    found = query_findings({"src/app/api/accounts/route.ts": code}, rule=RULE)
    assert [f.line for f in found] == [13]
