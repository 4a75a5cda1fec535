"""Text dbreview posts on GitHub: inline comment bodies, hidden markers, and sanitising of finding text.

Every inline comment ends with `<!-- dbreview:fp=<fingerprint> -->` so a later push recognises what is already
posted; the sticky summary carries `<!-- dbreview:summary -->`. Finding text is sanitised so it can neither forge a
marker nor mention people (`@relation` is a GitHub user name too) nor start a line with a `/command`.
"""

from __future__ import annotations

import re

from bot.findings import Finding, Severity, Side, Source
from bot.report.summary import SUMMARY_MARKER

__all__ = ["REVIEW_MARKER", "SUMMARY_MARKER", "comment_body", "fingerprint_marker", "fingerprint_of", "head_of",
           "object_of", "sanitize"]

REVIEW_MARKER = "<!-- dbreview:review -->"
_FP_RE = re.compile(r"<!-- dbreview:fp=([0-9A-Za-z_-]{4,80}) -->")
# The object the finding is about (rule, file, key), for "never say it again" across pushes and pull requests.
_OBJ_RE = re.compile(r"<!-- dbreview:obj=([0-9a-f]{8,64}) -->")
_HEAD_RE = re.compile(r"\*\*(error|warning|info)\*\* · `([^`\n]{1,200})`")
# GitHub rejects bodies over 65,536 characters; stay under with room for the marker.
MAX_BODY = 65_000

SEVERITY_ICON = {Severity.ERROR: "🛑", Severity.WARNING: "⚠️", Severity.INFO: "ℹ️"}


def fingerprint_marker(fingerprint: str) -> str:
    return f"<!-- dbreview:fp={fingerprint} -->"


def fingerprint_of(body: str | None) -> str | None:
    # Ours is always the last line; an earlier one came from quoted PR text (a suggestion keeps the line's comment).
    found = _FP_RE.findall(body or "")
    return found[-1] if found else None


def object_of(body: str | None) -> str | None:
    found = _OBJ_RE.findall(body or "")
    return found[-1] if found else None


def head_of(body: str | None) -> tuple[str, str] | None:
    """(severity, rule) from the first line of one of our comments."""
    first = (body or "").split("\n", 1)[0]
    match = _HEAD_RE.search(first)
    return (match.group(1), match.group(2)) if match else None


_MENTION = re.compile(r"(?<![\w`@])(@{1,2}[A-Za-z][\w-]*(?:\([^)\n]{0,80}\))?)")


def _neutralise_prose(text: str) -> str:
    text = text.replace("<!--", "&lt;!--").replace("-->", "--&gt;")
    return _MENTION.sub(r"`\1`", text)


def sanitize(text: str) -> str:
    """Finding text made safe to post: no HTML comments, no @mentions outside code, no leading `/command`."""
    parts = re.split(r"(```.*?```)", text, flags=re.S)
    out: list[str] = []
    for i, part in enumerate(parts):
        if i % 2 == 1:  # fenced code: only the marker syntax is neutralised
            out.append(part.replace("<!--", "<!- -"))
            continue
        spans = part.split("`")
        for j in range(0, len(spans), 2):  # even indices are outside inline code
            spans[j] = _neutralise_prose(spans[j])
        for j in range(1, len(spans), 2):
            spans[j] = spans[j].replace("<!--", "<!- -")
        out.append("`".join(spans))
    lines = "".join(out).split("\n")
    return "\n".join("\u200b" + ln if ln.lstrip().startswith("/") else ln for ln in lines)


def truncate(text: str, limit: int = MAX_BODY) -> str:
    if len(text) <= limit:
        return text
    cut = text[: limit - 60]
    if cut.count("```") % 2 == 1:
        cut += "\n```"
    return cut + "\n\n… (truncated to fit GitHub's comment size limit)"


def comment_body(finding: Finding, *, anchored_lines: tuple[int, int] | None = None, object_id: str = "") -> str:
    """The inline comment for one finding; a ```suggestion block only when it replaces exactly the commented lines."""
    icon = SEVERITY_ICON.get(finding.severity, "")
    origin = "AI review" if finding.source is Source.LLM else finding.source.value
    head = f"{icon} **{finding.severity.value}** · `{finding.rule}`"
    if finding.source is not Source.RULE:
        head += f" · {origin}"
        if finding.confidence is not None:
            head += f" (confidence {finding.confidence:.0%})"
    parts = [head]
    if finding.title:
        parts.append(f"**{sanitize(finding.title)}**")
    parts.append(sanitize(finding.message))
    sug = finding.suggestion
    if (sug is not None and finding.side is Side.NEW and anchored_lines is not None
            and (sug.line, sug.end_line) == anchored_lines and "```" not in sug.replacement):
        replacement = sug.replacement if sug.replacement.endswith("\n") or not sug.replacement else \
            sug.replacement + "\n"
        parts.append(f"```suggestion\n{replacement}```")
    marker = fingerprint_marker(finding.fingerprint)
    if object_id:
        marker = f"<!-- dbreview:obj={object_id} -->\n{marker}"
    body = "\n\n".join(parts)
    return truncate(body, MAX_BODY - len(marker) - 2) + "\n\n" + marker
