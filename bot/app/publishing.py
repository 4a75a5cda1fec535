"""The default review job: bot.github.run.review_pull_request on an installation's client, with the store as the
publisher's memory and the LLM reviewer (when ANTHROPIC_API_KEY is set and the repo config allows it)."""

from __future__ import annotations

import os
from typing import TYPE_CHECKING, Any

from bot.app.feedback import StoreFeedbackMemory
from bot.app.jobs import ReviewOutcome, ReviewRequest

if TYPE_CHECKING:
    from bot.app.runtime import Runtime
    from bot.app.store import Store
    from bot.context import ReviewContext
    from bot.findings import Finding
    from bot.pipeline import LlmResult


class StoreCommentMemory:
    """bot.github.publish.CommentStore over the App's store."""

    def __init__(self, store: Store) -> None:
        self.store = store

    def get(self, key: str) -> dict[str, Any] | None:
        return self.store.kv_get(f"publish:{key}")

    def set(self, key: str, value: dict[str, Any]) -> None:
        self.store.kv_set(f"publish:{key}", value)


class RepoConfiguredLlm:
    """Builds the LLM reviewer lazily and skips it when the repo config says `llm.enabled: false` (the config is
    only known once the PR's base branch has been read, inside the review)."""

    def __init__(self) -> None:
        self._reviewer: Any = None

    def review(self, ctx: ReviewContext, rule_findings: list[Finding]) -> LlmResult:
        from bot.llm import DISABLED_NOTE, reviewer_from_env
        from bot.pipeline import LlmResult

        if not ctx.config.llm.enabled:
            return LlmResult(notes=[DISABLED_NOTE])
        if self._reviewer is None:
            self._reviewer = reviewer_from_env(ctx.config)
        if self._reviewer is None:
            return LlmResult()
        return self._reviewer.review(ctx, rule_findings)


def publish_review(rt: Runtime, request: ReviewRequest) -> ReviewOutcome:
    from bot.github.run import review_pull_request

    llm = RepoConfiguredLlm() if os.environ.get("ANTHROPIC_API_KEY", "").strip() else None
    with rt.github.client(request.installation_id) as client:
        result = review_pull_request(
            client, request.repo, request.number, trigger=request.trigger, llm=llm,
            should_continue=request.should_continue, comment_store=StoreCommentMemory(rt.store),
            # `/dbreview` reports what changed since the last reviewed head; `/dbreview full` everything.
            incremental=request.trigger == "command" and not request.full,
            last_reviewed_sha=request.last_reviewed_sha, repost_resolved=request.full,
            memory=StoreFeedbackMemory(rt.store),
        )
    for fingerprint in result.posted:
        rt.store.record_comment(request.repo, request.number, fingerprint, None, None, request.review_id)
    review = result.review
    outcome = ReviewOutcome(superseded=result.superseded, comments_posted=len(result.posted))
    if review is not None:
        outcome.findings_total = len(review.findings)
        outcome.counts = review.counts()
        if review.llm is not None:
            outcome.llm_model = review.llm.model or None
            outcome.llm_input_tokens = review.llm.input_tokens
            outcome.llm_output_tokens = review.llm.output_tokens
            outcome.llm_cost_usd = review.llm.cost_usd
    memory = rt.store.kv_get(f"publish:{request.repo}#{request.number}") or {}
    outcome.head_sha = request.head_sha or result.head_sha or memory.get("head_sha")
    outcome.notes = list(result.errors)
    return outcome
