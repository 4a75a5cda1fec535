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
    from bot.context import ReviewContext
    from bot.findings import Finding
    from bot.plans.analyzer import PlanAnalyzer
    from bot.review import Review
    from bot.trace.analyzer import TraceAnalyzer
    from bot.trace.stats import Stats

TRACE_URL_ENV = "DBREVIEW_TRACE_DATABASE_URL"


def analyzer_for(database_url: str, rows: int = 0) -> TraceAnalyzer:
    """A pipeline analyzer that traces the change's new migrations (see bot.trace.analyzer)."""
    from bot.trace.analyzer import TraceAnalyzer

    return TraceAnalyzer(database_url, rows)


class MeasuredSteps:
    """The measured steps on one scratch server, as one pipeline analyzer: the migration trace, then the query plans
    (bot.plans). Each runs on its own; one failing does not stop the other."""

    change_only = True  # measures the change itself: never run on the base side (bot/novelty.py)

    def __init__(self, trace: TraceAnalyzer, plans: PlanAnalyzer | None) -> None:
        self.trace = trace
        self.plans = plans

    @property
    def error(self) -> str | None:
        return self.trace.error

    def __call__(self, ctx: ReviewContext) -> list[Finding]:
        import logging

        findings = list(self.trace(ctx))
        if self.plans is not None:
            try:
                findings.extend(self.plans(ctx))
            except Exception as exc:  # the plans' bug must not lose the trace's findings
                logging.getLogger("dbreview.plans").exception("plans failed")
                ctx.note(f"plans: internal error ({type(exc).__name__}); no measured query plans")
        return findings

    def finish(self, review: Review, stats: Stats | None = None) -> None:
        # The plans first: they confirm or drop index advice; the trace then re-grades lock findings by size.
        if self.plans is not None:
            self.plans.finish(review, stats)
        self.trace.finish(review, stats=stats)


def tracer_for(config: Config, env: Mapping[str, str], url: str | None = None) -> MeasuredSteps | None:
    """The measured steps when a scratch server is configured: `url`, then $DBREVIEW_TRACE_DATABASE_URL (keeps the
    password out of the repository), then the config's `trace.database_url`. The query plans run there too unless
    `plans.enabled` is false."""
    database_url = url or env.get(TRACE_URL_ENV) or config.trace.database_url
    if not database_url:
        return None
    from bot.plans import planner_for

    plans = planner_for(database_url, rows=config.plans.rows) if config.plans.enabled else None
    return MeasuredSteps(analyzer_for(database_url, rows=config.trace.rows), plans)
