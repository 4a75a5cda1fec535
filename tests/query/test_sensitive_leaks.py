"""query/include-sensitive reports a secret only when the row carrying it leaves the server."""

from __future__ import annotations

from bot.checks.query.leaks import code_only
from bot.findings import Severity

RULE = "query/include-sensitive"


def _lines(query_findings, path: str, code: str) -> list[int]:  # type: ignore[no-untyped-def]
    return sorted(f.line for f in query_findings({path: code}, rule=RULE))


def test_rows_sent_after_deleting_one_secret_still_leak_the_others(query_findings) -> None:
    code = """\
import { prisma } from "@/lib/prisma";
export default async function handler(req, res) {
  const users = await prisma.session.findMany({ include: { user: true } });
  for (let i = 0; i !== users.length; ++i) delete users[i].token;
  return res.json(users);
}
"""
    [f] = query_findings({"src/pages/api/users.ts": code}, rule=RULE)
    assert f.line == 3 and "`passwordHash`" in f.message and "`token`" not in f.message.split("includ")[0]
    assert "res.json(users)" in f.message and f.extra["sink"] == {"kind": "response", "line": 5}


def test_deleting_the_only_secret_is_quiet(query_findings) -> None:
    code = """\
import { prisma } from "@/lib/prisma";
export default async function handler(req, res) {
  const session = await prisma.session.findFirst({ where: { id: req.query.id } });
  delete session.token;
  return res.json(session);
}
"""
    assert _lines(query_findings, "src/pages/api/session.ts", code) == []


def test_a_written_row_returned_by_a_route_leaks(query_findings) -> None:
    code = """\
import { prisma } from "@/lib/prisma";
export async function POST(req: Request) {
  const user = await prisma.user.update({ where: { id: "1" }, data: { name: "x" } });
  return Response.json(user);
}
"""
    assert _lines(query_findings, "app/api/me/route.ts", code) == [3]


def test_rows_loaded_to_delete_or_check_do_not_leak(query_findings) -> None:
    code = """\
import { prisma } from "@/lib/prisma";
export default async function handler(req, res) {
  const sessions = await prisma.session.findMany({ where: { userId: req.query.id } });
  for (const s of sessions) await revoke(s.token);
  console.error("Error revoking sessions for user", req.query.id);
  // console.log(sessions);
  return res.json({ count: sessions.length });
}
"""
    assert _lines(query_findings, "src/pages/api/revoke.ts", code) == []


def test_rows_mapped_to_a_view_do_not_leak_but_spread_rows_do(query_findings) -> None:
    code = """\
import { prisma } from "@/lib/prisma";
export async function GET() {
  const a = await prisma.session.findMany({ take: 5 });
  const b = await prisma.session.findMany({ take: 5 });
  return Response.json({ a: a.map((s) => ({ id: s.id })), b: b.map((s) => ({ ...s, active: true })) });
}
"""
    assert _lines(query_findings, "app/api/sessions/route.ts", code) == [4]


def test_service_jobs_and_tests_are_quiet(query_findings) -> None:
    service = """\
import { prisma } from "@/lib/prisma";
export async function sessionsOf(userId: string) {
  return prisma.session.findMany({ where: { userId } });
}
"""
    assert _lines(query_findings, "src/services/session.service.ts", service) == []
    route = """\
import { prisma } from "@/lib/prisma";
export async function GET() {
  return Response.json(await prisma.session.findMany({ take: 5 }));
}
"""
    assert _lines(query_findings, "app/api/sessions/route.test.ts", route) == []


def test_a_trpc_procedure_returning_rows_leaks(query_findings) -> None:
    code = """\
import { prisma } from "@/lib/prisma";
export const router = createTRPCRouter({
  list: protectedProcedure.query(async ({ input }) => {
    return prisma.session.findMany({ where: { userId: input.userId } });
  }),
});
"""
    assert _lines(query_findings, "src/server/routers/session.ts", code) == [4]


def test_a_log_line_with_the_row_leaks(query_findings) -> None:
    code = """\
import { prisma } from "@/lib/prisma";
export async function rotate(id: string) {
  const session = await prisma.session.update({ where: { id }, data: { expiresAt: new Date() } });
  logger.info("rotated", session);
}
"""
    [f] = query_findings({"src/lib/rotate.ts": code}, rule=RULE)
    assert "a log line" in f.message and f.severity is Severity.WARNING


def test_code_only_blanks_strings_and_comments_but_keeps_template_expressions() -> None:
    text = 'log("user x"); // res.json(user)\nf(`a ${user.id} b`)'
    out = code_only(text)
    assert len(out) == len(text) and "user" not in out.split("${")[0]
    assert "${user.id}" in out


def test_a_service_row_returned_by_the_controller_next_to_it_leaks(query_findings) -> None:
    service = """\
import { Injectable } from "@nestjs/common";
@Injectable()
export class SessionService {
  constructor(private readonly prisma: PrismaService) {}
  public remove(id: string) {
    return this.prisma.session.delete({ where: { id } });
  }
  public list(userId: string) {
    return this.prisma.session.findMany({ where: { userId } });
  }
}
"""
    controller = """\
import { Controller, Delete, Get } from "@nestjs/common";
import { SessionService } from "./session.service";
@Controller("sessions")
export class SessionController {
  constructor(private readonly sessionService: SessionService) {}
  @Delete(":id")
  public remove(id: string) {
    return this.sessionService.remove(id);
  }
  @Get()
  public async list(userId: string) {
    const [first] = await this.sessionService.list(userId);
    return { id: first.id };
  }
}
"""
    found = query_findings({"src/session/session.service.ts": service,
                            "src/session/session.controller.ts": controller}, rule=RULE)
    [f] = [f for f in found if f.path == "src/session/session.service.ts"]
    assert f.line == 6 and "src/session/session.controller.ts:8" in f.message


def test_rows_passed_to_a_dto_function_or_returned_from_a_transaction_callback(query_findings) -> None:
    code = """\
import { prisma } from "@/lib/prisma";
export const router = createTRPCRouter({
  add: protectedProcedure.mutation(async ({ input }) => {
    const session = await prisma.session.create({ data: input });
    return toSessionDTO(session);
  }),
  touch: protectedProcedure.mutation(async ({ input }) => {
    await prisma.$transaction(async (tx) => {
      return tx.session.update({ where: { id: input.id }, data: { expiresAt: new Date() } });
    });
    return { ok: true };
  }),
});
"""
    assert _lines(query_findings, "src/server/routers/session.ts", code) == []


def test_a_nest_graphql_resolver_returns_through_its_output_type(query_findings) -> None:
    code = """\
import { Resolver, Query } from "@nestjs/graphql";
@Resolver(() => User)
export class UserResolver {
  constructor(private readonly prisma: PrismaService) {}
  @Query(() => [User])
  users() {
    return this.prisma.session.findMany({ take: 10 });
  }
}
"""
    assert _lines(query_findings, "src/user/user.resolver.ts", code) == []


def test_fields_destructured_from_the_row_leave_without_its_secrets(query_findings) -> None:
    # linen: `const { id } = await prisma.integrationMatrix.delete(...)`; res.json({ ok: true, id })
    code = """\
import { prisma } from "@/lib/prisma";
export default async function handler(req, res) {
  const { id } = await prisma.user.delete({ where: { id: req.body.id } });
  res.json({ ok: true, id });
  const { passwordHash } = await prisma.user.findFirst({ where: { id: req.body.id } });
  return res.json({ passwordHash });
}
"""
    assert _lines(query_findings, "src/pages/api/users.ts", code) == [5]


def test_a_secret_the_where_matches_to_what_the_caller_sent_tells_it_nothing(query_findings) -> None:
    # blinko's public note: `where: { id, sharePassword: input.password }`; OpenPipe's invitation by its token
    code = """\
import { prisma } from "@/lib/prisma";
export default async function handler(req, res) {
  const session = await prisma.session.findFirst({ where: { token: req.query.token } });
  res.json(session);
  const other = await prisma.session.findFirst({ where: { id: req.query.id } });
  return res.json(other);
}
"""
    assert _lines(query_findings, "src/pages/api/session.ts", code) == [5]


def test_a_secret_set_to_a_literal_or_listed_by_a_literal_is_known(query_findings) -> None:
    # blinko cancels a share with `data: { sharePassword: "" }` and lists public notes `where: { sharePassword: "" }`
    code = """\
import { prisma } from "@/lib/prisma";
export default async function handler(req, res) {
  const cancelled = await prisma.session.update({ where: { id: req.body.id }, data: { token: "" } });
  res.json(cancelled);
  const open = await prisma.session.findMany({ where: { token: "" }, take: 10 });
  res.json(open);
  const renewed = await prisma.session.update({ where: { id: req.body.id }, data: { token: newToken() } });
  return res.json(renewed);
}
"""
    assert _lines(query_findings, "src/pages/api/share.ts", code) == [7]


NOTES = """datasource db {
  provider = "postgresql"
  url      = env("DATABASE_URL")
}
model User {
  id           Int    @id
  passwordHash String
  notes        Note[]
}
model Note {
  id            Int    @id
  accountId     Int
  account       User   @relation(fields: [accountId], references: [id])
  sharePassword String @default("")
  shareTokenHash String @default("")
  files         File[]
}
model File {
  id            Int    @id
  noteId        Int
  note          Note   @relation(fields: [noteId], references: [id])
  sharePassword String @default("")
}
"""


def test_a_share_secret_returned_to_the_owner_of_the_content_is_theirs(query_findings) -> None:
    # blinko's note list: `where: { accountId: Number(ctx.id) }` returns the owner's own share passwords, which the
    # share dialog shows them; a hash stays reported, and so do another caller's notes and the user's login secret.
    code = """\
import { prisma } from "@/lib/prisma";
export const noteRouter = router({
  list: authProcedure.query(async ({ input, ctx }) => {
    const where = { accountId: Number(ctx.id) };
    return await prisma.note.findMany({ where, take: 20, include: { files: true } });
  }),
  byId: authProcedure.query(async ({ input, ctx }) => {
    return await prisma.note.findFirst({ where: { id: input.id } });
  }),
  me: authProcedure.query(async ({ input, ctx }) => {
    return await prisma.user.findFirst({ where: { id: ctx.session.user.id } });
  }),
});
"""
    found = {f.line: f for f in query_findings({"src/server/routers/note.ts": code}, rule=RULE, schema=NOTES)}
    assert sorted(found) == [5, 8, 11]
    assert "`shareTokenHash`" in found[5].message and "`sharePassword`" not in found[5].message
    assert "`sharePassword`" in found[8].message and "`passwordHash`" in found[11].message


def test_a_secret_checked_against_what_the_caller_sent_goes_back_only_to_them(query_findings) -> None:
    # blinko's public note: the row is returned only when `password !== note.sharePassword` did not throw.
    code = """\
import { prisma } from "@/lib/prisma";
export const noteRouter = router({
  publicDetail: publicProcedure.query(async ({ input }) => {
    const note = await prisma.note.findFirst({ where: { id: input.id } });
    if (note.sharePassword && input.password !== note.sharePassword) throw new Error("Password error");
    return note;
  }),
  leaky: publicProcedure.query(async ({ input }) => {
    const note = await prisma.note.findFirst({ where: { id: input.id } });
    note.sharePassword = note.sharePassword.trim();
    return note;
  }),
});
"""
    found = {f.line: f for f in query_findings({"src/server/routers/public.ts": code}, rule=RULE, schema=NOTES)}
    assert sorted(found) == [4, 9]
    assert "`sharePassword`" not in found[4].message and "`shareTokenHash`" in found[4].message
    assert "`sharePassword`" in found[9].message


def test_a_row_only_tested_before_a_mapper_does_not_leave(query_findings) -> None:
    # mirlo's label page: `profile: labelProfile && processSingleArtist(labelProfile)` sends the mapped row; the
    # row itself goes out only when it is null. `row ?? fallback` does send it.
    code = """\
import { prisma } from "@/lib/prisma";
export default async function handler(req, res) {
  const user = await prisma.user.findFirst({ where: { id: req.query.id } });
  res.json({ profile: user && toView(user), admin: user ? toView(user) : null, known: !user });
  const other = await prisma.user.findFirst({ where: { id: req.query.other } });
  return res.json({ profile: other ?? null });
}
"""
    assert _lines(query_findings, "src/pages/api/profile.ts", code) == [5]


def test_a_secret_blanked_in_each_copy_does_not_leave(query_findings) -> None:
    # invoicerr's webhook list: `return webhooks.map((w) => ({ ...w, secret: undefined }))`; JSON drops the key.
    code = """\
import { prisma } from "@/lib/prisma";
export default async function handler(req, res) {
  const sessions = await prisma.session.findMany({ where: { userId: req.query.id } });
  res.json(sessions.map((s) => ({ ...s, token: undefined })));
  const one = await prisma.session.findFirst({ where: { id: req.query.id } });
  res.json({ ...one, token: null });
  const others = await prisma.session.findMany({ where: { userId: req.query.other } });
  res.json(others.map((o) => ({ ...o, expiresAt: null })));
  const last = await prisma.session.findFirst({ where: { id: req.query.last } });
  return res.json({ ...last, seen: true });
}
"""
    assert _lines(query_findings, "src/pages/api/sessions.ts", code) == [7, 9]
