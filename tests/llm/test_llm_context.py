"""Context assembly: which hunks the model sees, how they are numbered, and the summary facts it gets."""

from __future__ import annotations

from llm_samples import MIGRATION_PATH, base_tree, head_tree

from bot.config import Config
from bot.context import ReviewContext
from bot.llm.request import migration_summary
from bot.llm.units import collect_units
from bot.surfaces import classify
from bot.testing import change_from_trees

PRISMA_SERVICE = """import { prisma } from '@/lib/prisma'

export async function listOrders(vendorId: string) {
  return prisma.order.findMany({ where: { vendorId } })
}
""" + "\n".join(f"export const label{i} = 'x{i}'" for i in range(60)) + "\n"


def _ctx(base: dict[str, str], head: dict[str, str]) -> ReviewContext:
    change = change_from_trees(base, head)
    config = Config()
    return ReviewContext(change=change, config=config, surfaces=classify(change, config))


def test_only_hunks_near_prisma_calls_of_a_query_file_are_sent() -> None:
    base = {"prisma/schema.prisma": "model A {\n  id Int @id\n}\n", "src/orders.ts": PRISMA_SERVICE}
    head = dict(base)
    head["src/orders.ts"] = PRISMA_SERVICE.replace("vendorId } })", "vendorId }, take: 50 })").replace(
        "label55 = 'x55'", "label55 = 'changed'")
    units = collect_units(_ctx(base, head))
    assert [(u.path, u.kind) for u in units] == [("src/orders.ts", "query")]
    assert "take: 50" in units[0].body and "changed" not in units[0].body


def test_units_number_new_lines_and_show_removed_lines_with_their_old_numbers() -> None:
    base = base_tree()
    base[MIGRATION_PATH] = "-- CreateTable\nCREATE TABLE \"A\" (\"id\" INT);\n"
    head = head_tree()
    units = collect_units(_ctx(base, head))
    migration = next(u for u in units if u.kind == "migration")
    lines = migration.body.splitlines()
    assert lines[0] == "     1   -- CreateTable"
    assert '   (2) - CREATE TABLE "A" ("id" INT);' in lines
    assert '     2 + CREATE TABLE "Payout" (' in lines
    assert 1 in migration.shown_lines and 2 in migration.shown_lines
    assert migration.removed_lines == {2} and 2 in migration.added_lines and 1 not in migration.added_lines


def test_a_moved_hunk_keeps_its_content_hash() -> None:
    head = head_tree()
    moved = dict(head)
    moved["prisma/schema.prisma"] = "// top\n" + head["prisma/schema.prisma"]
    before = {u.content_hash for u in collect_units(_ctx(base_tree(), head)) if u.path == "prisma/schema.prisma"}
    after = {u.content_hash for u in collect_units(_ctx(base_tree(), moved)) if u.path == "prisma/schema.prisma"}
    assert before & after  # the Payout hunk is the same text one line lower


def test_migration_summary_renders_the_lock_rows() -> None:
    facts = {"locks": [{"path": MIGRATION_PATH, "line": 13, "statement": 'ALTER TABLE "Payout" ADD CONSTRAINT',
                        "lock": "SHARE ROW EXCLUSIVE", "blocks": "writes", "table": "Vendor",
                        "held_until": "end of migration"}]}
    text = migration_summary(facts)
    assert text == (f'- {MIGRATION_PATH}:13 `ALTER TABLE "Payout" ADD CONSTRAINT` takes SHARE ROW EXCLUSIVE on '
                    "Vendor, blocking writes, held until end of migration")
    assert migration_summary({}) == ""


def test_a_deletion_only_hunk_is_sent_with_its_context_lines_citable() -> None:
    schema = "model Order {\n  id        Int      @id\n  vendorId  Int\n  total     Int\n  note      String\n\n" \
             "  @@index([vendorId])\n}\n"
    base = {"prisma/schema.prisma": schema}
    head = {"prisma/schema.prisma": schema.replace("  @@index([vendorId])\n", "")}
    units = collect_units(_ctx(base, head))
    assert len(units) == 1
    assert "   (7) -   @@index([vendorId])" in units[0].body
    assert units[0].removed_lines == {7}  # the removed line itself can be cited, on the old side
    assert units[0].scope == "model `Order`"


def test_schema_context_falls_back_to_text_blocks_when_the_schema_does_not_parse() -> None:
    from bot.llm.schema_context import schema_context

    schema = ("model User {\n  id    Int     @id\n  posts Post[]\n}\n\nmodel Post {\n  id     Int  @id\n"
              "  userId Int\n  user   User @relation(fields: [userId], references: [id])\n}\n")
    broken = schema.replace("  userId Int\n", "  userId Int\n  title String @default(\n")
    ctx = _ctx({"prisma/schema.prisma": schema}, {"prisma/schema.prisma": broken})
    text = schema_context(ctx, collect_units(ctx)).text
    assert "model Post {" in text and "model User {" in text  # touched, and related through Post.user
