"""The same App on the scale-out back ends of this machine: Redis and PostgreSQL queues, PostgreSQL store,
web-only replicas (`--workers 0`) in front of separate worker processes, and a worker SIGKILLed mid-review whose
job another worker picks up."""

from __future__ import annotations

import signal
from pathlib import Path

import httpx
from app_harness import AppProcess, new_sha, pull_request_event, wait_for


def _jobs(app: AppProcess, repo: str, event: str) -> list[dict]:
    return [r for r in app.records("jobs.jsonl") if r["repo"] == repo and r["event"] == event]


def _exercise(web: AppProcess, repo: str) -> None:
    """A burst on one PR plus several PRs at once; every review exactly once, only the newest head of the burst."""
    heads = [new_sha() for _ in range(5)]
    with httpx.Client(timeout=10) as client:
        for i, head in enumerate(heads):
            payload = pull_request_event(repo, 1, "opened" if i == 0 else "synchronize", head=head)
            assert web.deliver("pull_request", payload, delivery=f"{repo}-burst-{i}", client=client).status_code == 202
        again = web.deliver("pull_request", pull_request_event(repo, 1, "synchronize", head=heads[2]),
                            delivery=f"{repo}-burst-2", client=client)
        assert again.json()["result"] == "duplicate"
        for number in range(2, 8):
            assert web.deliver("pull_request", pull_request_event(repo, number), client=client).status_code == 202
    (web.data_dir / "gate-open").touch()  # reviews of this repo were held until everything was delivered
    wait_for(lambda: len(_jobs(web, repo, "end")) == 7, timeout=30)
    ended = _jobs(web, repo, "end")
    assert sorted(r["number"] for r in ended) == list(range(1, 8))
    assert [r["head"] for r in ended if r["number"] == 1] == [heads[-1]]
    posted = [(r["number"], r["fingerprint"]) for r in web.records("posted.jsonl") if r["repo"] == repo]
    assert len(posted) == len(set(posted)) == 14


def test_redis_queue_with_embedded_workers(tmp_path: Path, redis_queue: tuple[str, str]) -> None:
    url, name = redis_queue
    env = {"DBREVIEW_QUEUE_URL": url, "DBREVIEW_QUEUE_NAME": name, "FAKE_JOB_SECONDS": "0.3",
           "FAKE_GATE_REPO": "acme/redis"}
    with AppProcess(tmp_path, workers=2, env=env) as web:
        _exercise(web, "acme/redis")
        assert httpx.get(web.url + "/readyz").json()["queue"] == "ok"


def test_postgresql_queue_and_store_with_separate_workers(tmp_path: Path, pg_url: str) -> None:
    env = {"DBREVIEW_QUEUE_URL": pg_url, "DATABASE_URL": pg_url, "FAKE_JOB_SECONDS": "0.3",
           "DBREVIEW_LEASE_SECONDS": "1.5", "FAKE_SLOW_REPO": "acme/pg-kill", "FAKE_GATE_REPO": "acme/pg"}
    web = AppProcess(tmp_path, workers=0, env=env).start()
    workers = [AppProcess(tmp_path, workers=1, env=env, worker_only=True).start() for _ in range(2)]
    try:
        _exercise(web, "acme/pg")
        pids = {r["pid"] for r in _jobs(web, "acme/pg", "end")}
        assert len(pids) == 2  # both worker processes took jobs
        assert web.proc is not None and web.proc.pid not in pids  # the web replica ran none

        # A worker dies in the middle of a review; the other one takes the job over once the lease lapses.
        head = new_sha()
        assert web.deliver("pull_request", pull_request_event("acme/pg-kill", 1, head=head)).status_code == 202
        (posted,) = wait_for(lambda: [r for r in web.records("posted.jsonl") if r["repo"] == "acme/pg-kill"])
        (victim,) = [w for w in workers if w.proc is not None and w.proc.pid == posted["pid"]]
        victim.kill(signal.SIGKILL)
        # The survivor's sweeper re-queues the job after the lease lapses; the retry finds comment "a" on GitHub.
        (skipped,) = wait_for(lambda: _jobs(web, "acme/pg-kill", "skipped"), timeout=30)
        assert skipped["attempt"] == 2 and skipped["pid"] != posted["pid"] and skipped["fingerprint"] == f"{head}-a"
        fingerprints = [r["fingerprint"] for r in web.records("posted.jsonl") if r["repo"] == "acme/pg-kill"]
        assert fingerprints == [f"{head}-a"]
    finally:
        for w in workers:  # the survivor is in the middle of the 30 s slow review: no graceful stop
            if w.proc is not None and w.proc.poll() is None:
                w.kill(signal.SIGKILL)
        web.stop()
