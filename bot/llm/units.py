"""The database-relevant pieces of the diff, each rendered with its line numbers.

A unit is one hunk (or one slice of a very long hunk) of a schema, migration or Prisma-calling file. Units are what
the budget packs into calls, and what the result cache is keyed on: an unchanged hunk on the next push has the same
content hash even when it moved, and its cached findings are stored relative to the hunk's first line.

Added and unchanged lines carry their new-file number; removed lines carry their old-file number in parentheses,
so the model can cite a removed line (a dropped index, a deleted guard) on the side GitHub shows it.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass

from bot.change import ChangedFile, FileStatus, Hunk, split_lines
from bot.context import ReviewContext
from bot.llm.sanitize import escape_invisible
from bot.surfaces import calls_prisma

# A hunk longer than this (a new migration file, a new schema) is cut into slices so it can be split across calls.
MAX_UNIT_LINES = 250
# Context around a code hunk searched for Prisma Client use, so a hunk inside a Prisma-calling function counts.
QUERY_WINDOW = 25
_SCHEMA_BLOCK = re.compile(r"^\s*(model|enum|view|type)\s+(\w+)\s*\{")


@dataclass(frozen=True)
class Unit:
    path: str
    kind: str  # "schema" | "migration" | "query"
    hunk_index: int
    part: int
    first_line: int  # first new-file line shown (anchor for cached offsets)
    shown_lines: frozenset[int]  # new-file line numbers printed in this unit (the lines the model may cite)
    body: str  # the numbered lines
    content_hash: str
    added_lines: frozenset[int] = frozenset()  # new-file numbers of the `+` lines
    removed_lines: frozenset[int] = frozenset()  # old-file numbers of the `-` lines
    first_old_line: int = 0  # anchor for cached offsets of findings on removed lines
    new_file: bool = False
    scope: str = ""  # the enclosing function or schema block, e.g. "function `payVendor` (lines 7-19)"

    @property
    def label(self) -> str:
        if not self.shown_lines:
            return f"{self.path} (removed lines only)"
        return f"{self.path} lines {min(self.shown_lines)}-{max(self.shown_lines)}"

    def render(self) -> str:
        status = "new file" if self.new_file else "modified file"
        scope = f", in {self.scope}" if self.scope else ""
        return f"### {self.path} ({self.kind}, {status}) hunk {self.hunk_index + 1}{self._part()}{scope}\n{self.body}"

    def _part(self) -> str:
        return f" part {self.part + 1}" if self.part else ""


def render_line(kind: str, new_no: int | None, text: str, old_no: int | None = None) -> str:
    text = escape_invisible(text)
    if kind == "-" or new_no is None:
        number = f"({old_no})" if old_no is not None else ""
        return f"{number:>6} - {text}".rstrip()
    return f"{new_no:>6} {'+' if kind == '+' else ' '} {text}".rstrip()


def collect_units(ctx: ReviewContext) -> list[Unit]:
    units: list[Unit] = []
    for kind, files in (("schema", ctx.surfaces.schema), ("migration", ctx.surfaces.migrations),
                        ("query", ctx.surfaces.query)):
        for changed in files:
            if changed.is_binary or changed.status is FileStatus.DELETED:
                continue
            head_lines: list[str] | None = None
            text = ctx.head_text(changed.path) if kind in ("query", "schema") else None
            if kind in ("query", "schema"):
                head_lines = split_lines(text) if text is not None else []
            for index, hunk in enumerate(changed.hunks):
                if not any(ln.kind != " " for ln in hunk.lines):
                    continue
                if kind == "query" and not _query_hunk_relevant(hunk, head_lines or []):
                    continue
                scope = _scope(ctx, kind, changed, hunk, head_lines or [])
                units.extend(_slices(changed, kind, index, hunk, scope))
    return units


def _query_hunk_relevant(hunk: Hunk, head_lines: list[str]) -> bool:
    changed_text = "\n".join(ln.text for ln in hunk.lines)
    if calls_prisma(changed_text):
        return True
    start = max(hunk.new_start - 1 - QUERY_WINDOW, 0)
    end = hunk.new_start - 1 + hunk.new_length + QUERY_WINDOW
    return calls_prisma("\n".join(head_lines[start:end]))


def _changed_new_lines(hunk: Hunk) -> list[int]:
    lines = [ln.new_no for ln in hunk.lines if ln.kind == "+" and ln.new_no is not None and ln.text.strip()]
    if lines:
        return lines
    # A removal-only hunk: the removed text sat between its neighbours.
    return [ln.new_no for ln in hunk.lines if ln.new_no is not None][:1]


def _scope(ctx: ReviewContext, kind: str, changed: ChangedFile, hunk: Hunk, head_lines: list[str]) -> str:
    """What the hunk's changed lines sit in: a function of a Prisma-calling file, or a schema block."""
    lines = _changed_new_lines(hunk)
    if not lines:
        return ""
    first, last = min(lines), max(lines)
    if kind == "schema":
        for number in range(first, 0, -1):
            text = head_lines[number - 1] if number <= len(head_lines) else ""
            match = _SCHEMA_BLOCK.match(text)
            if match:
                return f"{match.group(1)} `{match.group(2)}`"
            if number != first and text.strip() == "}":
                return ""
        return ""
    if kind != "query":
        return ""
    try:
        from bot.ts import file_analysis

        analysis = file_analysis(ctx, changed.path)
    except Exception:  # the query analyzer reports unparsable files; the prompt just has no function name
        return ""
    names: list[str] = []
    for call in analysis.calls:
        fn = call.function
        if fn is None or fn.is_module or not (fn.line <= last and first <= fn.end_line):
            continue
        label = f"function `{fn.name}` (lines {fn.line}-{fn.end_line}"
        label += f", {fn.handler} handler)" if fn.handler and fn.handler != "job" else \
            (", a scheduled or queued job)" if fn.handler == "job" else ")")
        if label not in names:
            names.append(label)
    return "; ".join(names[:3])


def _slices(changed: ChangedFile, kind: str, index: int, hunk: Hunk, scope: str) -> list[Unit]:
    lines = list(hunk.lines)
    out: list[Unit] = []
    for part, start in enumerate(range(0, len(lines), MAX_UNIT_LINES)):
        piece = lines[start:start + MAX_UNIT_LINES]
        shown = frozenset(ln.new_no for ln in piece if ln.new_no is not None)
        if not shown:
            continue
        removed = frozenset(ln.old_no for ln in piece if ln.kind == "-" and ln.old_no is not None)
        olds = [ln.old_no for ln in piece if ln.old_no is not None]
        body = "\n".join(render_line(ln.kind, ln.new_no, ln.text, ln.old_no) for ln in piece)
        # Identity without line numbers: the same text in the same file hits the cache even after it moved.
        identity = "\n".join(f"{ln.kind}{ln.text}" for ln in piece)
        digest = hashlib.sha256(f"{changed.path}\x1f{kind}\x1f{identity}".encode("utf-8", "surrogatepass"))
        out.append(
            Unit(
                path=changed.path,
                kind=kind,
                hunk_index=index,
                part=part,
                first_line=min(shown),
                shown_lines=shown,
                body=body,
                content_hash=digest.hexdigest(),
                added_lines=frozenset(ln.new_no for ln in piece if ln.kind == "+" and ln.new_no is not None),
                removed_lines=removed,
                first_old_line=min(olds) if olds else 0,
                new_file=changed.status is FileStatus.ADDED,
                scope=scope,
            )
        )
    return out
