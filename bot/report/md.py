"""Finding text made into markdown that cannot render broken, and cut only where a cut is safe.

Messages are written with backtick code (`` `Order.total` ``). Some quote code that itself holds a backtick (a
tagged template: `` `prisma.$queryRaw`SELECT …`` ``), which CommonMark pairs wrongly, and a plain cut with "…" can
leave a code span open so the rest of the comment turns into code. Here a message is split into text and code
segments once; text is escaped, code is re-fenced (an HTML `<code>` element when it holds a backtick), and a cut
falls between words of text or between whole segments, never inside code.

The output holds backticks only in pairs around code without backticks: `bot.github.comments.sanitize`, which
tells prose from code by counting backticks, then sees exactly what GitHub will render.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from bot.redact import scrub

ELLIPSIS = "…"

# Where a code span may end when its closing backtick is followed by these (or by the end of the text).
_CLOSE_FOLLOW = set(" \t\n.,;:!?)]}\"'") | {ELLIPSIS}
_TEXT_ESCAPES = str.maketrans({
    "\\": "\\\\", "`": "&#96;", "*": "\\*", "[": "\\[", "]": "\\]", "<": "&lt;", ">": "&gt;",
    "&": "&amp;", "|": "\\|", "~": "\\~", "#": "\\#",
})
_BACKTICKS = re.compile(r"`+")


@dataclass(frozen=True)
class Segment:
    text: str
    code: bool = False


def _commonmark(text: str) -> tuple[list[Segment], bool]:
    """Code spans as CommonMark pairs them (a run of n backticks closes at the next run of exactly n); whether
    every backtick run found its pair."""
    out: list[Segment] = []
    pos, plain_start, clean = 0, 0, True
    runs = list(_BACKTICKS.finditer(text))
    i = 0
    while i < len(runs):
        run = runs[i]
        if run.start() < pos:
            i += 1
            continue
        closer = next((j for j in range(i + 1, len(runs)) if len(runs[j].group()) == len(run.group())), None)
        if closer is None:
            clean = False
            i += 1
            continue
        if run.start() > plain_start:
            out.append(Segment(text[plain_start:run.start()]))
        content = text[run.end():runs[closer].start()]
        if len(content) >= 2 and content[0] == " " and content[-1] == " " and content.strip():
            content = content[1:-1]
        out.append(Segment(content, code=True))
        pos = plain_start = runs[closer].end()
        i = closer + 1
    if plain_start < len(text):
        out.append(Segment(text[plain_start:]))
    return out, clean


def _by_boundaries(text: str) -> list[Segment] | None:
    """Code spans that may hold backticks: a span opens at a backtick and closes at the first later backtick that
    ends a word (followed by a space, punctuation or the end). None when a backtick is left over."""
    out: list[Segment] = []
    start = i = 0
    n = len(text)
    while i < n:
        if text[i] != "`":
            i += 1
            continue
        close = None
        j = i + 1
        while j < n:
            if text[j] == "`" and j > i + 1 and (j + 1 == n or text[j + 1] in _CLOSE_FOLLOW):
                close = j
                break
            j += 1
        if close is None:
            return None
        if i > start:
            out.append(Segment(text[start:i]))
        out.append(Segment(text[i + 1:close], code=True))
        start = i = close + 1
    if start < n:
        out.append(Segment(text[start:]))
    return out


def segments(text: str) -> list[Segment]:
    """Text and code parts of a message; a backtick that pairs with nothing stays text (shown as a backtick).

    Secrets are masked first: escaping changes a token's characters, and the scrub of the posted text that comes
    later would no longer recognise it."""
    text = " ".join(scrub(text).split())  # one line: a summary row or list item
    parsed, clean = _commonmark(text)
    if clean:
        return parsed
    repaired = _by_boundaries(text)
    return repaired if repaired is not None else parsed


# An underscore inside a word never starts or ends emphasis (CommonMark): `user_id` stays as it is.
_EDGE_UNDERSCORE = re.compile(r"(?<![A-Za-z0-9])_|_(?![A-Za-z0-9])")


def escape_text(text: str) -> str:
    return _EDGE_UNDERSCORE.sub(r"\_", scrub(text).translate(_TEXT_ESCAPES))


def code(text: str, *, table: bool = False) -> str:
    """`text` as inline code that survives any content (backticks, pipes, HTML). `table`: for a cell of a GFM
    table, where a pipe must be escaped even inside code (GitHub drops the backslash there, and only there)."""
    text = " ".join(scrub(text).split())
    if not text:
        return ""
    if "`" in text:
        # A backtick-fenced span would need a longer fence, which sanitize() and some renderers miscount. Inside
        # an HTML <code> element markdown still applies, so the content is escaped like text.
        return "<code>" + escape_text(text) + "</code>"
    if text.startswith(" ") or text.endswith(" "):
        text = text.strip()
    return "`" + (text.replace("|", "\\|") if table else text) + "`"


def render(parts: list[Segment]) -> str:
    return "".join(code(s.text) if s.code else escape_text(s.text) for s in parts)


def plain(parts: list[Segment]) -> str:
    """What a reader sees (code without its fences); tests compare it with the rendered markdown's text."""
    return "".join(" ".join(s.text.split()) if s.code else s.text for s in parts)


def cut(parts: list[Segment], limit: int) -> list[Segment]:
    """At most `limit` visible characters, cut between words of text or between segments, then "…"."""
    if len(plain(parts)) <= limit:
        return parts
    budget = limit - 1  # room for the ellipsis
    out: list[Segment] = []
    used = 0
    for s in parts:
        size = len(s.text)
        if used + size <= budget:
            out.append(s)
            used += size
            continue
        room = budget - used
        if s.code:
            if not out:  # nothing else to show: a shortened code span, still closed
                out.append(Segment(s.text[:room].rstrip(), code=True))
            break
        piece = s.text[:room]
        space = piece.rfind(" ")
        if space > 0:
            piece = piece[:space]
        elif out:
            piece = ""
        if piece.strip():
            out.append(Segment(piece.rstrip()))
        break
    while out and not out[-1].code and not out[-1].text.strip():
        out.pop()
    if out and not out[-1].code:
        out[-1] = Segment(out[-1].text.rstrip(" ,;:(-"))
    out.append(Segment(ELLIPSIS))
    return out


def inline(text: str, limit: int | None = None) -> str:
    """A message as one line of safe markdown, optionally cut to `limit` visible characters."""
    parts = segments(text)
    return render(cut(parts, limit) if limit is not None else parts)


# A sentence ends at ". " unless the dot closes an abbreviation ("e.g. ", "i.e. ", "etc. ").
_SENTENCE_END = re.compile(r"(?<!\be\.g)(?<!\bi\.e)(?<!\betc)(?<!\bvs)[.!?](?=\s)")
_CLAUSE_BREAKS = (", so ", ", which ", ", and ", "; ", ", but ", ", ")


def title_segments(message: str, limit: int = 120) -> list[Segment]:
    """A short title from a finding message: its first sentence, up to its first colon, cut at a clause."""
    parts = segments(message)
    out: list[Segment] = []
    for s in parts:
        if s.code:
            out.append(s)
            continue
        stop = len(s.text)
        m = _SENTENCE_END.search(s.text)
        if m:
            stop = m.start()
        colon = s.text.find(": ")
        if 0 <= colon < stop:
            stop = colon
        if stop < len(s.text):
            if s.text[:stop].strip():
                out.append(Segment(s.text[:stop]))
            break
        out.append(s)
    while out and not out[-1].code and not out[-1].text.strip():
        out.pop()
    if not out:
        return cut(parts, limit)
    out = _close_parenthesis(out)
    if len(plain(out)) > limit:
        out = _cut_at_clause(out, limit)
    return out


def _close_parenthesis(parts: list[Segment]) -> list[Segment]:
    """A title cut inside "( … )" ends before the parenthesis instead of leaving it open."""
    depth, last_open = 0, None
    for idx, s in enumerate(parts):
        if s.code:
            continue
        for at, ch in enumerate(s.text):
            if ch == "(":
                depth += 1
                if depth == 1:
                    last_open = (idx, at)
            elif ch == ")" and depth:
                depth -= 1
    if not depth or last_open is None:
        return parts
    idx, at = last_open
    head = [*parts[:idx], Segment(parts[idx].text[:at].rstrip())]
    head = [s for s in head if s.code or s.text.strip()]
    return head or parts


def _cut_at_clause(parts: list[Segment], limit: int) -> list[Segment]:
    # The last clause break that keeps most of the budget; else between words.
    # Never inside parentheses, and never between items of a list of code ("`a`, `b`").
    best: tuple[int, int, int] | None = None  # (visible length, segment index, offset)
    used = depth = 0
    for idx, s in enumerate(parts):
        if not s.code:
            followed_by_code = idx + 1 < len(parts) and parts[idx + 1].code
            for at, ch in enumerate(s.text):
                if ch == "(":
                    depth += 1
                elif ch == ")":
                    depth = max(0, depth - 1)
                if depth or not any(s.text.startswith(brk, at) for brk in _CLAUSE_BREAKS):
                    continue
                if followed_by_code and not s.text[at:].strip(" ,;"):
                    continue
                length = used + at
                if limit * 0.55 <= length <= limit and (best is None or length > best[0]):
                    best = (length, idx, at)
        used += len(s.text)
    if best is None:
        return cut(parts, limit)
    _, idx, at = best
    return [*parts[:idx], Segment(parts[idx].text[:at])]


def title(message: str, limit: int = 120) -> str:
    return render(title_segments(message, limit))
