"""Rate limits, overload and outages: the SDK retries; when it gives up, the deterministic review still comes out."""

from __future__ import annotations

from fakes.anthropic_server import Failure
from llm_samples import base_tree, head_tree

from bot.config import Config
from bot.findings import Source
from bot.llm import MemoryResultCache, reviewer_from_env
from bot.pipeline import review
from bot.report.summary import render_summary
from bot.testing import change_from_trees


def _change():  # type: ignore[no-untyped-def]
    return change_from_trees(base_tree(), head_tree(), title="Add payouts")


def test_transient_429_and_529_are_retried_with_retry_after(fake_anthropic, llm_env) -> None:
    fake_anthropic.push(Failure(529), Failure(429))
    reviewer = reviewer_from_env(Config(), llm_env, cache=MemoryResultCache(), max_retries=2)
    result = review(_change(), Config(), llm=reviewer)
    assert result.llm is not None and result.llm.error is None
    assert result.llm.calls == 1
    attempts = fake_anthropic.calls()
    assert len(attempts) == 3
    assert attempts[-1].headers.get("x-stainless-retry-count") == "2"


def test_an_outage_still_produces_the_deterministic_review(fake_anthropic, llm_env) -> None:
    deterministic = review(_change(), Config())
    fake_anthropic.outage = Failure(529)
    reviewer = reviewer_from_env(Config(), llm_env, cache=MemoryResultCache(), max_retries=2)
    result = review(_change(), Config(), llm=reviewer)

    assert result.llm is not None
    assert result.llm.error == "Anthropic API overloaded (HTTP 529) after retries"
    assert result.llm.calls == 0
    assert [f.fingerprint for f in result.findings] == [f.fingerprint for f in deterministic.findings]
    assert all(f.source is Source.RULE for f in result.findings)
    assert "failed (Anthropic API overloaded" in render_summary(result)  # the summary footer says so
    assert result.llm.not_reviewed  # every database hunk is listed: the partial review is not silent
    assert len(fake_anthropic.requests) == 3  # one request + 2 SDK retries, then it gave up


def test_rate_limit_during_the_review_keeps_earlier_results_and_lists_the_rest(fake_anthropic, llm_env) -> None:
    fake_anthropic.outage = Failure(429)
    reviewer = reviewer_from_env(Config(), llm_env, cache=MemoryResultCache(), max_retries=1)
    result = review(_change(), Config(), llm=reviewer)
    assert result.llm is not None and result.llm.error is not None and "rate limited (HTTP 429)" in result.llm.error
    assert result.to_dict()["summary"]["llm"]["error"] == result.llm.error


def test_server_errors_on_the_call_itself_end_the_llm_part_only(fake_anthropic, llm_env) -> None:
    fake_anthropic.push(Failure(500, retry_after=None), Failure(500, retry_after=None))
    reviewer = reviewer_from_env(Config(), llm_env, cache=MemoryResultCache(), max_retries=1)
    result = review(_change(), Config(), llm=reviewer)
    assert result.llm is not None and result.llm.error == "Anthropic API server error (HTTP 500) after retries"
    assert result.llm.not_reviewed
    assert result.findings  # the rule findings are all there


def test_an_unreachable_api_is_an_error_not_a_crash(llm_env) -> None:
    env = {"ANTHROPIC_API_KEY": "sk-ant-test", "ANTHROPIC_BASE_URL": "http://127.0.0.1:9"}
    reviewer = reviewer_from_env(Config(), env, cache=MemoryResultCache(), max_retries=0)
    result = review(_change(), Config(), llm=reviewer)
    assert result.llm is not None and result.llm.error is not None
    assert "unreachable" in result.llm.error


def test_a_huge_retry_after_does_not_stall_the_review(fake_anthropic, llm_env) -> None:
    import httpx2
    from anthropic._models import FinalRequestOptions

    reviewer = reviewer_from_env(Config(), llm_env, cache=MemoryResultCache(), max_retries=2, max_retry_wait_s=0.05)
    wait = reviewer.client._calculate_retry_timeout(  # type: ignore[attr-defined]
        1, FinalRequestOptions(method="post", url="/v1/messages"), httpx2.Headers({"retry-after": "3600"}))
    assert wait == 0.05
    # and over HTTP: without the cap this review would sleep for an hour (and hit the test timeout)
    fake_anthropic.push(Failure(529, retry_after=3600))
    result = review(_change(), Config(), llm=reviewer)
    assert result.llm is not None and result.llm.error is None and result.llm.calls == 1


def test_a_rejected_key_is_reported_not_retried(fake_anthropic, llm_env) -> None:
    fake_anthropic.outage = Failure(401, retry_after=None)
    reviewer = reviewer_from_env(Config(), llm_env, cache=MemoryResultCache(), max_retries=2)
    result = review(_change(), Config(), llm=reviewer)
    assert result.llm is not None and result.llm.error == "Anthropic API rejected the API key (HTTP 401)"
    assert len(fake_anthropic.calls()) == 1  # 401 is not retried
