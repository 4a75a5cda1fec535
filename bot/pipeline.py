"""review(change, config) -> Review: the one function every way of running dbreview calls.

Classify the changed files, run the analyzers (each parses through the shared memo), apply the repo config and
inline suppressions, keep only what the change is responsible for, fingerprint, then hand the result to the
optional LLM reviewer. Nothing here prints, exits or talks to a network except through the LLM interface.
"""

from __future__ import annotations

import gc
import logging
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Protocol

from bot.change import EMPTY_SNAPSHOT, Change, ChangedFile, FileStatus, split_lines
from bot.config import Config
from bot.findings import Finding, Severity, Side, Source, compute_fingerprint
from bot.review import LlmUsage, Review
from bot.surfaces import classify

if TYPE_CHECKING:
    from bot.context import ReviewContext
    from bot.learnings import Learning
    from bot.prisma.model import Schema

# What only a change with database files needs (the rule registry imports every check, hence the parsers) is
# imported in review() after the "no database surface" return: a change without them costs the start-up alone.

log = logging.getLogger("dbreview.pipeline")

Analyzer = Callable[["ReviewContext"], list[Finding]]


@dataclass
class LlmResult:
    """What the LLM reviewer returns to the pipeline."""

    findings: list[Finding] = field(default_factory=list)
    usage: LlmUsage = field(default_factory=LlmUsage)
    assessment: str = ""
    notes: list[str] = field(default_factory=list)


class LlmReviewer(Protocol):
    """The LLM review, seen from the pipeline: it gets the context and the rule findings, returns its own."""

    def review(self, ctx: ReviewContext, rule_findings: list[Finding]) -> LlmResult: ...


def analyzers() -> list[tuple[str, Analyzer]]:
    """The analyzers, each importing its rule family on its first call: a family whose surface the change does not
    touch is never imported (the schema and migration analyzers find nothing without their files; the query
    analyzer always runs, since a dropped column may still be used by code the change does not touch)."""
    return [("schema", _schema), ("migration", _migration), ("query", _query), ("change", _change)]


def _schema(ctx: ReviewContext) -> list[Finding]:
    if not ctx.surfaces.schema:
        return []
    from bot.checks import schema

    return schema.analyze(ctx)


def _migration(ctx: ReviewContext) -> list[Finding]:
    if not ctx.surfaces.migrations:
        return []
    from bot.checks import migration

    return migration.analyze(ctx)


def _query(ctx: ReviewContext) -> list[Finding]:
    from bot.checks import query

    return query.analyze(ctx)


def _change(ctx: ReviewContext) -> list[Finding]:
    from bot.checks import change

    return change.analyze(ctx)


def review(
    change: Change,
    config: Config | None = None,
    *,
    llm: LlmReviewer | None = None,
    report_all: bool = False,
    extra_analyzers: list[tuple[str, Analyzer]] | None = None,
    learnings: list[Learning] | None = None,
) -> Review:
    started = time.perf_counter()
    config = config or Config()
    surfaces = classify(change, config)
    result = Review(base_label=change.base_label, head_label=change.head_label)
    result.notes.extend(change.notes)
    result.files = {
        "schema": [f.path for f in surfaces.schema],
        "migration": [f.path for f in surfaces.migrations],
        "query": [f.path for f in surfaces.query],
    }
    if surfaces.ignored:
        result.notes.append(f"ignored by config paths.ignore: {', '.join(surfaces.ignored)}")
    for path, reason in surfaces.skipped:
        result.notes.append(f"skipped {path}: {reason}")
    if surfaces.not_prisma:
        result.notes.append("not reviewed as Prisma migrations (their folder is not one `prisma migrate` runs: no "
                            "migration_lock.toml and no Prisma schema beside it, or an archive beside `migrations`): "
                            f"{', '.join(surfaces.not_prisma)}")
    for note in surfaces.head_layout.notes:
        if note not in result.notes:
            result.notes.append(note)
    if not surfaces.any:
        result.notes.append("no database surface in this change (no Prisma schema, migration or Prisma Client code)")
        result.elapsed_s = time.perf_counter() - started
        return result
    result.has_database_surface = True
    from bot import grouping, novelty
    from bot.context import ReviewContext
    from bot.suppress import apply_suppressions

    ctx = ReviewContext(change=change, config=config, surfaces=surfaces, learnings=list(learnings or []))
    raw, unfinished = _run_analyzers(ctx, [*analyzers(), *(extra_analyzers or [])],
                                     started + config.limits.review_seconds)
    from bot.checks.change import files as file_checks

    raw.extend(file_checks.check(ctx, unfinished))

    with _collector_paused():
        configured = _apply_config(raw, config)
        kept, suppressed, suppression_findings = apply_suppressions(configured, change, surfaces, config)
        kept.extend(_apply_config(suppression_findings, config))
    # New in this change, by meaning: the same analyzers on the base side of the files the change modifies.
    surface_paths = {f.path for f in (*surfaces.schema, *surfaces.migrations, *surfaces.query)}
    analysed = novelty.analysed_paths(change, surface_paths)
    # The base side only matters for a file with a head finding it could show to be old: a modified file without
    # one (no finding, or only findings on code the base file does not have) is not analysed again.
    comparable = novelty.may_be_old(kept, change, analysed)
    analysed = {head: base for head, base in analysed.items() if head in comparable}
    base_side = [(name, fn) for name, fn in [*analyzers(), *(extra_analyzers or [])]
                 if name != "change" and not getattr(fn, "change_only", False)]
    base_findings = _base_findings(change, config, analysed, base_side, started + config.limits.review_seconds,
                                   ctx.parsed)
    if base_findings is None:
        ctx.note("the base side could not be analysed in time: findings are filtered by the lines the change "
                 "touched instead")
        analysed, base_findings = {}, []
    touched = (lambda f: True) if report_all else (lambda f: _caused_by_change(f, change))
    with _collector_paused():
        split = novelty.split(_dedupe(kept), base_findings, change, analysed, touched)
        line_text = _head_line_reader(change)
        new, preexisting = grouping.group(split.new, line_text), grouping.group(split.preexisting, line_text)
        kept = new + preexisting if report_all else new
        if not report_all:
            suppressed = [f for f in suppressed if _caused_by_change(f, change)]
            result.preexisting = _fingerprint(preexisting, change)
        kept = _fingerprint(kept, change)
        # Lock and rewrite findings re-graded by table size, from the base branch's dbreview-stats.json.
        from bot.trace.stats import adjust_severity, load_stats

        stats = load_stats(change.base)
        kept = adjust_severity(kept, stats, config)
        # Without a measured size, a table that is small by its nature (settings, keys, the tenants) makes its
        # lock, scan and index findings advice.
        if kept:
            from bot.sizing import guess_severity

            kept = guess_severity(kept, _head_schema(ctx), stats, config)
        result.suppressed = _fingerprint(suppressed, change)

    if llm is not None:
        try:
            llm_result = llm.review(ctx, kept)
        except Exception as exc:  # the deterministic review is posted whatever happens to the LLM
            from bot.redact import scrub

            log.exception("LLM review failed")
            llm_result = LlmResult(usage=LlmUsage(error=scrub(f"{type(exc).__name__}: {exc}")[:300]))
        result.llm = llm_result.usage
        result.llm_assessment = llm_result.assessment
        ctx.notes.extend(llm_result.notes)
        # LLM findings are advice, never a build failure: at most a warning, wherever they are shown.
        capped = [f.with_(severity=Severity.WARNING) if f.severity is Severity.ERROR else f
                  for f in llm_result.findings]
        llm_findings = _fingerprint(capped, change)
        # Remarks about unchanged lines were there before: listed apart, like old rule findings, never inline.
        kept.extend(f for f in llm_findings if not f.preexisting)
        result.preexisting.extend(f for f in llm_findings if f.preexisting)

    result.findings = sorted(kept, key=Finding.sort_key)
    result.notes.extend(ctx.notes)
    result.facts = ctx.facts
    result.elapsed_s = time.perf_counter() - started
    return result


@contextmanager
def _collector_paused() -> Iterator[None]:
    """Findings are copied and grouped here, never in cycles. With the collector on, each full collection would
    rescan the parsed schemas, migrations and trees still held by the review: on a large change that made this
    step grow faster than the number of findings (bench/speed_bench.py's growth table)."""
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            gc.enable()


def _head_line_reader(change: Change) -> Callable[[str, int], str | None]:
    cache: dict[str, list[str]] = {}

    def read(path: str, line: int) -> str | None:
        if path not in cache:
            cache[path] = split_lines(change.head_text(path) or "")
        lines = cache[path]
        return lines[line - 1] if 0 < line <= len(lines) else None

    return read


def _base_findings(change: Change, config: Config, analysed: dict[str, str], named: list[tuple[str, Analyzer]],
                   deadline: float, parsed: dict[object, object] | None = None) -> list[Finding] | None:
    """What the analyzers find in the base versions of the files the change modifies, against their base paths
    (None when it could not be computed in time). The change-level checks and the trace are not run: their findings
    are about the change itself."""
    if not analysed:
        return []
    from bot.context import ReviewContext

    files = [ChangedFile(path=base_path, status=FileStatus.ADDED) for base_path in sorted(set(analysed.values()))]
    # Every file "added" on an empty base: each analyzer reports all it finds in the base versions.
    base_change = Change(files=files, base=EMPTY_SNAPSHOT, head=change.base, base_label="empty",
                         head_label=change.base_label)
    base_ctx = ReviewContext(change=base_change, config=config, surfaces=classify(base_change, config),
                             parsed=parsed if parsed is not None else {})
    found, unfinished = _run_analyzers(base_ctx, named, deadline)
    if unfinished or any("internal error" in n for n in base_ctx.notes):
        return None
    return _apply_config(found, config)


# One analyzer may use at most this share of the review's time, so a runaway one leaves time for the others.
ANALYZER_SHARE = 0.6


def _run_analyzers(ctx: ReviewContext, named: list[tuple[str, Analyzer]],
                   deadline: float) -> tuple[list[Finding], list[str]]:
    """Run each analyzer in its own thread with its share of the time left; (findings, analyzers not finished).

    An analyzer past its share is abandoned: its findings are dropped (a partial list would look complete), the
    review goes on with the others, and `check_deadline()` in the analyzer's loops stops its thread soon after.
    """
    from bot.context import ReviewTimeout, set_deadline

    findings: list[Finding] = []
    unfinished: list[str] = []
    total = ctx.config.limits.review_seconds
    for name, analyze in named:
        budget = min(deadline - time.perf_counter(), total * ANALYZER_SHARE)
        if budget <= 0:
            unfinished.append(name)
            continue
        outcome: dict[str, object] = {}
        thread_deadline = time.monotonic() + budget

        def run(analyze: Analyzer = analyze, box: dict[str, object] = outcome, at: float = thread_deadline,
                name: str = name) -> None:
            set_deadline(at)
            try:
                box["findings"] = analyze(ctx)
            except ReviewTimeout:
                box["timeout"] = True
            except Exception as exc:  # one analyzer's bug (RecursionError included) must not lose the others'
                log.exception("analyzer %s failed", name)
                box["error"] = exc

        worker = threading.Thread(target=run, name=f"dbreview-{name}", daemon=True)
        worker.start()
        worker.join(budget + 0.5)
        if worker.is_alive() or outcome.get("timeout"):
            log.warning("analyzer %s did not finish within %.1f s", name, budget)
            unfinished.append(name)
            continue
        error = outcome.get("error")
        if isinstance(error, BaseException):
            ctx.note(f"internal error in the {name} analyzer ({type(error).__name__}); its findings are missing")
            continue
        findings.extend(outcome.get("findings") or [])  # type: ignore[arg-type]
    if unfinished:
        ctx.note(f"not finished within the review's time limit: {', '.join(unfinished)}")
    return findings, unfinished


def _apply_config(findings: list[Finding], config: Config) -> list[Finding]:
    from bot.registry import RULES, all_rules

    # A finding's rule is registered by the module that made it, so the rules loaded so far normally cover them
    # all; an id they lack (an LLM finding, a rule from a family not loaded yet) needs the complete registry.
    rules = RULES if all(f.rule in RULES for f in findings) else all_rules()
    out: list[Finding] = []
    for f in findings:
        rule = rules.get(f.rule)
        if rule is None:
            out.append(f)  # LLM findings and measured results carry ids that are not rules
            continue
        if not config.is_enabled(rule):
            continue
        severity = config.severity_for(rule, f.severity)
        out.append(f if severity is f.severity else f.with_(severity=severity))
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
            lines = split_lines(text or "")
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


def _head_schema(ctx: ReviewContext) -> Schema | None:
    from bot.prisma.load import schema_at

    try:
        loaded = schema_at(ctx, "head")
    except Exception:  # the schema is optional evidence here: without it no severity is guessed
        log.exception("head schema could not be loaded for size guesses")
        return None
    return loaded.schema if loaded is not None else None
