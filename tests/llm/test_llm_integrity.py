"""Issue #15: the LLM review never loses or corrupts a finding. Each test talks to the fake Anthropic API over HTTP
and failed before its fix (the defect number is in the test name's docstring)."""

from __future__ import annotations

import time
from typing import Any

import pytest
from fakes.anthropic_server import Failure, ToolInput, realistic_answer
from llm_samples import MIGRATION_PATH, SCHEMA_BASE, SCHEMA_HEAD, SERVICE_HEAD, base_tree, head_tree, line_of

from bot.change import ReviewComment
from bot.config import Config, parse_config
from bot.context import ReviewContext
from bot.findings import Finding, Severity, Side, Source
from bot.llm import MemoryResultCache, reviewer_from_env
from bot.pipeline import review
from bot.surfaces import classify
from bot.testing import change_from_trees

SERVICE = "src/payouts/service.ts"
SCHEMA = "prisma/schema.prisma"
PAYOUT_CREATE = line_of(SERVICE_HEAD, "prisma.payout.create")
ORDER_UPDATE = line_of(SERVICE_HEAD, "prisma.order.updateMany")
AMOUNT = line_of(SCHEMA_HEAD, "amount    Float")


@pytest.fixture(autouse=True)
def _rules_loaded() -> None:
    from bot.registry import all_rules

    all_rules()


def _ctx(change: Any, config: Config | None = None) -> ReviewContext:
    config = config or Config()
    return ReviewContext(change=change, config=config, surfaces=classify(change, config))


def _reviewer(env: dict[str, str], cache: MemoryResultCache | None = None, config: Config | None = None):  # type: ignore[no-untyped-def]
    return reviewer_from_env(config or Config(), env, cache=cache if cache is not None else MemoryResultCache(),
                             max_retries=1)


def _finding(**overrides: Any) -> dict[str, Any]:
    item = {"path": SERVICE, "line": PAYOUT_CREATE, "end_line": ORDER_UPDATE, "severity": "warning",
            "category": "transactions", "title": "Payout and order update are not atomic",
            "body": "A retry after the payout is written pays the vendor twice. Use one `prisma.$transaction`.",
            "confidence": 0.9}
    item.update(overrides)
    return item


def _huge_answer(count: int = 30) -> dict[str, Any]:
    return {"assessment": "Many problems.", "findings": [
        _finding(title=f"Remark {i}", body="x " * 1000) for i in range(count)]}


def _messages(fake) -> list[str]:  # type: ignore[no-untyped-def]
    return [c.body["messages"][0]["content"] for c in fake.calls()]


# -- 1. a cut-off answer is a failure, never a clean review ------------------------------------------------------


def test_a_cut_off_answer_is_split_and_retried_never_cached_as_clean(fake_anthropic, llm_env) -> None:
    """Defect 1: the answer cut at max_tokens used to be taken as the whole review (and cached for 30 days)."""
    fake_anthropic.push(ToolInput(_huge_answer()))  # longer than max_tokens: the fake cuts it as the API does
    fake_anthropic.reply(lambda body: {"assessment": "ok", "findings": [_finding()]
                                       if f"### {SERVICE}" in body["messages"][0]["content"] else []})
    cache = MemoryResultCache()
    result = _reviewer(llm_env, cache).review(_ctx(change_from_trees(base_tree(), head_tree())), [])

    sent = fake_anthropic.calls()
    assert len(sent) == 3  # the cut call, then its hunks again in two smaller calls
    hunks = [m.count("\n### ") for m in _messages(fake_anthropic)]
    assert hunks[1] + hunks[2] == hunks[0]
    assert [f.title for f in result.findings] == ["Payout and order update are not atomic"]
    assert not any(f.title.startswith("Remark") for f in result.findings)  # nothing from the cut answer survives
    assert any("cut off at the output limit" in n and "nothing was lost" in n for n in result.notes)
    assert result.usage.not_reviewed == []
    # the cache holds only the complete answers: a new review replays them without a call
    fake_anthropic.requests.clear()
    again = _reviewer(llm_env, cache).review(_ctx(change_from_trees(base_tree(), head_tree())), [])
    assert fake_anthropic.calls() == [] and [f.title for f in again.findings] == [f.title for f in result.findings]


def test_a_single_hunk_cut_twice_is_listed_not_reviewed_and_not_cached(fake_anthropic, llm_env) -> None:
    """Defect 1: one hunk whose answer is cut gets more output room once; cut again, it is reported, not cached."""
    head = head_tree()
    del head[MIGRATION_PATH]
    head[SCHEMA] = SCHEMA_BASE
    fake_anthropic.reply(lambda body: _huge_answer(200))
    cache = MemoryResultCache()
    result = _reviewer(llm_env, cache).review(_ctx(change_from_trees(base_tree(), head)), [])
    sent = fake_anthropic.calls()
    assert [c.body["max_tokens"] for c in sent] == [8192, 16384]
    assert result.findings == []
    assert result.usage.not_reviewed == [f"{SERVICE} lines 3-12 (the model's answer was cut off at the output limit)"]
    assert any("1 of them not reviewed" in n for n in result.notes)
    assert len(cache) == 0


def test_an_answer_without_findings_is_not_an_empty_review(fake_anthropic, llm_env) -> None:
    """Defect 1: a missing required field used to become an empty list of findings."""
    fake_anthropic.reply(lambda body: {"assessment": "Looks fine."})
    cache = MemoryResultCache()
    result = _reviewer(llm_env, cache).review(_ctx(change_from_trees(base_tree(), head_tree())), [])
    assert result.usage.calls == 2  # retried once
    assert result.usage.not_reviewed and all("output contract" in u for u in result.usage.not_reviewed)
    assert len(cache) == 0


def test_the_body_of_a_finding_is_capped_and_the_output_room_fits_twenty() -> None:
    """Defect 1: 4,096 output tokens could not hold 20 findings of 2,000 characters."""
    from bot.llm.output import MAX_BODY, MAX_FINDINGS_PER_CALL, LlmFindingOut, tool_definition

    assert MAX_BODY == 600
    assert tool_definition()["input_schema"]["properties"]["findings"]["items"]["properties"]["body"][
        "maxLength"] == 600
    assert len(LlmFindingOut.model_validate(_finding(body="y" * 5000)).body) == 600
    worst = MAX_FINDINGS_PER_CALL * (MAX_BODY + 120 + 300) / 3.5  # body, title, the other fields as JSON
    assert Config().llm.max_output_tokens >= worst


# -- 2. a finding that builds on a rule finding is kept; what is dropped is reported -----------------------------


def test_a_remark_that_builds_on_a_rule_is_kept_and_a_repeat_is_reported(fake_anthropic, llm_env) -> None:
    """Defect 2: `same_as_rule` findings were all dropped, silently."""
    rule = Finding(rule="prisma/float-money", severity=Severity.WARNING, path=SCHEMA, line=AMOUNT,
                   message="`Payout.amount` looks like a monetary amount but is `Float`: use integer cents.",
                   fingerprint="f00d")
    fake_anthropic.reply(lambda body: {"assessment": "ok", "findings": [
        {"path": SCHEMA, "line": AMOUNT, "severity": "warning", "category": "data-types",
         "title": "Float amount is summed across every delivered order",
         "body": "`payVendor` adds thousands of `totalCents` into this column after dividing by 100: rounding error "
                 "accumulates per vendor per run, so reconciliation against Stripe drifts by cents every week.",
         "confidence": 0.85, "same_as_rule": "prisma/float-money"},
        {"path": SCHEMA, "line": AMOUNT, "severity": "warning", "category": "data-types",
         "title": "Monetary amount as Float", "body": "`Payout.amount` is a monetary amount stored as `Float`; use "
         "integer cents.", "confidence": 0.9, "same_as_rule": "prisma/float-money"},
    ]})
    result = _reviewer(llm_env).review(_ctx(change_from_trees(base_tree(), head_tree())), [rule])
    assert [f.title for f in result.findings] == ["Float amount is summed across every delivered order"]
    kept = result.findings[0]
    assert kept.extra["builds_on"] == {"rule": "prisma/float-money", "fingerprint": "f00d"}
    assert kept.message.startswith("Builds on `prisma/float-money`: ")
    assert "AI review remarks dropped: 1 repeating rule findings (`prisma/float-money`)" in result.notes


# -- 3. the cache key covers what the model saw; the assessment is built anew -----------------------------------


def test_a_new_index_re_reviews_the_query_that_needed_it_and_the_old_assessment_is_gone(fake_anthropic,
                                                                                        llm_env) -> None:
    """Defect 3: the query hunk was replayed from cache after the schema gained its index, and the summary carried
    both the old and the new assessment."""
    def first(body: dict[str, Any]) -> dict[str, Any]:
        return {"assessment": "The payout listing is unindexed.", "findings": []}

    def second(body: dict[str, Any]) -> dict[str, Any]:
        return {"assessment": "The new index covers the payout listing.", "findings": []}

    cache = MemoryResultCache()
    fake_anthropic.reply(first)
    review(change_from_trees(base_tree(), head_tree()), Config(), llm=_reviewer(llm_env, cache))
    head = head_tree()
    head[SCHEMA] = SCHEMA_HEAD.replace("  createdAt DateTime @default(now())\n}\n",
                                       "  createdAt DateTime @default(now())\n\n  @@index([vendorId, status])\n}\n")
    fake_anthropic.requests.clear()
    fake_anthropic.reply(second)
    result = review(change_from_trees(base_tree(), head), Config(), llm=_reviewer(llm_env, cache))
    message = _messages(fake_anthropic)[0]
    assert f"### {SERVICE}" in message  # the query on Payout depends on Payout's indexes: not replayed
    assert result.llm_assessment == "The new index covers the payout listing."


def test_an_unchanged_review_replays_its_own_assessment_only(fake_anthropic, llm_env) -> None:
    """Defect 3: the assessment was stored on every hunk and replayed piecewise."""
    cache = MemoryResultCache()
    fake_anthropic.reply(lambda body: {"assessment": "One write path is not atomic.", "findings": [_finding()]})
    review(change_from_trees(base_tree(), head_tree()), Config(), llm=_reviewer(llm_env, cache))
    fake_anthropic.requests.clear()
    again = review(change_from_trees(base_tree(), head_tree()), Config(), llm=_reviewer(llm_env, cache))
    assert fake_anthropic.requests == [] and again.llm_assessment == "One write path is not atomic."
    # no stored assessment for this set of hunk inputs (the earlier review was partial): no call, and no stale
    # assessment, but a plain account of the remarks that stand
    for key in [k for k in cache._data if k.startswith("assessment:")]:
        del cache._data[key]
    third = review(change_from_trees(base_tree(), head_tree()), Config(), llm=_reviewer(llm_env, cache))
    assert fake_anthropic.requests == []
    assert third.llm_assessment.startswith("The AI review's remarks on unchanged hunks stand: ")


# -- 4. a later push tells the model what it reviewed before; a call carries only its own context ---------------


def test_a_second_push_lists_what_was_reviewed_before_and_sends_only_its_own_locks(fake_anthropic,
                                                                                    llm_env) -> None:
    """Defect 4: the model saw part of the change without being told, and got lock rows of files not in the call."""
    cache = MemoryResultCache()
    fake_anthropic.reply(lambda body: {"assessment": "ok", "findings": [_finding()]
                                       if f"### {SERVICE}" in body["messages"][0]["content"] else []})
    review(change_from_trees(base_tree(), head_tree()), Config(), llm=_reviewer(llm_env, cache))
    first_message = _messages(fake_anthropic)[0]
    assert "# Locks the migration statements in these hunks take" in first_message
    head = head_tree()
    head[SERVICE] = SERVICE_HEAD.replace("  const total =", "  // cents\n  const total =")
    fake_anthropic.requests.clear()
    review(change_from_trees(base_tree(), head), Config(), llm=_reviewer(llm_env, cache))
    message = _messages(fake_anthropic)[0]
    assert "# Hunks of this change you reviewed on an earlier push" in message
    assert f"- {MIGRATION_PATH} lines 1-" in message and ": no remarks" in message
    assert "# Locks the migration statements" not in message  # the migration is not in this call
    assert f"### {SERVICE}" in message and f"### {MIGRATION_PATH}" not in message


def test_each_call_of_a_split_review_names_the_hunks_of_the_other_calls(fake_anthropic, llm_env) -> None:
    """Defect 4: a split was never announced (the `part` argument was never passed)."""
    fake_anthropic.context_windows[Config().llm.model] = 24_000
    head = head_tree()
    for i in range(10):
        head[f"src/jobs/job{i}.ts"] = "import { prisma } from '@/lib/prisma'\nexport async function job() {\n" + \
            "\n".join(f"  await prisma.order.findMany({{ where: {{ status: 's{j}' }}, take: {j + 1}, "
                      f"select: {{ id: true, totalCents: true, vendorId: true }} }})" for j in range(40)) + "\n}\n"
    result = _reviewer(llm_env).review(_ctx(change_from_trees(base_tree(), head)), [])
    messages = _messages(fake_anthropic)
    assert len(messages) >= 2 and result.usage.not_reviewed == []
    for message in messages:
        assert "# The rest of this change" in message
    assert "src/jobs/job9.ts lines" in messages[0] or "src/jobs/job9.ts lines" in messages[1]


# -- 5. rule findings: compact, counted when cut, chosen by relevance -------------------------------------------


def test_rule_findings_are_compact_counted_and_follow_their_subject_across_files(fake_anthropic, llm_env) -> None:
    """Defect 5: 400 characters each, cut mid-word, stopping at 60 without a word; only same-file findings."""
    base = base_tree()
    base[SCHEMA] = SCHEMA_HEAD  # the schema is already there: the change is the migration only
    head = dict(base)
    head[MIGRATION_PATH] = head_tree()[MIGRATION_PATH]
    amount_rule = Finding(rule="prisma/float-money", severity=Severity.WARNING, path=SCHEMA, line=AMOUNT,
                          message="`Payout.amount` looks like a monetary amount but is `Float` " + "word " * 100)
    noise = [Finding(rule="migration/missing-lock-timeout", severity=Severity.WARNING, path=MIGRATION_PATH,
                     line=2 + i % 10, message=f"`statement {i}` waits for a lock " + "long text " * 60)
             for i in range(70)]
    unrelated = Finding(rule="prisma/float-money", severity=Severity.WARNING, path="prisma/other.prisma", line=3,
                        message="`Invoice.total` is a Float")
    _reviewer(llm_env).review(_ctx(change_from_trees(base, head)), [amount_rule, *noise, unrelated])
    message = _messages(fake_anthropic)[0]
    section = message.split("# Rule findings already reported on or about these hunks (do not repeat them)\n")[1]
    listed = [ln for ln in section.split("\n\n")[0].splitlines() if ln.startswith("- ")]
    assert len(listed) == 40
    assert "(31 more rule findings about these hunks left out for size)" in section
    assert all(len(ln) < 200 for ln in listed)
    assert "long text" not in section  # the subject, not the message
    # the schema rule about Payout.amount explains the migration's "amount" column: it belongs with it
    assert f"- prisma/float-money (warning) {SCHEMA}:{AMOUNT}: `Payout.amount`" in message
    assert "Invoice.total" not in message


# -- 6. LLM findings land on changed lines; older problems are listed as already there ---------------------------


def test_remarks_on_unchanged_lines_are_preexisting_and_ranges_anchor_on_added_lines(fake_anthropic,
                                                                                     llm_env) -> None:
    """Defect 6: context lines counted as commentable, so a remark on old code became an inline comment."""
    old_line = line_of(SERVICE_HEAD, "return prisma.order.findMany({ where: { vendorId } })")
    orders = line_of(SERVICE_HEAD, "const orders = await")
    signature = line_of(SERVICE_HEAD, "export async function payVendor")
    fake_anthropic.reply(lambda body: {"assessment": "ok", "findings": [
        _finding(line=old_line, end_line=None, title="listOrders is unbounded", category="query-performance"),
        _finding(line=signature - 2, end_line=orders, title="Range starting on an old line"),
    ]})
    base = base_tree()
    head = head_tree()
    result = review(change_from_trees(base, head), Config(), llm=_reviewer(llm_env))
    llm = [f for f in result.findings if f.source is Source.LLM]
    assert [(f.title, f.line) for f in llm] == [("Range starting on an old line", signature)]
    old = [f for f in result.preexisting if f.source is Source.LLM]
    assert [(f.title, f.line, f.preexisting) for f in old] == [("listOrders is unbounded", old_line, True)]
    assert result.to_dict()["preexisting"][0]["preexisting"] is True


def test_a_remark_on_a_removed_line_is_anchored_on_the_old_side(fake_anthropic, llm_env) -> None:
    """Defect 6: removed lines had no number, so a remark about a dropped index could not be placed on it."""
    schema = SCHEMA_BASE
    head = base_tree()
    head[SCHEMA] = schema.replace("\n  @@index([vendorId])\n", "\n")
    old_no = line_of(schema, "@@index([vendorId])")
    fake_anthropic.reply(lambda body: {"assessment": "ok", "findings": [
        {"path": SCHEMA, "side": "old", "line": old_no, "severity": "warning", "category": "indexing",
         "title": "Dropping the vendorId index slows vendor order listings", "body": "`listOrders` filters on it.",
         "confidence": 0.9}]})
    result = _reviewer(llm_env).review(_ctx(change_from_trees(base_tree(), head)), [])
    assert [(f.side, f.line) for f in result.findings] == [(Side.OLD, old_no)]
    assert f"{'(' + str(old_no) + ')':>6} -   @@index([vendorId])" in _messages(fake_anthropic)[0]


# -- 7. one remark, one comment: stable identity, earlier comments shown ---------------------------------------


def test_a_reworded_remark_keeps_its_identity_and_earlier_comments_reach_the_model(fake_anthropic,
                                                                                    llm_env) -> None:
    """Defect 7: the comment identity came from the title's words, and the model never saw its earlier comments."""
    fake_anthropic.reply(lambda body: {"assessment": "ok", "findings": [_finding()]})
    first = review(change_from_trees(base_tree(), head_tree()), Config(), llm=_reviewer(llm_env))
    fake_anthropic.reply(lambda body: {"assessment": "ok", "findings": [
        _finding(title="The payout write and the order update can diverge")]})
    change = change_from_trees(base_tree(), head_tree())
    change.review_comments = [ReviewComment(
        path=SERVICE, line=PAYOUT_CREATE, side="RIGHT", rule="llm/transactions",
        body="**Payout and order update are not atomic**\n\nA retry pays twice.",
        replies=(("alice", "The job holds an advisory lock, so two runs cannot overlap."),))]
    second = review(change, Config(), llm=_reviewer(llm_env))
    fp = [f.fingerprint for f in first.findings if f.source is Source.LLM]
    assert fp and fp == [f.fingerprint for f in second.findings if f.source is Source.LLM]
    message = _messages(fake_anthropic)[-1]
    assert "<untrusted-comments nonce=" in message
    assert "reply from alice: The job holds an advisory lock" in message
    assert not {"temperature", "top_p", "top_k"} & set(fake_anthropic.calls()[-1].body)


def test_the_github_front_door_reads_our_ai_comments_and_the_replies(tmp_path) -> None:  # type: ignore[no-untyped-def]
    """Defect 7: earlier bot comments and the author's replies were never read (bot/github/pr.py)."""
    import sys
    from pathlib import Path

    sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "github"))
    from fakes.github_server import FakeGitHub, RunningServer
    from gh_support import BOT_TOKEN, HUMAN_TOKEN, Env, Sleeps
    from gh_trees import BASE, PUSH1

    from bot.github.pr import ai_review_comments

    fake = FakeGitHub()
    fake.add_token(BOT_TOKEN, "github-actions[bot]", type="Bot")
    fake.add_token(HUMAN_TOKEN, "bob")
    server = RunningServer(fake).start()
    try:
        env = Env(fake, server, Sleeps())
        fake.open_pr("acme/shop", BASE, PUSH1)
        pr = fake.repos["acme/shop"].pulls[1]
        changed = next(f for f in change_from_trees(BASE, PUSH1).files if f.path.endswith(".prisma"))
        path, (first, second) = changed.path, sorted(changed.added_lines)[:2]
        bot = env.client(BOT_TOKEN)
        marker = "<!-- dbreview:fp=abcd1234abcd1234 -->"
        review_body = {"commit_id": pr.head_sha, "event": "COMMENT", "body": "dbreview", "comments": [
            {"path": path, "line": first, "side": "RIGHT",
             "body": f"⚠️ **warning** · `llm/transactions` · AI review (confidence 90%)\n\n**Not atomic**\n\n"
                     f"Not atomic\n\nWrap it.\n\n{marker}"},
            {"path": path, "line": second, "side": "RIGHT",
             "body": f"⚠️ **warning** · `prisma/float-money`\n\nA rule.\n\n{marker.replace('abcd', 'ffff')}"}]}
        bot.create_review("acme/shop", 1, review_body)
        ours = next(c for c in fake.review_comments.values() if "llm/transactions" in c["body"])
        fake.reply(ours["id"], "bob", "Not a problem: this runs under an advisory lock.")
        found = ai_review_comments(bot, "acme/shop", 1)
    finally:
        server.stop()
    assert [(c.path, c.line, c.rule) for c in found] == [(path, first, "llm/transactions")]
    assert found[0].body == "**Not atomic**\n\nWrap it."  # the title once, no marker
    assert found[0].replies == (("bob", "Not a problem: this runs under an advisory lock."),)


# -- 8. the LLM step has a deadline; small requests skip count_tokens --------------------------------------------


def test_the_llm_step_stops_at_its_deadline_and_the_rule_review_is_complete(fake_anthropic, llm_env) -> None:
    """Defect 8: five attempts of 120 s per request could stall a review for half an hour."""
    config = parse_config("llm:\n  deadline_s: 2\n")
    fake_anthropic.outage = Failure(529, retry_after=0.6)
    fake_anthropic.latency = 0.3
    reviewer = reviewer_from_env(config, llm_env, cache=MemoryResultCache(), max_retries=20)
    started = time.monotonic()
    result = review(change_from_trees(base_tree(), head_tree()), config, llm=reviewer)
    elapsed = time.monotonic() - started
    assert elapsed < 4.5  # 20 retries with 0.6 s waits and 0.3 s answers would take 18 s
    assert result.llm is not None and result.llm.error is not None
    assert "time limit (llm.deadline_s = 2 s)" in result.llm.error, result.llm.error
    assert result.llm.not_reviewed
    assert any(f.source is Source.RULE for f in result.findings)


def test_a_rate_limited_count_tokens_no_longer_ends_the_review(fake_anthropic, llm_env) -> None:
    """Defect 8: a 429 on count_tokens ended the LLM review; now small requests are not counted remotely, and a
    large one whose count is rate limited falls back to the local estimate."""
    fake_anthropic.count_script.extend([Failure(429)] * 10)
    result = _reviewer(llm_env).review(_ctx(change_from_trees(base_tree(), head_tree())), [])
    assert result.usage.error is None and result.usage.calls == 1
    assert fake_anthropic.calls("/v1/messages/count_tokens") == []
    fake_anthropic.requests.clear()
    fake_anthropic.context_windows[Config().llm.model] = 30_000  # now the request is close to the limit
    result = _reviewer(llm_env).review(_ctx(change_from_trees(base_tree(), head_tree())), [])
    assert fake_anthropic.calls("/v1/messages/count_tokens")  # asked, refused (429) ...
    assert result.usage.error is None and result.usage.calls == 1  # ... and the review went on


# -- context the model needs ------------------------------------------------------------------------------------


def test_the_model_gets_versions_sizes_history_dropped_column_uses_and_enclosing_functions(fake_anthropic,
                                                                                          llm_env) -> None:
    import json

    base = base_tree()
    base["package-lock.json"] = json.dumps({"packages": {"node_modules/prisma": {"version": "6.2.1"}}})
    base["dbreview-stats.json"] = json.dumps({"version": 1, "server_version": 160004, "tables": {
        "Order": {"rows": 48_000_000, "bytes": 9_000_000_000}, "Vendor": {"rows": 1200, "bytes": 200_000}}})
    base["prisma/migrations/20261001000000_order_status/migration.sql"] = \
        'ALTER TABLE "Order" ADD COLUMN "status" TEXT;\n'
    base["prisma/migrations/20261002000000_customer/migration.sql"] = 'ALTER TABLE "Customer" ADD COLUMN "x" TEXT;\n'
    base["src/reports/totals.ts"] = ("import { prisma } from '@/lib/prisma'\nexport async function totals() {\n"
                                     "  return prisma.order.findMany({ select: { totalCents: true } })\n}\n")
    head = {**head_tree(), **{k: v for k, v in base.items() if k not in base_tree()}}
    head[SCHEMA] = SCHEMA_HEAD.replace("  totalCents Int\n", "  amountCents Int\n")
    head[MIGRATION_PATH] += 'ALTER TABLE "Order" RENAME COLUMN "totalCents" TO "amountCents";\n'
    result = review(change_from_trees(base, head), Config(), llm=_reviewer(llm_env))
    assert result.llm is not None and result.llm.calls == 1
    body = fake_anthropic.calls()[0].body
    system = body["system"][1]["text"]
    assert "database provider `postgresql`" in system
    assert "Prisma 6.2.1" in system and "PostgreSQL 16.4" in system
    assert "- `Order`: about 48,000,000 rows, 8.4 GB" in system
    assert "- 20261001000000_order_status: add_column Order.status" in system
    assert "20261002000000_customer" not in system  # another table
    message = body["messages"][0]["content"]
    assert "# Code that still uses what this change drops or renames" in message
    assert "- src/reports/totals.ts:3: " in message
    assert f"### {SERVICE} (query, modified file) hunk 1, in function `payVendor` (lines " in message
    assert "### prisma/schema.prisma (schema, modified file) hunk" in message and "in model `Payout`" in message


def test_realistic_answers_have_realistic_sizes(fake_anthropic, llm_env) -> None:
    fake_anthropic.reply(realistic_answer)
    result = review(change_from_trees(base_tree(), head_tree()), Config(), llm=_reviewer(llm_env))
    assert result.llm is not None and result.llm.output_tokens > 300
    assert all(len(f.message) > 400 for f in result.findings if f.source is Source.LLM)
