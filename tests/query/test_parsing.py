

def test_facts_summarise_the_prisma_code_in_the_change():
    from bot.checks.query import analyze
    from bot.testing import context_for

    code = """\
import { prisma } from "@/lib/prisma";
export const a = () => prisma.order.findMany({ take: 1 });
export const b = () => prisma.$transaction([prisma.user.count()]);
"""
    ctx = context_for({}, {"src/services/a.ts": code})
    analyze(ctx)
    assert ctx.facts["query"] == {"files": 1, "calls": 3, "transactions": 1, "models": ["order", "user"]}
