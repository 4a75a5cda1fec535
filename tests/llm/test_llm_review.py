"""The LLM review against the fake Anthropic API over real HTTP: request shape, anchoring, filtering, usage."""

from __future__ import annotations

from typing import Any

import pytest
from fakes.anthropic_server import Text, ToolInput
from llm_samples import MIGRATION_PATH, SCHEMA_HEAD, SERVICE_HEAD, base_tree, head_tree, line_of

from bot.config import Config, parse_config
from bot.findings import Finding, Severity, Source
from bot.llm import MemoryResultCache, reviewer_from_env
from bot.llm.output import TOOL_NAME
from bot.pipeline import review
from bot.testing import change_from_trees

SERVICE = "src/payouts/service.ts"
PAYOUT_CREATE = line_of(SERVICE_HEAD, "prisma.payout.create")
ORDER_UPDATE = line_of(SERVICE_HEAD, "prisma.order.updateMany")


def _transaction_finding(**overrides: Any) -> dict[str, Any]:
    finding = {
        "path": SERVICE,
        "line": PAYOUT_CREATE,
        "end_line": ORDER_UPDATE,
        "severity": "warning",
        "category": "transactions",
        "title": "Payout and order status change are not atomic",
        "body": "If the `updateMany` fails after the payout row is written, the vendor is paid twice on retry. "
                "Wrap both writes in `prisma.$transaction([...])`.",
        "confidence": 0.9,
    }
    finding.update(overrides)
    return finding


def _reviewer(env: dict[str, str], config: Config | None = None):  # type: ignore[no-untyped-def]
    reviewer = reviewer_from_env(config or Config(), env, cache=MemoryResultCache(), max_retries=2)
    assert reviewer is not None
    return reviewer


def _change(title: str = "Add vendor payouts", body: str = "Adds the payouts table and the payout job."):  # type: ignore[no-untyped-def]
    return change_from_trees(base_tree(), head_tree(), title=title, body=body)


def test_normal_review_sends_a_valid_request_and_returns_anchored_llm_findings(fake_anthropic, llm_env,
                                                                            repo_root) -> None:
    fake_anthropic.reply(lambda body: {"assessment": "The payout write path is not atomic.",
                                       "findings": [_transaction_finding()]})
    result = review(_change(), Config(), llm=_reviewer(llm_env))

    llm_findings = [f for f in result.findings if f.source is Source.LLM]
    assert len(llm_findings) == 1
    finding = llm_findings[0]
    assert (finding.rule, finding.path, finding.line, finding.end_line) == (
        "llm/transactions", SERVICE, PAYOUT_CREATE, ORDER_UPDATE)
    assert finding.severity is Severity.WARNING
    assert finding.title == "Payout and order status change are not atomic"
    assert "`prisma.$transaction([...])`" in finding.message
    assert finding.fingerprint
    assert result.llm is not None and result.llm.error is None
    assert result.llm.calls == 1
    assert result.llm.prompt_version.startswith((repo_root / "prompts" / "VERSION").read_text().strip())
    assert result.llm.input_tokens > 0 and result.llm.output_tokens > 0
    assert result.llm.cache_write_tokens > 0  # persona + schema context written to the prompt cache
    u = result.llm
    expected = (u.input_tokens * 3 + u.cache_write_tokens * 3.75 + u.cache_read_tokens * 0.3 + u.output_tokens * 15)
    assert u.cost_usd == pytest.approx(expected / 1e6)  # claude-sonnet-4-5 list prices per million tokens
    assert result.llm_assessment == "The payout write path is not atomic."
    assert result.to_dict()["summary"]["llm"]["calls"] == 1

    sent = fake_anthropic.calls()[0].body
    assert sent["tool_choice"] == {"type": "tool", "name": TOOL_NAME}
    assert [t["name"] for t in sent["tools"]] == [TOOL_NAME]
    assert all(block["cache_control"] == {"type": "ephemeral"} for block in sent["system"])
    fixed = sent["system"][0]["text"]
    assert "the most experienced PostgreSQL person on the team" in fixed
    # the rule catalogue sits in the cached block: ids and one-line summaries of every rule
    assert "- prisma/float-money: Monetary amount stored as Float" in fixed
    assert "- query/n-plus-one: " in fixed
    schema_block = sent["system"][1]["text"]
    assert "model Payout {" in schema_block  # touched
    assert "model Vendor {" in schema_block  # related (Payout.vendor)
    assert "model Order {" in schema_block  # touched by the query hunk (prisma.order.*)
    assert "model Customer {" not in schema_block  # unrelated
    message = sent["messages"][0]["content"]
    assert f"{PAYOUT_CREATE:>6} +   await prisma.payout.create" in message  # new-file numbers beside each line
    assert "src/ui/greeting.ts" not in message  # not database-relevant
    assert MIGRATION_PATH in message
    # a change this small is far below the context window: no count_tokens round trip (defect 8: a 429 there used
    # to end the LLM review), and no sampling parameter (the API refuses them since 2026-10-21)
    assert fake_anthropic.calls("/v1/messages/count_tokens") == []
    assert not {"temperature", "top_p", "top_k"} & set(sent)


def test_rule_findings_are_given_to_the_model_and_repeats_are_dropped(fake_anthropic, llm_env) -> None:
    amount = line_of(SCHEMA_HEAD, "amount    Float")
    rule = Finding(rule="prisma/float-money", severity=Severity.WARNING, path="prisma/schema.prisma", line=amount,
                   message="Payout.amount stores money as Float: use Int cents or Decimal.")
    fake_anthropic.reply(lambda body: {"assessment": "ok", "findings": [
        {"path": "prisma/schema.prisma", "line": amount, "severity": "warning", "category": "data-types",
         "title": "Money as Float", "body": "Payout amount stores money as a Float; use Int cents.",
         "confidence": 0.95},
        {"path": "prisma/schema.prisma", "line": amount, "severity": "info", "category": "data-types",
         "title": "Restating the rule", "body": "As the rule says.", "confidence": 0.9,
         "same_as_rule": "prisma/float-money"},
        _transaction_finding(),
    ]})
    reviewer = _reviewer(llm_env)
    change = _change()
    ctx = _ctx(change)
    result = reviewer.review(ctx, [rule])
    assert [f.rule for f in result.findings] == ["llm/transactions"]
    message = fake_anthropic.calls()[0].body["messages"][0]["content"]
    assert f"- prisma/float-money (warning) prisma/schema.prisma:{amount}: " in message


def test_a_cited_line_outside_the_diff_goes_to_the_summary_not_inline(fake_anthropic, llm_env) -> None:
    fake_anthropic.reply(lambda body: {"assessment": "ok", "findings": [
        _transaction_finding(line=1, end_line=None, title="Import path is unusual"),  # line 1 is not in any hunk
        _transaction_finding(path="src/somewhere/else.ts", line=3, title="A file not in the change"),
        _transaction_finding(),
    ]})
    result = _reviewer(llm_env).review(_ctx(_change()), [])
    assert [(f.path, f.line) for f in result.findings] == [(SERVICE, PAYOUT_CREATE)]
    assert any(f"{SERVICE}:1, outside the lines it was shown: Import path is unusual" in n for n in result.notes)
    assert not any("else.ts" in n for n in result.notes)


def test_low_confidence_and_over_the_limit_findings_are_dropped(fake_anthropic, llm_env) -> None:
    config = parse_config("llm:\n  max_findings: 1\n  min_confidence: 0.7\n")
    status_line = line_of(SCHEMA_HEAD, "  status    String")
    fake_anthropic.reply(lambda body: {"assessment": "ok", "findings": [
        _transaction_finding(confidence=0.5, title="Unsure"),
        _transaction_finding(line=ORDER_UPDATE, end_line=None, severity="error", title="Double payout",
                             confidence=0.8),
        {"path": "prisma/schema.prisma", "line": status_line, "severity": "info", "category": "schema-design",
         "title": "Status as free text", "body": "Use an enum for `status`.", "confidence": 0.9},
    ]})
    ctx = _ctx(_change(), config)
    result = _reviewer(llm_env, config).review(ctx, [])
    assert [f.title for f in result.findings] == ["Double payout"]  # error outranks info; 0.5 dropped
    assert any("1 more LLM findings not shown" in n for n in result.notes)


def test_malformed_tool_output_is_retried_once_then_reported_as_not_reviewed(fake_anthropic, llm_env) -> None:
    fake_anthropic.push(ToolInput("not an object"), Text("I think this PR is fine."))
    result = _reviewer(llm_env).review(_ctx(_change()), [])
    assert result.findings == []
    assert result.usage.calls == 2
    assert result.usage.not_reviewed and all("output contract" in item for item in result.usage.not_reviewed)


def test_invalid_items_are_dropped_and_valid_ones_kept(fake_anthropic, llm_env) -> None:
    fake_anthropic.push(ToolInput({"assessment": 42, "findings": [
        {"path": SERVICE, "line": "ten"},
        {"title": "no path"},
        _transaction_finding(confidence=3),
        _transaction_finding(),
    ], "event": "APPROVE"}))
    result = _reviewer(llm_env).review(_ctx(_change()), [])
    assert len(result.findings) == 1
    assert result.assessment == ""
    assert any("3 LLM findings did not match the output contract" in n for n in result.notes)


def test_model_suggestion_is_kept_only_inside_one_hunk(fake_anthropic, llm_env) -> None:
    amount = line_of(SCHEMA_HEAD, "amount    Float")
    fake_anthropic.reply(lambda body: {"assessment": "ok", "findings": [
        {"path": "prisma/schema.prisma", "line": amount, "severity": "warning", "category": "data-types",
         "title": "Money as float", "body": "Use integer cents.", "confidence": 0.9,
         "suggestion": "  amountCents Int"},
    ]})
    result = _reviewer(llm_env).review(_ctx(_change()), [])
    assert result.findings[0].suggestion is not None
    assert result.findings[0].suggestion.replacement == "  amountCents Int"


def test_no_database_hunks_means_no_call(fake_anthropic, llm_env) -> None:
    change = change_from_trees({"src/a.ts": "export const a = 1\n", "prisma/schema.prisma": SCHEMA_HEAD},
                               {"src/a.ts": "export const a = 2\n", "prisma/schema.prisma": SCHEMA_HEAD})
    result = _reviewer(llm_env).review(_ctx(change), [])
    assert result.usage.calls == 0 and fake_anthropic.requests == []


def test_factory_returns_none_without_a_key_or_when_disabled(llm_env) -> None:
    from bot.llm import DETERMINISTIC_ONLY_NOTE, llm_off_note

    assert reviewer_from_env(Config(), {}) is None
    assert llm_off_note(Config(), {}) == DETERMINISTIC_ONLY_NOTE
    disabled = parse_config("llm:\n  enabled: false\n")
    assert reviewer_from_env(disabled, llm_env) is None
    assert llm_off_note(disabled, llm_env) is not None
    assert llm_off_note(Config(), llm_env) is None


def test_config_context_and_path_instructions_reach_the_system_prompt(fake_anthropic, llm_env) -> None:
    config = parse_config(
        "context: Payouts hold 40M rows; money is always integer cents.\n"
        "path_instructions:\n"
        "  - path: 'src/payouts/**'\n"
        "    instructions: Every payout write must be idempotent on (vendorId, period).\n"
        "  - path: 'src/billing/**'\n"
        "    instructions: Not relevant here.\n"
    )
    _reviewer(llm_env, config).review(_ctx(_change(), config), [])
    system = fake_anthropic.calls()[0].body["system"][1]["text"]
    assert "Payouts hold 40M rows" in system
    assert "idempotent on (vendorId, period)" in system
    assert "Not relevant here" not in system


def _ctx(change, config: Config | None = None):  # type: ignore[no-untyped-def]
    from bot.context import ReviewContext
    from bot.surfaces import classify

    config = config or Config()
    return ReviewContext(change=change, config=config, surfaces=classify(change, config))


@pytest.fixture(autouse=True)
def _rules_loaded() -> None:
    from bot.registry import all_rules

    all_rules()


def test_no_retry_for_a_broken_answer_when_the_budget_has_no_room(fake_anthropic, llm_env) -> None:
    # one worst-case call is about $0.15 (8,192 output tokens at $15/M), so a repeat would not fit
    config = parse_config("llm:\n  max_cost_usd_per_review: 0.2\n")
    fake_anthropic.push(Text("no tool call"), Text("no tool call"))
    result = _reviewer(llm_env, config).review(_ctx(_change(), config), [])
    assert result.usage.calls == 1
    assert result.usage.not_reviewed
