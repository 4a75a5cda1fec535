"""Result cache: an unchanged hunk is not paid for twice; a moved hunk keeps its findings at the new lines."""

from __future__ import annotations

from pathlib import Path

import pytest
from llm_samples import SCHEMA_HEAD, SERVICE_HEAD, base_tree, head_tree, line_of

from bot.config import Config
from bot.findings import Source
from bot.llm import MemoryResultCache, SqliteResultCache, reviewer_from_env
from bot.pipeline import review
from bot.testing import change_from_trees

SERVICE = "src/payouts/service.ts"
AMOUNT = line_of(SCHEMA_HEAD, "amount    Float")


def _answer(body: dict) -> dict:  # type: ignore[type-arg]
    findings = []
    message = body["messages"][0]["content"]
    if "### prisma/schema.prisma" in message and "amount    Float" in message:
        shown = next(line for line in message.splitlines() if "amount    Float" in line)
        findings.append({"path": "prisma/schema.prisma", "line": int(shown.split()[0]), "severity": "warning",
                         "category": "audit", "title": "Payouts need an audit trail",
                         "body": "Record who changed a payout and when; payouts are financial records.",
                         "confidence": 0.8})
    if "### src/payouts/service.ts" in message:
        findings.append({"path": SERVICE, "line": line_of(SERVICE_HEAD, "prisma.payout.create"),
                         "severity": "warning", "category": "transactions", "title": "Not atomic",
                         "body": "Wrap both writes in `prisma.$transaction`.", "confidence": 0.9})
    return {"assessment": "Payout flow reviewed.", "findings": findings}


def _llm(result):  # type: ignore[no-untyped-def]
    return sorted((f.path, f.line, f.title, f.fingerprint) for f in result.findings if f.source is Source.LLM)


@pytest.mark.parametrize("kind", ["memory", "sqlite"])
def test_second_push_with_the_same_hunks_makes_no_call(fake_anthropic, llm_env, tmp_path: Path, kind: str) -> None:
    fake_anthropic.reply(_answer)
    change = change_from_trees(base_tree(), head_tree())
    cache = MemoryResultCache() if kind == "memory" else SqliteResultCache(tmp_path / "llm.sqlite3")
    first = review(change, Config(), llm=reviewer_from_env(Config(), llm_env, cache=cache))
    assert first.llm is not None and first.llm.calls == 1
    assert len(_llm(first)) == 2

    if kind == "sqlite":  # a new process: a new reviewer and a new connection to the same file
        cache = SqliteResultCache(tmp_path / "llm.sqlite3")
    fake_anthropic.requests.clear()
    second = review(change_from_trees(base_tree(), head_tree()), Config(),
                    llm=reviewer_from_env(Config(), llm_env, cache=cache))
    assert second.llm is not None and second.llm.calls == 0 and second.llm.cost_usd == 0
    assert fake_anthropic.requests == []  # not even count_tokens
    assert _llm(second) == _llm(first)
    assert second.llm_assessment == "Payout flow reviewed."


def test_only_changed_hunks_are_sent_and_moved_hunks_keep_their_findings(fake_anthropic, llm_env) -> None:
    fake_anthropic.reply(_answer)
    cache = MemoryResultCache()
    first = review(change_from_trees(base_tree(), head_tree()), Config(),
                   llm=reviewer_from_env(Config(), llm_env, cache=cache))
    assert first.llm is not None and first.llm.calls == 1

    # Second push: a comment line above the datasource shifts the Payout model down by one line, and the service
    # gains a line inside the changed function. The Payout hunk is unchanged (cached); the service hunk is new.
    head = head_tree()
    head["prisma/schema.prisma"] = SCHEMA_HEAD.replace("datasource db {", "// main database\ndatasource db {")
    head[SERVICE] = SERVICE_HEAD.replace("  const total =", "  // sum in cents\n  const total =")
    fake_anthropic.requests.clear()
    second = review(change_from_trees(base_tree(), head), Config(),
                    llm=reviewer_from_env(Config(), llm_env, cache=cache))
    assert second.llm is not None and second.llm.calls == 1
    message = fake_anthropic.calls()[0].body["messages"][0]["content"]
    assert "### src/payouts/service.ts" in message
    assert "amount    Float" not in message  # the cached Payout hunk was not sent again
    audit = [f for f in second.findings if f.title == "Payouts need an audit trail"]
    assert [f.line for f in audit] == [AMOUNT + 1]
    # the persona and schema blocks were read from the prompt cache written by the first push
    assert second.llm.cache_read_tokens > 0


def test_a_new_prompt_version_or_model_misses_the_cache(fake_anthropic, llm_env) -> None:
    from dataclasses import replace

    from bot.llm.prompts import load_prompts
    from bot.llm.reviewer import AnthropicReviewer

    fake_anthropic.reply(_answer)
    cache = MemoryResultCache()
    reviewer = reviewer_from_env(Config(), llm_env, cache=cache)
    assert isinstance(reviewer, AnthropicReviewer)
    review(change_from_trees(base_tree(), head_tree()), Config(), llm=reviewer)
    bumped = AnthropicReviewer(reviewer.client, cache=cache, prompts=replace(load_prompts(), version="next"))
    again = review(change_from_trees(base_tree(), head_tree()), Config(), llm=bumped)
    assert again.llm is not None and again.llm.calls == 1


def test_changed_maintainer_instructions_miss_the_cache(fake_anthropic, llm_env) -> None:
    from bot.config import parse_config

    fake_anthropic.reply(_answer)
    cache = MemoryResultCache()
    review(change_from_trees(base_tree(), head_tree()), Config(), llm=reviewer_from_env(Config(), llm_env,
                                                                                        cache=cache))
    config = parse_config("context: Payouts are reconciled nightly against the bank ledger.\n")
    again = review(change_from_trees(base_tree(), head_tree()), config,
                   llm=reviewer_from_env(config, llm_env, cache=cache))
    assert again.llm is not None and again.llm.calls == 1
