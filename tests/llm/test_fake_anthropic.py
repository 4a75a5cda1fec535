"""The fake Messages API validates requests the way the real one documents, so the reviewer's requests are checked."""

from __future__ import annotations

from typing import Any

import httpx
import pytest
from llm_samples import base_tree, head_tree

from bot.config import Config, parse_config
from bot.llm import MemoryResultCache, reviewer_from_env
from bot.pipeline import review
from bot.testing import change_from_trees

HEADERS = {"x-api-key": "k", "anthropic-version": "2023-06-01"}
TOOL = {"name": "report_review", "input_schema": {"type": "object", "properties": {}}}


def _post(fake, body: dict[str, Any], route: str = "/v1/messages", headers: dict[str, str] | None = None):  # type: ignore[no-untyped-def]
    return httpx.post(fake.base_url + route, json=body, headers=HEADERS if headers is None else headers, timeout=10)


def _ok_body(**overrides: Any) -> dict[str, Any]:
    body: dict[str, Any] = {"model": "claude-sonnet-4-5", "max_tokens": 100,
                            "messages": [{"role": "user", "content": "hi"}]}
    body.update(overrides)
    return body


@pytest.mark.parametrize(
    ("body", "status", "fragment"),
    [
        (_ok_body(max_tokens=None), 400, "max_tokens"),
        (_ok_body(messages=[]), 400, "messages"),
        (_ok_body(messages=[{"role": "system", "content": "x"}]), 400, "role"),
        (_ok_body(messages=[{"role": "user", "content": ""}]), 400, "non-empty"),
        (_ok_body(system=[{"type": "text", "text": "s", "cache_control": {"type": "persistent"}}]), 400,
         "ephemeral"),
        (_ok_body(system=[{"type": "text", "text": f"s{i}", "cache_control": {"type": "ephemeral"}}
                          for i in range(5)]), 400, "maximum of 4 blocks with cache_control"),
        (_ok_body(tools=[TOOL], tool_choice={"type": "tool", "name": "other"}), 400, "not found in tools"),
        (_ok_body(tool_choice={"type": "auto"}), 400, "only be specified while providing tools"),
        (_ok_body(tools=[{"name": "bad name!", "input_schema": {"type": "object"}}]), 400, "pattern"),
        (_ok_body(tools=[{"name": "t", "input_schema": {"type": "array"}}]), 400, "input_schema"),
        (_ok_body(event="APPROVE"), 400, "Extra inputs are not permitted"),
        (_ok_body(model="gpt-4"), 404, "model"),
        (_ok_body(max_tokens=100_000), 400, "maximum allowed number of output tokens"),
    ],
)
def test_invalid_requests_get_the_api_error_envelope(fake_anthropic, body: dict[str, Any], status: int,
                                                     fragment: str) -> None:
    body = {k: v for k, v in body.items() if v is not None}
    response = _post(fake_anthropic, body)
    assert response.status_code == status
    data = response.json()
    assert data["type"] == "error" and fragment in data["error"]["message"]
    assert response.headers["request-id"].startswith("req_")


def test_authentication_and_version_headers_are_required(fake_anthropic) -> None:
    assert _post(fake_anthropic, _ok_body(), headers={"anthropic-version": "2023-06-01"}).status_code == 401
    assert _post(fake_anthropic, _ok_body(), headers={"x-api-key": "k"}).status_code == 400


def test_count_tokens_refuses_max_tokens_and_counts_the_documented_estimate(fake_anthropic) -> None:
    assert _post(fake_anthropic, _ok_body(), "/v1/messages/count_tokens").status_code == 400
    body = {"model": "claude-sonnet-4-5", "messages": [{"role": "user", "content": "x" * 35}]}
    assert _post(fake_anthropic, body, "/v1/messages/count_tokens").json() == {"input_tokens": 10 + 3}


def test_prompt_cache_writes_then_reads_a_long_enough_prefix(fake_anthropic) -> None:
    system = [{"type": "text", "text": "p" * 7000, "cache_control": {"type": "ephemeral"}}]
    first = _post(fake_anthropic, _ok_body(system=system)).json()["usage"]
    second = _post(fake_anthropic, _ok_body(system=system, messages=[{"role": "user", "content": "other"}])).json()
    assert first["cache_creation_input_tokens"] == 2000 and first["cache_read_input_tokens"] == 0
    assert second["usage"]["cache_read_input_tokens"] == 2000 and second["usage"]["cache_creation_input_tokens"] == 0
    short = [{"type": "text", "text": "short", "cache_control": {"type": "ephemeral"}}]
    assert _post(fake_anthropic, _ok_body(system=short)).json()["usage"]["cache_creation_input_tokens"] == 0


def test_prompt_too_long_for_the_context_window(fake_anthropic) -> None:
    fake_anthropic.context_windows["claude-sonnet-4-5"] = 1000
    response = _post(fake_anthropic, _ok_body(messages=[{"role": "user", "content": "x" * 4000}]))
    assert response.status_code == 400 and "prompt is too long" in response.json()["error"]["message"]


def test_a_model_that_refuses_a_forced_tool_is_asked_with_auto(fake_anthropic, llm_env) -> None:
    config = parse_config("llm:\n  model: claude-opus-5\n")
    fake_anthropic.always_thinking.add("claude-opus-5")
    reviewer = reviewer_from_env(config, llm_env, cache=MemoryResultCache())
    result = review(change_from_trees(base_tree(), head_tree()), config, llm=reviewer)
    assert result.llm is not None and result.llm.error is None and result.llm.calls == 1
    assert fake_anthropic.calls()[-1].body["tool_choice"] == {"type": "auto"}


def test_model_info_gives_the_context_window(fake_anthropic, llm_env) -> None:
    fake_anthropic.context_windows["claude-sonnet-4-5"] = 50_000
    reviewer = reviewer_from_env(Config(), llm_env, cache=MemoryResultCache())
    assert reviewer._context_window("claude-sonnet-4-5") == 50_000  # type: ignore[attr-defined]
