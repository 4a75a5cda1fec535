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
    # A column that is no parent (a name, a status) still lists a share of the whole table.
    assert found[5].severity is Severity.WARNING and found[6].severity is Severity.WARNING
