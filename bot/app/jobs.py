"""What a worker does with a queued job: review a PR (claim, lease, supersede, retry, fail) or run a command.

The review itself is a function `ReviewFn(ReviewRequest) -> ReviewOutcome`, injected into the runtime: the
default publishes through bot.github.run.review_pull_request; tests inject a recording fake.
"""

from __future__ import annotations

import logging
import threading
import time
import traceback
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from bot.app import commands
from bot.app.logs import log_context
from bot.app.metrics import COUNTERS
from bot.app.store.store import ReviewJob
from bot.redact import scrub

if TYPE_CHECKING:
    from bot.app.runtime import Runtime

log = logging.getLogger("dbreview.app.jobs")


@dataclass
class ReviewRequest:
    review_id: int
    repo: str
    number: int
    installation_id: int | None
    head_sha: str | None  # None for command-triggered reviews: review the PR's current head
    trigger: str  # push | command | full
    full: bool
    attempt: int
    last_reviewed_sha: str | None
    # False once a newer review was asked for on this PR (or this worker lost its lease): stop before posting.
    should_continue: Callable[[], bool]
    # Used by the job to remember what it posted (fingerprint -> ids) for later runs and retries.
    store: Any = None


@dataclass
class ReviewOutcome:
    head_sha: str | None = None
    superseded: bool = False
    findings_total: int | None = None
    counts: dict[str, int] | None = None
    comments_posted: int | None = None
    llm_model: str | None = None
    llm_input_tokens: int = 0
    llm_output_tokens: int = 0
    llm_cost_usd: float = 0.0
    notes: list[str] = field(default_factory=list)


ReviewFn = Callable[[ReviewRequest], ReviewOutcome]


class Heartbeat:
    """Renews the review's lease while the job runs; notes when the lease was lost (another worker took over)."""

    def __init__(self, rt: Runtime, review_id: int, worker: str) -> None:
        self.rt, self.review_id, self.worker = rt, review_id, worker
        self.lost = False
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name=f"lease-{review_id}", daemon=True)

    def __enter__(self) -> Heartbeat:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join(timeout=5)

    def _run(self) -> None:
        settings = self.rt.settings
        interval = max(settings.lease_seconds / 3, 0.2)
        give_up_at = time.monotonic() + settings.max_review_seconds
        while not self._stop.wait(interval):
            if time.monotonic() > give_up_at:
                # A review this long is stuck: let the lease lapse so the job posts nothing and can be retried.
                log.warning("review %s ran past %.0f s; its lease is no longer renewed", self.review_id,
                            settings.max_review_seconds)
                self.lost = True
                return
            try:
                if not self.rt.store.renew(self.review_id, self.worker, self.rt.settings.lease_seconds):
                    self.lost = True
                    return
            except Exception:
                log.warning("could not renew the lease of review %s", self.review_id, exc_info=True)


def run_review(rt: Runtime, review_id: int) -> str:
    """Run one review job; returns what happened (for logs and tests)."""
    s = rt.settings
    worker = f"{rt.worker_prefix}:{threading.current_thread().name}"
    claim = rt.store.claim(review_id, worker, s.lease_seconds, s.max_attempts)
    job = claim.job
    with log_context(review=review_id, repo=job.repo if job else None, pr=job.pr_number if job else None,
                     delivery=job.delivery_id if job else None):
        if claim.outcome == "wait":
            # Another review of this PR still holds its lease: one review per PR at a time. If it is older, it
            # learns at its next check that this one superseded it, and stops before posting.
            rt.review_task.schedule(args=(review_id,), delay=max(min(s.lease_seconds / 4, 5.0), 0.5))
            return "wait"
        if claim.outcome == "failed" and job is not None:
            _report_failure(rt, job, rt.store.review(review_id).error or "failed")  # type: ignore[union-attr]
            COUNTERS.inc("dbreview_jobs_total", kind="review", outcome="failed")
            return "failed"
        if claim.outcome != "claimed" or job is None:
            log.info("review %s not run: %s", review_id, claim.outcome)
            COUNTERS.inc("dbreview_jobs_total", kind="review", outcome=claim.outcome)
            return claim.outcome
        return _run_claimed(rt, job, worker)


def _run_claimed(rt: Runtime, job: ReviewJob, worker: str) -> str:
    s = rt.settings
    log.info("review started (attempt %d, head %s, trigger %s)", job.attempts, job.head_sha or "current", job.trigger)
    with Heartbeat(rt, job.id, worker) as beat:

        def should_continue() -> bool:
            return not beat.lost and rt.store.is_current(job.id)

        request = ReviewRequest(
            review_id=job.id, repo=job.repo, number=job.pr_number, installation_id=job.installation_id,
            head_sha=job.head_sha, trigger=job.trigger if job.trigger in ("command", "full") else "push",
            full=job.full, attempt=job.attempts, last_reviewed_sha=job.last_reviewed_sha,
            should_continue=should_continue, store=rt.store,
        )
        try:
            outcome = rt.review_fn(request)
        except Exception as exc:
            # The reason is stored, logged and shown on the PR's check run: never with a secret in it.
            reason = scrub(f"{type(exc).__name__}: {exc}")
            log.error("review attempt %d failed: %s\n%s", job.attempts, reason, scrub(traceback.format_exc(limit=8)))
            if job.attempts >= s.max_attempts:
                rt.store.finish(job.id, worker, "failed", error=f"gave up after {job.attempts} attempts: {reason}")
                _report_failure(rt, job, reason)
                COUNTERS.inc("dbreview_jobs_total", kind="review", outcome="failed")
                return "failed"
            if rt.store.release(job.id, worker, reason):
                delay = s.retry_delay_seconds * (2 ** (job.attempts - 1))
                rt.review_task.schedule(args=(job.id,), delay=delay)
            COUNTERS.inc("dbreview_jobs_total", kind="review", outcome="retry")
            return "retry"
    status = "superseded" if outcome.superseded or beat.lost else "done"
    closed = rt.store.finish(
        job.id, worker, status, error="superseded by a newer request" if status == "superseded" else None,
        head_sha=outcome.head_sha, findings_total=outcome.findings_total, counts=outcome.counts,
        comments_posted=outcome.comments_posted, llm_model=outcome.llm_model,
        llm_input_tokens=outcome.llm_input_tokens, llm_output_tokens=outcome.llm_output_tokens,
        llm_cost_usd=outcome.llm_cost_usd,
    )
    if not closed:
        status = "lost-lease"
    log.info("review %s: %s findings, %s comments", status, outcome.findings_total, outcome.comments_posted)
    COUNTERS.inc("dbreview_jobs_total", kind="review", outcome=status)
    return status


def _report_failure(rt: Runtime, job: ReviewJob, reason: str) -> None:
    log.error("review failed for good: %s", reason)
    try:
        rt.ops.report_failure(job.installation_id, job.repo, job.pr_number, job.head_sha, scrub(reason))
    except Exception as exc:
        log.warning("could not post the neutral check run: %s: %s", type(exc).__name__, exc)


def recover(rt: Runtime) -> list[int]:
    """Put reviews whose worker died (lease lapsed) or whose enqueue was lost back on the queue."""
    s = rt.settings
    ids = rt.store.expired(requeue_after_s=max(s.lease_seconds * 5, 300.0), hold_s=s.lease_seconds)
    for review_id in ids:
        log.warning("review %s re-queued: its worker stopped before finishing", review_id, extra={"review": review_id})
        rt.review_task(review_id)
    return ids


# -- commands ----------------------------------------------------------------------------------------------


def run_command(rt: Runtime, data: dict[str, Any]) -> str:
    repo, number, inst = data["repo"], int(data["number"]), data.get("installation_id")
    login, name, arg = data["login"], data["command"], data.get("arg", "")
    with log_context(delivery=data.get("delivery"), repo=repo, pr=number, user=login, command=name):
        outcome = _command(rt, repo, number, inst, data, login, name, arg)
        log.info("command %s: %s", name, outcome)
        COUNTERS.inc("dbreview_jobs_total", kind="command", outcome=outcome)
        return outcome


def _command(rt: Runtime, repo: str, number: int, inst: int | None, data: dict[str, Any], login: str, name: str,
             arg: str) -> str:
    s, ops = rt.settings, rt.ops
    allowed = data.get("association") in commands.ALLOWED_ASSOCIATIONS
    if not allowed and login and login == data.get("pr_author"):
        allowed = ops.author_may_command(inst, repo, number)
    if not allowed:
        if rt.store.deny_once(repo, number, login):
            ops.reply(inst, repo, number, commands.NOT_ALLOWED.format(login=login))
            return "denied"
        return "denied-silently"
    count = rt.store.take_command_slot(repo, number, s.command_limit, s.command_window_seconds)
    if count > s.command_limit:
        if count == s.command_limit + 1:
            minutes = max(int(s.command_window_seconds // 60), 1)
            ops.reply(inst, repo, number, commands.RATE_LIMITED.format(limit=s.command_limit, minutes=minutes))
        return "rate-limited"
    try:
        ops.react(inst, repo, int(data["comment_id"]), review_comment=bool(data.get("review_comment")))
    except Exception as exc:
        log.warning("could not add the eyes reaction: %s: %s", type(exc).__name__, exc)
    if name in commands.REVIEW_COMMANDS:
        review_id = rt.store.request_review(
            repo, number, inst, trigger="full" if name == "full" else "command", full=name == "full",
            requested_by=login, delivery_id=data.get("delivery"),
        )
        rt.review_task(review_id)
        return "review-queued"
    if name in ("pause", "resume"):
        rt.store.set_paused(repo, number, name == "pause")
        ops.reply(inst, repo, number, commands.PAUSED if name == "pause" else commands.RESUMED)
        return name + "d"
    if name == "explain":
        ops.reply(inst, repo, number, commands.explain(arg))
        return "explained"
    if name == "help":
        ops.reply(inst, repo, number, commands.HELP)
        return "helped"
    if name == "ignore":
        return _ignore(rt, repo, number, inst, data, login, arg, str(data.get("text") or ""))
    if name == "stats":
        from bot.app.feedback import stats_markdown
        from bot.app.store.feedback import FeedbackStore

        stats = {rule: s for (_r, rule), s in FeedbackStore(rt.store).rule_stats(repo).items()}
        ops.reply(inst, repo, number, stats_markdown(repo, stats, ops.repo_config(inst, repo, number)))
        return "stats"
    if name == "learnings":
        from bot.app.feedback import learnings_markdown
        from bot.app.store.feedback import FeedbackStore

        ops.reply(inst, repo, number, learnings_markdown(repo, FeedbackStore(rt.store).learnings(repo)))
        return "learnings"
    if name == "forget":
        from bot.app.store.feedback import FeedbackStore

        removed = FeedbackStore(rt.store).remove_learning(repo, int(arg), login)
        ops.reply(inst, repo, number, f"Learning {arg} removed: the AI review no longer sees it." if removed else
                  f"There is no learning {arg} in this repository (`/dbreview learnings` lists them).")
        return "forgot" if removed else "forget-unknown"
    ops.reply(inst, repo, number, commands.unknown_reply(arg))
    return "unknown"


def _ignore(rt: Runtime, repo: str, number: int, inst: int | None, data: dict[str, Any], login: str, rule: str,
            reason: str) -> str:
    """`/dbreview ignore`: record it for this pull request, answer with the suppression to commit, review again so
    the check and the summary reflect it."""
    from bot.app.store.feedback import FeedbackStore
    from bot.github.suppression import answer_ignore

    ops = rt.ops
    thread = data.get("in_reply_to")
    root = ops.review_comment(inst, repo, int(thread)) if thread and reason else None
    answer = answer_ignore(rule, reason, login, str(data.get("comment_url") or ""), in_thread=bool(thread),
                           root=root)
    if answer.ignore is not None:
        FeedbackStore(rt.store).add_ignore(repo, number, answer.ignore)
    if thread:
        ops.reply_in_thread(inst, repo, number, int(thread), answer.reply)
    else:
        ops.reply(inst, repo, number, answer.reply)
    if answer.ignore is None:
        return answer.outcome
    # Review the current head again (not only lines changed since): the check turns green if nothing else fails.
    review_id = rt.store.request_review(repo, number, inst, trigger="feedback", full=False, requested_by=login,
                                        delivery_id=data.get("delivery"))
    rt.review_task(review_id)
    return answer.outcome
