"""The whole job for one pull request: read it, build the change, review it, publish the result.

The GitHub App worker and the Action both call `review_pull_request`; neither parses diffs nor posts by itself.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Callable

from bot.github.client import GitHubClient, GitHubError
from bot.github.pr import load_review_input, pr_conversation
from bot.github.publish import CommentStore, PublishResult, publish_review
from bot.pipeline import LlmReviewer, review
from bot.trace import tracer_for
from bot.trace.stats import load_stats

log = logging.getLogger("dbreview.github")


def review_pull_request(
    client: GitHubClient,
    repo_full_name: str,
    number: int,
    *,
    trigger: str = "push",
    llm: LlmReviewer | None = None,
    should_continue: Callable[[], bool] | None = None,
    comment_store: CommentStore | None = None,
) -> PublishResult:
    """Review PR `number` of `repo_full_name` and post the result.

    `should_continue()` is asked after the (possibly slow) review and before anything is posted; when it returns
    False (a newer push superseded this run) nothing is posted and the result has `superseded=True`.
    """
    data = load_review_input(client, repo_full_name, number)
    if llm is not None:
        # Only the LLM review reads the conversation: two more API calls, made only when it runs.
        try:
            data.change.commit_messages, data.change.comments = pr_conversation(client, repo_full_name, number)
        except GitHubError as exc:
            log.warning("%s#%s: PR commits/comments not read (%s); the review goes on without them",
                        repo_full_name, number, exc)
    tracer = tracer_for(data.config, os.environ)
    result = review(data.change, data.config, llm=llm, extra_analyzers=[("trace", tracer)] if tracer else None)
    if tracer is not None:
        tracer.finish(result, stats=load_stats(data.change.base))
    if should_continue is not None and not should_continue():
        log.info("%s#%s: superseded before posting (head %s)", repo_full_name, number, data.pr.head_sha[:12])
        return PublishResult(superseded=True, review=result, config=data.config)
    published = publish_review(client, data.pr, result, data.config, change=data.change, notes=data.notes,
                               trigger=trigger, store=comment_store)
    log.info("%s#%s: %d new comments, %d kept, %d not inline, %d retired, check %s%s", repo_full_name, number,
             len(published.posted), len(published.already_posted), len(published.not_inlined),
             len(published.resolved_threads) + len(published.deleted_comments), published.conclusion,
             " (read-only token)" if published.read_only else "")
    return published
