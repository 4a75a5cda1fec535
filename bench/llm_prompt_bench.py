"""Prompt size, calls and cost of the LLM review, against the fake Anthropic API (no network, no key needed).

    python bench/llm_prompt_bench.py

The fake answers every call with `realistic_answer`: about one finding per substantial hunk, each with a title of
~70 characters and a body of ~540 (the size the output contract allows), and a three-sentence assessment, so output
tokens are what a real review produces, not a two-word stub.

For each change: the first push (empty result cache, cold prompt cache), then edited pushes (the author fixes part of
it: for the sample change first the payout loop ("loop"), then also the index the payout listing needs ("index"),
which changes the context of every hunk that touches Payout; for the large change, one of its 41 files), and for
reference an identical re-run. Printed per push: LLM calls, count_tokens requests, the prompt
size sent (characters, and tokens as the fake server counts them: ceil(chars / 3.5) per text plus 313 tokens of
tool prompt and 3 per message, a documented estimate, not Anthropic's tokenizer), the usage the fake reported
(uncached input, cache writes, cache reads, output), the cost at the model's list price, and how many hunks were
left out by the budget.

Changes: the sample change (examples/vendor-payouts.patch on examples/marketplace); a generated large change (40
Prisma-calling services and a 1,500-line migration); the same large change on a model with a 32k context window
(forces the split into several calls); and langfuse's last 20 real migrations from the shared corpus.
"""

from __future__ import annotations

import json
import sys
import time
from collections.abc import Callable
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "tests"))

from fakes.anthropic_server import FakeAnthropic, _segments, realistic_answer  # noqa: E402

from bot.change import Change  # noqa: E402
from bot.config import Config, parse_config  # noqa: E402
from bot.gitrepo import diff_file_change  # noqa: E402
from bot.llm import MemoryResultCache, reviewer_from_env  # noqa: E402
from bot.pipeline import review  # noqa: E402
from bot.testing import change_from_trees  # noqa: E402

CORPUS = ROOT.parent / "shared" / "corpus"


def sample_change() -> Change:
    patch = (ROOT / "examples" / "vendor-payouts.patch").read_text()
    change = diff_file_change(ROOT / "examples" / "marketplace", patch)
    change.title = "Vendor payouts"
    return change


def _tree(snapshot) -> dict[str, str]:  # type: ignore[no-untyped-def]
    out = {}
    for path in snapshot.list_files():
        data = snapshot.read_bytes(path)
        if data is not None:
            out[path] = data.decode("utf-8", "replace")
    return out


def sample_change_edited(index: bool = True) -> Change:
    """The sample change after the author's next push: the payout loop is reworked (one transaction per vendor, the
    `updateMany` before the `create`), and with `index` the payouts model also gets the index its listing needs
    (which changes the context of every hunk that touches Payout)."""
    first = sample_change()
    base, head = _tree(first.base), _tree(first.head)
    if index:
        head["prisma/schema.prisma"] = head["prisma/schema.prisma"].replace(
            '  @@map("payouts")\n}', '  @@index([status, createdAt])\n  @@map("payouts")\n}')
    service = head["src/services/payouts.ts"]
    old_writes = service[service.index("    await prisma.payout.create({"):service.index("  }\n}\n")]
    new_writes = (
        "    await prisma.$transaction([\n"
        "      prisma.order.updateMany({\n"
        "        where: { items: { some: { product: { vendorId: vendor.id } } }, status: \"DELIVERED\" },\n"
        "        data: { paidAt: new Date() },\n"
        "      }),\n"
        "      prisma.payout.create({\n"
        "        data: { vendorId: vendor.id, amount, currency: \"EUR\", status: \"PENDING\" },\n"
        "      }),\n"
        "    ]);\n")
    head["src/services/payouts.ts"] = service.replace(old_writes, new_writes)
    assert head["src/services/payouts.ts"] != service
    return change_from_trees(base, head, title="Vendor payouts")


def large_change(edit: bool = False) -> Change:
    schema = (ROOT / "examples" / "marketplace" / "prisma" / "schema.prisma").read_text()
    base = {"prisma/schema.prisma": schema, "prisma/migrations/migration_lock.toml": 'provider = "postgresql"\n'}
    head = dict(base)
    for i in range(40):
        lines = ["import { prisma } from '@/lib/prisma'", "", f"export async function job{i}(vendorId: string) {{"]
        for j in range(30):
            lines.append(f"  const r{j} = await prisma.order.findMany({{ where: {{ vendorId, status: 's{j}' }}, "
                         f"take: 100 }})")
        lines.append("}")
        if edit and i == 0:
            lines.insert(4, "  // edited on the second push")
        head[f"src/jobs/job{i:02}.ts"] = "\n".join(lines) + "\n"
    sql = []
    for i in range(300):
        sql += [f'-- AlterTable {i}', f'ALTER TABLE "Order" ADD COLUMN "extra{i}" TEXT;',
                f'UPDATE "Order" SET "extra{i}" = \'x\' WHERE "status" = \'s{i}\';', "", ""]
    head["prisma/migrations/20261124100000_extras/migration.sql"] = "\n".join(sql) + "\n"
    return change_from_trees(base, head, title="Nightly jobs and extra columns")


def langfuse_change() -> Change:
    app = CORPUS / "langfuse"
    tree = {str(p.relative_to(app)): p.read_text("utf-8", errors="replace")
            for p in app.rglob("*") if p.is_file() and p.name != "LICENSE"}
    dirs = sorted({p.rsplit("/", 1)[0] for p in tree if p.endswith("/migration.sql")}, key=lambda d: d.rsplit("/")[-1])
    drop = set(dirs[-20:])
    base = {p: t for p, t in tree.items() if p.rsplit("/", 1)[0] not in drop}
    return change_from_trees(base, tree, title="langfuse: last 20 migrations")


def push(fake: FakeAnthropic, change: Change, config: Config, cache: MemoryResultCache) -> dict[str, float]:
    fake.requests.clear()
    reviewer = reviewer_from_env(config, {"ANTHROPIC_API_KEY": "bench", "ANTHROPIC_BASE_URL": fake.base_url},
                                 cache=cache)
    started = time.perf_counter()
    result = review(change, config, llm=reviewer)
    elapsed = time.perf_counter() - started
    usage = result.llm
    assert usage is not None
    calls = fake.calls()
    chars = sum(len(json.dumps(c.body["system"])) + len(c.body["messages"][0]["content"]) for c in calls)
    return {
        "calls": usage.calls,
        "counts": len(fake.calls("/v1/messages/count_tokens")),
        "chars": chars,
        "fake_tokens": sum(_segments(c.body)[0] for c in calls),
        "input": usage.input_tokens,
        "cache_write": usage.cache_write_tokens,
        "cache_read": usage.cache_read_tokens,
        "output": usage.output_tokens,
        "cost": usage.cost_usd,
        "not_reviewed": len(usage.not_reviewed),
        "seconds": elapsed,
        "error": usage.error or "",
    }


def main() -> None:
    fake = FakeAnthropic().start()
    fake.reply(realistic_answer)
    default = Config()
    scenarios: list[tuple[str, Callable[[], Change], Config, int | None]] = [
        ("sample change", sample_change, default, None),
        ("sample change, Haiku 4.5", sample_change, parse_config("llm:\n  model: claude-haiku-4-5\n"), None),
        ("large generated change", large_change, default, None),
        ("large change, 32k-context model", large_change, parse_config("llm:\n  model: claude-haiku-4-5\n"), 32_000),
        ("langfuse last 20 migrations", langfuse_change, default, None),
    ]
    print(f"model {default.llm.model} unless noted; budget {default.llm.max_input_tokens_per_review} input tokens "
          f"and ${default.llm.max_cost_usd_per_review} per review; {default.llm.max_output_tokens} output tokens/call")
    header = (f"{'change':<33} {'push':<6} {'calls':>5} {'counts':>6} {'chars':>9} {'tokens*':>8} {'input':>7} "
              f"{'c.write':>7} {'c.read':>7} {'output':>6} {'cost $':>8} {'left':>4}")
    print(header)
    print("-" * len(header))
    try:
        for label, build, config, window in scenarios:
            fake.cache.clear()
            fake.context_windows.clear()
            if window:
                fake.context_windows[config.llm.model] = window
            cache = MemoryResultCache()
            change = build()
            pushes = [("first", change)]
            if build is sample_change:
                pushes += [("loop", sample_change_edited(index=False)), ("index", sample_change_edited())]
            elif build is large_change:
                pushes.append(("edited", large_change(edit=True)))
            pushes.append(("re-run", pushes[-1][1]))
            for name, pushed in pushes:
                r = push(fake, pushed, config, cache)
                print(f"{label:<33} {name:<6} {r['calls']:>5} {r['counts']:>6} {r['chars']:>9,} "
                      f"{r['fake_tokens']:>8,} {r['input']:>7,} {r['cache_write']:>7,} {r['cache_read']:>7,} "
                      f"{r['output']:>6,} {r['cost']:>8.4f} {r['not_reviewed']:>4}"
                      + (f"  error: {r['error']}" if r["error"] else ""))
    finally:
        fake.stop()
    print("* tokens as the fake server counts the requests sent: ceil(chars / 3.5) per text + 313 tool prompt "
          "+ 3 per message (an estimate, not Anthropic's tokenizer). left = hunks not reviewed (budget).")


if __name__ == "__main__":
    main()
