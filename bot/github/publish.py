"""Publish one Review on a pull request: inline comments, the sticky summary, the `dbreview` check run.

Order of work, each step isolated so one failure does not lose the others:
1. read what dbreview posted before (review comments carrying fingerprint markers, the summary comment);
2. delete our own stale PENDING review (GitHub allows one per user per PR, and it blocks new reviews);
3. post ONE review (COMMENT; REQUEST_CHANGES only when opted in and a rule finding is an error) with the new
   findings that have a valid anchor, at most `review.max_inline_comments`; on a 422 split the batch and retry
   the halves so one bad anchor never loses the others;
4. findings that are gone: resolve their thread when someone replied, else delete the comment;
5. create or edit the sticky summary comment;
6. the check run, annotations in batches of 50; `neutral` (never red) when dbreview itself failed.
Before posting, reviewers' answers to earlier comments are applied (bot/github/feedback.py): dismissed findings
leave the review (they no longer fail the check and are listed as dismissed), findings dismissed elsewhere or of a
rule gone summary-only are not posted inline. Threads, replies and reactions come from one GraphQL query
(bot/github/threads.py), which also tells which findings are already posted.
A command's scope narrows this: `keep` picks the findings reported inline and in the table (the others keep their
earlier comments and are not retired), `banner` heads the summary, `repost_resolved` posts findings again whose
thread was resolved.
A token that cannot write (fork PR) makes `read_only` true and stops writes; the caller falls back to annotations.
"""

from __future__ import annotations

import dataclasses
import logging
import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any, Protocol

from bot.change import Change
from bot.config import Config
from bot.findings import Finding, Severity, Side, Source
from bot.github.anchors import Anchor, anchor_for
from bot.github.client import GitHubClient, GitHubError, GitHubRateLimited, is_permission_error
from bot.github.comments import (
    REVIEW_MARKER,
    SUMMARY_MARKER,
    comment_body,
    fingerprint_marker,
    fingerprint_of,
    sanitize,
    truncate,
)
from bot.github.feedback import FeedbackResult, RepoMemory, Trust, assess, known_associations, object_id
from bot.github.pr import PullRequestInfo
from bot.github.threads import Note, PullThreads, Thread, read_threads
from bot.redact import scrub
from bot.report.summary import SummaryContext, render_summary
from bot.review import Review, inline_candidates

__all__ = ["SUMMARY_MARKER", "CommentStore", "PublishResult", "fingerprint_marker", "publish_review", "with_banner"]

log = logging.getLogger("dbreview.github")

CHECK_NAME = "dbreview"
ANNOTATION_BATCH = 50
MAX_CHECK_TEXT = 65_535
_LEVEL = {Severity.ERROR: "failure", Severity.WARNING: "warning", Severity.INFO: "notice"}
_BANNER_MARK = "<!-- dbreview:scope -->"


class CommentStore(Protocol):
    """Optional memory across runs (the App keeps it in its database): ids of the summary comment per PR."""

    def get(self, key: str) -> dict[str, Any] | None: ...

    def set(self, key: str, value: dict[str, Any]) -> None: ...


@dataclass
class PublishResult:
    posted: list[str] = field(default_factory=list)  # fingerprints newly commented inline
    already_posted: list[str] = field(default_factory=list)
    not_inlined: list[tuple[Finding, str]] = field(default_factory=list)
    resolved_threads: list[str] = field(default_factory=list)
    deleted_comments: list[int] = field(default_factory=list)
    review_ids: list[int] = field(default_factory=list)
    review_event: str | None = None
    summary_comment_id: int | None = None
    check_run_id: int | None = None
    conclusion: str | None = None
    read_only: bool = False
    skipped: bool = False  # no database surface: nothing posted
    superseded: bool = False
    errors: list[str] = field(default_factory=list)  # dbreview's own failures, shown in the summary
    summary_markdown: str = ""
    review: Review | None = None
    config: Config | None = None
    head_sha: str = ""
    scope: str = "full"  # full | since (changes since the last reviewed head) | unchanged
    feedback: FeedbackResult | None = None  # what reviewers' answers changed (None: threads not read)
    bot_logins: list[str] = field(default_factory=list)


@dataclass
class _Existing:
    by_fp: dict[str, Thread] = field(default_factory=dict)  # fingerprint -> the thread of our comment
    replied: set[int] = field(default_factory=set)  # comment ids that have at least one reply
    summary: dict[str, Any] | None = None
    pending_reviews: list[int] = field(default_factory=list)
    our_reviews: list[dict[str, Any]] = field(default_factory=list)
    resolved: dict[str, Thread] = field(default_factory=dict)  # fingerprint -> our resolved thread (to re-post)
    threads: PullThreads = field(default_factory=PullThreads)
    notes: list[Note] = field(default_factory=list)  # the conversation's comments, when they were listed


class _ReadOnly(Exception):
    pass


class _Refused(Exception):
    """One kind of write is not permitted (e.g. check runs without `checks: write`); the others go on."""


_ESSENTIAL_WRITES = {"post the review", "post the summary comment", "edit the summary comment"}


def _priority(f: Finding) -> tuple[Any, ...]:
    return (-f.severity.rank, f.source is Source.LLM, f.path, f.line)


def _ours(comment: dict[str, Any], logins: set[str]) -> bool:
    """Posted by dbreview: by one of its known logins, or, while none is known, by a bot account. Never a person's
    comment that merely quotes a marker (dbreview would edit or delete it)."""
    user = comment.get("user") or {}
    if logins:
        return user.get("login") in logins
    return user.get("type") == "Bot"


def with_banner(summary: str, banner: str) -> str:
    """The summary with `banner` as its first line under the heading (replacing an earlier banner)."""
    lines = [ln for ln in summary.split("\n") if _BANNER_MARK not in ln]
    line = f"> {banner} {_BANNER_MARK}"
    at = next((i + 1 for i, ln in enumerate(lines) if ln.startswith("## ")), 0)
    rest = lines[at:]
    while rest and not rest[0].strip():
        rest.pop(0)
    return "\n".join([*lines[:at], *([""] if at else []), line, "", *rest])


def web_url_for(api_url: str) -> str:
    base = api_url.rstrip("/")
    if base in ("https://api.github.com", "http://api.github.com"):
        return "https://github.com"
    if base.endswith("/api/v3"):
        return base[: -len("/api/v3")]
    return base


class Publisher:
    def __init__(self, client: GitHubClient, pr: PullRequestInfo, review: Review, config: Config, *,
                 change: Change | None, notes: Iterable[str] = (), trigger: str = "push",
                 store: CommentStore | None = None, bot_logins: Iterable[str] = (),
                 keep: Callable[[Finding], bool] | None = None, banner: str = "",
                 repost_resolved: bool = False, threads: PullThreads | None = None,
                 memory: RepoMemory | None = None) -> None:
        self.client = client
        self.pr = pr
        self.repo = pr.repo
        self.review = review
        self.config = config
        self.change = change
        self.notes = list(notes)
        self.trigger = trigger
        self.store = store
        self.logins = set(bot_logins)
        self.keep = keep
        self.banner = banner
        self.repost_resolved = repost_resolved
        self.threads = threads
        self.memory = memory
        self.feedback: FeedbackResult | None = None
        self.result = PublishResult(review=review, config=config, head_sha=pr.head_sha)
        self._pending_retried = False
        self._comment_urls: dict[str, str] = {}

    # -- guarded writes -----------------------------------------------------------------------------------------

    def _write(self, what: str, fn: Callable[[], Any]) -> Any:
        if self.result.read_only:
            raise _ReadOnly(what)
        try:
            return fn()
        except GitHubError as exc:
            if not (is_permission_error(exc) and exc.status in (401, 403)):
                raise
            if what in _ESSENTIAL_WRITES:
                # The token cannot comment at all (a fork PR's read-only token): stop writing, the caller falls back.
                log.warning("GitHub refused to %s (%s); the token cannot write here, falling back", what, exc.status)
                self.result.read_only = True
                raise _ReadOnly(what) from None
            hint = " (the workflow needs `checks: write`)" if "check run" in what else ""
            self.result.errors.append(f"this token may not {what}{hint}")
            raise _Refused(what) from None

    def _step(self, what: str, fn: Callable[[], None]) -> bool:
        """Run one publishing step; False when it failed (the error is recorded for the summary and check)."""
        try:
            fn()
            return True
        except (_ReadOnly, _Refused):
            return False
        except GitHubRateLimited as exc:
            self.result.errors.append(f"GitHub rate limit while trying to {what}; gave up after waiting")
            log.error("%s: %s", what, exc)
        except GitHubError as exc:
            self.result.errors.append(f"GitHub answered {exc.status} while trying to {what}: {exc.message[:200]}")
            log.error("%s: %s", what, exc)
        return False

    # -- the run ------------------------------------------------------------------------------------------------

    def run(self) -> PublishResult:
        existing = _Existing()
        read_ok = self._step("read earlier dbreview comments", lambda: self._read_existing(existing))
        if read_ok and not self.review.has_database_surface and existing.summary is None and not existing.by_fp:
            self.result.skipped = True
            return self.result
        if not read_ok and not self.review.has_database_surface:
            self.result.skipped = True
            return self.result
        current = {f.fingerprint: f for f in self.review.findings if f.fingerprint}
        if self.feedback is not None:
            # A dismissed finding is still there: its comment stays (it is neither posted again nor retired).
            current.update({f.fingerprint: f for f, _ in self.feedback.dismissed})
        # Without knowing what is already posted, posting would duplicate comments and the summary: only the check
        # run (neutral, with the reason) goes out.
        if read_ok:
            if self.review.has_database_surface:
                self._step("clear a stale pending review", lambda: self._clear_pending(existing))
                self._step("post the review", lambda: self._post_review(existing, current))
            self._step("resolve fixed findings", lambda: self._retire_stale(existing, current))
            self._step("update the summary comment", lambda: self._upsert_summary(existing))
        if self.review.has_database_surface:
            self._step("create the check run", self._check_run)
        if not self.result.summary_markdown:
            self.result.summary_markdown = self._summary_text()
        self.result.bot_logins = sorted(self.logins)
        return self.result

    def _learn_login(self) -> None:
        """A personal access token posts as a person: ask who that is (an App or Actions token gets a 403 here and
        is recognised as a bot account instead)."""
        if self.logins:
            return
        try:
            resp = self.client.request("GET", "/user", allow=(401, 403, 404))
        except GitHubError:
            return
        if resp.status_code == 200:
            login = (resp.json() or {}).get("login")
            if isinstance(login, str) and login:
                self.logins.add(login)

    def _read_existing(self, existing: _Existing) -> None:
        self._learn_login()
        stored = self.store.get(self._store_key()) if self.store is not None else None
        summary = None
        if stored and stored.get("summary_comment_id"):
            summary = self.client.get_issue_comment(self.repo, int(stored["summary_comment_id"]))
            if summary is not None and SUMMARY_MARKER not in (summary.get("body") or ""):
                summary = None
        if summary is None:
            for c in self.client.list_issue_comments(self.repo, self.pr.number):
                existing.notes.append(_note(c))
                if summary is None and SUMMARY_MARKER in (c.get("body") or "") and _ours(c, self.logins):
                    summary = c
        existing.summary = summary
        if summary is not None:
            login = (summary.get("user") or {}).get("login")
            if login:
                self.logins.add(login)
        existing.threads = self.threads if self.threads is not None else read_threads(
            self.client, self.repo, self.pr.number)
        for t in existing.threads.threads:
            if t.replied:
                existing.replied.add(t.comment_id)
            fp = fingerprint_of(t.body)
            # Only our own comments count: a human quoting a marker must not make dbreview delete their comment.
            if fp and not t.pending and self._ours_thread(t):
                existing.by_fp.setdefault(fp, t)
        self._apply_feedback(existing)
        if self.repost_resolved and existing.by_fp:
            for fp, thread in list(existing.by_fp.items()):
                # Findings whose thread was resolved count as not posted, so they are posted again (and not
                # retired); a dismissed finding is no longer in the review, so it stays answered.
                if thread.resolved:
                    existing.resolved[fp] = existing.by_fp.pop(fp)
        # The summary links each finding to its inline comment when it knows the comment's address.
        self._comment_urls = {fp: t.url for fp, t in existing.by_fp.items() if t.url}

    def _ours_thread(self, thread: Thread) -> bool:
        return thread.login in self.logins if self.logins else thread.is_bot

    def _permission(self, login: str) -> str | None:
        """`login`'s role on the repository (admin, maintain, write, triage, read), for a 👎 or a resolution by
        someone who wrote no comment here (so their association is unknown)."""
        if not re.fullmatch(r"[A-Za-z0-9](?:[A-Za-z0-9-]{0,38})", login or ""):
            return None  # not a GitHub user name (bots, or text that would change the path)
        try:
            resp = self.client.request("GET", f"{self.client.repo_path(self.repo)}/collaborators/"
                                              f"{login}/permission", allow=(403, 404))
        except GitHubError as exc:
            log.warning("%s: permission of %s not read (%s); their 👎 does not dismiss", self.repo, login, exc.status)
            return None
        if resp.status_code != 200:
            return None
        data = resp.json() or {}
        return str(data.get("role_name") or data.get("permission") or "")

    def _apply_feedback(self, existing: _Existing) -> None:
        threads = existing.threads
        extra = {threads.author} if self.config.review.allow_pr_author_commands and threads.author else set()
        trust = Trust(known_associations(threads.threads, existing.notes, threads.author, threads.author_association),
                      lookup=self._permission, extra=extra)
        feedback = assess(self.review, threads.threads, ours=self._ours_thread, trust=trust, config=self.config,
                          memory=self.memory, notes=existing.notes, bots=self.logins)
        self.feedback = self.result.feedback = feedback
        if feedback.dismissed:
            gone = {f.fingerprint for f, _ in feedback.dismissed}
            self.review = dataclasses.replace(self.review,
                                              findings=[f for f in self.review.findings if f.fingerprint not in gone])
            self.result.review = self.review

    def _clear_pending(self, existing: _Existing) -> None:
        for r in self.client.list_reviews(self.repo, self.pr.number):
            # GitHub lists a PENDING review only to its author, so any pending review here is our own.
            if r.get("state") == "PENDING":
                existing.pending_reviews.append(int(r["id"]))
            elif REVIEW_MARKER in (r.get("body") or ""):
                existing.our_reviews.append(r)
        for rid in existing.pending_reviews:
            self._write("delete a stale pending review",
                        lambda rid=rid: self.client.delete_pending_review(self.repo, self.pr.number, rid))
            log.info("deleted stale pending review %s on %s#%s", rid, self.repo, self.pr.number)

    def _event(self) -> str:
        if self.config.review.request_changes and any(
            f.severity is Severity.ERROR and f.source is Source.RULE for f in self.review.findings
        ):
            return "REQUEST_CHANGES"
        return "COMMENT"

    def _post_review(self, existing: _Existing, current: dict[str, Finding]) -> None:
        new: list[tuple[Finding, Anchor]] = []
        candidates, summary_only = inline_candidates(self.review.findings, self.config.review)
        for f, reason in summary_only:
            if f.fingerprint and self.keep is not None and not self.keep(f):
                continue
            self.result.not_inlined.append((f, reason))
        held = self.feedback.held if self.feedback is not None else {}
        for f in candidates:
            if f.fingerprint and f.fingerprint in existing.by_fp:
                self.result.already_posted.append(f.fingerprint)
                continue
            if f.fingerprint and self.keep is not None and not self.keep(f):
                continue  # outside the command's scope: neither posted nor listed as not inline
            if f.fingerprint in held:
                self.result.not_inlined.append((f, held[f.fingerprint]))
                continue
            anchor, reason = anchor_for(f, self.change) if self.change is not None else (None, "no diff available")
            if anchor is None:
                self.result.not_inlined.append((f, reason))
                continue
            new.append((f, anchor))
        limit = self.config.review.max_inline_comments
        for f, _ in new[limit:]:
            self.result.not_inlined.append((f, f"over the limit of {limit} inline comments per review"))
        new = new[:limit]
        event = self._event()
        needs_review = bool(new) or (event == "REQUEST_CHANGES" and not any(
            r.get("state") == "CHANGES_REQUESTED" for r in existing.our_reviews))
        if needs_review:
            comments = [(f, {**a.to_api(), "body": comment_body(f, anchored_lines=self._lines(a),
                                                                 object_id=object_id(f))}) for f, a in new]
            try:
                self._post_batches(comments, event, first=True)
            except _ReadOnly:
                posted = set(self.result.posted)
                self.result.not_inlined.extend((f, "this token cannot post reviews (fork pull request)")
                                               for f, _ in new if f.fingerprint not in posted)
                raise
        if event != "REQUEST_CHANGES":
            # Errors fixed: our earlier "changes requested" must not keep blocking the merge.
            for r in existing.our_reviews:
                if r.get("state") == "CHANGES_REQUESTED":
                    self._write("dismiss an outdated changes-requested review", lambda r=r: self.client.dismiss_review(
                        self.repo, self.pr.number, int(r["id"]), "dbreview: the errors it reported are fixed"))
        for fp in self.result.posted:
            old = existing.resolved.get(fp)
            if old is not None and old.comment_id not in existing.replied:
                # Re-posted: the resolved copy without a conversation goes, so one comment per finding remains.
                self._write("delete a re-posted finding's resolved comment",
                            lambda cid=old.comment_id: self.client.delete_review_comment(self.repo, cid))

    @staticmethod
    def _lines(anchor: Anchor) -> tuple[int, int]:
        return (anchor.start_line or anchor.line, anchor.line)

    def _review_body(self, count: int) -> str:
        if count:
            text = f"dbreview: {count} new comment{'s' if count != 1 else ''} on the database side of this change."
        else:
            text = "dbreview: the errors below need fixing before merge."
        return f"{text} The summary comment has the full picture.\n\n{REVIEW_MARKER}"

    def _post_batches(self, comments: list[tuple[Finding, dict[str, Any]]], event: str, *, first: bool) -> None:
        payload = {
            "commit_id": self.pr.head_sha,
            "event": event if first else "COMMENT",
            "body": self._review_body(len(comments)),
            "comments": [c for _, c in comments],
        }
        try:
            data = self._write("post the review", lambda: self.client.create_review(self.repo, self.pr.number,
                                                                                       payload))
        except GitHubError as exc:
            if exc.status != 422:
                raise
            message = exc.message + " " + " ".join(str(e) for e in exc.errors)
            if "pending review" in message.lower() and not self._pending_retried:
                # A pending review appeared after the first clean-up (another run of ours): clear it once more.
                self._pending_retried = True
                existing = _Existing()
                self._clear_pending(existing)
                if existing.pending_reviews:
                    self._post_batches(comments, event, first=first)
                    return
            if payload["event"] == "REQUEST_CHANGES" and "own pull request" in message.lower():
                self._post_batches(comments, "COMMENT", first=first)
                return
            if len(comments) <= 1:
                for f, _ in comments:
                    self.result.not_inlined.append((f, f"GitHub rejected the anchor ({exc.message[:80]})"))
                log.warning("GitHub rejected review comment(s) on %s#%s: %s", self.repo, self.pr.number,
                            exc.message)
                return
            mid = len(comments) // 2
            self._post_batches(comments[:mid], event, first=first)
            self._post_batches(comments[mid:], event, first=first and not self.result.review_ids)
            return
        self.result.review_ids.append(int(data.get("id", 0)))
        self.result.review_event = self.result.review_event or payload["event"]
        self.result.posted.extend(f.fingerprint for f, _ in comments)
        login = (data.get("user") or {}).get("login")
        if login:
            self.logins.add(login)

    def _retire_stale(self, existing: _Existing, current: dict[str, Finding]) -> None:
        stale = {fp: t for fp, t in existing.by_fp.items() if fp not in current}
        for _fp, thread in stale.items():
            cid = thread.comment_id
            if cid not in existing.replied:
                self._write("delete a fixed finding's comment",
                            lambda cid=cid: self.client.delete_review_comment(self.repo, cid))
                self.result.deleted_comments.append(cid)
                continue
            if thread.resolved:
                continue
            self._write("resolve a fixed finding's thread",
                        lambda tid=thread.id: self.client.resolve_review_thread(tid))
            self.result.resolved_threads.append(thread.id)

    def _summary_context(self, marker: bool = True) -> SummaryContext:
        web = web_url_for(self.client.base_url)
        return SummaryContext(
            not_inlined=list(self.result.not_inlined),
            inlined=len(self.result.posted),
            already_posted=len(self.result.already_posted),
            resolved=len(self.result.resolved_threads) + len(self.result.deleted_comments),
            notes=list(self.notes),
            bot_errors=self._bot_errors(),
            fail_on=self.config.fail_on,
            trigger=self.trigger,
            base=self.pr.base_sha[:12],
            head=self.pr.head_sha[:12],
            blob_url=f"{web}/{self.repo}/blob/{self.pr.head_sha}" if self.pr.head_sha else None,
            change=self.change,
            marker=marker,
            sections=[text for text in [self._feedback_section()] if text],
            inline=set(self.result.posted) | set(self.result.already_posted),
            comment_urls=dict(self._comment_urls),
            pr_url=f"{web}/{self.repo}/pull/{self.pr.number}",
            max_inline=self.config.review.max_inline_comments,
        )

    def _feedback_section(self) -> str:
        if self.feedback is None:
            return ""
        web = web_url_for(self.client.base_url)

        def where(f: Finding) -> str:
            loc = f"{f.path}:{f.line}"
            if f.side is Side.NEW and self.pr.head_sha:
                return f"[`{loc}`]({web}/{self.repo}/blob/{self.pr.head_sha}/{f.path}#L{f.line})"
            return f"`{loc}`"

        return self.feedback.section(where)

    def _bot_errors(self) -> list[str]:
        errors = list(self.result.errors)
        if self.review.llm is not None and self.review.llm.error:
            errors.append(f"the AI review failed: {self.review.llm.error.splitlines()[0][:200]}")
        return errors

    def _summary_text(self, marker: bool = True) -> str:
        if not self.review.has_database_surface:
            text = ("## dbreview · database review\n\nThis pull request no longer changes the Prisma schema, "
                    "migrations or Prisma Client code; earlier findings no longer apply.\n")
            return (SUMMARY_MARKER + "\n" + text) if marker else text
        # Notes and error texts come from exceptions (the LLM, the trace, GitHub): no secret may ride along into
        # the comment, the check run or the Action's job summary.
        # Paths, rule messages and notes carry PR text (file names, identifiers, quoted SQL): like inline comments,
        # the summary must not mention people, forge our markers or start a line with a /command.
        body = sanitize(render_summary(self.review, self._summary_context(marker=False)))
        text = scrub((SUMMARY_MARKER + "\n" + body) if marker else body)
        return with_banner(text, self.banner) if self.banner else text

    def _upsert_summary(self, existing: _Existing) -> None:
        body = self._summary_text()
        self.result.summary_markdown = body
        if existing.summary is not None:
            cid = int(existing.summary["id"])
            if existing.summary.get("body") != body:
                self._write("edit the summary comment", lambda: self.client.update_issue_comment(self.repo, cid, body))
            self.result.summary_comment_id = cid
        else:
            data = self._write("post the summary comment",
                               lambda: self.client.create_issue_comment(self.repo, self.pr.number, body))
            self.result.summary_comment_id = int(data["id"])
        if self.store is not None and self.result.summary_comment_id is not None:
            self.store.set(self._store_key(), {"summary_comment_id": self.result.summary_comment_id,
                                               "head_sha": self.pr.head_sha})

    def _store_key(self) -> str:
        return f"{self.repo}#{self.pr.number}"

    def conclusion(self) -> str:
        if self.review.fails(self.config.fail_on):
            return "failure"
        if self._bot_errors():
            return "neutral"  # our own trouble must never turn a PR red
        return "success"

    def _check_run(self) -> None:
        conclusion = self.conclusion()
        counts = self.review.counts()
        title = f"{counts['error']} errors, {counts['warning']} warnings, {counts['info']} info"
        if self.feedback is not None and self.feedback.dismissed:
            title += f"; {len(self.feedback.dismissed)} dismissed by reviewers"
        if conclusion == "neutral":
            title = "dbreview could not finish: " + "; ".join(self._bot_errors())[:200]
        summary = truncate(self._summary_text(marker=False), MAX_CHECK_TEXT - 100)
        annotations = [a for a in (self._annotation(f) for f in sorted(self.review.findings, key=_priority)) if a]
        payload: dict[str, Any] = {
            "name": CHECK_NAME,
            "head_sha": self.pr.head_sha,
            "status": "completed",
            "conclusion": conclusion,
            "output": {"title": title[:255], "summary": summary, "annotations": annotations[:ANNOTATION_BATCH]},
        }
        data = self._write("create the check run", lambda: self.client.create_check_run(self.repo, payload))
        run_id = int(data["id"])
        self.result.check_run_id = run_id
        self.result.conclusion = conclusion
        for start in range(ANNOTATION_BATCH, len(annotations), ANNOTATION_BATCH):
            batch = annotations[start:start + ANNOTATION_BATCH]
            update = {"output": {"title": title[:255], "summary": summary, "annotations": batch}}
            self._write("add check run annotations",
                        lambda update=update: self.client.update_check_run(self.repo, run_id, update))

    def _annotation(self, f: Finding) -> dict[str, Any] | None:
        if f.side is Side.OLD:
            return None  # annotations point at head lines; old-side findings are in the summary
        start, end = f.line, max(f.last_line, f.line)
        return {
            "path": f.path,
            "start_line": start,
            "end_line": end,
            "annotation_level": _LEVEL[f.severity],
            "title": f.rule if f.source is Source.RULE else f"{f.rule} (AI review)",
            "message": f.message[:64_000],
        }


def publish_review(client: GitHubClient, pr: PullRequestInfo, review: Review, config: Config, *,
                   change: Change | None = None, notes: Iterable[str] = (), trigger: str = "push",
                   store: CommentStore | None = None, bot_logins: Iterable[str] = (),
                   keep: Callable[[Finding], bool] | None = None, banner: str = "",
                   repost_resolved: bool = False, threads: PullThreads | None = None,
                   memory: RepoMemory | None = None) -> PublishResult:
    """Post `review` on `pr` (see the module docstring for the order, the failure handling and the scope).
    `threads`: the pull request's review threads when the caller already read them; `memory`: what the store
    remembers of the repository (dismissals on other pull requests, `/dbreview ignore`, rule records)."""
    return Publisher(client, pr, review, config, change=change, notes=notes, trigger=trigger, store=store,
                     bot_logins=bot_logins, keep=keep, banner=banner, repost_resolved=repost_resolved,
                     threads=threads, memory=memory).run()


def _note(comment: dict[str, Any]) -> Note:
    user = comment.get("user") or {}
    login = str(user.get("login") or "")
    return Note(int(comment.get("id") or 0), login, str(comment.get("author_association") or "NONE"),
                str(comment.get("body") or ""), str(comment.get("html_url") or ""),
                str(comment.get("created_at") or ""), user.get("type") == "Bot" or login.endswith("[bot]"))
