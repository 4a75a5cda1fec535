"""The pieces one process needs, built once from Settings: store, queue and its tasks, GitHub access, review job;
and the consumer threads (plus the recovery sweeper) for processes that run jobs."""

from __future__ import annotations

import contextlib
import logging
import os
import socket
import threading
import time
from typing import Any

from bot.app import jobs
from bot.app.github_access import GitHubAccess, GitHubOps
from bot.app.queue import make_consumer, make_huey, queue_depth
from bot.app.settings import Settings
from bot.app.store import Store

log = logging.getLogger("dbreview.app")


class Runtime:
    def __init__(
        self,
        settings: Settings,
        *,
        review_fn: jobs.ReviewFn | None = None,
        ops: GitHubOps | None = None,
        store: Store | None = None,
    ) -> None:
        self.settings = settings
        self.store = store or Store(settings.store_url)
        self.huey = make_huey(settings)
        write_interval = os.environ.get("DBREVIEW_GITHUB_WRITE_INTERVAL")
        self.github = GitHubAccess(settings, float(write_interval) if write_interval else None)
        self.ops: GitHubOps = ops or self.github
        self.review_fn: jobs.ReviewFn = review_fn or self._publish_review
        self.worker_prefix = f"{socket.gethostname()}:{os.getpid()}"
        # Task names are fixed strings so a web replica and a worker on another machine agree on them.
        self.review_task = self.huey.task(name="dbreview.review")(self._review_task)
        self.command_task = self.huey.task(name="dbreview.command")(self._command_task)
        self._consumer: Any = None
        self._sweeper: threading.Thread | None = None
        self._stop = threading.Event()

    # -- tasks (run in consumer threads) --------------------------------------------------------------------

    def _review_task(self, review_id: int) -> None:
        jobs.run_review(self, review_id)

    def _command_task(self, data: dict[str, Any]) -> None:
        jobs.run_command(self, data)

    def _publish_review(self, request: jobs.ReviewRequest) -> jobs.ReviewOutcome:
        from bot.app.publishing import publish_review

        return publish_review(self, request)

    # -- consumers ------------------------------------------------------------------------------------------

    def start_workers(self, workers: int, *, embedded: bool) -> None:
        """Consumer threads in this process, and the sweeper that re-queues reviews whose worker died."""
        self._consumer = make_consumer(self.huey, self.settings, workers, embedded=embedded)
        self._consumer.start()
        self._stop.clear()
        self._sweeper = threading.Thread(target=self._sweep, name="dbreview-sweeper", daemon=True)
        self._sweeper.start()
        log.info("queue consumer started: %d worker thread(s) on %s", workers, self.settings.queue_backend)

    def _sweep(self) -> None:
        interval = min(max(self.settings.lease_seconds / 3, 0.5), 15.0)
        next_prune = next_health = 0.0
        while True:
            try:
                jobs.recover(self)
                now = time.monotonic()
                if now >= next_health and self._consumer is not None:
                    # huey only checks its threads from Consumer.run(), which an embedded consumer never calls.
                    self._consumer.check_worker_health()
                    next_health = now + 10
                if now >= next_prune:
                    self.store.prune()
                    next_prune = now + 3600
            except Exception:
                log.warning("recovery sweep failed", exc_info=True)
            if self._stop.wait(interval):
                return

    def stop_workers(self) -> None:
        self._stop.set()
        if self._consumer is not None:
            # Jobs still running after the timeout keep their lease until it lapses; another worker resumes them.
            self._consumer.stop(graceful=True)
            self._consumer = None

    @property
    def consumer(self) -> Any:
        return self._consumer

    def queue_depth(self) -> int:
        return queue_depth(self.huey)

    def close(self) -> None:
        self.stop_workers()
        self.store.close()
        with contextlib.suppress(Exception):
            self.huey.storage.close()
