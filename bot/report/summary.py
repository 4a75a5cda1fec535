"""The sticky summary comment (and Actions job summary): verdict, counts, what was not inlined, locks, models, scope.

One markdown document under 65,000 characters. When it would be longer it is summarised further, in order: the ER
diagram goes, then the findings table keeps the most severe rows and counts the rest, then the lock table is cut,
and as a last resort the text is truncated with a note.
"""

from __future__ import annotations

import posixpath
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from bot.change import Change
from bot.findings import Finding, Severity, Source
from bot.redact import scrub
from bot.report.mermaid import er_diagram_for_change
from bot.review import Review

SUMMARY_MARKER = "<!-- dbreview:summary -->"
MAX_SUMMARY_CHARS = 65_000
ICON = {Severity.ERROR: "🛑", Severity.WARNING: "⚠️", Severity.INFO: "ℹ️"}


@dataclass
class SummaryContext:
    """What the publisher knows beyond the Review: what went inline, what could not, and why."""

    not_inlined: list[tuple[Finding, str]] = field(default_factory=list)  # finding, reason it is not inline
    inlined: int = 0  # new inline comments posted by this run
    already_posted: int = 0  # findings whose comments from earlier pushes are still there
    resolved: int = 0  # threads resolved or comments removed because their finding is gone
    notes: list[str] = field(default_factory=list)
    bot_errors: list[str] = field(default_factory=list)  # the bot's own failures (rate limits, LLM errors)
    fail_on: str = "error"
    trigger: str = ""
    base: str = ""
    head: str = ""
    blob_url: str | None = None  # "https://github.com/o/r/blob/<sha>" for links to findings
    change: Change | None = None
    marker: bool = True  # the hidden marker that makes the comment findable (off for the Actions job summary)
    extra_markers: list[str] = field(default_factory=list)
    # Sections a surface adds after the findings table (GitHub: findings reviewers dismissed, rules gone
    # summary-only); markdown, already sanitised by their author.
    sections: list[str] = field(default_factory=list)


def _esc_cell(text: str) -> str:
    return " ".join(text.replace("|", "\\|").split())


def _where(f: Finding, ctx: SummaryContext) -> str:
    loc = f"{f.path}:{f.line}" + (f"-{f.last_line}" if f.last_line > f.line else "")
    if f.side.value == "old":
        loc += " (base)"
    if ctx.blob_url and f.side.value == "new":
        anchor = f"#L{f.line}" + (f"-L{f.last_line}" if f.last_line > f.line else "")
        return f"[`{loc}`]({ctx.blob_url}/{f.path}{anchor})"
    return f"`{loc}`"


def verdict(review: Review, fail_on: str) -> str:
    counts = review.counts()
    rule_errors = sum(1 for f in review.findings if f.severity is Severity.ERROR and f.source is not Source.LLM)
    if review.fails(fail_on):
        if rule_errors:
            return f"🛑 **{rule_errors} error{'s' if rule_errors != 1 else ''} to fix before merging**"
        return f"🛑 **findings at or above `{fail_on}` to fix before merging**"
    if counts["error"] or counts["warning"]:
        return "⚠️ **Worth a look before merging**"
    if counts["info"]:
        return "✅ **No blocking problems** (notes below)"
    return "✅ **No database problems found**"


def _counts_table(review: Review) -> str:
    c = review.counts()
    by_source = {s: sum(1 for f in review.findings if f.source is s) for s in Source}
    line = f"| {c['error']} | {c['warning']} | {c['info']} | {by_source[Source.RULE] + by_source[Source.MEASURED]} " \
           f"| {by_source[Source.LLM]} |"
    return "| 🛑 errors | ⚠️ warnings | ℹ️ info | rules | AI review |\n|---:|---:|---:|---:|---:|\n" + line


def _findings_table(rows: list[tuple[Finding, str]], ctx: SummaryContext, limit: int | None) -> str:
    ordered = sorted(rows, key=lambda r: (-r[0].severity.rank, r[0].path, r[0].line))
    shown = ordered if limit is None else ordered[:limit]
    with_reason = any(reason for _, reason in rows)
    if with_reason:
        out = ["| | Rule | Where | Finding | Not inline because |", "|---|---|---|---|---|"]
    else:  # outside a PR (CLI markdown) nothing is inline: no reason column
        out = ["| | Rule | Where | Finding |", "|---|---|---|---|"]
    for f, reason in shown:
        msg = f.message if len(f.message) <= 400 else f.message[:397] + "…"
        row = f"| {ICON[f.severity]} | `{f.rule}` | {_where(f, ctx)} | {_esc_cell(msg)} |"
        out.append(row + (f" {_esc_cell(reason)} |" if with_reason else ""))
    if len(shown) < len(ordered):
        out.append(f"\n… and {len(ordered) - len(shown)} more (all are in the `dbreview` check run annotations).")
    return "\n".join(out)


def _get(row: dict[str, Any], *keys: str) -> str:
    for k in keys:
        v = row.get(k)
        if v not in (None, ""):
            if isinstance(v, (list, tuple)):
                return ", ".join(str(x) for x in v)
            return str(v)
    return ""


def lock_table(locks: Iterable[Any], limit: int | None = None) -> str:
    """Statement → lock → what it blocks, from the migration analyzer's `facts["locks"]` rows."""
    rows = [r if isinstance(r, dict) else getattr(r, "__dict__", {"statement": str(r)}) for r in locks]
    if not rows:
        return ""
    shown = rows if limit is None else rows[:limit]
    out = ["| Migration | Statement | Lock | Blocks | Held until |", "|---|---|---|---|---|"]
    for r in shown:
        path = _get(r, "path", "file", "migration")
        migration = posixpath.basename(posixpath.dirname(path)) if path.endswith(".sql") else path
        line = _get(r, "line")
        where = (f"`{migration}`" + (f":{line}" if line else "")) if migration else ""
        stmt = _get(r, "statement", "sql", "summary")
        stmt = stmt if len(stmt) <= 90 else stmt[:87] + "…"
        table = _get(r, "table", "relation")
        lock = _get(r, "lock", "lock_mode", "mode") + (f" on `{table}`" if table else "")
        held = _get(r, "held_until")
        if r.get("held_ms") is not None:  # measured on a scratch database by `dbreview trace`
            held = f"{float(r['held_ms']):,.0f} ms" + (" (rewrite)" if r.get("rewrite") else "")
        out.append(f"| {where} | `{_esc_cell(stmt).replace('`', '')}` | {_esc_cell(lock)} | "
                   f"{_esc_cell(_get(r, 'blocks', 'blocked'))} | {_esc_cell(held)} |")
    if len(shown) < len(rows):
        out.append(f"\n… and {len(rows) - len(shown)} more statements.")
    return "\n".join(out)


def _schema_paths(review: Review, change: Change) -> list[str]:
    changed = list(review.files.get("schema", []))
    if not changed:
        return []
    dirs = {posixpath.dirname(p) for p in changed}
    try:
        listing = change.head.list_files()
    except Exception:
        listing = []
    siblings = [p for p in listing if p.endswith(".prisma") and posixpath.dirname(p) in dirs]
    return sorted(set(changed) | set(siblings))


def _llm_footer(review: Review) -> str:
    u = review.llm
    if u is None:
        return "AI review: off"
    if u.error:
        return (f"AI review: failed ({scrub(u.error.splitlines()[0][:200])}); "
                "the rule-based review above is complete")
    tokens = f"{u.input_tokens:,} in / {u.output_tokens:,} out"
    if u.cache_read_tokens:
        tokens += f" / {u.cache_read_tokens:,} cached"
    return f"AI review: `{u.model}` · {u.calls} call{'s' if u.calls != 1 else ''} · {tokens} tokens · " \
           f"${u.cost_usd:.4f}"


def _reviewed_section(review: Review, ctx: SummaryContext) -> str:
    out = []
    base, head = ctx.base or review.base_label, ctx.head or review.head_label
    if base or head:
        out.append(f"- Range: `{base}..{head}`" + (f" (trigger: {ctx.trigger})" if ctx.trigger else ""))
    for surface, label in (("schema", "Schema"), ("migration", "Migrations"), ("query", "Prisma Client code")):
        paths = review.files.get(surface, [])
        if paths:
            listed = ", ".join(f"`{p}`" for p in paths[:15])
            more = f" and {len(paths) - 15} more" if len(paths) > 15 else ""
            out.append(f"- {label} ({len(paths)}): {listed}{more}")
    if review.suppressed:
        out.append(f"- Suppressed by inline comments: {len(review.suppressed)}")
    if review.llm is not None and review.llm.not_reviewed:
        out.append("- **Not seen by the AI review (budget):** " +
                   ", ".join(f"`{p}`" for p in review.llm.not_reviewed[:30]))
    for note in [*ctx.notes, *review.notes]:
        out.append(f"- {note}")
    return "\n".join(out)


def render_summary(review: Review, ctx: SummaryContext | None = None, *, max_chars: int = MAX_SUMMARY_CHARS) -> str:
    """The summary markdown, summarised further until it fits `max_chars`."""
    ctx = ctx or SummaryContext()
    attempts: list[dict[str, Any]] = [
        {"diagram": True, "rows": None, "locks": None},
        {"diagram": False, "rows": None, "locks": None},
        {"diagram": False, "rows": 100, "locks": 50},
        {"diagram": False, "rows": 25, "locks": 10},
    ]
    text = ""
    for opts in attempts:
        text = _render(review, ctx, **opts)
        if len(text) <= max_chars:
            return text
    cut = text[: max_chars - 200]
    if cut.count("```") % 2:
        cut += "\n```"
    return cut + "\n\n… (summary truncated to fit GitHub's comment size limit; see the check run for every finding)"


def _render(review: Review, ctx: SummaryContext, *, diagram: bool, rows: int | None, locks: int | None) -> str:
    parts: list[str] = []
    if ctx.marker:
        parts.append(SUMMARY_MARKER + "".join(ctx.extra_markers))
    parts.append("## dbreview · database review")
    parts.append(verdict(review, ctx.fail_on) + f" <sub>(fails on `{ctx.fail_on}`)</sub>")
    parts.append(_counts_table(review))
    status = []
    if ctx.inlined:
        status.append(f"{ctx.inlined} new inline comment{'s' if ctx.inlined != 1 else ''}")
    if ctx.already_posted:
        status.append(f"{ctx.already_posted} still open from earlier pushes")
    if ctx.resolved:
        status.append(f"{ctx.resolved} fixed since the last review (threads resolved)")
    if status:
        parts.append("Inline: " + "; ".join(status) + ".")
    if ctx.bot_errors:
        parts.append("> [!NOTE]\n> dbreview itself had trouble, so this review may be incomplete:\n" +
                     "\n".join(f"> - {e}" for e in ctx.bot_errors))
    if review.llm_assessment:
        parts.append("### AI assessment\n" + review.llm_assessment.strip()[:3000])
    if ctx.not_inlined:
        heading = "Findings not posted inline" if any(r for _, r in ctx.not_inlined) else "Findings"
        parts.append(f"### {heading} ({len(ctx.not_inlined)})\n" + _findings_table(ctx.not_inlined, ctx, rows))
    parts.extend(section for section in ctx.sections if section.strip())
    lock_rows = review.facts.get("locks") or []
    if lock_rows:
        table = lock_table(lock_rows, locks)
        if table:
            parts.append("### Migration lock impact\n" + table)
    measured = review.facts.get("measured_locks") or []
    if measured:
        table = lock_table(measured, locks)
        if table:
            parts.append("### Locks measured on a scratch PostgreSQL\n" + table.replace("Held until", "Held"))
    if diagram and ctx.change is not None and review.files.get("schema"):
        touched = review.facts.get("touched_models") or ()
        source = er_diagram_for_change(ctx.change, _schema_paths(review, ctx.change),
                                       [str(t) for t in touched] if isinstance(touched, (list, tuple, set)) else ())
        if source:
            parts.append("### Models touched\n```mermaid\n" + source + "\n```")
    parts.append("<details><summary>What was reviewed</summary>\n\n" + _reviewed_section(review, ctx) +
                 "\n\n</details>")
    parts.append(f"<sub>{_llm_footer(review)} · took {review.elapsed_s:.1f} s</sub>")
    return "\n\n".join(parts) + "\n"
