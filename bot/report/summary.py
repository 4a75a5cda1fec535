"""The sticky summary comment (and Actions job summary), written for a reader who gives it ten seconds.

Top to bottom: the verdict with the counts; one line per finding (severity, short title, a link to its inline
comment or its place in the diff), grouped by file; then, collapsed, the full text of what has no inline comment,
everything over the inline budget, the info notes and the problems that were already there; the migration lock
table; the ER diagram of the models the change adds, changes or removes; what was reviewed.

Finding text goes through `bot.report.md`, so it renders the same way whatever it holds, and every cut falls at a
safe boundary. The whole stays under GitHub's 65,536-character limit: when it would not, it is summarised further
(the diagram goes, then long lists keep their most severe entries and count the rest), and a last cut ends at a
line, closing what it leaves open.
"""

from __future__ import annotations

import hashlib
import posixpath
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from bot.change import Change
from bot.findings import Finding, Severity, Side, Source
from bot.redact import scrub
from bot.report import md
from bot.report.mermaid import er_diagram_for_change
from bot.review import Review

SUMMARY_MARKER = "<!-- dbreview:summary -->"
MAX_SUMMARY_CHARS = 65_000
ICON = {Severity.ERROR: "🛑", Severity.WARNING: "⚠️", Severity.INFO: "ℹ️"}
TITLE_CHARS = 120  # a title longer than this wraps at comment width
FULL_TEXT_CHARS = 1_500  # per finding in the collapsed sections; the inline comment and check run have it all
# Findings listed open, most severe first; the rest of the list is one click away. Ten seconds of reading is about
# this many lines, and the verdict, the list and the start of the lock table then fit one screen.
OPEN_ROWS = 8


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
    # Fingerprints of findings that have an inline comment (new or from an earlier push). None outside a pull
    # request: then nothing is inline and every finding's full text is in the document.
    inline: set[str] | None = None
    comment_urls: dict[str, str] = field(default_factory=dict)  # fingerprint -> the inline comment's html_url
    pr_url: str | None = None  # "https://github.com/o/r/pull/7": links into the diff
    max_inline: int | None = None  # review.max_inline_comments, named in the over-budget section


@dataclass
class _Limits:
    diagram: bool = True
    rows: int | None = None  # findings listed per section
    locks: int | None = None
    text_chars: int = FULL_TEXT_CHARS
    full_rows: int | None = None  # entries per collapsed full-text section


@dataclass
class _Sections:
    listed: list[tuple[Finding, str]] = field(default_factory=list)  # one line each; reason when not inline
    over_budget: list[tuple[Finding, str]] = field(default_factory=list)
    info: list[tuple[Finding, str]] = field(default_factory=list)
    preexisting: list[Finding] = field(default_factory=list)


def _plural(n: int, one: str, many: str | None = None) -> str:
    return f"{n} {one if n == 1 else (many or one + 's')}"


def verdict(review: Review, fail_on: str) -> str:
    counts = review.counts()
    rule_errors = sum(1 for f in review.findings if f.severity is Severity.ERROR and f.source is not Source.LLM)
    if review.fails(fail_on):
        if rule_errors:
            return f"🛑 **{_plural(rule_errors, 'error')} to fix before merging**"
        return f"🛑 **findings at or above `{fail_on}` to fix before merging**"
    if counts["error"] or counts["warning"]:
        return "⚠️ **Worth a look before merging**"
    if counts["info"]:
        return "✅ **No blocking problems** (notes below)"
    return "✅ **No database problems found**"


def _counts_line(review: Review) -> str:
    c = review.counts()
    parts = [f"{ICON[Severity.ERROR]} {_plural(c['error'], 'error')}",
             f"{ICON[Severity.WARNING]} {_plural(c['warning'], 'warning')}",
             f"{ICON[Severity.INFO]} {c['info']} info"]
    llm = sum(1 for f in review.findings if f.source is Source.LLM)
    if llm:
        parts.append(f"{llm} from the AI review")
    return " · ".join(parts)


def _diff_anchor(path: str) -> str:
    return "diff-" + hashlib.sha256(path.encode("utf-8", "surrogatepass")).hexdigest()


def _lines(f: Finding) -> str:
    where = f"line {f.line}" if f.last_line <= f.line else f"lines {f.line}–{f.last_line}"
    return where + (" (before the change)" if f.side is Side.OLD else "")


def _link(f: Finding, ctx: SummaryContext) -> str | None:
    """The inline comment when there is one, else the line in the pull request's diff, else the file at head."""
    url = ctx.comment_urls.get(f.fingerprint) if f.fingerprint else None
    if url:
        return url
    in_diff = ctx.change is not None and ctx.change.file(f.path) is not None
    if ctx.pr_url and (in_diff or ctx.change is None):
        return f"{ctx.pr_url}/files#{_diff_anchor(f.path)}{'L' if f.side is Side.OLD else 'R'}{f.line}"
    if ctx.blob_url and f.side is Side.NEW:
        end = f"-L{f.last_line}" if f.last_line > f.line else ""
        return f"{ctx.blob_url}/{_url_path(f.path)}#L{f.line}{end}"
    return None


def _url_path(path: str) -> str:
    from urllib.parse import quote

    return quote(path, safe="/")


def _location(f: Finding) -> str:
    return f"{f.path}:{f.line}" + (f"-{f.last_line}" if f.last_line > f.line else "") + \
        (" (base)" if f.side is Side.OLD else "")


def _where(f: Finding, ctx: SummaryContext, *, with_path: bool = False) -> str:
    text = _location(f) if with_path else _lines(f)
    url = _link(f, ctx)
    label = md.code(text) if with_path else md.escape_text(text)
    return f"[{label}]({url})" if url else label


def _title(f: Finding) -> str:
    return md.inline(f.title, TITLE_CHARS) if f.title else md.title(f.message, TITLE_CHARS)


def _origin(f: Finding) -> str:
    return " <sub>AI review</sub>" if f.source is Source.LLM else ""


def _severity_order(f: Finding) -> tuple[Any, ...]:
    return (-f.severity.rank, f.path, f.line, f.rule)


def _by_file(items: list[tuple[Finding, str]]) -> list[tuple[str, list[tuple[Finding, str]]]]:
    groups: dict[str, list[tuple[Finding, str]]] = defaultdict(list)
    for f, reason in items:
        groups[f.path].append((f, reason))
    ordered = sorted(groups.items(), key=lambda kv: (-max(f.severity.rank for f, _ in kv[1]), kv[0]))
    return [(path, sorted(rows, key=lambda r: (r[0].line, -r[0].severity.rank, r[0].rule))) for path, rows in ordered]


def _finding_lines(items: list[tuple[Finding, str]], ctx: SummaryContext, limit: int | None) -> str:
    """One line per finding, grouped by file: severity, short title, where (linked)."""
    kept = sorted(items, key=lambda r: _severity_order(r[0]))
    if limit is not None:
        kept = kept[:limit]
    out: list[str] = []
    for path, rows in _by_file(kept):
        out.append(f"**{md.code(path)}**\n")
        for f, reason in rows:
            note = f" <sub>not inline: {md.inline(reason, 80)}</sub>" if reason else ""
            out.append(f"- {ICON[f.severity]} {_title(f)} · {_where(f, ctx)}{_origin(f)}{note}")
        out.append("")
    if len(kept) < len(items):
        out.append(f"… and {len(items) - len(kept)} more (every finding is in the `dbreview` check run).")
    return "\n".join(out).rstrip("\n")


def _full_text(findings: Iterable[Finding], ctx: SummaryContext, limits: _Limits, *, linked: bool = True) -> str:
    """Each finding's message, for findings whose full text is in no inline comment. `linked`: False for findings
    the list above already links (the links are long; GitHub's size limit is not)."""
    items = sorted(findings, key=_severity_order)
    kept = items if limits.full_rows is None else items[: limits.full_rows]
    out = []
    for f in kept:
        where = _where(f, ctx, with_path=True) if linked else md.code(_location(f))
        out.append(f"- {ICON[f.severity]} {where} {md.code(f.rule)}{_origin(f)}<br>"
                   f"{md.inline(f.message, limits.text_chars)}")
    if len(kept) < len(items):
        out.append(f"- … and {len(items) - len(kept)} more (every finding is in the `dbreview` check run).")
    return "\n".join(out)


def _details(summary: str, body: str) -> str:
    # Blank lines around the body: GitHub renders markdown inside <details> only when it is set apart.
    return f"<details><summary>{summary}</summary>\n\n{body}\n\n</details>"


def _sections(review: Review, ctx: SummaryContext) -> _Sections:
    out = _Sections()
    seen: set[int] = set()
    reasons = {id(f): reason for f, reason in ctx.not_inlined}
    preexisting = [*review.preexisting, *(f for f, _ in ctx.not_inlined if f.preexisting)]
    for f in preexisting:
        if id(f) not in seen:
            seen.add(id(f))
            out.preexisting.append(f)
    if ctx.inline is None:
        # Outside a pull request: every new finding is listed; info notes stay collapsed.
        for f in review.findings:
            if id(f) in seen:
                continue
            seen.add(id(f))
            (out.info if f.severity is Severity.INFO else out.listed).append((f, ""))
        return out
    for f in review.findings:
        if id(f) in seen:
            continue
        reason = reasons.get(id(f))
        if reason is None:
            if f.fingerprint in ctx.inline:
                seen.add(id(f))
                out.listed.append((f, ""))
            continue  # outside a command's scope: its earlier comment stands, it is not repeated here
        seen.add(id(f))
        if reason.startswith("over the limit"):
            out.over_budget.append((f, reason))
        elif f.severity is Severity.INFO and f.fingerprint not in ctx.inline:
            out.info.append((f, reason))
        else:
            out.listed.append((f, reason))
    for f, reason in ctx.not_inlined:  # not_inlined findings that the Review does not hold (a caller's own list)
        if id(f) not in seen:
            seen.add(id(f))
            if reason.startswith("over the limit"):
                out.over_budget.append((f, reason))
            else:
                (out.info if f.severity is Severity.INFO else out.listed).append((f, reason))
    return out


def _get(row: dict[str, Any], *keys: str) -> str:
    for k in keys:
        v = row.get(k)
        if v not in (None, ""):
            if isinstance(v, (list, tuple)):
                return ", ".join(str(x) for x in v)
            return str(v)
    return ""


def _cell(text: str) -> str:
    return md.escape_text(" ".join(text.split()))


def _statement(text: str, limit: int = 72) -> str:
    stmt = " ".join(text.split())
    if len(stmt) <= limit:
        return md.code(stmt, table=True)
    head = stmt[: limit - 1]  # whole words of the statement, the code span closed, then "…"
    return md.code(head[: head.rfind(" ")] if " " in head else head, table=True) + md.ELLIPSIS


def lock_table(locks: Iterable[Any], limit: int | None = None) -> str:
    """Statement → lock → what it blocks, from the migration analyzer's `facts["locks"]` rows.

    Columns that would repeat one value on every row (the migration, "held until") become a line above the table,
    so the statement and what it blocks keep the width."""
    rows = [r if isinstance(r, dict) else getattr(r, "__dict__", {"statement": str(r)}) for r in locks]
    if not rows:
        return ""
    shown = rows if limit is None else rows[:limit]

    def migration(r: dict[str, Any]) -> str:
        path = _get(r, "path", "file", "migration")
        return posixpath.basename(posixpath.dirname(path)) if path.endswith(".sql") else path

    def held(r: dict[str, Any]) -> str:
        if r.get("held_ms") is not None:  # measured on a scratch database by `dbreview trace`
            return f"{float(r['held_ms']):,.0f} ms" + (" (rewrite)" if r.get("rewrite") else "")
        return _get(r, "held_until")

    migrations = {migration(r) for r in rows}
    helds = {held(r) for r in rows}
    one_migration = len(migrations) == 1 and "" not in migrations
    one_held = len(helds) == 1 and not any(r.get("held_ms") is not None for r in rows)
    lead = []
    if one_migration:
        lead.append(f"Migration {md.code(next(iter(migrations)))}")  # above the table: no pipe escaping
    if one_held and next(iter(helds)):
        lead.append(f"each lock is held until {_cell(next(iter(helds)))}")
    head = ["Line" if one_migration else "Migration", "Statement", "Lock", "Blocks"]
    if not one_held:
        head.append("Held until")
    out = ["; ".join(lead) + "\n" if lead else "", "| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    for r in shown:
        line = _get(r, "line")
        if one_migration:
            where = line
        else:
            name = migration(r)
            where = (md.code(name, table=True) + (f":{line}" if line else "")) if name else ""
        table = _get(r, "table", "relation")
        lock = _cell(_get(r, "lock", "lock_mode", "mode")) + (f" on {md.code(table, table=True)}" if table else "")
        cells = [where, _statement(_get(r, "statement", "sql", "summary")), lock, _cell(_get(r, "blocks", "blocked"))]
        if not one_held:
            cells.append(_cell(held(r)))
        out.append("| " + " | ".join(cells) + " |")
    if len(shown) < len(rows):
        out.append(f"\n… and {len(rows) - len(shown)} more statements.")
    return "\n".join(out).lstrip("\n")


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
        return (f"AI review: failed ({md.escape_text(scrub(u.error.splitlines()[0][:200]))}); "
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
        out.append(f"- Range: {md.code(f'{base}..{head}')}" + (f" (trigger: {md.escape_text(ctx.trigger)})"
                                                                if ctx.trigger else ""))
    for surface, label in (("schema", "Schema"), ("migration", "Migrations"), ("query", "Prisma Client code")):
        paths = review.files.get(surface, [])
        if paths:
            listed = ", ".join(md.code(p) for p in paths[:15])
            more = f" and {len(paths) - 15} more" if len(paths) > 15 else ""
            out.append(f"- {label} ({len(paths)}): {listed}{more}")
    if review.suppressed:
        out.append(f"- Suppressed by inline comments: {len(review.suppressed)}")
    if review.llm is not None and review.llm.not_reviewed:
        out.append("- **Not seen by the AI review (budget):** " +
                   ", ".join(md.code(p) for p in review.llm.not_reviewed[:30]))
    for note in [*ctx.notes, *review.notes]:
        out.append(f"- {md.inline(note)}")
    return "\n".join(out)


def render_summary(review: Review, ctx: SummaryContext | None = None, *, max_chars: int = MAX_SUMMARY_CHARS) -> str:
    """The summary markdown, summarised further until it fits `max_chars`."""
    ctx = ctx or SummaryContext()
    # The collapsed full texts shrink first (the inline comments and the check run have them), the diagram last
    # but one, the findings list last.
    attempts = [
        _Limits(),
        _Limits(text_chars=400),
        _Limits(text_chars=160),
        _Limits(text_chars=160, full_rows=40),
        _Limits(rows=100, locks=50, text_chars=160, full_rows=20),
        _Limits(diagram=False, rows=100, locks=50, text_chars=160, full_rows=20),
        _Limits(diagram=False, rows=25, locks=10, text_chars=120, full_rows=10),
    ]
    text = ""
    for limits in attempts:
        text = _render(review, ctx, limits)
        if len(text) <= max_chars:
            return text
    return _safe_cut(text, max_chars)


def _safe_cut(text: str, limit: int) -> str:
    """The text cut at a line boundary, with every <details> and code fence it leaves open closed again."""
    note = "\n\n… (summary cut to fit GitHub's comment size limit; the check run lists every finding)\n"
    room = limit - len(note) - 200
    cut = text[:room]
    cut = cut[: cut.rfind("\n")] if "\n" in cut else ""
    closing = ""
    if cut.count("```") % 2:
        closing += "\n```"
    open_details = cut.count("<details>") - cut.count("</details>")
    closing += "\n\n</details>" * max(0, open_details)
    return cut + closing + note


def _render(review: Review, ctx: SummaryContext, limits: _Limits) -> str:
    parts: list[str] = []
    if ctx.marker:
        parts.append(SUMMARY_MARKER + "".join(ctx.extra_markers))
    parts.append("## dbreview · database review")
    status = []
    if ctx.inlined:
        status.append(f"{_plural(ctx.inlined, 'new inline comment')}")
    if ctx.already_posted:
        status.append(f"{ctx.already_posted} still open from earlier pushes")
    if ctx.resolved:
        status.append(f"{ctx.resolved} fixed since the last review (threads resolved)")
    inline_line = ("<br>\nInline: " + "; ".join(status) + ".") if status else ""
    parts.append(f"{verdict(review, ctx.fail_on)}<br>\n{_counts_line(review)} · <sub>fails on `{ctx.fail_on}`</sub>"
                 + inline_line)
    if ctx.bot_errors:
        parts.append("> [!NOTE]\n> dbreview itself had trouble, so this review may be incomplete:\n" +
                     "\n".join(f"> - {md.inline(e, 300)}" for e in ctx.bot_errors))
    if review.llm_assessment:
        parts.append("### AI assessment\n" + review.llm_assessment.strip()[:3000])

    sections = _sections(review, ctx)
    if sections.listed:
        ordered = sorted(sections.listed, key=lambda r: _severity_order(r[0]))
        shown, rest = ordered[:OPEN_ROWS], ordered[OPEN_ROWS:]
        parts.append("### Findings\n" + _finding_lines(shown, ctx, None))
        if rest:
            rows = None if limits.rows is None else max(0, limits.rows - len(shown))
            parts.append(_details(f"Show {_plural(len(rest), 'more finding')}", _finding_lines(rest, ctx, rows)))
    no_comment = [f for f, reason in sections.listed if ctx.inline is None or reason]
    if no_comment:
        label = ("Full text of each finding" if ctx.inline is None
                 else f"Full text of the {_plural(len(no_comment), 'finding')} without an inline comment")
        parts.append(_details(label, _full_text(no_comment, ctx, limits, linked=False)))
    if sections.over_budget:
        n = len(sections.over_budget)
        budget = f" ({ctx.max_inline} per review)" if ctx.max_inline is not None else ""
        parts.append(_details(f"{_plural(n, 'more finding')} over the inline budget{budget}",
                              _full_text((f for f, _ in sections.over_budget), ctx, limits)))
    if sections.info:
        parts.append(_details(f"{ICON[Severity.INFO]} {_plural(len(sections.info), 'info note')}",
                              _full_text((f for f, _ in sections.info), ctx, limits)))
    if sections.preexisting:
        n = len(sections.preexisting)
        head = (f"{n} problems were already there; this change did not add them" if n != 1
                else "1 problem was already there; this change did not add it")
        parts.append(_details(head, _full_text(sections.preexisting, ctx, limits)))
    parts.extend(section for section in ctx.sections if section.strip())

    lock_rows = review.facts.get("locks") or []
    if lock_rows:
        table = lock_table(lock_rows, limits.locks)
        if table:
            parts.append("### Migration lock impact\n" + table)
    measured = review.facts.get("measured_locks") or []
    if measured:
        table = lock_table(measured, limits.locks)
        if table:
            parts.append("### Locks measured on a scratch PostgreSQL\n" + table.replace("| Held until |", "| Held |"))
    if limits.diagram and ctx.change is not None and review.files.get("schema"):
        diagram = er_diagram_for_change(ctx.change, _schema_paths(review, ctx.change))
        if diagram.source:
            block = "### Models changed\n```mermaid\n" + diagram.source + "\n```"
            if diagram.notes:
                block += "\n\n" + "<br>\n".join(diagram.notes)
            parts.append(block)
    reviewed = _reviewed_section(review, ctx)
    if reviewed:
        parts.append(_details("What was reviewed", reviewed))
    parts.append(f"<sub>{_llm_footer(review)} · took {review.elapsed_s:.1f} s</sub>")
    return "\n\n".join(parts) + "\n"

