"""Run the real dbreview App (uvicorn on a loopback port) for the tests, with the review job and GitHub side
replaced by recording fakes unless `--job github` (then bot.github against GITHUB_API_URL).

    python tests/app/app_server.py --port 8123 --workers 2 [--job fake|github] [--web-only | --worker-only]

The fake job appends JSON lines to $DBREVIEW_DATA_DIR/jobs.jsonl (start/end of each review), "posts" two comments
per review (posted.jsonl plays GitHub: one line per comment really posted; the store records them too), and
sleeps $FAKE_JOB_SECONDS between them (skipping a fingerprint already "on GitHub", as the real publisher does
with its hidden markers) so a test can kill the process mid-review. GitHub calls the App makes
itself (reaction, replies, neutral check) go to ops.jsonl.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import threading
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from bot.app.jobs import ReviewOutcome, ReviewRequest
from bot.app.logs import configure_logging
from bot.app.runtime import Runtime
from bot.app.settings import load_settings

_lock = threading.Lock()


def _append(name: str, record: dict) -> None:
    path = Path(os.environ["DBREVIEW_DATA_DIR"]) / name
    with _lock, path.open("a", encoding="utf-8") as fh:
        fh.write(json.dumps(record) + "\n")
        fh.flush()
        os.fsync(fh.fileno())


def _read(name: str) -> list[dict]:
    path = Path(os.environ["DBREVIEW_DATA_DIR"]) / name
    with _lock:
        if not path.exists():
            return []
        return [json.loads(line) for line in path.read_text().splitlines() if line.strip()]


def fake_review(request: ReviewRequest) -> ReviewOutcome:
    pause = float(os.environ.get("FAKE_JOB_SECONDS", "0"))
    if request.repo == os.environ.get("FAKE_SLOW_REPO"):
        pause = 30.0  # long enough for a test to kill the process in the middle
    base = {"review_id": request.review_id, "repo": request.repo, "number": request.number,
            "head": request.head_sha, "attempt": request.attempt, "trigger": request.trigger, "pid": os.getpid()}
    _append("jobs.jsonl", {"event": "start", **base})
    if request.repo.endswith("/always-fails"):
        raise RuntimeError("simulated failure talking to GitHub")
    if request.repo == os.environ.get("FAKE_GATE_REPO"):
        # Hold reviews of this repo until the test opens the gate, so a burst of pushes is fully delivered
        # before the first review reaches its posting point (whatever the machine's load).
        gate = Path(os.environ["DBREVIEW_DATA_DIR"]) / "gate-open"
        deadline = time.monotonic() + 30
        while not gate.exists() and time.monotonic() < deadline:
            time.sleep(0.05)
    store = request.store
    posted = 0
    for i, fp in enumerate((f"{request.head_sha}-a", f"{request.head_sha}-b")):
        if i:
            time.sleep(pause)
        if not request.should_continue():
            _append("jobs.jsonl", {"event": "superseded", **base})
            return ReviewOutcome(superseded=True)
        # Like the real publisher, look at what is on "GitHub" (posted.jsonl) for our fingerprint markers: a
        # crash between posting and recording in the store must not lead to a second comment.
        on_github = {r["fingerprint"] for r in _read("posted.jsonl") if r["repo"] == request.repo}
        if fp in on_github:
            _append("jobs.jsonl", {"event": "skipped", "fingerprint": fp, **base})
            continue
        _append("posted.jsonl", {"fingerprint": fp, **base})
        store.record_comment(request.repo, request.number, fp, 1000 + request.review_id, None, request.review_id)
        posted += 1
    _append("jobs.jsonl", {"event": "end", **base})
    return ReviewOutcome(head_sha=request.head_sha, findings_total=2, counts={"error": 1, "warning": 1},
                         comments_posted=posted, llm_model="fake", llm_input_tokens=10, llm_output_tokens=5,
                         llm_cost_usd=0.001)


class FileOps:
    def react(self, installation_id: int | None, repo: str, comment_id: int, *, review_comment: bool = False) -> None:
        _append("ops.jsonl", {"op": "react", "repo": repo, "comment_id": comment_id,
                              **({"review_comment": True} if review_comment else {})})

    def reply(self, installation_id: int | None, repo: str, number: int, body: str) -> None:
        _append("ops.jsonl", {"op": "reply", "repo": repo, "number": number, "body": body})

    def reply_in_thread(self, installation_id: int | None, repo: str, number: int, comment_id: int,
                        body: str) -> None:
        _append("ops.jsonl", {"op": "reply", "repo": repo, "number": number, "thread": comment_id, "body": body})

    def review_comment(self, installation_id: int | None, repo: str, comment_id: int) -> dict | None:
        return None

    def repo_config(self, installation_id: int | None, repo: str, number: int):  # type: ignore[no-untyped-def]
        from bot.config import Config

        return Config()

    def author_may_command(self, installation_id: int | None, repo: str, number: int) -> bool:
        return os.environ.get("FAKE_ALLOW_AUTHOR") == "1"

    def report_failure(self, installation_id: int | None, repo: str, number: int, head_sha: str | None,
                       reason: str) -> None:
        _append("ops.jsonl", {"op": "neutral-check", "repo": repo, "number": number, "head": head_sha,
                              "reason": reason})


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--port", type=int, default=0)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--job", choices=("fake", "github"), default="fake")
    parser.add_argument("--worker-only", action="store_true")
    args = parser.parse_args()

    if args.job == "github":
        from bot.app import cli

        if args.worker_only:
            return cli.worker(args.workers)
        return cli.serve("127.0.0.1", args.port, args.workers)

    settings = load_settings()
    configure_logging(settings.log_level, settings.secrets())
    runtime = Runtime(settings, review_fn=fake_review, ops=FileOps())
    if args.worker_only:
        import signal

        stop = threading.Event()
        signal.signal(signal.SIGTERM, lambda *_: stop.set())
        runtime.start_workers(args.workers, embedded=True)
        stop.wait()
        runtime.close()
        return 0

    import uvicorn

    from bot.app.web import create_app

    app = create_app(runtime, workers=args.workers)
    uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=args.port, log_config=None, access_log=False)).run()
    runtime.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
