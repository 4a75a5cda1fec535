"""The terminal report: grouped by file, the flagged source line shown, colour on a TTY."""

from __future__ import annotations

from collections import defaultdict

from bot.change import Change, split_lines
from bot.findings import Finding, Severity, Side, Source
from bot.redact import scrub
from bot.review import Review

_COLOURS = {Severity.ERROR: "\x1b[31m", Severity.WARNING: "\x1b[33m", Severity.INFO: "\x1b[36m"}
_BOLD, _DIM, _RESET = "\x1b[1m", "\x1b[2m", "\x1b[0m"


def render_text(review: Review, change: Change | None = None, *, colour: bool = False) -> str:
    def paint(text: str, code: str) -> str:
        return f"{code}{text}{_RESET}" if colour else text

    out: list[str] = []
    if not review.has_database_surface:
        out.append("dbreview: nothing to review: this change has no Prisma schema, migration or Prisma Client code.")
        out.extend(f"  note: {n}" for n in review.notes if not n.startswith("no database surface"))
        return "\n".join(out) + "\n"

    by_path: dict[str, list[Finding]] = defaultdict(list)
    for f in review.findings:
        by_path[f.path].append(f)
    line_cache: dict[tuple[str, Side], list[str]] = {}

    for path in sorted(by_path):
        out.append(paint(path, _BOLD))
        for f in by_path[path]:
            where = f"{f.line}" if f.last_line == f.line else f"{f.line}-{f.last_line}"
            if f.side is Side.OLD:
                where += " (old)"
            severity = paint(f"{f.severity.value:<7}", _COLOURS[f.severity])
            source = " [llm]" if f.source is Source.LLM else ""
            out.append(f"  {where:>9}  {severity}  {f.rule}{source}")
            for line in _wrap(f.message, 100):
                out.append(f"             {line}")
            snippet = _source_line(change, f, line_cache)
            if snippet is not None:
                out.append(paint(f"             {f.line:>5} | {snippet}", _DIM))
            if f.suggestion is not None:
                out.append("             suggested:")
                out.extend(f"               {ln}" for ln in f.suggestion.replacement.splitlines())
        out.append("")

    counts = review.counts()
    files_reviewed = sum(len(v) for v in review.files.values())
    summary = (
        f"{counts['error']} error(s), {counts['warning']} warning(s), {counts['info']} info "
        f"in {files_reviewed} changed database file(s) ({review.base_label} .. {review.head_label})"
    )
    if not review.findings:
        summary = f"No findings. {summary}"
    out.append(paint(summary, _BOLD))
    if review.suppressed:
        out.append(f"{len(review.suppressed)} suppressed:")
        for f in review.suppressed:
            out.append(f"  {f.path}:{f.line} {f.rule}: {f.suppressed_reason}")
    if review.llm is not None:
        u = review.llm
        if u.error:
            # The error text comes from an exception: CI logs are public, secrets stay out.
            out.append(f"LLM review failed ({scrub(u.error)}); the rule findings above are complete.")
        else:
            out.append(f"LLM review: {u.model}, {u.calls} call(s), {u.input_tokens} input / {u.output_tokens} "
                       f"output tokens ({u.cache_read_tokens} cached), ${u.cost_usd:.4f}")
        if u.not_reviewed:
            out.append(f"  not reviewed by the LLM (budget): {', '.join(u.not_reviewed)}")
    for note in review.notes:
        out.append(f"note: {note}")
    return "\n".join(out) + "\n"


def _source_line(change: Change | None, f: Finding, cache: dict[tuple[str, Side], list[str]]) -> str | None:
    if change is None:
        return None
    key = (f.path, f.side)
    if key not in cache:
        if f.side is Side.OLD:
            changed = change.file(f.path)
            text = change.base_text(changed.base_path if changed and changed.base_path else f.path)
        else:
            text = change.head_text(f.path)
        cache[key] = split_lines(text or "")
    lines = cache[key]
    if 0 < f.line <= len(lines):
        return lines[f.line - 1].rstrip()[:160]
    return None


def _wrap(text: str, width: int) -> list[str]:
    lines: list[str] = []
    for paragraph in text.splitlines() or [""]:
        current = ""
        for word in paragraph.split(" "):
            if current and len(current) + 1 + len(word) > width:
                lines.append(current)
                current = word
            else:
                current = f"{current} {word}" if current else word
        lines.append(current)
    return lines
