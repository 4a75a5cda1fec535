"""Which findings the change introduced: a problem that exists at head and did not exist at base.

Findings are compared by a semantic identity, not by line numbers: the rule, the file (its base path for a rename)
and what the finding is about. For schema findings that is the object (`model Order field total`), so realigning a
model with `prisma format` or adding a back-relation field to it does not make its old problems new. For migration
and query findings it is the object plus the flagged code with whitespace collapsed, so a call whose `where`, loop
or index changed is new, and an untouched call 80 lines from an edit is not.

The base side is analysed only for the files the change modifies (an added file has no base; a deleted one no
head). Everything here is pure: the pipeline runs the analyzers and hands both lists in.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field

from bot.change import Change, FileStatus, split_lines
from bot.findings import Finding, Side, Source

Identity = tuple[str, str, str, str]

# Rule families whose findings are about the change itself (history, consistency, files, suppressions): always the
# change's, filtered by the lines and objects it touched as before.
_CHANGE_FAMILIES = ("change/",)
# The schema's findings are about an object; its name is its identity whatever the line looks like.
_OBJECT_FAMILIES = ("prisma/",)


@dataclass
class Novelty:
    """The head findings split into the change's own, and problems that were already there (on what it touched)."""

    new: list[Finding] = field(default_factory=list)
    preexisting: list[Finding] = field(default_factory=list)


def analysed_paths(change: Change, surface_paths: set[str]) -> dict[str, str]:
    """Head path -> base path of the database files whose base side can be analysed (modified or renamed)."""
    out: dict[str, str] = {}
    for changed in change.files:
        if changed.path in surface_paths and changed.status in (FileStatus.MODIFIED, FileStatus.RENAMED):
            out[changed.path] = changed.base_path or changed.path
    return out


class _Lines:
    """Whitespace-collapsed lines of each file on one side, split once."""

    def __init__(self, read: Callable[[str], str | None]) -> None:
        self._read = read
        self._cache: dict[str, list[str]] = {}

    def span(self, path: str, first: int, last: int) -> str:
        lines = self._cache.get(path)
        if lines is None:
            lines = [" ".join(line.split()) for line in split_lines(self._read(path) or "")]
            self._cache[path] = lines
        return " ".join(lines[max(first, 1) - 1:max(last, first)])


def identity(f: Finding, base_path: str, lines: _Lines) -> Identity:
    """What a finding is about, stable across moved lines and reformatting: the rule, the file's base path, the
    finding's key, and (except for schema objects) the flagged code with whitespace collapsed, read from `lines`."""
    if f.rule.startswith(_OBJECT_FAMILIES) and f.key:
        return (f.rule, base_path, f.key, "")
    return (f.rule, base_path, f.key, lines.span(f.path, f.line, f.last_line))


def split(head: list[Finding], base: list[Finding], change: Change, analysed: dict[str, str],
          touched: Callable[[Finding], bool]) -> Novelty:
    """Split head findings into new and preexisting.

    `base` are the findings of the same analyzers on the base side of the files in `analysed` (head -> base path),
    reported against their base paths. `touched(f)` is the old test (on an edited line or inside an edited object):
    a problem that was already there is listed as preexisting only where the change touched it; elsewhere it is not
    the change's business and is not listed at all.
    """
    base_lines = _Lines(change.base_text)
    head_lines = _Lines(change.head_text)
    seen = Counter(identity(f, f.path, base_lines) for f in base)  # base findings carry base paths
    out = Novelty()
    for f in sorted(head, key=Finding.sort_key):
        if always_the_changes(f):
            if touched(f):
                out.new.append(f)
            continue
        base_path = analysed.get(f.path)
        if base_path is None:  # added file, or a file whose base was not analysed: the old line/object test
            if touched(f):
                out.new.append(f)
            continue
        key = identity(f, base_path, head_lines)
        if seen[key] > 0:
            seen[key] -= 1
            if touched(f):
                out.preexisting.append(f.with_(preexisting=True))
        else:
            out.new.append(f)
    return out


def always_the_changes(f: Finding) -> bool:
    """Findings that only exist because of the change: caused by it, about removed lines, measured, from the LLM,
    or about the change as a whole."""
    return (f.caused_by_change or f.side is Side.OLD or f.source is not Source.RULE
            or f.rule.startswith(_CHANGE_FAMILIES))
