"""Measured query plans: EXPLAIN the Prisma queries a change adds, and prove each index suggestion before posting it.

On the trace's scratch server (`--trace-database-url`, $DBREVIEW_TRACE_DATABASE_URL, `trace.database_url`):

1. translate: each Prisma read the change adds or edits (and the filter of updateMany/deleteMany) becomes the SQL
   Prisma Client sends for it (bot.plans.translate);
2. scratch: a throwaway database gets the head branch's migrations and production-like rows: sizes from
   dbreview-stats.json (scaled down, ratios kept) or `plans.rows`, skewed values, then ANALYZE;
3. explain: each statement is planned with representative parameter values; each candidate index (the static
   advisor's, `prisma/fk-missing-index`'s, and one per table the statement reads) is added as a HypoPG hypothetical
   index, or built for real in a rolled-back transaction when the extension is missing, and planned again;
4. rules: an index is advised only when it cuts the estimated cost by `plans.min_cost_cut` (30 %); a static
   `query/missing-index` the plans contradict is dropped with a note; a large scan the static rules missed is
   `query/measured-seq-scan`.

Modules: model (data), translate (calls -> statements) with sqlparts (names, `where` -> SQL), scratch, explain,
advise (candidates and the loop), rules (findings), analyzer.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from bot.plans.analyzer import PlanAnalyzer


def planner_for(database_url: str, rows: int = 0) -> PlanAnalyzer:
    from bot.plans.analyzer import PlanAnalyzer

    return PlanAnalyzer(database_url, rows)
