"""review(change, config) -> Review: the one function every way of running dbreview calls.

Classify the changed files, run the analyzers (each parses through the shared memo), apply the repo config and
inline suppressions, keep only what the change is responsible for, fingerprint, then hand the result to the
optional LLM reviewer. Nothing here prints, exits or talks to a network except through the LLM interface.
"""

from __future__ import annotations

import logging
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Protocol

from bot.change import Change, FileStatus
from bot.config import Config
from bot.context import ReviewContext
from bot.findings import Finding, Side, Source, compute_fingerprint
from bot.redact import scrub
from bot.registry import all_rules
from bot.review import LlmUsage, Review
from bot.suppress import apply_suppressions
from bot.surfaces import classify
from bot.trace.stats import adjust_severity, load_stats

log = logging.getLogger("dbreview.pipeline")

Analyzer = Callable[[ReviewContext], list[Finding]]


@dataclass
class LlmResult:
    findings: list[Finding] = field(default_factory=list)
    usage: LlmUsage = field(default_factory=LlmUsage)
    assessment: str = ""
    notes: list[str] = field(default_factory=list)


class LlmReviewer(Protocol):
    """The LLM review, seen from the pipeline: it gets the context and the rule findings, returns its own."""

    def review(self, ctx: ReviewContext, rule_findings: list[Finding]) -> LlmResult: ...


def analyzers() -> list[tuple[str, Analyzer]]:
    from bot.checks import change as change_checks
    from bot.checks import migration, query, schema

    found: list[tuple[str, Analyzer]] = []
    for name, module in (("schema", schema), ("migration", migration), ("query", query), ("change", change_checks)):
        fn = getattr(module, "analyze", None)
        if fn is not None:
            found.append((name, fn))
    return found


def review(
    change: Change,
    config: Config | None = None,
    *,
    llm: LlmReviewer | None = None,
    report_all: bool = False,
    extra_analyzers: list[tuple[str, Analyzer]] | None = None,
) -> Review:
    started = time.perf_counter()
    config = config or Config()
    surfaces = classify(change, config)
    result = Review(base_label=change.base_label, head_label=change.head_label)
    result.files = {
        "schema": [f.path for f in surfaces.schema],
        "migration": [f.path for f in surfaces.migrations],
        "query": [f.path for f in surfaces.query],
    }
    if surfaces.ignored:
        result.notes.append(f"ignored by config paths.ignore: {', '.join(surfaces.ignored)}")
    for path, reason in surfaces.skipped:
        result.notes.append(f"skipped {path}: {reason}")
    if not surfaces.any:
        result.notes.append("no database surface in this change (no Prisma schema, migration or Prisma Client code)")
        result.elapsed_s = time.perf_counter() - started
        return result
    result.has_database_surface = True

    ctx = ReviewContext(change=change, config=config, surfaces=surfaces)
    for changed in (*surfaces.schema, *surfaces.migrations, *surfaces.query):
        if changed.head_path and change.head_text(changed.head_path) is None:
            ctx.note(f"skipped {changed.path}: not UTF-8 text")
    raw: list[Finding] = []
    for name, analyze in [*analyzers(), *(extra_analyzers or [])]:
        try:
            raw.extend(analyze(ctx))
        except Exception as exc:  # one analyzer's bug must not lose the others' findings
            log.exception("analyzer %s failed", name)
            ctx.note(f"internal error in the {name} analyzer ({type(exc).__name__}); its findings are missing")

    configured = _apply_config(raw, config)
    kept, suppressed, suppression_findings = apply_suppressions(configured, change, surfaces, config)
    kept.extend(_apply_config(suppression_findings, config))
    if not report_all:
        kept = [f for f in kept if _caused_by_change(f, change)]
        suppressed = [f for f in suppressed if _caused_by_change(f, change)]
    kept = _fingerprint(_dedupe(kept), change)
    # Lock and rewrite findings re-graded by table size, from the base branch's dbreview-stats.json.
    kept = adjust_severity(kept, load_stats(change.base), config)
    result.suppressed = _fingerprint(suppressed, change)

    if llm is not None:
        try:
            llm_result = llm.review(ctx, kept)
        except Exception as exc:  # the deterministic review is posted whatever happens to the LLM
            log.exception("LLM review failed")
            llm_result = LlmResult(usage=LlmUsage(error=scrub(f"{type(exc).__name__}: {exc}")[:300]))
        result.llm = llm_result.usage
        result.llm_assessment = llm_result.assessment
        ctx.notes.extend(llm_result.notes)
        llm_findings = _fingerprint(llm_result.findings, change)
        # Remarks about unchanged lines were there before: listed apart, like old rule findings, never inline.
        kept.extend(f for f in llm_findings if not f.preexisting)
        result.preexisting.extend(f for f in llm_findings if f.preexisting)

    result.findings = sorted(kept, key=Finding.sort_key)
    result.notes.extend(ctx.notes)
    result.facts = ctx.facts
    result.elapsed_s = time.perf_counter() - started
    return result


def _apply_config(findings: list[Finding], config: Config) -> list[Finding]:
    rules = all_rules()
    out: list[Finding] = []
    for f in findings:
        rule = rules.get(f.rule)
        if rule is None:
            out.append(f)  # LLM findings and measured results carry ids that are not rules
            continue
        if not config.is_enabled(rule):
            continue
        out.append(f.with_(severity=config.severity_for(rule, f.severity)))
    return out


def _caused_by_change(finding: Finding, change: Change) -> bool:
    """Only what the author touched: an edited line, an edited object (the finding's scope), or a direct cause."""
    if finding.caused_by_change or finding.source is Source.LLM:
        return True
    changed = change.file(finding.path)
    if changed is None:
        return False
    if changed.status is FileStatus.ADDED:
        return True
    touched = changed.deleted_lines if finding.side is Side.OLD else changed.added_lines
    if any(line in touched for line in range(finding.line, finding.last_line + 1)):
        return True
    if finding.scope is not None and finding.side is Side.NEW:
        start, end = finding.scope
        if any(start <= line <= end for line in changed.added_lines):
            return True
        # Lines deleted inside the object also touch it: a deletion sits between its neighbours' new numbers.
        return any(start < position <= end for position in changed.deletion_positions())
    return False


def _dedupe(findings: list[Finding]) -> list[Finding]:
    """One finding per problem: the same rule on the same lines with the same key is reported once."""
    seen: set[tuple[object, ...]] = set()
    out: list[Finding] = []
    for f in findings:
        identity = (f.rule, f.path, f.side, f.line, f.last_line, f.key or f.message)
        if identity in seen:
            continue
        seen.add(identity)
        out.append(f)
    return out


def _fingerprint(findings: list[Finding], change: Change) -> list[Finding]:
    texts: dict[tuple[str, Side], list[str]] = {}
    occurrences: Counter[tuple[str, str, str, str]] = Counter()
    out: list[Finding] = []
    for f in sorted(findings, key=Finding.sort_key):
        if f.fingerprint:
            out.append(f)
            continue
        lines = texts.get((f.path, f.side))
        if lines is None:
            text = change.base_text(_base_path(change, f.path)) if f.side is Side.OLD else change.head_text(f.path)
            lines = (text or "").splitlines()
            texts[(f.path, f.side)] = lines
        line_text = lines[f.line - 1] if 0 < f.line <= len(lines) else ""
        anchor = f.key or " ".join(line_text.split())
        slot = (f.rule, f.path, f.side.value, anchor)
        occurrence = occurrences[slot]
        occurrences[slot] += 1
        out.append(f.with_(fingerprint=compute_fingerprint(f, line_text, occurrence)))
    return out


def _base_path(change: Change, path: str) -> str:
    changed = change.file(path)
    return (changed.base_path if changed and changed.base_path else path)
