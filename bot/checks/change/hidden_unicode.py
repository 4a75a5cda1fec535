"""change/hidden-unicode: invisible or bidirectional-control characters on lines the change adds.

A bidi control (U+202A–U+202E, U+2066–U+2069, U+200E/F, U+061C) makes the code a reviewer reads differ from the code
that runs ("Trojan Source", CVE-2021-42574): in a migration it can hide a `DROP` inside what looks like a comment.
Zero-width characters, fillers and Unicode tag characters hide text from people (and can carry instructions to an
LLM reviewer). Only the database files of the change are scanned; a zero-width joiner inside an emoji sequence
(woman, ZWJ, laptop) is legitimate text and is not reported.
"""

from __future__ import annotations

import re
import unicodedata

from bot.change import ChangedFile
from bot.context import ReviewContext
from bot.findings import Finding, Severity, Suggestion, Surface
from bot.registry import define

RULE = define(
    "change/hidden-unicode",
    Severity.WARNING,
    Surface.CHANGE,
    "Invisible or bidirectional-control Unicode characters on added lines of database files",
)

BIDI = frozenset("\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069\u200e\u200f\u061c")
INVISIBLE = frozenset("\u200b\u200c\u200d\u2060\u2061\u2062\u2063\u2064\ufeff\u00ad\u180e\u3164\u115f\u1160\uffa0"
                      "\u034f\u2800")
_TAGS = (0xE0000, 0xE007F)
_PATTERN = re.compile("[" + "".join(sorted(BIDI | INVISIBLE)) + "\U000e0000-\U000e007f]")


def _is_emoji(ch: str) -> bool:
    return unicodedata.category(ch) == "So" or 0x1F000 <= ord(ch) <= 0x1FAFF


def _reportable(line: str, index: int) -> bool:
    ch = line[index]
    if ch == "\u200d" and 0 < index < len(line) - 1:
        # ZWJ between emoji (or emoji + variation selector) builds one glyph
        before, after = line[index - 1], line[index + 1]
        if (_is_emoji(before) or before == "\ufe0f") and _is_emoji(after):
            return False
    return True


def describe(ch: str) -> str:
    code = ord(ch)
    if _TAGS[0] <= code <= _TAGS[1]:
        return f"U+{code:04X} TAG CHARACTER"
    return f"U+{code:04X} {unicodedata.name(ch, 'UNNAMED')}"


def scan_line(line: str) -> list[tuple[int, str]]:
    """(1-based column, character) of every reportable hidden character on a line."""
    return [(m.start() + 1, m.group(0)) for m in _PATTERN.finditer(line) if _reportable(line, m.start())]


def check(ctx: ReviewContext) -> list[Finding]:
    findings: list[Finding] = []
    seen: set[str] = set()
    for changed in [*ctx.surfaces.schema, *ctx.surfaces.migrations, *ctx.surfaces.query]:
        if changed.path in seen or changed.is_binary or not changed.added_lines:
            continue
        seen.add(changed.path)
        findings.extend(_check_file(changed))
    return findings


def _check_file(changed: ChangedFile) -> list[Finding]:
    out: list[Finding] = []
    for hunk in changed.hunks:
        for ln in hunk.lines:
            if ln.kind != "+" or ln.new_no is None:
                continue
            hits = scan_line(ln.text)
            if hits:
                out.append(_finding(changed.path, ln.new_no, ln.text, hits))
    return out


def _finding(path: str, line: int, text: str, hits: list[tuple[int, str]]) -> Finding:
    has_bidi = any(ch in BIDI for _, ch in hits)
    names = sorted({describe(ch) for _, ch in hits})
    columns = ", ".join(str(col) for col, _ in hits[:8]) + (" …" if len(hits) > 8 else "")
    cleaned = "".join(ch for i, ch in enumerate(text) if not (_PATTERN.match(ch) and _reportable(text, i)))
    if has_bidi:
        why = ("a bidirectional control reorders how the line is displayed, so what reviewers read is not what runs "
               "(Trojan Source)")
    else:
        why = "an invisible character hides text from reviewers and can change identifiers or string values"
    message = (f"Hidden Unicode on this added line: {'; '.join(names)} at column {columns}; {why}. "
               "Delete the character(s); if the text really needs right-to-left script or a joiner, write it in a "
               "string literal with an explicit escape (for example `\\u200d`) so it is visible in review.")
    visible = " ".join(cleaned.split())[:80]
    return RULE.finding(
        path,
        line,
        message,
        severity=Severity.ERROR if has_bidi else Severity.WARNING,
        suggestion=Suggestion(line=line, end_line=line, replacement=cleaned.rstrip("\r")),
        key=f"hidden-unicode:{'bidi' if has_bidi else 'invisible'}:{visible}",
        extra={"characters": names},
    )
