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


def test_only_findings_in_edited_functions_are_reported():
    head = BASE.replace("  return out;\n", "  return out.filter(Boolean);\n")
    change = change_from_trees({"prisma/schema.prisma": SCHEMA, "src/services/orders.ts": BASE},
                               {"prisma/schema.prisma": SCHEMA, "src/services/orders.ts": head})
    result = review(change, Config())
    n1 = [f for f in result.findings if f.rule == "query/n-plus-one"]
    assert [(f.line, f.key) for f in n1] == [(12, "edited:prisma.product.findFirst")]
    assert n1[0].fingerprint


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
