"""Entry points wired into `dbreview serve` and `dbreview worker` (bot/cli.py)."""

from __future__ import annotations

import logging
import os
import signal
import sys
import threading

from bot.app.logs import configure_logging
from bot.app.settings import Settings, SettingsError, load_settings

log = logging.getLogger("dbreview.app")

DEFAULT_WORKERS = 2


def _settings(*, require_secret: bool = True) -> Settings | None:
    try:
        return load_settings(require_secret=require_secret)
    except SettingsError as exc:
        print(f"dbreview: {exc}", file=sys.stderr)
        return None


def _workers(workers: int | None) -> int:
    if workers is not None:
        return workers
    raw = os.environ.get("DBREVIEW_WORKERS", "")
    return int(raw) if raw.isdigit() else DEFAULT_WORKERS


def serve(host: str = "127.0.0.1", port: int = 8000, workers: int | None = None) -> int:
    """Web app under uvicorn; `workers` consumer threads in the same process (0: web only, for replicas in
    front of `dbreview worker` processes on Redis or PostgreSQL)."""
    settings = _settings()
    if settings is None:
        return 2
    count = _workers(workers)
    if count == 0 and settings.queue_backend == "sqlite":
        log.warning("--workers 0 with the SQLite queue: run `dbreview worker` on this machine or nothing reviews")
    configure_logging(settings.log_level, settings.secrets())

    import uvicorn

    from bot.app.runtime import Runtime
    from bot.app.web import create_app

    runtime = Runtime(settings)
    app = create_app(runtime, workers=count)
    config = uvicorn.Config(app, host=host, port=port, log_config=None, access_log=False,
                            proxy_headers=False, server_header=False)
    try:
        uvicorn.Server(config).run()
    finally:
        runtime.close()
    return 0


def worker(workers: int | None = None) -> int:
    """Queue consumers only (any number of machines against one Redis or PostgreSQL queue and store). Workers
    never see a webhook, so they do not need the webhook secret."""
    settings = _settings(require_secret=False)
    if settings is None:
        return 2
    configure_logging(settings.log_level, settings.secrets())
    count = max(_workers(workers), 1)

    from bot.app.runtime import Runtime

    runtime = Runtime(settings)
    stop = threading.Event()

    def _on_signal(signum: int, _frame: object) -> None:
        log.info("received %s: finishing running jobs", signal.Signals(signum).name)
        stop.set()

    for sig in (signal.SIGTERM, signal.SIGINT):
        signal.signal(sig, _on_signal)
    runtime.start_workers(count, embedded=True)  # our handlers above, not huey's
    try:
        while not stop.wait(1.0):  # a timed wait keeps the main thread responsive to signals
            pass
    finally:
        runtime.close()
    return 0
