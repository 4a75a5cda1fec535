"""The plan step as a pipeline analyzer, and the post-review step that confirms or drops index advice.

    planner = PlanAnalyzer(database_url)
    result = review(change, config, extra_analyzers=[("plans", planner)])
    planner.finish(result)          # static query/missing-index and LLM index advice: confirmed or dropped

It measures the Prisma reads (and updateMany/deleteMany filters) the change adds or edits: translate each call to
the SQL Prisma sends, build a scratch database with the head branch's migrations, seed the tables read to
production-like sizes, EXPLAIN each statement, and try the candidate indexes on it.
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from bot.change import FileStatus
from bot.findings import Finding
from bot.plans.advise import LoopResult, Workload, access_candidates, fk_candidates, plan_tables, run, static_candidate
from bot.plans.model import CallMeasurement, Translation, Untranslated
from bot.plans.rules import Settings, TableSizes, measured_findings, plan_path, reconcile
from bot.plans.translate import SchemaLookup, translate

if TYPE_CHECKING:
    from bot.context import ReviewContext
    from bot.review import Review
    from bot.trace.stats import Stats
    from bot.ts.model import PrismaCall

log = logging.getLogger("dbreview.plans")

PER_CALL_BUDGET_S = 30.0


@dataclass
class PlanResult:
    server: str = ""
    hypopg: bool = False
    calls: list[CallMeasurement] = field(default_factory=list)
    untranslated: list[Untranslated] = field(default_factory=list)
    translated: int = 0  # calls with at least one translation
    sizes: TableSizes = field(default_factory=TableSizes)
    served: dict[tuple[str, tuple[str, ...]], str] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)
    setup_s: float = 0.0
    elapsed_s: float = 0.0
    databases: list[str] = field(default_factory=list)

    def statements(self) -> int:
        return sum(len(c.statements) for c in self.calls)

    def planned(self) -> int:
        return sum(1 for c in self.calls for m in c.statements if m.plan is not None)


def changed_calls(ctx: ReviewContext) -> list[PrismaCall]:
    """Prisma calls the change adds or edits (a line of the call is new), in the changed query files but tests."""
    from bot.checks.query.common import is_test_path
    from bot.ts import file_analysis

    out: list[PrismaCall] = []
    for changed in ctx.surfaces.query:
        if is_test_path(changed.path):
            continue  # tests run against fixtures, not production-sized tables
        analysis = file_analysis(ctx, changed.path)
        if analysis.skipped or analysis.parse_failed:
            continue
        for call in analysis.calls:
            if changed.status is FileStatus.ADDED or any(
                    line in changed.added_lines for line in range(call.line, call.end_line + 1)):
                out.append(call)
    return out


def value_vocabulary(translations: list[Translation]) -> dict[tuple[str, str], list[str]]:
    """Literal values the code compares columns with: the seed makes them appear among the column's values."""
    from bot.plans.model import EQ, SET

    out: dict[tuple[str, str], list[str]] = {}
    for t in translations:
        for s in t.statements:
            for p in s.params:
                if p.known and p.kind in (EQ, SET) and p.table and p.column and isinstance(p.value, str):
                    words = out.setdefault((p.table, p.column), [])
                    if p.value not in words:
                        words.append(p.value)
    return out


def measure(ctx: ReviewContext, database_url: str, rows: int = 0, *, stats: Stats | None = None,
            use_hypopg: bool = True) -> PlanResult:
    """Translate, build, seed, plan. Raises TraceError / PlanSetupError when the scratch database cannot be had."""
    from bot.checks.query.schema_view import schema_view
    from bot.plans.explain import Explainer
    from bot.plans.scratch import plan_database, sizing
    from bot.trace.tempdb import connect, describe_server

    started = time.perf_counter()
    settings = ctx.config.plans
    result = PlanResult(server=describe_server(database_url))
    view = schema_view(ctx, "head")
    if view is None:
        result.notes.append("plans: no head schema to translate the queries with")
        return result
    lookup = SchemaLookup(view.schemas)
    workloads: list[Workload] = []
    for call in changed_calls(ctx):
        translated = translate(call, lookup)
        if translated is None:
            continue
        if isinstance(translated, Untranslated):
            result.untranslated.append(translated)
            continue
        result.translated += 1
        for t in translated:
            static = static_candidate(lookup, t, t.arguments.get("where"), t.arguments.get("orderBy"))
            per_statement = [[*access_candidates(lookup, s), *fk_candidates(lookup, s)] for s in t.statements]
            workloads.append(Workload(t, static, per_statement))
    if not workloads:
        return result
    translations = [w.translation for w in workloads]
    tables = plan_tables(translations)
    sizes = sizing(tables, stats, rows or settings.rows, default_rows=settings.default_rows,
                   max_rows=settings.max_rows)
    result.notes.extend(sizes.notes)
    deadline = started + settings.timeout_s
    with plan_database(ctx.change, ctx.config, database_url, tables=tables, sizes=sizes,
                       values=value_vocabulary(translations), use_hypopg=use_hypopg,
                       statement_timeout_s=max(settings.timeout_s, 30)) as db:
        result.setup_s = time.perf_counter() - started
        result.hypopg = db.hypopg
        result.notes.extend(db.notes)
        result.databases = list(db.server.history)
        conn = connect(db.role_url)
        try:
            explainer = Explainer(conn, hypopg=db.hypopg, statement_timeout_s=settings.statement_timeout_s)
            loop: LoopResult = run(explainer, lookup, workloads, deadline=deadline,
                                   per_call_budget_s=PER_CALL_BUDGET_S)
        finally:
            conn.close()
        result.sizes = TableSizes(seeded=dict(db.seeded), production=dict(sizes.production))
    result.calls = loop.calls
    result.served = loop.served
    if loop.skipped_for_time:
        result.notes.append(f"plans: {loop.skipped_for_time} call variant(s) not planned: the {settings.timeout_s} s "
                            "budget (plans.timeout_s) ran out")
    result.elapsed_s = time.perf_counter() - started
    return result


def plan_facts(result: PlanResult) -> dict[str, Any]:
    """For Review.facts["measured_plans"] (the JSON summary and the PR summary)."""
    calls = []
    for call in result.calls:
        statements = []
        for m in call.statements:
            entry: dict[str, Any] = {"statement": m.statement.label, "sql": m.statement.sql,
                                     "ms": round(m.elapsed_ms, 1)}
            if m.plan is not None:
                entry.update(cost=round(m.plan.total_cost, 2), plan=plan_path(m.plan))
                best = m.best()
                if best is not None and best.plan is not None:
                    entry.update(best_index=best.candidate.prisma, table=best.candidate.table,
                                 cost_with_index=round(best.plan.total_cost, 2), cut=round(best.cut(m.plan), 3))
            if m.error:
                entry["error"] = m.error
            if m.statement.in_memory:
                entry["in_memory"] = m.statement.in_memory
            statements.append(entry)
        calls.append({"path": call.call.path, "line": call.call.line, "call": call.call.target,
                      "variant": call.translation.variant, "statements": statements})
    return {
        "server": result.server, "hypothetical_indexes": result.hypopg, "translated": result.translated,
        "untranslated": [{"path": u.call.path, "line": u.call.line, "call": u.call.target, "reason": u.reason}
                         for u in result.untranslated],
        "statements": result.statements(), "planned": result.planned(),
        "seeded": dict(result.sizes.seeded), "calls": calls,
        # Candidates an existing index already starts with (an index the change adds counts): not advised.
        "present": [{"table": table, "index": "@@index([" + ", ".join(fields) + "])", "existing": name}
                    for (table, fields), name in sorted(result.served.items())],
        "setup_s": round(result.setup_s, 2),
        "elapsed_s": round(result.elapsed_s, 2),
    }


class PlanAnalyzer:
    """Runs the plans once per review; keeps the result for `finish` (the pipeline only sees the findings)."""

    # Measures the change's own queries: never run on the base side to tell new findings from old ones.
    change_only = True

    def __init__(self, database_url: str, rows: int = 0, *, use_hypopg: bool = True) -> None:
        self.database_url = database_url
        self.rows = rows
        self.use_hypopg = use_hypopg
        self.result: PlanResult | None = None
        self.error: str | None = None
        self.settings = Settings()

    def __call__(self, ctx: ReviewContext) -> list[Finding]:
        from bot.plans.scratch import PlanSetupError
        from bot.trace.stats import load_stats
        from bot.trace.tempdb import TraceError

        config = ctx.config.plans
        self.settings = Settings(config.min_cost_cut, config.min_table_rows)
        if not config.enabled or not ctx.surfaces.query:
            return []
        try:
            self.result = measure(ctx, self.database_url, self.rows, stats=load_stats(ctx.change.base),
                                  use_hypopg=self.use_hypopg)
        except (TraceError, PlanSetupError) as exc:
            self.error = str(exc)
            ctx.note(f"plans: not run: {exc}")
            return []
        result = self.result
        for note in result.notes:
            ctx.note(note)
        for u in result.untranslated:
            ctx.note(f"plans: {u.call.path}:{u.call.line} `{u.call.target}` not planned: {u.reason}")
        for call in result.calls:
            for m in call.statements:
                if m.error:
                    ctx.note(f"plans: {call.call.path}:{call.call.line} `{call.call.target}`: EXPLAIN failed "
                             f"({m.error})")
        if result.calls:
            ctx.facts["measured_plans"] = plan_facts(result)
        schema_paths = _schema_paths(ctx)
        return measured_findings(result.calls, result.sizes, self.settings, hypopg=result.hypopg,
                                 schema_paths=schema_paths)

    def finish(self, review: Review, stats: Stats | None = None) -> None:
        """Confirm or drop the static and LLM index advice the plans measured (the measurement wins)."""
        if self.result is None or not self.result.calls:
            return
        notes = reconcile(review, self.result.calls, self.result.sizes, self.settings, hypopg=self.result.hypopg,
                          served=self.result.served)
        review.notes.extend(n for n in notes if n not in review.notes)
        if notes:
            review.facts.setdefault("measured_plans", {})["dropped"] = notes


def _schema_paths(ctx: ReviewContext) -> dict[str, str]:
    from bot.checks.query.schema_view import schema_view

    view = schema_view(ctx, "head")
    out: dict[str, str] = {}
    if view is None:
        return out
    for schema in view.schemas:
        for model in schema.all_models():
            out.setdefault(model.name, f"{model.path}:{model.line}")
    return out
