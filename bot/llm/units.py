"""The database-relevant pieces of the diff, each rendered with new-file line numbers.

A unit is one hunk (or one slice of a very long hunk) of a schema, migration or Prisma-calling file. Units are what
the budget packs into calls, and what the result cache is keyed on: an unchanged hunk on the next push has the same
content hash even when it moved, and its cached findings are stored relative to the hunk's first line.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass

from bot.change import ChangedFile, FileStatus, Hunk, split_lines
from bot.context import ReviewContext
from bot.llm.sanitize import escape_invisible
from bot.surfaces import calls_prisma

# A hunk longer than this (a new migration file, a new schema) is cut into slices so it can be split across calls.
MAX_UNIT_LINES = 250
# Context around a code hunk searched for Prisma Client use, so a hunk inside a Prisma-calling function counts.
QUERY_WINDOW = 25


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

    @property
    def label(self) -> str:
        if not self.shown_lines:
            return f"{self.path} (removed lines only)"
        return f"{self.path} lines {min(self.shown_lines)}-{max(self.shown_lines)}"

    def render(self) -> str:
        return f"### {self.path} ({self.kind}) hunk {self.hunk_index + 1}{self._part()}\n{self.body}"

    def _part(self) -> str:
        return f" part {self.part + 1}" if self.part else ""


def render_line(kind: str, new_no: int | None, text: str) -> str:
    text = escape_invisible(text)
    if kind == "-" or new_no is None:
        return f"{'':>6} - {text}".rstrip()
    return f"{new_no:>6} {'+' if kind == '+' else ' '} {text}".rstrip()


def collect_units(ctx: ReviewContext) -> list[Unit]:
    units: list[Unit] = []
    for kind, files in (("schema", ctx.surfaces.schema), ("migration", ctx.surfaces.migrations),
                        ("query", ctx.surfaces.query)):
        for changed in files:
            if changed.is_binary or changed.status is FileStatus.DELETED:
                continue
            head_lines: list[str] | None = None
            if kind == "query":
                text = ctx.head_text(changed.path)
                head_lines = split_lines(text) if text is not None else []
            for index, hunk in enumerate(changed.hunks):
                if not any(ln.kind != " " for ln in hunk.lines):
                    continue
                if head_lines is not None and not _query_hunk_relevant(hunk, head_lines):
                    continue
                units.extend(_slices(changed, kind, index, hunk))
    return units


def _query_hunk_relevant(hunk: Hunk, head_lines: list[str]) -> bool:
    changed_text = "\n".join(ln.text for ln in hunk.lines)
    if calls_prisma(changed_text):
        return True
    start = max(hunk.new_start - 1 - QUERY_WINDOW, 0)
    end = hunk.new_start - 1 + hunk.new_length + QUERY_WINDOW
    return calls_prisma("\n".join(head_lines[start:end]))


def _slices(changed: ChangedFile, kind: str, index: int, hunk: Hunk) -> list[Unit]:
    lines = list(hunk.lines)
    out: list[Unit] = []
    for part, start in enumerate(range(0, len(lines), MAX_UNIT_LINES)):
        piece = lines[start:start + MAX_UNIT_LINES]
        shown = frozenset(ln.new_no for ln in piece if ln.new_no is not None)
        if not shown:
            continue
        body = "\n".join(render_line(ln.kind, ln.new_no, ln.text) for ln in piece)
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
            )
        )
    return out
