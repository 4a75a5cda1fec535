"""The huey instance: SQLite in the data directory by default, Redis or PostgreSQL when DBREVIEW_QUEUE_URL says so.
The task code is the same on all three; only storage changes."""

from __future__ import annotations

import logging
from typing import Any

from huey import Huey, PostgresHuey, RedisHuey, SqliteHuey
from huey.consumer import Consumer
from huey.storage import SqliteStorage

from bot.app.settings import Settings

log = logging.getLogger("dbreview.app.queue")


class WalNormalSqliteStorage(SqliteStorage):
    """huey's SQLite storage with `synchronous=NORMAL` under WAL: a commit survives the process being killed
    (what crash safety needs) without an fsync per enqueue, which cost ~9 ms each here. An OS crash or power
    loss can lose the last commits; the store's sweeper re-queues reviews whose enqueue was lost."""

    def _create_connection(self):  # type: ignore[no-untyped-def]
        conn = super()._create_connection()
        conn.execute("pragma synchronous=NORMAL")
        return conn


def make_huey(settings: Settings) -> Huey:
    # Results are never read (the store holds outcomes), so huey keeps none.
    common: dict[str, Any] = {"results": False, "utc": True}
    backend = settings.queue_backend
    if backend == "redis":
        return RedisHuey(settings.queue_name, url=settings.queue_url, **common)
    if backend == "postgresql":
        dsn = settings.queue_url.replace("postgres://", "postgresql://", 1)
        return PostgresHuey(settings.queue_name, dsn=dsn, table_prefix="dbreview_queue", **common)
    if settings.queue_url.startswith("sqlite:///"):
        filename = settings.queue_url.removeprefix("sqlite:///")
    else:
        settings.data_dir.mkdir(parents=True, exist_ok=True)
        filename = str((settings.data_dir / "queue.db").resolve())
    return SqliteHuey(settings.queue_name, filename=filename, storage_class=WalNormalSqliteStorage, **common)


def make_consumer(huey: Huey, settings: Settings, workers: int, *, embedded: bool) -> Consumer:
    consumer = huey.create_consumer(
        workers=workers,
        worker_type="thread",
        periodic=False,
        # SQLite storage polls; huey's default 10 s ceiling would delay the first review after an idle spell.
        max_delay=settings.poll_max_delay,
        initial_delay=0.05,
        backoff=1.5,
        shutdown_timeout=10.0,
    )
    if embedded:
        # Consumer.start() installs SIGTERM/SIGINT/SIGHUP handlers in the main thread; inside uvicorn they
        # would swallow SIGTERM and the server would never stop. uvicorn owns the signals; we stop the
        # consumer from the app's lifespan instead.
        consumer._set_signal_handlers = lambda: None  # type: ignore[method-assign]
    return consumer


def queue_depth(huey: Huey) -> int:
    return int(huey.pending_count()) + int(huey.scheduled_count())
