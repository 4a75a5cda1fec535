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


def test_a_filter_added_to_a_looped_call_leaves_its_n_plus_one_old_and_a_new_loop_is_new():
    # The problem existed at base (a query per id in `edited`); adding `active: true` did not create it (issue #13:
    # "the problem exists at head and did not exist at base"). Listed as already there, on the code it touched.
    changed_where = BASE.replace("prisma.product.findFirst({ where: { id } })",
                                 "prisma.product.findFirst({ where: { id, active: true } })")
    result = _review(changed_where)
    assert [f for f in result.findings if f.rule == "query/n-plus-one"] == []
    assert [f.key for f in result.preexisting if f.rule == "query/n-plus-one"] == ["edited:prisma.product.findFirst"]

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


def test_an_edit_that_keeps_a_calls_problem_leaves_it_old_and_one_that_worsens_it_is_new():
    # `{ id }` -> `{ sku }` inside the same loop: still one query per item, as at base (listed as already there).
    head = BASE.replace("prisma.product.findFirst({ where: { id } })", "prisma.product.findFirst({ where: { sku } })")
    head = head.replace("  for (const id of ids) {\n    out.push", "  for (const sku of ids) {\n    out.push")
    result = _review(head)
    assert [f for f in result.findings if f.rule == "query/n-plus-one"] == []
    assert [f.key for f in result.preexisting if f.rule == "query/n-plus-one"] == ["edited:prisma.product.findFirst"]
    # One user's orders (advice) widened to every user's orders on a request path (a warning): made worse, so new.
    route = ('import { prisma } from "@/lib/prisma";\n'
             "export async function GET(req: Request) {\n"
             "  const userId = new URL(req.url).searchParams.get('u');\n"
             "  return Response.json(await prisma.order.findMany({ where: { userId } }));\n}\n")
    widened = route.replace("{ where: { userId } }", "{ where: { status: 'PAID' } }")
    change = change_from_trees({"prisma/schema.prisma": SCHEMA, "app/api/orders/route.ts": route},
                               {"prisma/schema.prisma": SCHEMA, "app/api/orders/route.ts": widened})
    result = review(change, Config())
    unbounded = [f for f in result.findings if f.rule == "query/unbounded-find-many"]
    assert [f.severity.value for f in unbounded] == ["warning"], [f.severity for f in result.preexisting]


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
