"""The whole job for one pull request: read it, build the change, review it, publish the result.

The GitHub App worker and the Action both call `review_pull_request`; neither parses diffs nor posts by itself.

`/dbreview` (incremental) still reviews the whole pull request, since the analyzers need the whole change for
context, but reports only what lies on lines changed since the last reviewed head (GitHub's compare API); findings
elsewhere keep their earlier comments. When that head is the current one, the summary says so and nothing is
reviewed. `/dbreview full` also re-posts findings whose earlier thread was resolved (unless someone allowed to
dismiss findings resolved it: then the finding is dismissed, and stays answered).

Reviewers' feedback: the pull request's review threads (replies, reactions, resolutions) are read once, before the
review, so the LLM review sees the conventions reviewers explained; the publisher applies them
(bot/github/feedback.py). A `FeedbackMemory` (the App's store, or the Action's when it has a database) adds what
the repository remembers and records what happened to each posted comment.
"""

from __future__ import annotations

import logging
import os
import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Protocol

from bot.change import ChangeError, parse_diff
from bot.config import Config
from bot.findings import Finding, Side
from bot.github.client import GitHubClient, GitHubError
from bot.github.comments import SUMMARY_MARKER, fingerprint_of, head_of
from bot.github.feedback import RepoMemory, Trust, known_associations, parse_ignore
from bot.github.pr import ai_review_comments, load_pull_request, load_review_input, pr_conversation
from bot.github.publish import CommentStore, PublishResult, publish_review, with_banner
from bot.github.threads import PullThreads, read_threads
from bot.learnings import Learning, clean_text, worth_keeping
from bot.pipeline import LlmReviewer, review
from bot.trace import tracer_for
from bot.trace.stats import load_stats

log = logging.getLogger("dbreview.github")

# GitHub's compare lists at most 300 files; beyond that the range is not known exactly: review everything.
MAX_COMPARE_FILES = 300
_SHA = re.compile(r"[0-9a-f]{7,64}")


class FeedbackMemory(Protocol):
    """What a store remembers of a repository's feedback (bot/app/feedback_store.py implements it)."""

    def load(self, repo: str, number: int) -> RepoMemory: ...

    def save(self, repo: str, number: int, result: PublishResult) -> None: ...


@dataclass
class ChangesSince:
    """Lines changed between the last reviewed head and the current one (GitHub compare `since...head`)."""

    since: str
    added: dict[str, set[int]]  # path at head -> added lines
    whole_files: set[str]  # files new in the range, or whose patch GitHub left out: every line counts

    def keeps(self, f: Finding) -> bool:
        if f.caused_by_change or f.path in self.whole_files:
            return True
        lines = self.added.get(f.path)
        if not lines or f.side is Side.OLD:
            return False  # old-side lines are numbered against the PR's base, not against `since`
        return any(f.line <= n <= f.last_line for n in lines)


def changes_since(client: GitHubClient, repo: str, since: str, head: str) -> ChangesSince | str:
    """The incremental range, or why it cannot be used (the caller then reviews the whole pull request)."""
    short = since[:7]
    if not _SHA.fullmatch(since) or not _SHA.fullmatch(head):
        return f"`{short}` is not a commit id"
    try:
        resp = client.request("GET", f"{client.repo_path(repo)}/compare/{since}...{head}", allow=(404, 422))
    except GitHubError as exc:
        return f"comparing with the last reviewed commit `{short}` failed (GitHub answered {exc.status})"
    if resp.status_code in (404, 422):
        return f"the last reviewed commit `{short}` is no longer in the repository (force-push?)"
    data = resp.json() or {}
    if data.get("status") in ("diverged", "behind"):
        return f"the branch was rewritten since the last reviewed commit `{short}` (force-push)"
    files = data.get("files") or []
    if len(files) >= MAX_COMPARE_FILES:
        return f"more than {MAX_COMPARE_FILES - 1} files changed since `{short}`"
    added: dict[str, set[int]] = {}
    whole: set[str] = set()
    for entry in files:
        path, status, patch = entry.get("filename") or "", entry.get("status"), entry.get("patch")
        if not path or status == "removed":
            continue
        if status == "added" or patch is None:
            whole.add(path)
            continue
        old = entry.get("previous_filename") or path
        text = f"--- a/{old}\n+++ b/{path}\n{patch if patch.endswith(chr(10)) else patch + chr(10)}"
        try:
            parsed = parse_diff(text)
        except ChangeError:
            whole.add(path)  # unreadable patch: report everything in that file rather than miss it
            continue
        added[path] = set().union(*(f.added_lines for f in parsed)) if parsed else set()
    return ChangesSince(since, added, whole)


def _answer_unchanged(client: GitHubClient, repo: str, number: int, head: str,
                      comment_store: CommentStore | None) -> PublishResult:
    """`/dbreview` on a head that was already reviewed: say so at the top of the summary, post nothing else."""
    result = PublishResult(head_sha=head, scope="unchanged")
    banner = (f"Nothing changed since the last review (`{head[:7]}`): no new comments. "
              "Comment `/dbreview full` to review the whole pull request again.")
    summary = None
    stored = comment_store.get(f"{repo}#{number}") if comment_store is not None else None
    if stored and stored.get("summary_comment_id"):
        summary = client.get_issue_comment(repo, int(stored["summary_comment_id"]))
    if summary is None or SUMMARY_MARKER not in (summary.get("body") or ""):
        summary = next((c for c in client.list_issue_comments(repo, number) if SUMMARY_MARKER in (c.get("body") or "")
                        and (c.get("user") or {}).get("type") == "Bot"), None)
    try:
        if summary is None:
            body = f"dbreview: {banner}"
            result.summary_comment_id = int(client.create_issue_comment(repo, number, body)["id"])
        else:
            body = with_banner(summary.get("body") or "", banner)
            client.update_issue_comment(repo, int(summary["id"]), body)
            result.summary_comment_id = int(summary["id"])
        result.summary_markdown = body
    except GitHubError as exc:
        result.errors.append(f"GitHub answered {exc.status} while trying to update the summary comment")
    return result


def review_pull_request(
    client: GitHubClient,
    repo_full_name: str,
    number: int,
    *,
    trigger: str = "push",
    llm: LlmReviewer | None = None,
    should_continue: Callable[[], bool] | None = None,
    comment_store: CommentStore | None = None,
    incremental: bool = False,
    last_reviewed_sha: str | None = None,
    repost_resolved: bool = False,
    memory: FeedbackMemory | None = None,
) -> PublishResult:
    """Review PR `number` of `repo_full_name` and post the result.

    `should_continue()` is asked after the (possibly slow) review and before anything is posted; when it returns
    False (a newer push superseded this run) nothing is posted and the result has `superseded=True`.
    `incremental` (the `/dbreview` command): report only findings on lines changed since `last_reviewed_sha`,
    falling back to the whole pull request (and saying why) when that range is unknown. `repost_resolved`
    (`/dbreview full`): post findings again whose earlier comment thread was resolved.
    """
    scope: ChangesSince | None = None
    banner = ""
    if incremental:
        head = load_pull_request(client, repo_full_name, number).head_sha
        if last_reviewed_sha and last_reviewed_sha == head:
            if should_continue is not None and not should_continue():
                return PublishResult(superseded=True, head_sha=head, scope="unchanged")
            return _answer_unchanged(client, repo_full_name, number, head, comment_store)
        found = changes_since(client, repo_full_name, last_reviewed_sha, head) if last_reviewed_sha else \
            "no earlier review of this pull request is on record"
        if isinstance(found, ChangesSince):
            scope = found
        else:
            banner = f"Reviewed the whole pull request: {found}."
    data = load_review_input(client, repo_full_name, number)
    threads: PullThreads | None = None
    if llm is not None:
        # Read before the review so the LLM sees what reviewers explained on this pull request; the publisher
        # reuses them (it reads them itself otherwise: the same one query).
        try:
            threads = read_threads(client, repo_full_name, number)
        except GitHubError as exc:
            log.warning("%s#%s: review threads not read (%s)", repo_full_name, number, exc)
    remembered = _load_memory(memory, repo_full_name, number)
    if llm is not None:
        # Only the LLM review reads the conversation: three more API calls, made only when it runs.
        try:
            data.change.commit_messages, data.change.comments = pr_conversation(client, repo_full_name, number)
            data.change.review_comments = ai_review_comments(client, repo_full_name, number)
        except GitHubError as exc:
            log.warning("%s#%s: PR commits/comments not read (%s); the review goes on without them",
                        repo_full_name, number, exc)
    tracer = tracer_for(data.config, os.environ)
    learnings = [*remembered.learnings, *_thread_learnings(threads, data.config)] if llm is not None else []
    result = review(data.change, data.config, llm=llm, extra_analyzers=[("trace", tracer)] if tracer else None,
                    learnings=learnings)
    if tracer is not None:
        tracer.finish(result, stats=load_stats(data.change.base))
    if should_continue is not None and not should_continue():
        log.info("%s#%s: superseded before posting (head %s)", repo_full_name, number, data.pr.head_sha[:12])
        return PublishResult(superseded=True, review=result, config=data.config, head_sha=data.pr.head_sha)
    if scope is not None:
        inside = sum(scope.keeps(f) for f in result.findings)
        banner = (f"Reviewed changes since `{scope.since[:7]}`: {inside} finding{'s' if inside != 1 else ''} on "
                  f"those lines; {len(result.findings) - inside} elsewhere in the pull request not repeated "
                  "(`/dbreview full` lists everything).")
    published = publish_review(client, data.pr, result, data.config, change=data.change, notes=data.notes,
                               trigger=trigger, store=comment_store, keep=scope.keeps if scope else None,
                               banner=banner, repost_resolved=repost_resolved, threads=threads, memory=remembered)
    published.scope = "since" if scope is not None else "full"
    if memory is not None and published.feedback is not None and not published.superseded:
        try:
            memory.save(repo_full_name, number, published)
        except Exception:  # the review is posted; losing one run's record must not fail it
            log.exception("%s#%s: feedback not recorded", repo_full_name, number)
    log.info("%s#%s: %d new comments, %d kept, %d not inline, %d retired, check %s%s%s", repo_full_name, number,
             len(published.posted), len(published.already_posted), len(published.not_inlined),
             len(published.resolved_threads) + len(published.deleted_comments), published.conclusion,
             " (read-only token)" if published.read_only else "",
             f" (changes since {scope.since[:12]})" if scope is not None else "")
    return published


def _load_memory(memory: FeedbackMemory | None, repo: str, number: int) -> RepoMemory:
    if memory is None:
        return RepoMemory()
    try:
        return memory.load(repo, number)
    except Exception:  # the review goes on with this pull request's own feedback
        log.exception("%s#%s: the repository's feedback memory could not be read", repo, number)
        return RepoMemory()


def _thread_learnings(threads: PullThreads | None, config: Config) -> list[Learning]:
    """Learnings from this pull request's threads, for the LLM before the review: explanations under our comments
    that someone trusted 👎'd or answered with `/dbreview ignore`. Only associations seen on comments count here
    (no API call); the publisher settles the rest once the review is known."""
    if threads is None:
        return []
    trust = Trust(known_associations(threads.threads, (), threads.author, threads.author_association),
                  extra={threads.author} if config.review.allow_pr_author_commands and threads.author else ())
    out: list[Learning] = []
    for t in threads.threads:
        if not t.is_bot or fingerprint_of(t.body) is None:
            continue
        answered = any(trust(x) for x in t.thumbs_down) or any(
            parse_ignore(r.body) is not None and trust(r.login) for r in t.replies)
        if not answered:
            continue
        rule = (head_of(t.body) or ("", ""))[1]
        for r in t.replies:
            if r.is_bot or not trust(r.login):
                continue
            parsed = parse_ignore(r.body)
            text = parsed[1] if parsed is not None else r.body
            if worth_keeping(text):
                out.append(Learning(clean_text(text), r.login, r.created_at, r.url, rule, t.path))
    return out
