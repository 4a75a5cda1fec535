from __future__ import annotations

from bot.findings import Severity

RAW = """\
import { Prisma } from "@prisma/client";
import { prisma } from "@/lib/prisma";

const TABLE = "Order";

export async function search(term: string, sort: string, id: string) {
  const a = await prisma.$queryRawUnsafe(`SELECT * FROM "User" WHERE name LIKE '%${term}%'`);
  const b = await prisma.$queryRawUnsafe('SELECT * FROM "User" ORDER BY ' + sort);
  const c = await prisma.$queryRaw<User[]>`SELECT * FROM "User" WHERE id = ${id}`;
  const d = await prisma.$queryRawUnsafe('SELECT * FROM "User" WHERE id = $1', id);
  const e = await prisma.$queryRaw`SELECT * FROM "User" ORDER BY ${Prisma.raw(sort)}`;
  const f = await prisma.$executeRawUnsafe(`DELETE FROM "${TABLE}" WHERE id = $1`, id);
  const sql = "SELECT count(*) FROM \\"Order\\"";
  const g = await prisma.$queryRawUnsafe(sql);
  const h = await prisma.$queryRaw(`SELECT * FROM "User" WHERE id = ${id}`);
  const i = await prisma.$queryRaw`SELECT * FROM "User" ORDER BY ${Prisma.raw("name")}`;
  return [a, b, c, d, e, f, g, h, i];
}
"""


def test_raw_sql_injection_variants(query_findings):
    found = query_findings({"src/services/search.ts": RAW}, rule="query/raw-sql-injection")
    by_line = {f.line: f.severity for f in found}
    # `search` is a helper, not a request handler: its parameters are of unknown origin (issue #14), a warning;
    # request input and a handler's own parameters are errors (tests/query/test_raw_sql_flow.py)
    assert by_line == {
        7: Severity.WARNING,  # interpolated template
        8: Severity.WARNING,  # concatenation
        10: Severity.INFO,  # constant SQL with a $1 parameter
        11: Severity.WARNING,  # Prisma.raw(variable)
        12: Severity.INFO,  # interpolates only a module constant
        14: Severity.INFO,  # a const string variable
        15: Severity.ERROR,  # $queryRaw(...) with parentheses
    }
    line7 = next(f for f in found if f.line == 7)
    assert "`term`" in line7.message and "$queryRaw`" in line7.message


MASS = """\
import { prisma } from "@/lib/prisma";

export async function DELETE() {
  await prisma.session.deleteMany();
  await prisma.order.updateMany({ data: { status: "SHIPPED" } });
  await prisma.payment.deleteMany({ where: {} });
  await prisma.session.deleteMany({ where: { expiresAt: { lt: new Date() } } });
  return new Response(null, { status: 204 });
}
"""


def test_mass_writes_without_where(query_findings):
    found = query_findings({"app/api/admin/route.ts": MASS}, rule="query/mass-write")
    assert [f.line for f in found] == [4, 5, 6]
    assert all(f.severity is Severity.ERROR for f in found)


def test_mass_write_in_test_teardown_and_seed_is_fine(query_findings):
    teardown = """\
import { prisma } from "../src/lib/prisma";
afterEach(async () => {
  await prisma.session.deleteMany();
});
"""
    assert query_findings({"tests/orders.test.ts": teardown, "prisma/seed.ts": teardown},
                          rule="query/mass-write") == []


CLIENTS = """\
import { PrismaClient } from "@prisma/client";

const globalForPrisma = globalThis as unknown as { prisma?: PrismaClient };
export const prisma = globalForPrisma.prisma ?? new PrismaClient();
if (process.env.NODE_ENV !== "production") globalForPrisma.prisma = prisma;

const prismaClientSingleton = () => {
  return new PrismaClient();
};

export async function GET() {
  const client = new PrismaClient();
  const users = await client.user.findMany({ take: 10 });
  await client.$disconnect();
  return Response.json(users);
}
"""


def test_new_prisma_client_per_request(query_findings):
    found = query_findings({"app/api/users/route.ts": CLIENTS}, rule="query/client-per-request")
    assert [(f.line, f.severity) for f in found] == [(12, Severity.ERROR)]


def test_new_prisma_client_in_script_main_is_fine(query_findings):
    script = """\
import { PrismaClient } from "@prisma/client";
async function main() {
  const prisma = new PrismaClient();
  await prisma.user.count();
  await prisma.$disconnect();
}
main();
"""
    assert query_findings({"scripts/backfill.ts": script}, rule="query/client-per-request") == []


def test_parenthesised_raw_template_gets_a_suggestion(query_findings):
    found = query_findings({"src/services/search.ts": RAW}, rule="query/raw-sql-injection")
    (paren,) = [f for f in found if f.line == 15]
    assert paren.suggestion is not None
    assert paren.suggestion.replacement == '  const h = await prisma.$queryRaw`SELECT * FROM "User" WHERE id = ${id}`;'


def test_sql_from_a_helper_is_a_note_to_check(query_findings):
    # Issue #14: nothing is concatenated here; the whole text comes from a builder we cannot see, so this is an
    # info note naming the builder (it used to be a warning; a project's SQL-builder layer gave dozens of them).
    code = """\
import { prisma } from "@/lib/prisma";
import { buildReportSql } from "./sql";
export async function report(filters: Filters) {
  const { sql, params } = buildReportSql(filters);
  return prisma.$queryRawUnsafe(sql, ...params);
}
"""
    (finding,) = query_findings({"src/services/report.ts": code}, rule="query/raw-sql-injection")
    assert finding.severity is Severity.INFO and "`buildReportSql(...)`" in finding.message


def test_sql_variable_extended_after_declaration_is_not_constant(query_findings):
    code = """\
import { prisma } from "@/lib/prisma";
export async function list(status?: string) {
  let sql = 'SELECT * FROM "Order"';
  if (status) sql += ` WHERE status = '${status}'`;
  return prisma.$queryRawUnsafe(sql);
}
"""
    (finding,) = query_findings({"src/services/list.ts": code}, rule="query/raw-sql-injection")
    assert finding.severity is Severity.WARNING and "`status` (a parameter of `list`)" in finding.message


def test_client_construction_look_alikes_in_services(query_findings):
    code = """\
import { Injectable, OnModuleInit } from "@nestjs/common";
import { PrismaClient } from "@prisma/client";

@Injectable()
export class PrismaService extends PrismaClient implements OnModuleInit {
  async onModuleInit() {
    await this.$connect();
  }
}

@Injectable()
export class LegacyService {
  private readonly client = new PrismaClient();
  private other: PrismaClient;
  constructor() {
    this.other = new PrismaClient();
  }
}

export async function perTenant(urls: string[]) {
  for (const url of urls) {
    const client = new PrismaClient({ datasourceUrl: url });
    await client.user.count();
  }
}
"""
    found = query_findings({"src/prisma/prisma.service.ts": code}, rule="query/client-per-request")
    assert [(f.line, f.severity) for f in found] == [(22, Severity.ERROR)]
    assert "inside a loop" in found[0].message


SETTINGS_SCHEMA_ADDITION = """
model InstanceLicense {
  id         String @id @default(cuid())
  licenseKey String @unique
}
"""

INTENDED_WHOLE_TABLE = """\
import { prisma } from "@/lib/prisma";

export async function setLicense(key: string) {
  await prisma.$transaction([
    prisma.instanceLicense.deleteMany(),
    prisma.instanceLicense.create({ data: { licenseKey: key } }),
  ]);
}

export async function POST(req: Request) {
  const { orphaned } = await req.json();
  if (orphaned) {
    await prisma.session.deleteMany({ where: { expiresAt: { lt: new Date() } } });
    return Response.json({ cleared: "expired" });
  }
  await prisma.session.deleteMany({});
  return Response.json({ cleared: "all" });
}
"""


def test_whole_table_writes_that_are_meant(query_findings):
    # A table that belongs to no parent (a one-row license table) has no owner filter to forget; a handler that
    # chooses between a filtered delete (and returns) and a whole-table one says what it means. Both are quiet.
    from query_testkit import SCHEMA

    found = query_findings({"app/api/admin/route.ts": INTENDED_WHOLE_TABLE}, rule="query/mass-write",
                           schema=SCHEMA + SETTINGS_SCHEMA_ADDITION)
    assert found == []
    # the same unfiltered delete without the filtered branch before it is still reported
    lone = INTENDED_WHOLE_TABLE.replace("    return Response.json({ cleared: \"expired\" });\n", "")
    found = query_findings({"app/api/admin/route.ts": lone}, rule="query/mass-write",
                           schema=SCHEMA + SETTINGS_SCHEMA_ADDITION)
    assert [f.line for f in found] == [15]
