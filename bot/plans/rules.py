"""Measured query findings, and what the plans do to the static and LLM index advice.

- `query/measured-seq-scan`: a query the change adds or edits reads a large table with a sequential scan (or sorts a
  large number of rows), and an index, tried hypothetically, cuts its estimated cost by at least `plans.min_cost_cut`.
  The finding gives both plans, the cost before and after, and the `@@index` to add.
- `query/missing-index` (static) on a measured call: confirmed (source "measured", the plans appended, and the
  measured-seq-scan finding of the same call folded into it), or dropped with a note when the plan contradicts it
  (an existing index is used, the table is tiny, or the suggested index cuts the cost by less than the threshold).
- An LLM finding that proposes an `@@index([...])` the plans tried and found useless is dropped the same way.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from bot.findings import Finding, Severity, Source, Surface
from bot.registry import define

if TYPE_CHECKING:  # the plans' model loads with the plans (bot.plans.analyzer); registering the rule needs none of it
    from bot.plans.model import CallMeasurement, Candidate, Measured, Plan, Trial
    from bot.review import Review

MEASURED_SEQ_SCAN = define(
    "query/measured-seq-scan", Severity.WARNING, Surface.QUERY,
    "A query the change adds scans or sorts a large table on production-sized data, and a measured index cuts its "
    "cost",
)

_INDEX_TEXT = re.compile(r"@@index\(\s*\[([^\]]+)\]")


@dataclass
class Settings:
    """The `plans:` thresholds the measured-plan rules use."""

    min_cost_cut: float = 0.3
    min_table_rows: int = 10_000


@dataclass
class TableSizes:
    """Rows per table: seeded in the scratch database, and on production."""

    seeded: dict[str, int] = field(default_factory=dict)  # PostgreSQL's name ("payouts", "audit.events") -> rows
    production: dict[str, int] = field(default_factory=dict)  # qualified ("public.payouts") -> stats rows

    def rows(self, table: str) -> tuple[int, str]:
        """(rows, where the figure comes from) for a qualified table name."""
        if table in self.production:
            return self.production[table], "in dbreview-stats.json"
        schema, _, name = table.partition(".")
        for key in (table, name if schema == "public" else table):
            if key in self.seeded:
                return self.seeded[key], "seeded"
        return 0, "seeded"

    def seeded_rows(self, table: str) -> int:
        schema, _, name = table.partition(".")
        return self.seeded.get(name if schema == "public" else table, self.seeded.get(table, 0))


def _relname(table: str) -> str:
    return table.partition(".")[2] or table


def human(n: float) -> str:
    if n >= 1_000_000:
        return f"{n / 1_000_000:.1f}M"
    if n >= 10_000:
        return f"{n / 1000:.0f}k"
    return f"{n:,.0f}"


def cost(n: float) -> str:
    return f"{n:,.0f}" if n >= 100 else f"{n:,.1f}"


def _rows(n: float) -> str:
    return f"{human(n)} row" + ("" if round(n) == 1 else "s")


def plan_path(plan: Plan, limit: int = 4, table_rows: Callable[[str], int] | None = None) -> str:
    """The plan's top nodes as one line: `Limit → Sort → Seq Scan on payouts (reads 20k rows, est. 1,250 match)`.

    A scan's row estimate is what it returns; a sequential scan reads the whole table (`table_rows` tells how big)."""
    parts = []
    for node in plan.nodes[:limit]:
        text = node.describe()
        if node.node_type in ("Seq Scan", "Parallel Seq Scan") and table_rows is not None \
                and table_rows(node.relation):
            text += f" (reads {_rows(table_rows(node.relation))}, est. {human(node.rows)} match)"
        elif node.relation:
            text += f" (est. {_rows(node.rows)})"
        parts.append(text)
    return " → ".join(parts) + (" → …" if len(plan.nodes) > limit else "")


def _hypothetical_word(hypopg: bool) -> str:
    return "a hypothetical index (HypoPG)" if hypopg else "the index built in a rolled-back transaction"


@dataclass
class Verdict:
    """What the plans say about one candidate index on one call (all its variants and statements)."""

    candidate: Candidate
    best: tuple[Measured, Trial] | None = None  # the statement where it cuts the cost most
    tried: bool = False
    served_by: str | None = None  # an existing index already starts with these columns

    def cut(self) -> float:
        if self.best is None or self.best[0].plan is None:
            return 0.0
        return self.best[1].cut(self.best[0].plan)


def verdict(calls: list[CallMeasurement], fields: tuple[str, ...], table: str,
            served: dict[tuple[str, tuple[str, ...]], str]) -> Verdict:
    """Across every variant of the call: the statement where the index cuts the cost most."""
    found: Verdict | None = None
    for measured in (m for call in calls for m in call.statements):
        for trial in measured.trials:
            cand = trial.candidate
            if cand.table != table or cand.fields != fields:
                continue
            found = found or Verdict(cand)
            found.tried = True
            if trial.plan is None or measured.plan is None or not trial.used:
                continue
            if found.best is None or trial.cut(measured.plan) > found.cut():
                found.best = (measured, trial)
    if found is None:
        from bot.plans.model import Candidate

        found = Verdict(Candidate(calls[0].call.model, table, fields, (), "query/missing-index"))
        found.served_by = served.get((table, fields))
    return found


def _scan_problem(measured: Measured, sizes: TableSizes, settings: Settings, table: str) -> str | None:
    """What only the plan shows: a Seq Scan of the large `table` (the one the index is for), or a large Sort; None
    when the plan is fine."""
    plan = measured.plan
    if plan is None:
        return None
    for node in plan.seq_scans():
        if node.relation != _relname(table):
            continue
        rows, _ = sizes.rows(table)
        if rows >= settings.min_table_rows:
            return f"Seq Scan on {node.relation}"
    for node in plan.sorts():
        if node.rows >= settings.min_table_rows:
            return f"Sort of {human(node.rows)} rows"
    return None


def _qualified(measured: Measured, relation: str) -> str:
    for name in [measured.statement.table, *(a.table for a in measured.statement.accesses)]:
        if _relname(name) == relation:
            return name
    return f"public.{relation}"


def _evidence(measured: Measured, trial: Trial, sizes: TableSizes, hypopg: bool) -> str:
    assert measured.plan is not None and trial.plan is not None
    table = trial.candidate.table
    rows, source = sizes.rows(table)
    seeded = sizes.seeded_rows(table)
    size = f"{human(seeded)} seeded rows of `{_relname(table)}`"
    if source == "in dbreview-stats.json" and rows != seeded:
        size += f" ({human(rows)} in production per dbreview-stats.json)"
    before, after = measured.plan.total_cost, trial.plan.total_cost

    def table_rows(relation: str) -> int:
        return sizes.seeded_rows(_qualified(measured, relation))

    return (f"on {size}, EXPLAIN shows {plan_path(measured.plan, table_rows=table_rows)}; with "
            f"{trial.candidate.prisma} as {_hypothetical_word(hypopg)} it is "
            f"{plan_path(trial.plan, table_rows=table_rows)}: cost {cost(before)} → {cost(after)} "
            f"(-{trial.cut(measured.plan):.0%})")


def _extra(measured: Measured, trial: Trial | None, hypopg: bool) -> dict[str, object]:
    data: dict[str, object] = {
        "statement": measured.statement.label,
        "sql": measured.statement.sql,
        "params": list(measured.params),
        "plan_before": measured.plan.excerpt(12) if measured.plan else None,
        "cost_before": round(measured.plan.total_cost, 2) if measured.plan else None,
        "hypothetical": hypopg,
    }
    if trial is not None and trial.plan is not None and measured.plan is not None:
        data.update(index=trial.candidate.prisma, table=trial.candidate.table,
                    plan_after=trial.plan.excerpt(12), cost_after=round(trial.plan.total_cost, 2),
                    cost_cut=round(trial.cut(measured.plan), 3))
    return data


def measured_findings(calls: list[CallMeasurement], sizes: TableSizes, settings: Settings, *, hypopg: bool,
                      schema_paths: dict[str, str]) -> list[Finding]:
    """One query/measured-seq-scan finding per call whose plan has a large scan or sort that an index fixes."""
    out: list[Finding] = []
    for call in calls:
        best: tuple[Measured, Trial, str] | None = None
        for measured in call.statements:
            trial = measured.best()
            if trial is None or measured.plan is None:
                continue
            problem = _scan_problem(measured, sizes, settings, trial.candidate.table)
            if problem is None:
                continue
            if trial.cut(measured.plan) < settings.min_cost_cut:
                continue
            rows, _ = sizes.rows(trial.candidate.table)
            if rows < settings.min_table_rows:
                continue
            saving = measured.plan.total_cost - (trial.plan.total_cost if trial.plan else 0)
            if best is None or saving > best[0].plan.total_cost - (best[1].plan.total_cost  # type: ignore[union-attr]
                                                                    if best[1].plan else 0):
                best = (measured, trial, problem)
        if best is None:
            continue
        measured, trial, problem = best
        ref = call.call
        cand = trial.candidate
        where = schema_paths.get(cand.model, f"model {cand.model}")
        variant = f" (when {call.translation.variant})" if call.translation.variant else ""
        message = (f"`{ref.target}`{variant}: {_evidence(measured, trial, sizes, hypopg)}. Add `{cand.prisma}` to "
                   f"model `{cand.model}` ({where}); create it with `CREATE INDEX CONCURRENTLY` on a large table. "
                   f"The {problem} is what the static rules could not see.")
        finding = MEASURED_SEQ_SCAN.finding(
            ref.path, ref.line, message, end_line=ref.end_line, key=f"{ref.key}:measured:{cand.prisma}",
            scope=ref.scope, extra=_extra(measured, trial, hypopg), source=Source.MEASURED)
        if ref.confidence < 1.0:
            finding = finding.with_(confidence=ref.confidence)
        out.append(finding)
    return out


# -- reconciling with the static and LLM advice -----------------------------------------------------------------------


def _fields_of(text: str) -> tuple[str, ...] | None:
    match = _INDEX_TEXT.search(text)
    if match is None:
        return None
    fields = []
    for part in match.group(1).split(","):
        name = part.strip().split("(", 1)[0].strip()
        if name:
            fields.append(name)
    return tuple(fields) or None


def _calls_for(finding: Finding, calls: list[CallMeasurement]) -> list[CallMeasurement]:
    """The measured variants of the call the finding is about (its lines overlap the call's)."""
    return [call for call in calls
            if call.call.path == finding.path and call.call.line <= finding.last_line
            and finding.line <= call.call.end_line and any(m.plan is not None for m in call.statements)]


def _main_table(calls: list[CallMeasurement]) -> str:
    return next((c.statements[0].statement.table for c in calls if c.statements), "")


def reconcile(review: Review, calls: list[CallMeasurement], sizes: TableSizes, settings: Settings, *,
              hypopg: bool, served: dict[tuple[str, tuple[str, ...]], str]) -> list[str]:
    """Confirm or drop static `query/missing-index` and LLM index advice on measured calls; returns the notes."""
    notes: list[str] = []
    kept: list[Finding] = []
    confirmed_calls: set[tuple[str, int]] = set()
    for f in review.findings:
        is_static = f.rule == "query/missing-index" and f.source is not Source.MEASURED
        is_llm = f.source is Source.LLM and _fields_of(f.message) is not None
        if is_static and "type: Gin" in f.key:
            kept.append(f)  # a GIN index for array/jsonb containment: the trial indexes here are btrees
            continue
        if not (is_static or is_llm):
            kept.append(f)
            continue
        call = _calls_for(f, calls)
        fields = _fields_of(f.key if is_static else f.message) or _fields_of(f.message)
        if not call or fields is None:
            kept.append(f)
            continue
        judged = verdict(call, fields, _main_table(call), served)
        where = f"{f.path}:{f.line}"
        index = "@@index([" + ", ".join(fields) + "])"
        rows, source = sizes.rows(_main_table(call))
        if judged.best is not None and judged.cut() >= settings.min_cost_cut and rows >= settings.min_table_rows:
            measured, trial = judged.best
            evidence = _evidence(measured, trial, sizes, hypopg)
            kept.append(f.with_(source=Source.MEASURED if is_static else f.source,
                                message=f"{f.message} Measured: {evidence}.",
                                extra={**f.extra, **_extra(measured, trial, hypopg)}))
            confirmed_calls.add((call[0].call.path, call[0].call.line))
            continue
        who = "query/missing-index" if is_static else "the AI review's index suggestion"
        if judged.served_by is not None:
            notes.append(f"plans: dropped {who} at {where}: the database the migrations build already has "
                         f"`{judged.served_by}`, which starts with those columns")
        elif rows < settings.min_table_rows:
            notes.append(f"plans: dropped {who} at {where}: `{_relname(_main_table(call))}` has {rows:,} rows "
                         f"({source}), too few for {index} to matter")
        elif judged.tried:
            uses = _existing_index_used(call)
            cut = judged.cut()
            reason = f"the plan already uses `{uses}`" if uses else "the planner would not use it"
            if judged.best is not None:
                reason = f"it cuts the estimated cost by only {cut:.0%} (threshold {settings.min_cost_cut:.0%})"
            notes.append(f"plans: dropped {who} at {where}: measured on generated rows, {index} does not help "
                         f"({reason})")
        else:
            kept.append(f)  # not measured for this index: the static claim stands
            continue
    # A measured-seq-scan finding on a call whose static finding was confirmed would say the same thing twice.
    review.findings = [f for f in kept if not (f.rule == MEASURED_SEQ_SCAN.id and (f.path, f.line) in confirmed_calls)]
    return notes


def _existing_index_used(calls: list[CallMeasurement]) -> str | None:
    table = _relname(_main_table(calls))
    for measured in (m for call in calls for m in call.statements):
        if measured.plan is None:
            continue
        for node in measured.plan.index_scans():
            if node.relation == table or not node.relation:
                return node.index
    return None
