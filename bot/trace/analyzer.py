"""The trace as a pipeline analyzer, and the post-review step that reconciles and re-grades findings.

    analyzer = TraceAnalyzer(database_url, rows)
    result = review(change, config, extra_analyzers=[("trace", analyzer)])
    analyzer.finish(result, stats=load_stats(change.base))   # reconcile static vs measured, size-aware severity
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING

from bot.findings import Finding
from bot.trace.reconcile import reconcile
from bot.trace.rules import MEASURED_RULES, lock_table, measured_findings, trace_facts
from bot.trace.runner import TraceResult, trace_change
from bot.trace.stats import Stats, adjust_severity
from bot.trace.tempdb import TraceError

if TYPE_CHECKING:
    from bot.config import Config
    from bot.context import ReviewContext
    from bot.review import Review

log = logging.getLogger("dbreview.trace")


class TraceAnalyzer:
    """Runs the trace once per review; keeps the result for `finish` (the pipeline only sees the findings)."""

    # Measures what the change's migrations do: never run on the base side to tell new findings from old ones.
    change_only = True

    def __init__(self, database_url: str, rows: int = 0) -> None:
        self.database_url = database_url
        self.rows = rows
        self.result: TraceResult | None = None
        self.error: str | None = None
        self.config: Config | None = None

    def __call__(self, ctx: ReviewContext) -> list[Finding]:
        self.config = ctx.config
        if not ctx.surfaces.migrations:
            return []
        try:
            self.result = trace_change(ctx.change, ctx.config, self.database_url, self.rows)
        except TraceError as exc:
            self.error = str(exc)
            ctx.note(f"trace: not run: {exc}")
            return []
        for note in self.result.notes:
            ctx.note(note)
        ctx.facts["measured_locks"] = lock_table(self.result)
        ctx.facts["measured_trace"] = trace_facts(self.result)
        options = {rule.id: ctx.options(rule) for rule in MEASURED_RULES}
        return measured_findings(self.result, options)

    def finish(self, review: Review, stats: Stats | None = None) -> None:
        """Reconcile static and measured findings (the measurement wins), then apply size-aware severity."""
        findings = review.findings
        if self.result is not None:
            findings, notes = reconcile(findings, self.result)
            review.notes.extend(n for n in notes if n not in review.notes)
            if notes:
                review.facts["measured_disagreements"] = notes
        findings = adjust_severity(findings, stats, self.config,
                                   seeded=self.result.seeded if self.result is not None else None)
        review.findings = sorted(findings, key=Finding.sort_key)


def analyzer_for(database_url: str, rows: int = 0) -> TraceAnalyzer:
    return TraceAnalyzer(database_url, rows)
