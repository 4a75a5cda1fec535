"""One-line fix suggestions for schema findings (GitHub "suggested changes" on the flagged field line).

Only edits that are safe on their own line: adding `@default([])` to a scalar list, switching a DateTime to
`@db.Timestamptz(n)`, dropping `@db.Json`. Anything that needs a second edit elsewhere (foreign keys, indexes) gets
no suggestion. The edit is made on the source text, keeping the author's alignment and trailing comment.
"""

from __future__ import annotations

import re

from bot.checks.schema._common import SchemaInput
from bot.findings import Suggestion
from bot.prisma.model import Field
from bot.prisma.parser import PrismaParseError, tokenize


def _line(inp: SchemaInput, f: Field) -> str | None:
    lines = inp.sources.get(f.path)
    if not lines or not 0 < f.line <= len(lines):
        return None
    return lines[f.line - 1]


def _split_comment(line: str) -> tuple[str, str]:
    """(code, trailing comment with its leading spaces)."""
    try:
        tokens = tokenize(line)
    except PrismaParseError:
        return line.rstrip("\r"), ""
    for t in tokens:
        if t.kind in ("COMMENT", "DOC"):
            cut = t.column - 1
            code = line[:cut]
            stripped = code.rstrip()
            return stripped, code[len(stripped):] + line[cut:].rstrip("\r")
    return line.rstrip("\r").rstrip(), ""


def _datasource(inp: SchemaInput) -> str:
    ds = inp.schema.datasource
    return ds.name if ds is not None else "db"


def _suggest(f: Field, new_line: str) -> Suggestion:
    return Suggestion(line=f.line, end_line=f.line, replacement=new_line)


def list_default(inp: SchemaInput, f: Field) -> Suggestion | None:
    line = _line(inp, f)
    if line is None:
        return None
    code, comment = _split_comment(line)
    m = re.match(rf"^(\s*{re.escape(f.name)}\s+{re.escape(f.type)}\s*\[\s*\]\??)", code)
    if m is None:
        return None
    return _suggest(f, code[:m.end()] + " @default([])" + code[m.end():] + comment)


def timestamptz(inp: SchemaInput, f: Field, precision: str) -> Suggestion | None:
    line = _line(inp, f)
    if line is None:
        return None
    code, comment = _split_comment(line)
    ds = re.escape(_datasource(inp))
    if f.native is not None and f.native.explicit:
        new, count = re.subn(rf"@{ds}\.Timestamp\b(?!tz)", f"@{_datasource(inp)}.Timestamptz", code, count=1)
        if count == 0:
            return None
        if f"@{_datasource(inp)}.Timestamptz(" not in new:
            new = new.replace(f"@{_datasource(inp)}.Timestamptz", f"@{_datasource(inp)}.Timestamptz({precision})", 1)
        return _suggest(f, new + comment)
    return _suggest(f, f"{code} @{_datasource(inp)}.Timestamptz({precision})" + comment)


def drop_json(inp: SchemaInput, f: Field) -> Suggestion | None:
    line = _line(inp, f)
    if line is None:
        return None
    code, comment = _split_comment(line)
    new, count = re.subn(rf"\s*@{re.escape(_datasource(inp))}\.Json\b(?!B)(\(\s*\))?", "", code, count=1)
    return _suggest(f, new + comment) if count else None
