"""query/unbounded-find-many: one parent's set needed in full is not a listing; jobs get a batched loop."""

from __future__ import annotations

from bot.findings import Severity

RULE = "query/unbounded-find-many"

SCHEMA = """\
datasource db {
  provider = "postgresql"
  url      = env("DATABASE_URL")
}

model User {
  id       String       @id
  files    File[]
  sessions Session[]
  members  Membership[]
}

model Org {
  id      String       @id
  members Membership[]
}

model Membership {
  orgId  String
  userId String
  org    Org    @relation(fields: [orgId], references: [id])
  user   User   @relation(fields: [userId], references: [id])

  @@id([orgId, userId])
}

model File {
  id        String   @id
  userId    String
  name      String
  createdAt DateTime @default(now())
  user      User     @relation(fields: [userId], references: [id])
  hashes    Hash[]
}

model Hash {
  id     String @id
  fileId String
  value  String
  file   File   @relation(fields: [fileId], references: [id])
}

model Session {
  id     String @id
  userId String
  user   User   @relation(fields: [userId], references: [id])
}

model Task {
  id    String   @id
  runBy DateTime
}

model Plan {
  id   String @id
  name String
}

model Note {
  id        String @id
  pageId    String
  createdBy String
  title     String
  kind      String
}
"""


def _lines(query_findings, code: str, path: str = "src/app/api/x/route.ts") -> list[int]:  # type: ignore[no-untyped-def]
    return sorted(f.line for f in query_findings({path: code}, rule=RULE, schema=SCHEMA))


def test_a_users_growing_listing_is_reported_with_cursor_pagination(query_findings) -> None:
    code = """\
import { prisma } from "@/lib/prisma";
export async function GET(userId: string) {
  const files = await prisma.file.findMany({ where: { userId }, orderBy: { createdAt: "desc" } });
  return Response.json(files);
}
"""
    [f] = query_findings({"src/app/api/files/route.ts": code}, rule=RULE, schema=SCHEMA)
    assert f.line == 3 and "Paginate with a cursor" in f.message and "take: 50" in f.message


def test_members_of_one_parent_and_parents_of_one_member_are_quiet(query_findings) -> None:
    code = """\
import { prisma } from "@/lib/prisma";
export async function GET(orgId: string, userId: string) {
  const members = await prisma.membership.findMany({ where: { orgId } });
  const orgs = await prisma.org.findMany({ where: { members: { some: { userId } } } });
  return Response.json({ members, orgs });
}
"""
    assert _lines(query_findings, code) == []


def test_a_set_needed_in_full_is_quiet(query_findings) -> None:
    code = """\
import { prisma } from "@/lib/prisma";
export async function DELETE(userId: string, hashes: string[]) {
  const files = await prisma.file.findMany({ where: { userId } });
  for (const f of files) await storage.delete(f.name);
  const ids = await prisma.session.findMany({ where: { userId }, select: { id: true } })
    .then((rows) => rows.map((r) => r.id));
  await invalidateSessions(ids);
  const byHash = await prisma.file.findMany({ where: { hashes: { some: { value: { in: hashes } } } } });
  return Response.json({ count: files.length, byHash });
}
"""
    assert _lines(query_findings, code) == []


def test_ids_sent_to_the_client_are_still_a_listing(query_findings) -> None:
    code = """\
import { prisma } from "@/lib/prisma";
export async function GET(userId: string) {
  const ids = await prisma.file.findMany({ where: { userId }, select: { id: true } });
  return Response.json(ids);
}
"""
    assert _lines(query_findings, code) == [3]


def test_a_whole_table_pass_gets_a_batched_loop(query_findings) -> None:
    code = """\
import { prisma } from "@/lib/prisma";
export class Tasks {
  public async handleTasks() {
    const tasks = await prisma.task.findMany({ where: { runBy: { lte: new Date() } } });
    for (const task of tasks) {
      await run(task);
      await prisma.task.delete({ where: { id: task.id } });
    }
  }
}
"""
    [f] = query_findings({"src/controllers/Tasks.ts": code}, rule=RULE, schema=SCHEMA)
    assert "read them in batches" in f.message and "take: 1000, cursor" in f.message


def test_one_owners_rows_are_a_note_and_a_status_listing_a_warning(query_findings) -> None:
    code = """\
import { prisma } from "@/lib/prisma";
export async function GET(userId: string) {
  const mine = await prisma.file.findMany({ where: { userId }, orderBy: { createdAt: "desc" } });
  const byUser = await prisma.file.findMany({ where: { user: { id: userId } } });
  const named = await prisma.file.findMany({ where: { name: "report.pdf" } });
  const all = await prisma.task.findMany();
  return Response.json({ mine, byUser, named, all });
}
"""
    found = {f.line: f for f in query_findings({"src/app/api/files/route.ts": code}, rule=RULE, schema=SCHEMA)}
    assert found[3].severity is Severity.INFO and "one owner's or parent's rows" in found[3].message
    assert found[4].severity is Severity.INFO
    # A column that is no parent (a name, a status) still lists a share of the whole table users fill.
    assert found[5].severity is Severity.WARNING and "every user" in found[5].message
    # A table no user owns (a queue, plans, settings) is a note: its size does not follow the number of users.
    assert found[6].severity is Severity.INFO and "reference tables" in found[6].message


def test_keys_without_relation_and_parents_through_a_list_relation_scope_the_rows(query_findings) -> None:
    code = """\
import { prisma } from "@/lib/prisma";
export async function GET(pageId: string, me: { id: string }, q: string) {
  const onPage = await prisma.note.findMany({ where: { pageId, kind: "text" } });
  const mine = await prisma.note.findMany({ where: { createdBy: me.id } });
  const ofKind = await prisma.note.findMany({ where: { kind: q } });
  const tagged = await prisma.file.findMany({ where: { hashes: { some: { value: q } } } });
  const plans = await prisma.plan.findMany();
  return Response.json({ onPage, mine, ofKind, tagged, plans });
}
"""
    found = {f.line: f.severity for f in query_findings({"src/app/api/notes/route.ts": code}, rule=RULE,
                                                        schema=SCHEMA)}
    # `pageId`, `createdBy` have no @relation but hold a value the code computed: one parent's rows
    assert found[3] is Severity.INFO and found[4] is Severity.INFO
    assert found[5] is Severity.INFO  # a `kind` is a category, and Note has no owner: a note, not a warning
    assert found[6] is Severity.INFO  # the files holding one hash value
    assert found[7] is Severity.INFO  # a reference table


def test_a_text_search_on_input_without_take_is_a_warning(query_findings) -> None:
    code = """\
import { prisma } from "@/lib/prisma";
export async function GET(q: string) {
  const hits = await prisma.plan.findMany({ where: { OR: [{ name: { contains: q, mode: "insensitive" } }] } });
  const fixed = await prisma.plan.findMany({ where: { name: { contains: "pro" } } });
  const scoped = await prisma.file.findMany({ where: { userId: q, name: { contains: q } } });
  const prefixed = await prisma.plan.findMany({ where: { name: { startsWith: q.slice(0, 4) } } });
  return Response.json({ hits, fixed, scoped, prefixed });
}
"""
    found = query_findings({"src/app/api/search/route.ts": code}, rule=RULE, schema=SCHEMA)
    assert [(f.line, f.severity) for f in found] == [(3, Severity.WARNING), (4, Severity.INFO), (5, Severity.WARNING),
                                                   (6, Severity.INFO)]
    assert "a short query matches most of the table" in found[0].message
    # one tenant's rows searched by a typed word are still a listing: the tenant may hold thousands


def test_a_column_compared_with_a_computed_value_is_one_values_rows(query_findings) -> None:
    code = """\
import { prisma } from "@/lib/prisma";
export async function GET(status: string) {
  const files = await prisma.file.findMany({ where: { name: status } });
  return Response.json(files);
}
"""
    # `name` compared with a computed value is taken for a lookup by key: one value's rows, a note
    [f] = query_findings({"src/app/api/files/route.ts": code}, rule=RULE, schema=SCHEMA)
    assert f.severity is Severity.INFO
