"""Look-alikes of false positives seen on public Prisma projects (shapes re-written small, not copied).

Each negative is paired with the near-identical code that must keep firing, so a fix cannot silence the rule.
"""

from __future__ import annotations

HISTORY_SERVICE = """\
import { Injectable } from "@nestjs/common";
import { PrismaService } from "../prisma/prisma.service";

@Injectable()
export class OrderHistoryService {
  constructor(private readonly prisma: PrismaService) {}

  async purgeAllOrders() {
    await this.prisma.order.deleteMany();
    return true;
  }

  async deleteAllForUser(userId: string) {
    await this.prisma.order.deleteMany();
  }

  async recent(userId: string) {
    const rows = await this.prisma.order.findMany({ where: { userId }, take: 20 });
    return rows.map((row) => ({ id: row.id, meta: JSON.stringify(row.metadata) }));
  }

  async recentIds(userId: string) {
    const rows = await this.prisma.order.findMany({ where: { userId }, take: 20 });
    return rows.map((row) => row.id);
  }
}
"""


def test_mass_write_spares_parameterless_delete_all_but_not_a_forgotten_filter(query_findings):
    found = query_findings({"src/orders/order-history.service.ts": HISTORY_SERVICE}, rule="query/mass-write")
    assert [f.line for f in found] == [14]  # deleteAllForUser(userId) never uses userId: the forgotten where


def test_over_fetching_not_reported_when_the_large_column_is_read(query_findings):
    found = query_findings({"src/orders/order-history.service.ts": HISTORY_SERVICE}, rule="query/over-fetching")
    assert [f.line for f in found] == [23]  # only recentIds(), which never touches `metadata`


WORKSPACES = """\
import { prisma } from "@/lib/prisma";

export async function GET(request: Request) {
  const slug = new URL(request.url).searchParams.get("slug") ?? "";
  const byCode = await prisma.workspace.findMany({ where: { code: slug } });
  const byRegion = await prisma.workspace.findMany({ where: { region: slug } });
  const one = await prisma.workspace.findUnique({ where: { code: slug } });
  return Response.json({ byCode, byRegion, one });
}
"""


def test_unbounded_find_many_trusts_a_field_the_file_uses_with_find_unique(query_findings):
    # No schema here: `code` is unique because the same file looks it up with findUnique.
    found = query_findings({"app/api/workspaces/route.ts": WORKSPACES}, rule="query/unbounded-find-many",
                           schema=None)
    assert [f.line for f in found] == [6]


SEARCH_PATH = """\
import { prisma, getDbSchema } from "@/lib/prisma";

export async function resetTenant(tenantId: string, sort: string) {
  const schema = getDbSchema();
  await prisma.$executeRawUnsafe(`SET search_path TO "${schema}"`);
  const params = getQueryParams();
  await prisma.$executeRawUnsafe(`SET search_path TO "${params}"`);
  await prisma.$executeRawUnsafe(`DELETE FROM "Order" WHERE "userId" = '${tenantId}' ORDER BY ${sort}`);
}
"""


def test_raw_sql_from_configuration_is_fine_and_request_values_are_errors(query_findings):
    # Issue #14: deployment configuration (a zero-argument getter such as `getDbSchema()`) carries no outside text,
    # so it is not an injection (it used to be a warning); a getter that reads the request still is.
    found = query_findings({"src/services/tenants.ts": SEARCH_PATH}, rule="query/raw-sql-injection")
    by_line = {f.line: f.severity.value for f in found}
    # `resetTenant`'s own parameters are of unknown origin (a helper, not a request handler): a warning
    assert by_line == {7: "error", 8: "warning"}
    assert "`getQueryParams()` reads the request" in next(f for f in found if f.line == 7).message
    assert "`tenantId` (a parameter of `resetTenant`)" in next(f for f in found if f.line == 8).message


CRON_ROUTE = """\
import { prisma } from "@/lib/prisma";
import { NextResponse } from "next/server";

export async function GET(req: Request) {
  const soon = new Date(Date.now() + 30 * 86400000);
  const domains = await prisma.order.findMany({ where: { createdAt: { lte: soon } } });
  const total = await prisma.order.count();
  return NextResponse.json({ sent: domains.length, total });
}
"""


def test_cron_routes_are_jobs_not_request_handlers(query_findings):
    rules = {"query/unbounded-find-many", "query/count-whole-table"}
    cron = query_findings({"app/api/cron/reminders/route.ts": CRON_ROUTE})
    assert not [f for f in cron if f.rule in rules]
    # the same handler serving users still gets both findings
    served = query_findings({"app/api/reminders/route.ts": CRON_ROUTE})
    assert sorted(f.rule for f in served if f.rule in rules) == sorted(rules)


TOKENS = """\
import { Controller } from "@nestjs/common";
import { PrismaService } from "../prisma/prisma.service";

@Controller("sessions")
export class SessionController {
  constructor(private readonly prisma: PrismaService) {}

  private toView(s: { id: string; expiresAt: Date }) {
    return { id: s.id, expiresAt: s.expiresAt };
  }

  async listViews(userId: string) {
    const rows = await this.prisma.session.findMany({ where: { userId }, take: 20 });
    return rows.map((token) => this.toView(token));
  }

  async listRaw(userId: string) {
    const rows = await this.prisma.session.findMany({ where: { userId }, take: 20 });
    return rows;
  }

  async listSpread(userId: string) {
    const rows = await this.prisma.session.findMany({ where: { userId }, take: 20 });
    return rows.map((row) => ({ ...row, active: true }));
  }

  async page(userId: string, cursor: string) {
    return this.prisma.session.findMany({ where: { userId }, take: 20, skip: 1, cursor: { id: cursor } });
  }
}
"""


def test_include_sensitive_spares_rows_reshaped_before_they_leave(query_findings):
    found = query_findings({"src/auth/session.controller.ts": TOKENS}, rule="query/include-sensitive")
    assert sorted(f.line for f in found) == [18, 23, 28]  # raw rows, spread rows, and the returned page


def test_cursor_pagination_without_order_names_the_cursor(query_findings):
    found = query_findings({"src/auth/session.service.ts": TOKENS}, rule="query/unstable-pagination")
    assert [f.line for f in found] == [28]
    assert "pages with `cursor`" in found[0].message and 'orderBy: { id: "asc" }' in found[0].message


SEATS = """\
import { prisma } from "@/lib/prisma";
import { syncSeatCount } from "@/ee/billing/stripe/sync-seat-count";
import { recalcTeamStats } from "@/lib/teams/stats";

export async function removeMembers(teamId: string, ids: string[]) {
  await prisma.$transaction(async (tx) => {
    await tx.order.deleteMany({ where: { id: { in: ids }, userId: teamId } });
    const seats = await tx.order.count({ where: { userId: teamId } });
    await recalcTeamStats(tx, teamId);
    await syncSeatCount({ teamId, quantity: seats });
  });
}
"""


def test_transaction_io_sees_helpers_imported_from_payment_modules(query_findings):
    found = query_findings({"src/services/members.ts": SEATS}, rule="query/transaction-io")
    assert [f.line for f in found] == [10]  # the Stripe helper; the in-repo stats helper is not I/O
    assert "syncSeatCount" in found[0].message


TENANT_SCHEMA = """\
datasource db {
  provider = "postgresql"
  url      = env("DATABASE_URL")
}

model Project {
  id      String   @id @default(cuid())
  boards  Board[]
  columns Column[]
}

model Board {
  id        String   @default(cuid())
  projectId String
  project   Project  @relation(fields: [projectId], references: [id])
  name      String
  createdAt DateTime @default(now())
  columns   Column[]

  @@id([id, projectId])
  @@unique([projectId, name])
}

model Column {
  id        String  @id @default(cuid())
  projectId String
  project   Project @relation(fields: [projectId], references: [id])
  boardId   String
  board     Board   @relation(fields: [boardId, projectId], references: [id, projectId])
  name      String
  position  Int

  @@unique([boardId, projectId, name])
}
"""

TENANT_SERVICE = """\
import { prisma } from "@/server/db";

export async function listBoards(projectId: string, page: number) {
  return prisma.board.findMany({
    where: { projectId },
    orderBy: [{ createdAt: "desc" }, { id: "asc" }],
    take: 20,
    skip: page * 20,
  });
}

export async function listBoardsAnyProject(page: number) {
  return prisma.board.findMany({ orderBy: [{ createdAt: "desc" }, { id: "asc" }], take: 20, skip: page * 20 });
}

export async function columnByName(projectId: string, boardName: string, name: string) {
  return prisma.column.findFirst({ where: { projectId, name, board: { name: boardName, projectId } } });
}

export async function columnsAtPosition(position: number) {
  return prisma.column.findMany({ where: { position }, take: 20 });
}
"""


def test_pagination_order_is_unique_with_the_columns_the_where_pins(query_findings):
    found = query_findings({"src/services/boards.ts": TENANT_SERVICE}, rule="query/unstable-pagination",
                           schema=TENANT_SCHEMA)
    assert [f.line for f in found] == [13]  # only the cross-project listing, where `id` alone is not unique
    assert 'orderBy: [{ createdAt: "desc" }, { id: "asc" }, ' in found[0].message


def test_missing_index_counts_a_to_one_relation_filter_as_its_foreign_key(query_findings):
    found = query_findings({"src/services/boards.ts": TENANT_SERVICE}, rule="query/missing-index",
                           schema=TENANT_SCHEMA)
    # columnByName runs as boardId IN (SELECT ...) AND projectId AND name: the unique index serves it
    assert [f.line for f in found] == [13, 21]  # the unfiltered createdAt sort, and `position`
    assert "@@index([position])" in found[1].message


LOOPS = """\
import { prisma } from "@/lib/prisma";

const MAX_RETRIES = 3;

export async function freeReference() {
  while (true) {
    const reference = Math.random().toString(36).slice(2, 10);
    const taken = await prisma.order.findFirst({ where: { reference } });
    if (!taken) return reference;
  }
}

export async function markPaid(id: string) {
  for (let attempt = 0; attempt < MAX_RETRIES; attempt++) {
    try {
      return await prisma.order.update({ where: { id }, data: { status: "PAID" } });
    } catch {
      await new Promise((r) => setTimeout(r, 100 * attempt));
    }
  }
}

export async function preview(ids: string[]) {
  for (const id of ids.slice(0, 3)) {
    await prisma.order.findUnique({ where: { id } });
  }
}

export async function drain(queue: string[]) {
  while (queue.length) {
    await prisma.order.delete({ where: { id: queue.shift()! } });
  }
}

export async function each(ids: string[]) {
  for (let i = 0; i < ids.length; i++) {
    await prisma.order.findUnique({ where: { id: ids[i] } });
  }
}
"""


def test_n_plus_one_needs_a_collection_not_a_retry_or_probe_loop(query_findings):
    found = query_findings({"src/services/orders.ts": LOOPS}, rule="query/n-plus-one")
    # only the queue drain and the index loop over ids walk a collection
    assert [f.line for f in found] == [31, 37]


SAGA = """\
import { prisma } from "@/lib/prisma";
import { stripe } from "@/lib/stripe";

export async function pay(userId: string, amount: number) {
  const order = await prisma.order.create({ data: { userId, total: amount, reference: "web" } });
  const intent = await stripe.paymentIntents.create({ amount, metadata: { orderId: order.id } });
  await prisma.payment.create({ data: { orderId: order.id, amount, provider: intent.id } });
  return order;
}

export async function reserve(userId: string) {
  const order = await prisma.order.create({ data: { userId, total: 1, reference: "hold" } });
  try {
    await fetch("https://warehouse.example/reserve", { method: "POST" });
  } catch (e) {
    await prisma.order.delete({ where: { id: order.id } });
    throw e;
  }
}

export async function payCash(userId: string) {
  const order = await prisma.order.create({ data: { userId, total: 1, reference: "cash" } });
  await prisma.payment.create({ data: { orderId: order.id, amount: 1, provider: "cash" } });
}
"""


def test_missing_transaction_spares_saga_steps_around_external_calls(query_findings):
    found = query_findings({"src/services/payments.ts": SAGA}, rule="query/missing-transaction")
    assert [f.line for f in found] == [23]  # only payCash: nothing external between the two writes


JOBS = """\
import { Injectable } from "@nestjs/common";
import { Cron, CronExpression } from "@nestjs/schedule";
import { OnEvent } from "@nestjs/event-emitter";
import { PrismaService } from "../prisma/prisma.service";

@Injectable()
export class CleanupService {
  constructor(private readonly prisma: PrismaService) {}

  @Cron(CronExpression.EVERY_HOUR)
  async purgeExpired() {
    const cutoff = new Date();
    const expired = await this.prisma.order.findMany({ where: { createdAt: { lt: cutoff } }, select: { id: true } });
    const total = await this.prisma.order.count();
    return { expired: expired.length, total };
  }

  @OnEvent("user.deleted")
  async onUserDeleted(payload: { userId: string }) {
    return this.prisma.order.findMany({ where: { userId: payload.userId }, select: { id: true } });
  }

  async listForUser(userId: string) {
    return this.prisma.order.findMany({ where: { userId }, select: { id: true } });
  }
}
"""


def test_scheduled_and_event_methods_are_not_request_handlers(query_findings):
    found = query_findings({"src/cleanup/cleanup.service.ts": JOBS})
    rules = ("query/unbounded-find-many", "query/count-whole-table")
    per_request = [(f.rule, f.line) for f in found if f.rule in rules]
    assert per_request == [("query/unbounded-find-many", 24)]  # the plain service method still counts


ROTATE = """\
import { prisma } from "@/lib/prisma";

export async function issueResetToken(userId: string, hashed: string) {
  await prisma.session.deleteMany({ where: { userId } });
  await prisma.session.create({ data: { userId, token: hashed, expiresAt: new Date(Date.now() + 3600000) } });
}

export async function replaceItems(orderId: string, items: { productId: string; quantity: number }[]) {
  await prisma.orderItem.deleteMany({ where: { orderId } });
  await prisma.orderItem.createMany({ data: items.map((i) => ({ ...i, orderId })) });
}
"""

PAGING_SPEC = """\
import { prisma } from "../src/lib/prisma";

it("pages", async () => {
  const page = await prisma.order.findMany({ cursor: { id: "a" }, skip: 1, take: 2 });
  expect(page).toHaveLength(2);
});
"""


def test_rotating_a_token_is_not_a_lost_set_but_replacing_items_is(query_findings):
    found = query_findings({"src/services/auth.ts": ROTATE}, rule="query/missing-transaction")
    assert [f.line for f in found] == [10]


def test_pagination_in_tests_is_not_reported(query_findings):
    assert query_findings({"tests/orders.spec.ts": PAGING_SPEC}, rule="query/unstable-pagination") == []
    assert query_findings({"src/orders/page.ts": PAGING_SPEC}, rule="query/unstable-pagination")


EMPTY_CHECK = """\
import { prisma } from "@/lib/prisma";

export async function POST() {
  const count = await prisma.product.count();
  if (count === 0) {
    await prisma.product.createMany({ data: [{ sku: "a", name: "A", description: "", price: 1 }] });
  }
  const total = await prisma.order.count();
  return Response.json({ total });
}
"""


def test_count_used_as_an_emptiness_test_suggests_find_first(query_findings):
    found = query_findings({"app/api/setup/route.ts": EMPTY_CHECK}, rule="query/count-whole-table")
    assert [f.line for f in found] == [4, 8]
    assert "findFirst({ select: { id: true } })" in found[0].message
    assert "reltuples" in found[1].message


REVENUE = """\
import { prisma } from "@/lib/prisma";

export async function GET(request: Request) {
  const userId = new URL(request.url).searchParams.get("user") ?? "";
  const paid = await prisma.order.findMany({
    where: { userId, status: { in: ["PAID", "SHIPPED"] } }, select: { total: true } });
  const revenue = paid.reduce((sum, o) => sum + Number(o.total), 0);
  const ids = paid.length ? [userId] : [];
  const mine = await prisma.order.findMany({ where: { userId: { in: ids } }, select: { id: true } });
  const listed = await prisma.order.findMany({ where: { status: { in: ["PAID"] } }, select: { id: true } });
  return Response.json({ revenue, count: paid.length, mine, listed });
}
"""


def test_unbounded_literal_in_lists_bound_nothing_and_sums_become_aggregates(query_findings):
    found = query_findings({"app/api/revenue/route.ts": REVENUE}, rule="query/unbounded-find-many")
    assert [f.line for f in found] == [5, 10]  # the `in: ids` batch is bounded by its caller
    assert "aggregate({ where: { userId, status: { in: [" in found[0].message
    assert "_sum: { total: true }" in found[0].message
    assert "Paginate" in found[1].message


VETTED_SQL = """\
import { prisma } from "@/lib/prisma";

const REQUIRED: [string, string][] = [
  ["Order", "legacyCode"],
  ["User", "name"],
];
const SORTABLE = ["createdAt", "total"];

export async function ensureColumns() {
  for (const [table, column] of REQUIRED) {
    await prisma.$executeRawUnsafe(`ALTER TABLE "${table}" ADD COLUMN IF NOT EXISTS "${column}" TEXT`);
  }
}

export async function sorted(sort: string, term: string) {
  if (!/^[a-zA-Z_]+$/.test(sort)) throw new Error("bad sort");
  const a = await prisma.$queryRawUnsafe(`SELECT * FROM "Order" ORDER BY "${sort}"`);
  if (!SORTABLE.includes(sort)) return [];
  const b = await prisma.$queryRawUnsafe(`SELECT * FROM "Order" ORDER BY "${sort}"`);
  if (term.includes(sort)) return [];
  const c = await prisma.$queryRawUnsafe(`SELECT * FROM "Order" WHERE reference = '${term}'`);
  return [a, b, c];
}
"""


def test_raw_sql_from_constant_lists_or_allow_listed_values_is_fine(query_findings):
    # Issue #14: a loop over a constant list and a value checked by a strict regex or an allow-list first cannot
    # carry outside text, so nothing is reported (these used to be info notes, which the labelled set counts as
    # false positives); the unchecked `term`, a parameter of the helper `sorted`, stays a warning.
    found = query_findings({"src/services/maintenance.ts": VETTED_SQL}, rule="query/raw-sql-injection")
    by_line = {f.line: f.severity.value for f in found}
    assert by_line == {21: "warning"}
    assert "`term`" in found[0].message


BOOT = """\
import express from "express";
import { prisma } from "./lib/prisma";

const app = express();

async function init() {
  const users = await prisma.user.count();
  if (users === 0) console.log("empty database");
}

app.get("/orders", async (req, res) => {
  res.json(await prisma.order.findMany({ where: { status: "PAID" }, select: { id: true } }));
});

init().then(() => app.listen(3000));
"""


def test_start_up_code_in_server_entry_points_is_not_per_request(query_findings):
    found = query_findings({"api/server.ts": BOOT})
    rules = [(f.rule, f.line) for f in found if f.rule in ("query/count-whole-table", "query/unbounded-find-many")]
    assert rules == [("query/unbounded-find-many", 12)]  # the route callback, not init()


BACKFILL = """\
import { prisma } from "@/lib/prisma";
import { lookupCode } from "@/lib/codes";

export async function backfill(ids: string[]) {
  for (const id of ids) {
    const { code } = await lookupCode(id);
    await prisma.order.update({ where: { id }, data: { reference: code } });
  }
  for (const id of ids) {
    await prisma.order.update({ where: { id }, data: { status: "PAID" } });
  }
}
"""


def test_n_plus_one_does_not_offer_update_many_for_per_item_values(query_findings):
    found = query_findings({"src/services/backfill.ts": BACKFILL}, rule="query/n-plus-one")
    assert [f.line for f in found] == [7, 10]
    assert "updateMany" not in found[0].message.split("Batch the writes")[0]
    assert "Do it in one statement" in found[1].message and "updateMany" in found[1].message


NESTED_BATCH = """\
import { prisma } from "@/lib/prisma";

export async function relink(refs: string[], orders: { id: string }[]) {
  await prisma.$transaction(
    refs.flatMap((ref) => {
      return orders.map((o) => prisma.order.update({ where: { id: o.id }, data: { reference: ref } }));
    }),
  );
  for (const ref of refs) {
    for (const o of orders) {
      await prisma.order.update({ where: { id: o.id }, data: { reference: ref } });
    }
  }
}
"""


def test_n_plus_one_sees_a_batch_transaction_built_by_flat_map(query_findings):
    found = query_findings({"src/services/relink.ts": NESTED_BATCH}, rule="query/n-plus-one")
    assert [f.line for f in found] == [11]  # the awaited nested loop, not the $transaction batch


FACTORY = """\
import { PrismaClient } from "@prisma/client";

const makeClient = (extra: object) => new PrismaClient({ log: ["error"], ...extra });
export const prisma = makeClient({});
export const replica = process.env.READ_URL ? makeClient({ datasourceUrl: process.env.READ_URL }) : prisma;

function perCall() {
  return new PrismaClient();
}

export async function GET() {
  const db = perCall();
  return Response.json(await db.order.count({ where: { status: "PAID" } }));
}
"""


def test_client_factory_called_only_at_module_level_is_built_once(query_findings):
    found = query_findings({"app/api/stats/route.ts": FACTORY}, rule="query/client-per-request")
    assert [f.line for f in found] == [8]  # perCall() runs per request
