"""Which indexes to try on which statement, and the measuring loop over the translated calls.

Candidates come from the static advisor (bot.checks.query.index_advisor: its exact `@@index` for the call), from
`prisma/fk-missing-index` (a relation's foreign key that no index starts with, when a statement filters on it), and
from each table a statement reads (sub-selects of relation filters and follow-up queries included), built the way the
static advisor builds its suggestion: equality columns, then one range column, or the sort columns. A candidate that
an index of the scratch database already starts with is not tried: that index is there (also when the change itself
adds it) and the plan shows whether it is used.
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass, field

import psycopg

from bot.plans.explain import Explainer, elapsed_ms
from bot.plans.model import Access, CallMeasurement, Candidate, Measured, Statement, Translation
from bot.plans.translate import SchemaLookup, qualified
from bot.prisma.model import Model
from bot.ts.values import JsValue

log = logging.getLogger("dbreview.plans")

MAX_CANDIDATES_PER_STATEMENT = 6


def proposed_columns(access: Access) -> list[str]:
    """The static advisor's ordering: equality (and weak equality) columns, then one range column or the sort."""
    cols: list[str] = []
    for name in [*access.equality, *access.weak]:
        if name not in cols:
            cols.append(name)
    if access.range:
        if access.range[0] not in cols:
            cols.append(access.range[0])
    else:
        for name in access.sort:
            if name not in cols:
                cols.append(name)
    return cols


def _candidate(model: Model, fields: list[str], origin: str) -> Candidate | None:
    columns = []
    for name in fields:
        f = model.field(name)
        if f is None or f.kind not in ("scalar", "enum"):
            return None
        columns.append(f.db_name)
    if not columns:
        return None
    return Candidate(model.name, qualified(model), tuple(fields), tuple(columns), origin)


def static_candidate(lookup: SchemaLookup, translation: Translation, where: JsValue | None,
                     order: JsValue | None) -> Candidate | None:
    """What query/missing-index proposes for this call (the same function, on this variant's arguments)."""
    from bot.checks.query.index_advisor import conditions, proposed_index

    model = lookup.model_named(translation.call.model)
    if model is None:
        return None
    try:
        cols = proposed_index(conditions(model, where, order))
    except Exception:  # the advisor reads any argument shape; never let it stop the measurement
        log.debug("static advisor failed on %s", translation.call.target, exc_info=True)
        return None
    return _candidate(model, cols, "query/missing-index") if cols else None


def fk_candidates(lookup: SchemaLookup, statement: Statement) -> list[Candidate]:
    """A relation's foreign key that no index starts with, when the statement filters on it."""
    out: list[Candidate] = []
    for access in statement.accesses:
        model = lookup.model_named(access.model)
        if model is None:
            continue
        for f in model.relation_fields:
            rel = f.relation
            if rel is None or rel.model is not model or rel.field is not f or not rel.fields:
                continue
            if not set(rel.fields) <= set(access.equality):
                continue
            leading = [idx.columns[: len(rel.fields)] for idx in model.all_keys if idx.is_btree]
            if any(set(lead) == set(rel.fields) for lead in leading):
                continue
            cand = _candidate(model, list(rel.fields), "prisma/fk-missing-index")
            if cand is not None:
                out.append(cand)
    return out


def access_candidates(lookup: SchemaLookup, statement: Statement) -> list[Candidate]:
    out: list[Candidate] = []
    for access in statement.accesses:
        model = lookup.model_named(access.model)
        if model is None:
            continue
        if not (access.equality or access.weak or access.range or (access.sort and access.limited)):
            continue
        cand = _candidate(model, proposed_columns(access), "plan")
        if cand is not None:
            out.append(cand)
    return out


def served_by(candidate: Candidate, existing: list[tuple[str, tuple[str, ...]]]) -> str | None:
    """The existing index whose leading columns are the candidate's (it is there already)."""
    for name, columns in existing:
        if columns[: len(candidate.columns)] == candidate.columns:
            return name
    return None


# -- the measuring loop ----------------------------------------------------------------------------------------------


@dataclass
class Workload:
    """One translated variant of a call, and the candidates for each of its statements."""

    translation: Translation
    static: Candidate | None = None
    candidates: list[list[Candidate]] = field(default_factory=list)  # per statement


@dataclass
class LoopResult:
    calls: list[CallMeasurement] = field(default_factory=list)
    # (table, Prisma fields) of a candidate that an existing index already starts with -> that index's name
    served: dict[tuple[str, tuple[str, ...]], str] = field(default_factory=dict)
    skipped_for_time: int = 0
    notes: list[str] = field(default_factory=list)


def plan_tables(translations: list[Translation]) -> list[str]:
    tables: list[str] = []
    for t in translations:
        for s in t.statements:
            for name in [s.table, *(a.table for a in s.accesses)]:
                if name not in tables:
                    tables.append(name)
    return tables


def run(explainer: Explainer, lookup: SchemaLookup, workloads: list[Workload], *, deadline: float,
        per_call_budget_s: float) -> LoopResult:
    """Plan every statement of every workload, then each candidate on the statements that read its table."""
    result = LoopResult()
    existing_cache: dict[str, list[tuple[str, tuple[str, ...]]]] = {}

    def existing(table: str) -> list[tuple[str, tuple[str, ...]]]:
        if table not in existing_cache:
            try:
                existing_cache[table] = explainer.existing_indexes(table)
            except psycopg.Error:
                existing_cache[table] = []
        return existing_cache[table]

    for work in workloads:
        if time.perf_counter() > deadline:
            result.skipped_for_time += 1
            continue
        call_deadline = min(deadline, time.perf_counter() + per_call_budget_s)
        measurement = CallMeasurement(work.translation)
        for i, statement in enumerate(work.translation.statements):
            started = time.perf_counter()
            measured = Measured(statement)
            measurement.statements.append(measured)
            parent_rows = None
            if statement.values_from is not None and statement.values_from < len(measurement.statements):
                parent = measurement.statements[statement.values_from].plan
                parent_rows = parent.rows if parent is not None else None
            text, params = explainer.sql_for(statement, parent_rows)
            try:
                values = explainer.picker.values(params)
                measured.params = [v if v is not None else "NULL" for v in values]
                empty = next((p for p, v in zip(params, values, strict=True) if v is None and not p.known), None)
                if empty is not None:
                    # Planning `col = NULL` shows an empty result, not the query: better unmeasured than wrong.
                    measured.error = f"no seeded value of {empty.table}.{empty.column} to plan with"
                    measured.elapsed_ms = elapsed_ms(started)
                    continue
                measured.plan = explainer.explain(text, values)
            except psycopg.Error as exc:
                measured.error = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
                measured.elapsed_ms = elapsed_ms(started)
                continue
            tables = {statement.table, *(a.table for a in statement.accesses)}
            pool = [*(work.candidates[i] if i < len(work.candidates) else [])]
            if work.static is not None and work.static.table in tables:
                pool.insert(0, work.static)
            seen: set[tuple[str, tuple[str, ...]]] = set()
            tried = 0
            for cand in pool:
                if cand.same_index in seen or cand.table not in tables:
                    continue
                seen.add(cand.same_index)
                there = served_by(cand, existing(cand.table))
                if there is not None:
                    result.served[(cand.table, cand.fields)] = there
                    continue
                if tried >= MAX_CANDIDATES_PER_STATEMENT or time.perf_counter() > call_deadline:
                    break
                tried += 1
                measured.trials.append(explainer.try_index(cand, text, values))
            measured.elapsed_ms = elapsed_ms(started)
        result.calls.append(measurement)
    return result
