"""Measured migration impact: run a change's migrations on a real PostgreSQL and report what they really do.

`trace_change(change, config, database_url, rows=0)` creates a throwaway database on the given server, applies the
base branch's migrations, then runs each new migration twice: statement by statement (each in its own transaction, to
attribute locks, rewrites and new objects to one statement) and the way Prisma runs it (one transaction per
multi-statement file) to time how long each lock is held. Every database it creates is dropped before it returns,
also on SIGINT/SIGTERM; it never runs anything in an existing database.

Modules: tempdb (scratch databases), statements (SQL splitting), probe (catalog queries), seed (generated rows),
runner (the two passes), rules (measured findings and the lock table), reconcile (static vs measured),
stats (dbreview-stats.json and size-aware severity), cli (entry points for `dbreview trace` / `dbreview stats`).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from collections.abc import Mapping

    from bot.config import Config
    from bot.trace.analyzer import TraceAnalyzer

TRACE_URL_ENV = "DBREVIEW_TRACE_DATABASE_URL"


def analyzer_for(database_url: str, rows: int = 0) -> TraceAnalyzer:
    """A pipeline analyzer that traces the change's new migrations (see bot.trace.analyzer)."""
    from bot.trace.analyzer import TraceAnalyzer

    return TraceAnalyzer(database_url, rows)


def tracer_for(config: Config, env: Mapping[str, str], url: str | None = None) -> TraceAnalyzer | None:
    """The trace step when a scratch server is configured: `url`, then $DBREVIEW_TRACE_DATABASE_URL (keeps the
    password out of the repository), then the config's `trace.database_url`."""
    database_url = url or env.get(TRACE_URL_ENV) or config.trace.database_url
    return analyzer_for(database_url, rows=config.trace.rows) if database_url else None
