"""`--format concise`: one line per finding, `path:line:col: severity rule-id title`, like ruff's concise output.

For CI logs, editors' problem matchers and grep. The title is the finding's short title (its first clause), as
plain text; `dbreview explain <rule>` and the other formats have the full text.
"""

from __future__ import annotations

from bot.findings import Finding, Side, Source
from bot.report import md
from bot.review import Review


def _title(f: Finding) -> str:
    text = md.plain(md.segments(f.title)) if f.title else md.plain(md.title_segments(f.message))
    if f.side is Side.OLD:
        text += " (line of the file before the change)"
    if f.source is Source.LLM:
        text += " [AI review]"
    return text


def concise_line(f: Finding) -> str:
    column = f.extra.get("column") if isinstance(f.extra.get("column"), int) else 1
    return f"{f.path}:{f.line}:{column}: {f.severity.value} {f.rule} {_title(f)}"


def render_concise(review: Review) -> str:
    lines = [concise_line(f) for f in sorted(review.findings, key=lambda f: (f.path, f.line, -f.severity.rank))]
    c = review.counts()
    total = len(review.findings)
    if not review.has_database_surface:
        lines.append("No database change to review (no Prisma schema, migration or Prisma Client code).")
    elif total:
        lines.append(f"Found {total} finding{'s' if total != 1 else ''} "
                     f"({c['error']} error, {c['warning']} warning, {c['info']} info).")
    else:
        lines.append("No findings.")
    return "\n".join(lines) + "\n"
