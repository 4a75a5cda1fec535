"""query checks: Prisma Client misuse in the changed TS/JS files, joined with the head schema where it helps.

`analyze(ctx)` parses each changed query file once (bot.ts.file_analysis, through ctx.memo), runs every file-level
rule module on it, then the repository-wide rule (dropped/renamed columns still used anywhere in the head tree).
Rule modules: n_plus_one, transactions, unbounded, overfetch, raw_sql, mass_write, index_advisor, blast_radius,
unawaited, dropped_columns. Each module's `check(QueryInput) -> list[Finding]` is pure (no I/O, no parsing).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

from bot.context import ReviewContext, check_deadline
from bot.findings import Finding, Severity, Surface
from bot.registry import define
from bot.ts import file_analysis

from .gone import everything_gone
from .schema_view import schema_view

if TYPE_CHECKING:  # the call graph loads with the first query file (bot.ts loads its modules on first use too)
    from bot.ts.callgraph import HelperCall, ReturningCaller

    from .common import QueryInput

PARSE_ERROR = define(
    "query/parse-error", Severity.WARNING, Surface.QUERY,
    "A TS/JS file that calls Prisma Client could not be parsed, so the query rules did not run on it",
)


def file_checks() -> list[Callable[[QueryInput], list[Finding]]]:
    """The file-level rules, imported on first use: a change without query files (a migration, a schema) runs
    only dropped_columns here (and only when it removes something), and importing the other rule modules was ~30 ms
    of its start-up."""
    from . import (
        blast_radius,
        index_advisor,
        mass_write,
        n_plus_one,
        overfetch,
        raw_sql,
        transactions,
        unawaited,
        unbounded,
    )

    return [
        n_plus_one.check, transactions.check, unbounded.check, overfetch.check, raw_sql.check, mass_write.check,
        index_advisor.check, blast_radius.check, unawaited.check,
    ]


def analyze(ctx: ReviewContext) -> list[Finding]:
    findings: list[Finding] = []
    try:
        schema = schema_view(ctx, "head")
    except Exception:  # a schema that cannot be read only disables the schema-joined rules
        schema = None
        ctx.note("query analyzer: the head schema could not be read; index, over-fetching and delete rules skipped")
    files = calls = transactions_seen = 0
    models: set[str] = set()
    for changed in ctx.surfaces.query:
        check_deadline()
        analysis = file_analysis(ctx, changed.path)
        if analysis.skipped:
            if analysis.unanalysable:
                ctx.not_analysed(changed.path, analysis.skipped)
            else:  # a bundle, a .d.ts or the generated client: not source the author wrote
                ctx.note(f"{changed.path}: not analysed by the query rules ({analysis.skipped})")
            continue
        if analysis.parse_failed:
            line = analysis.error_lines[0] if analysis.error_lines else 1
            findings.append(PARSE_ERROR.finding(
                changed.path, line,
                f"`{changed.path}` does not parse as {_language(changed.path)} (first syntax error at line {line}); "
                "the Prisma query rules could not check it. Fix the syntax error, or exclude the file with "
                "`paths.ignore` if it is not source code.",
                key=f"{changed.path}:parse", caused_by_change=True))
            continue
        if analysis.error_lines:
            shown = ", ".join(str(n) for n in sorted(set(analysis.error_lines))[:5])
            ctx.note(f"{changed.path}: syntax errors at line(s) {shown}; the query rules checked the code that "
                     "parsed")
        files += 1
        calls += len(analysis.calls)
        transactions_seen += len(analysis.transactions)
        models.update(c.accessor for c in analysis.calls if c.accessor)
        from .common import QueryInput

        inp = QueryInput(analysis, schema, ctx.options, _helpers(ctx, changed.path),
                         _returning_callers(ctx, changed.path))
        for check in file_checks():
            findings.extend(check(inp))
    if findings:
        from .index_advisor import merge_across_files

        findings = _decided_by_callers(ctx, merge_across_files(findings))
    gone = everything_gone(ctx)
    if gone:  # the code scan (and the TS parser) loads only when the change removes a field, model or column
        from . import dropped_columns

        findings.extend(dropped_columns.analyze(ctx, gone))
    if files:
        # For the summary and the LLM reviewer: how much Prisma Client code the change touches, on which models.
        ctx.facts["query"] = {"files": files, "calls": calls, "transactions": transactions_seen,
                              "models": sorted(models)}
    return findings


def _decided_by_callers(ctx: ReviewContext, findings: list[Finding]) -> list[Finding]:
    """Raw SQL built from a helper's own parameters: dropped when every caller in the tree passes constants or deploy
    configuration (split-pro schedules its pg_cron job from two environment variables)."""
    from .callers import callers_pass_constants

    out: list[Finding] = []
    for f in findings:
        decide = f.extra.get("callers_decide") if f.rule == "query/raw-sql-injection" else None
        if isinstance(decide, dict):
            try:
                fixed = callers_pass_constants(ctx, str(decide["function"]), list(decide["params"]))
            except Exception as exc:  # reading the tree must never stop the review; the finding stays
                ctx.note(f"{f.path}: callers of {decide['function']} not read ({type(exc).__name__})")
                fixed = False
            if fixed:
                continue
        out.append(f)
    return out


def _helpers(ctx: ReviewContext, path: str) -> list[HelperCall]:
    """Loop calls to query-running helpers; resolving them reads other files, which must never stop the review."""
    from bot.ts.callgraph import helper_calls

    try:
        return helper_calls(ctx, path)
    except Exception as exc:  # an unreadable import or an odd tree: the rest of the query rules still run
        ctx.note(f"{path}: calls to helpers in loops not followed ({type(exc).__name__})")
        return []


def _returning_callers(ctx: ReviewContext, path: str) -> Callable[[str, str], list[ReturningCaller]]:
    def find(class_name: str, method: str) -> list[ReturningCaller]:
        from bot.ts.callgraph import returning_callers

        try:
            return returning_callers(ctx, path, class_name, method)
        except Exception as exc:  # reading a neighbour must never stop the review
            ctx.note(f"{path}: callers of {class_name}.{method} not followed ({type(exc).__name__})")
            return []

    return find


def _language(path: str) -> str:
    return "TypeScript" if path.endswith((".ts", ".tsx", ".mts", ".cts")) else "JavaScript"
