from __future__ import annotations

from query_testkit import SCHEMA

from bot.config import Config
from bot.pipeline import review
from bot.testing import change_from_trees

BASE = """\
import { prisma } from "@/lib/prisma";

export async function untouched(ids: string[]) {
  for (const id of ids) {
    await prisma.order.findFirst({ where: { id } });
  }
}

export async function edited(ids: string[]) {
  const out = [];
  for (const id of ids) {
    out.push(await prisma.product.findFirst({ where: { id } }));
  }
  return out;
}
"""


def _review(head: str):  # type: ignore[no-untyped-def]
    change = change_from_trees({"prisma/schema.prisma": SCHEMA, "src/services/orders.ts": BASE},
                               {"prisma/schema.prisma": SCHEMA, "src/services/orders.ts": head})
    return review(change, Config())


def test_an_edit_elsewhere_in_a_function_does_not_make_its_old_problems_new():
    result = _review(BASE.replace("  return out;\n", "  return out.filter(Boolean);\n"))
    assert [f for f in result.findings if f.rule == "query/n-plus-one"] == []
    # Listed apart: the N+1 in the edited function was already there; the untouched function is not mentioned.
    n1 = [f for f in result.preexisting if f.rule == "query/n-plus-one"]
    assert [(f.line, f.key) for f in n1] == [(12, "edited:prisma.product.findFirst")]
    assert n1[0].fingerprint and n1[0].preexisting


def test_a_changed_call_or_a_new_loop_is_new():
    changed_where = BASE.replace("prisma.product.findFirst({ where: { id } })",
                                 "prisma.product.findFirst({ where: { id, active: true } })")
    n1 = [f for f in _review(changed_where).findings if f.rule == "query/n-plus-one"]
    assert [f.key for f in n1] == ["edited:prisma.product.findFirst"]

    into_a_loop = BASE + """
export async function batch(ids: string[]) {
  const rows = await prisma.order.findMany({ where: { id: { in: ids } } });
  return rows;
}
"""
    base_fn = "export async function batch(ids: string[]) {\n  const rows = await prisma.order.findMany("
    looped = into_a_loop.replace(base_fn, "export async function batch(ids: string[]) {\n  for (const id of ids) "
                                          "await prisma.order.findFirst({ where: { id } });\n"
                                          "  const rows = await prisma.order.findMany(")
    change = change_from_trees({"prisma/schema.prisma": SCHEMA, "src/services/orders.ts": into_a_loop},
                               {"prisma/schema.prisma": SCHEMA, "src/services/orders.ts": looped})
    n1 = [f for f in review(change, Config()).findings if f.rule == "query/n-plus-one"]
    assert [f.key for f in n1] == ["batch:prisma.order.findFirst"]


def test_inline_suppression_and_config_severity():
    from bot.config import parse_config

    code = BASE.replace("    await prisma.order.findFirst", "    // dbreview-ignore query/n-plus-one: at most 3 ids\n"
                        "    await prisma.order.findFirst")
    change = change_from_trees({"prisma/schema.prisma": SCHEMA}, {"prisma/schema.prisma": SCHEMA,
                                                                  "src/services/orders.ts": code})
    result = review(change, parse_config("rules:\n  query/n-plus-one: error\n"))
    kept = [(f.line, f.severity.value) for f in result.findings if f.rule == "query/n-plus-one"]
    assert kept == [(13, "error")]
    assert [f.line for f in result.suppressed if f.rule == "query/n-plus-one"] == [6]


def test_a_rename_only_edit_of_a_call_does_not_make_its_old_problem_new():
    # AFFiNE renamed `workspaceFeatures` to `workspaceFeature` everywhere: the N+1 around the call was there before.
    renamed_schema = SCHEMA.replace("Product", "Item").replace("product", "item")
    head = BASE.replace("prisma.product", "prisma.item")
    change = change_from_trees({"prisma/schema.prisma": SCHEMA, "src/services/orders.ts": BASE},
                               {"prisma/schema.prisma": renamed_schema, "src/services/orders.ts": head})
    result = review(change, Config())
    assert [f for f in result.findings if f.rule == "query/n-plus-one"] == []
    assert [f.key for f in result.preexisting if f.rule == "query/n-plus-one"] == ["edited:prisma.item.findFirst"]


def test_a_where_edited_to_another_column_is_not_a_rename():
    # `id` is still used elsewhere in the file, so `{ id }` -> `{ sku }` is an edit of the query, not a rename.
    head = BASE.replace("prisma.product.findFirst({ where: { id } })", "prisma.product.findFirst({ where: { sku } })")
    head = head.replace("  for (const id of ids) {\n    out.push", "  for (const sku of ids) {\n    out.push")
    n1 = [f for f in _review(head).findings if f.rule == "query/n-plus-one"]
    assert [f.key for f in n1] == ["edited:prisma.product.findFirst"]


def test_a_renamed_field_in_the_arguments_is_an_edit_of_the_call():
    # The sample change renames products.title to name: the listing it selects from is the change's to review.
    head = BASE.replace("prisma.product.findFirst({ where: { id } })",
                        "prisma.product.findFirst({ where: { id }, select: { name: true } })")
    base = BASE.replace("prisma.product.findFirst({ where: { id } })",
                        "prisma.product.findFirst({ where: { id }, select: { title: true } })")
    change = change_from_trees({"prisma/schema.prisma": SCHEMA, "src/services/orders.ts": base},
                               {"prisma/schema.prisma": SCHEMA, "src/services/orders.ts": head})
    n1 = [f for f in review(change, Config()).findings if f.rule == "query/n-plus-one"]
    assert [f.key for f in n1] == ["edited:prisma.product.findFirst"]


def test_an_edited_call_that_needed_the_same_missing_index_before_is_old():
    # trycompai: the PR replaced one filter of a listing; the unindexed filter it kept was already there.
    base = """\
import { prisma } from "@/lib/prisma";
export async function GET(name: string, price: number) {
  return Response.json(await prisma.product.findMany({ where: { name, price: { gt: price } }, take: 20 }));
}
"""
    head = base.replace("price: { gt: price }", "price: { lt: price }")
    grown = base.replace("where: { name, price: { gt: price } }", "where: { description: name }")
    def run(after: str):  # type: ignore[no-untyped-def]
        change = change_from_trees({"prisma/schema.prisma": SCHEMA, "src/app/api/p/route.ts": base},
                                   {"prisma/schema.prisma": SCHEMA, "src/app/api/p/route.ts": after})
        return review(change, Config())

    edited = run(head)
    assert [f for f in edited.findings if f.rule == "query/missing-index"] == []
    assert [f.line for f in edited.preexisting if f.rule == "query/missing-index"] == [3]
    # a filter the change moved to another column needs another index: that one is the change's
    assert [f.rule for f in run(grown).findings if f.rule == "query/missing-index"] == ["query/missing-index"]
