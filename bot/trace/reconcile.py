"""Static migration findings meet the measurement: one finding per problem, and the measurement wins.

For each static finding on a traced statement, its claim (a rewrite, a write-blocking lock on an existing table, a
deploy failure) is compared with what the trace measured:
- they agree: the static finding stays (it carries the better fix text and any suggestion), its message gains the
  measured evidence, and the measured duplicate for that statement is dropped;
- they disagree: the static finding is dropped and a note says what was measured instead;
- the statement was not traced (an earlier failure), or the rule makes no claim the trace can check: untouched.
Measured findings with no static counterpart stay as they are.
"""

from __future__ import annotations

from bot.findings import Finding, Severity, Source
from bot.trace import probe
from bot.trace.claims import claim_of  # (also read by bot.trace.stats, without this stack)
from bot.trace.rules import ACCESS_EXCLUSIVE, FAILURE, REWRITE, WRITE_LOCK
from bot.trace.runner import StatementTrace, TraceResult


def _trace_at(result: TraceResult, path: str, line: int) -> StatementTrace | None:
    for trace in result.statements():
        if trace.path == path and trace.line <= line <= trace.end_line:
            return trace
    return None


def _ran(trace: StatementTrace, result: TraceResult) -> bool:
    if trace.cascade or trace.step_artifact:
        return False
    return trace.skipped is None and (trace.error is not None or trace.locks or trace.duration_ms > 0
                                      or trace.created or trace.rewritten or trace.rewritten_new)


def _strong_locks(trace: StatementTrace) -> list[str]:
    return [f"{lk.mode_name} on \"{lk.relation}\"" for lk in trace.locks
            if lk.existing and lk.kind in ("r", "p", "m") and lk.mode in probe.WRITE_BLOCKING]


def _held(trace: StatementTrace) -> str:
    held = [lk.held_ms for lk in trace.locks if lk.existing and lk.held_ms is not None and lk.mode in
            probe.WRITE_BLOCKING]
    return f", held {max(held):.0f} ms in the replay" if held else ""


def _verdict(claim: str, trace: StatementTrace, result: TraceResult) -> tuple[bool | None, str]:
    """(agrees?, what was measured). None when the measurement cannot settle the claim."""
    if claim == "rewrite":
        if trace.error:
            return None, ""
        if trace.rewritten:
            return True, f"rewrote {', '.join(trace.rewritten)}{_held(trace)}"
        if trace.rewritten_new:
            return False, f"only rewrote {', '.join(trace.rewritten_new)}, created by this change"
        return False, "no table or index was rewritten (relfilenodes unchanged)"
    if claim == "lock":
        if trace.error:
            return None, ""
        strong = _strong_locks(trace)
        if strong:
            return True, f"took {', '.join(strong)}{_held(trace)}"
        taken = [f"{lk.mode_name} on \"{lk.relation}\"" for lk in trace.locks if lk.kind in ("r", "p", "m")]
        detail = f"it took only {', '.join(taken)}" if taken else "it took no table lock"
        if any(not lk.existing for lk in trace.locks):
            detail += " (tables created by this change are not in use yet)"
        return False, f"no write-blocking lock on an existing table: {detail}"
    if claim == "failure":
        if trace.error or trace.replay_error:
            return True, f"failed: {trace.error or trace.replay_error}"
        touched = [lk.relation for lk in trace.locks if lk.existing]
        if result.rows > 0 and any(name in result.seeded for name in touched):
            return False, f"succeeded on {result.rows:,} generated rows"
        return None, ""
    return None, ""


def _same_problem(measured: Finding, claim: str) -> bool:
    if claim == "rewrite":
        return measured.rule in (REWRITE.id, ACCESS_EXCLUSIVE.id, WRITE_LOCK.id)
    if claim == "lock":
        return measured.rule in (ACCESS_EXCLUSIVE.id, WRITE_LOCK.id, REWRITE.id)
    return measured.rule == FAILURE.id


def reconcile(static_findings: list[Finding], measured: TraceResult) -> tuple[list[Finding], list[str]]:
    """The findings to report and notes on every static finding the measurement withdrew.

    `static_findings` may already contain the measured findings (source MEASURED): they are deduplicated against
    the static findings they confirm.
    """
    notes: list[str] = []
    kept: list[Finding] = []
    confirmed: list[tuple[str, int, int, str]] = []  # (path, line, end_line, claim) a static finding covers
    for f in static_findings:
        if f.source is Source.MEASURED:
            continue
        claim = claim_of(f.rule)
        trace = _trace_at(measured, f.path, f.line) if claim else None
        if claim is None or trace is None or not _ran(trace, measured):
            kept.append(f)
            continue
        agrees, evidence = _verdict(claim, trace, measured)
        if agrees is None:
            kept.append(f)
        elif agrees:
            kept.append(f.with_(message=f"{f.message} Measured on PostgreSQL: {evidence}.",
                                extra={**f.extra, "measured": evidence}))
            confirmed.append((trace.path, trace.line, trace.end_line, claim))
        else:
            notes.append(f"measured: {f.rule} at {f.path}:{f.line} withdrawn: the trace measured {evidence}")
    for f in static_findings:
        if f.source is not Source.MEASURED:
            continue
        duplicate = next((c for c in confirmed if c[0] == f.path and c[1] <= f.line <= c[2]
                          and _same_problem(f, c[3])), None)
        if duplicate is None:
            kept.append(f)
            continue
        # The static finding carries the fix; keep the stronger severity of the two on it.
        for i, k in enumerate(kept):
            if k.source is not Source.MEASURED and k.path == f.path and duplicate[1] <= k.line <= duplicate[2] \
                    and f.severity.rank > k.severity.rank and claim_of(k.rule) == duplicate[3]:
                kept[i] = k.with_(severity=Severity(f.severity.value))
    return kept, notes
