"""A change too big for one call is split by file and hunk within the context and the budget; the rest is listed."""

from __future__ import annotations

import re

from fakes.anthropic_server import _segments
from llm_samples import base_tree, head_tree

from bot.config import Config, parse_config
from bot.context import ReviewContext
from bot.llm import MemoryResultCache, reviewer_from_env
from bot.llm.units import collect_units
from bot.surfaces import classify
from bot.testing import change_from_trees

MODEL = Config().llm.model  # the fake gives this model a small context window
WINDOW = 24_000


def _service(i: int) -> str:
    body = ["import { prisma } from '@/lib/prisma'", "", f"export async function settle{i}(vendorId: string) {{"]
    for j in range(40):
        body.append(f"  const rows{j} = await prisma.order.findMany({{ where: {{ vendorId, status: 'state{j}' }}, "
                    f"select: {{ id: true, totalCents: true }} }})")
    body.append("}")
    return "\n".join(body) + "\n"


def _big_change():  # type: ignore[no-untyped-def]
    base = base_tree()
    head = head_tree()
    for i in range(12):
        head[f"src/settlement/job{i:02}.ts"] = _service(i)
    return change_from_trees(base, head, title="Settlement jobs")


def _ctx(change, config: Config) -> ReviewContext:  # type: ignore[no-untyped-def]
    return ReviewContext(change=change, config=config, surfaces=classify(change, config))


def _hunk_paths(message: str) -> list[str]:
    return re.findall(r"^### (\S+) \(", message, re.M)


def test_a_huge_change_is_split_into_several_calls_that_each_fit(fake_anthropic, llm_env) -> None:
    fake_anthropic.context_windows[MODEL] = WINDOW
    config = Config()
    change = _big_change()
    reviewer = reviewer_from_env(config, llm_env, cache=MemoryResultCache(), max_retries=1)
    result = reviewer.review(_ctx(change, config), [])

    sent = fake_anthropic.calls()
    assert len(sent) >= 3
    assert result.usage.calls == len(sent)
    assert result.usage.not_reviewed == []
    assert result.usage.error is None
    per_call_limit = int(WINDOW * 0.98) - config.llm.max_output_tokens
    for call in sent:
        assert _segments(call.body)[0] <= per_call_limit
    # every database hunk was sent exactly once, and a file's hunks stay together when the file fits
    units = collect_units(_ctx(change, config))
    seen = [path for call in sent for path in _hunk_paths(call.body["messages"][0]["content"])]
    assert sorted(seen) == sorted(u.path for u in units)
    # the persona and schema context are identical in every call, so calls after the first read them from cache
    assert len({str(call.body["system"]) for call in sent}) == 1
    assert result.usage.cache_read_tokens > 0


def test_what_does_not_fit_the_review_budget_is_listed_not_silently_dropped(fake_anthropic, llm_env) -> None:
    fake_anthropic.context_windows[MODEL] = WINDOW
    config = parse_config("llm:\n  max_input_tokens_per_review: 12000\n")
    change = _big_change()
    reviewer = reviewer_from_env(config, llm_env, cache=MemoryResultCache(), max_retries=1)
    result = reviewer.review(_ctx(change, config), [])

    sent = fake_anthropic.calls()
    assert 1 <= len(sent) < 5
    assert sum(_segments(call.body)[0] for call in sent) <= 12_000
    assert result.usage.not_reviewed
    assert all(item.endswith("(over the review budget)") for item in result.usage.not_reviewed)
    assert any(item.startswith("src/settlement/job") for item in result.usage.not_reviewed)


def test_the_dollar_budget_bounds_the_calls_too(fake_anthropic, llm_env) -> None:
    fake_anthropic.context_windows[MODEL] = WINDOW
    # a worst-case call here: about 12k input x $3.75/M (cache-write rate) + 8192 output x $15/M = about $0.17
    config = parse_config("llm:\n  max_cost_usd_per_review: 0.25\n")
    reviewer = reviewer_from_env(config, llm_env, cache=MemoryResultCache(), max_retries=1)
    result = reviewer.review(_ctx(_big_change(), config), [])
    assert result.usage.calls == 1
    assert result.usage.cost_usd <= 0.25
    assert result.usage.not_reviewed


def test_a_single_hunk_bigger_than_a_call_is_listed(fake_anthropic, llm_env) -> None:
    fake_anthropic.context_windows[MODEL] = WINDOW
    long_line = "  await prisma.order.updateMany({ where: { id: 'x' }, data: { note: '" + "n" * 180 + "' } })"
    head = head_tree()
    head["src/bulk.ts"] = "import { prisma } from '@/lib/prisma'\nexport async function f() {\n" + "\n".join(
        [long_line] * 200) + "\n}\n"
    change = change_from_trees(base_tree(), head)
    config = Config()
    reviewer = reviewer_from_env(config, llm_env, cache=MemoryResultCache(), max_retries=1)
    result = reviewer.review(_ctx(change, config), [])
    assert any(item.startswith("src/bulk.ts lines 1-") and item.endswith("(too large for one call)")
               for item in result.usage.not_reviewed)
    assert result.usage.calls >= 1  # the rest of the change was still reviewed
