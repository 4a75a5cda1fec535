"""The optional LLM review (Anthropic Messages API): prompt assembly, budget, client, output validation.

    reviewer = reviewer_from_env(config)          # None without ANTHROPIC_API_KEY or with llm.enabled: false
    review = bot.pipeline.review(change, config, llm=reviewer)
    note = llm_off_note(config)                   # the one summary line when the reviewer is None

`ANTHROPIC_API_KEY` and `ANTHROPIC_BASE_URL` come from the environment. Results are cached per hunk in SQLite under
`$DBREVIEW_DATA_DIR` (default `~/.cache/dbreview`). The PR's title, body, commit messages and comments come from the
Change (`title`, `body`, `commit_messages`, `comments`; front doors fill what they have).

Modules: prompts (versioned files in prompts/), units (numbered database hunks with their enclosing function or
block), schema_context (touched and related models), facts (versions, table sizes, recent migrations, code using
what the change drops), request (system blocks with cache_control, the rule catalogue, the per-call user message
with fenced untrusted text), budget (token counts and splitting), output (tool schema, pydantic validation),
anchoring (diff anchoring, rule overlap, identity, limits), sanitize (what may be posted), cache (per-hunk results),
pricing (cost and context window), reviewer (the LlmReviewer: deadline, cut-off answers, cache keys).
"""

from __future__ import annotations

import os
from collections.abc import Mapping

from bot.config import Config
from bot.llm.cache import MemoryResultCache, ResultCache, SqliteResultCache, default_cache
from bot.llm.prompts import load_prompts, prompt_version
from bot.llm_note import DETERMINISTIC_ONLY_NOTE, DISABLED_NOTE, llm_off_note
from bot.pipeline import LlmReviewer

# SDK retries with exponential backoff on 408/409/429/5xx/529, connection errors and timeouts, honouring retry-after.
# Whatever these allow, the whole LLM step ends at llm.deadline_s (180 s by default).
MAX_RETRIES = 4
TIMEOUT_S = 120.0
# The SDK waits as long as retry-after says (it could say an hour); a review waits at most this long per retry.
MAX_RETRY_WAIT_S = 30.0


def reviewer_from_env(
    config: Config,
    env: Mapping[str, str] | None = None,
    *,
    cache: ResultCache | None = None,
    max_retries: int = MAX_RETRIES,
    timeout_s: float = TIMEOUT_S,
    max_retry_wait_s: float = MAX_RETRY_WAIT_S,
) -> LlmReviewer | None:
    """An LLM reviewer when a key is set and the config allows it, else None (see `llm_off_note`)."""
    env = os.environ if env is None else env
    key = env.get("ANTHROPIC_API_KEY", "").strip()
    if not key or not config.llm.enabled:
        return None
    from bot.llm.reviewer import AnthropicReviewer, bounded_client

    client = bounded_client(
        api_key=key,
        base_url=env.get("ANTHROPIC_BASE_URL") or None,
        max_retries=max_retries,
        timeout=timeout_s,
        max_retry_wait_s=max_retry_wait_s,
    )
    return AnthropicReviewer(client, cache=cache if cache is not None else default_cache(), request_timeout_s=timeout_s)


__all__ = [
    "DETERMINISTIC_ONLY_NOTE",
    "DISABLED_NOTE",
    "MemoryResultCache",
    "ResultCache",
    "SqliteResultCache",
    "llm_off_note",
    "load_prompts",
    "prompt_version",
    "reviewer_from_env",
]
