"""A worker SIGKILLed in the middle of a review: after a restart the job is retried and completes, and the retry
posts no comment twice. Jobs that keep failing end as `failed`, with a neutral check run."""

from __future__ import annotations

import signal
from pathlib import Path

import httpx
from app_harness import AppProcess, pull_request_event, wait_for

from bot.app.store import Store


def _posted(app: AppProcess, repo: str) -> list[str]:
    return [r["fingerprint"] for r in app.records("posted.jsonl") if r["repo"] == repo]


def test_sigkilled_review_completes_after_restart_without_duplicate_comments(tmp_path: Path) -> None:
    repo, head = "acme/crash", "c" * 40
    env = {"DBREVIEW_LEASE_SECONDS": "1.5", "DBREVIEW_MAX_ATTEMPTS": "3"}
    first = AppProcess(tmp_path, workers=1, env={**env, "FAKE_JOB_SECONDS": "30"}).start()
    try:
        assert first.deliver("pull_request", pull_request_event(repo, 1, head=head)).status_code == 202
        # Killed after the review posted its first comment and before the second.
        wait_for(lambda: _posted(first, repo) == [f"{head}-a"])
        assert first.kill(signal.SIGKILL) == -signal.SIGKILL
    finally:
        first.stop()
    store = Store(f"sqlite:///{tmp_path / 'state.db'}", migrate=False)
    try:
        (review,) = store.reviews_for(repo, 1)
        assert review.status == "running"  # nobody finished it

        with AppProcess(tmp_path, workers=1, env={**env, "FAKE_JOB_SECONDS": "0.1"}) as second:
            wait_for(lambda: store.review(review.id).status == "done", timeout=20)  # type: ignore[union-attr]
            assert _posted(second, repo) == [f"{head}-a", f"{head}-b"]
            starts = [r for r in second.records("jobs.jsonl") if r["repo"] == repo and r["event"] == "start"]
            assert [r["attempt"] for r in starts] == [1, 2]
            assert starts[0]["pid"] != starts[1]["pid"]
            assert "re-queued" in second.logs()
        assert store.review(review.id).attempts == 2  # type: ignore[union-attr]
    finally:
        store.close()


def test_a_review_that_keeps_failing_ends_failed_with_a_neutral_check(tmp_path: Path) -> None:
    repo = "acme/always-fails"
    env = {"DBREVIEW_MAX_ATTEMPTS": "2", "DBREVIEW_RETRY_DELAY_SECONDS": "0.1"}
    with AppProcess(tmp_path, workers=1, env=env) as app:
        assert app.deliver("pull_request", pull_request_event(repo, 2, head="f" * 40)).status_code == 202
        checks = wait_for(lambda: [r for r in app.records("ops.jsonl") if r["op"] == "neutral-check"], timeout=20)
        assert checks[0]["head"] == "f" * 40 and "simulated failure" in checks[0]["reason"]
        starts = [r for r in app.records("jobs.jsonl") if r["repo"] == repo]
        assert [r["attempt"] for r in starts] == [1, 2]
        metrics = httpx.get(app.url + "/metrics").text
        assert 'dbreview_reviews{status="failed"} 1' in metrics
        assert "simulated failure" in app.logs()
    store = Store(f"sqlite:///{tmp_path / 'state.db'}", migrate=False)
    (review,) = store.reviews_for(repo, 2)
    assert review.status == "failed" and "gave up after 2 attempts" in (review.error or "")
    store.close()
