"""Which findings the change introduced: a problem that exists at head and did not exist at base.

Findings are compared by a semantic identity, not by line numbers: the rule, the file (its base path for a rename)
and what the finding is about. For schema findings that is the object (`model Order field total`), so realigning a
model with `prisma format` or adding a back-relation field to it does not make its old problems new. For migration
and query findings it is the object plus the flagged code with whitespace collapsed, so a call whose `where`, loop
or index changed is new, and an untouched call 80 lines from an edit is not. A missing index is the exception: its
object is the index the function's call needs, so an edited call that needed the same absent index before is old;
likewise a problem of the call's shape (unbounded, per loop item, secrets or whole rows returned) that the same
function's call had at base, unless the change made it worse.
A rename-only edit (a model accessor or function renamed throughout the file) is not a change of the flagged code
either. Code moved verbatim from a file the change deletes into one it adds (handlers ported to another folder)
brings its problems along: they were already there.

The base side is analysed only for the files the change modifies (an added file has no base; a deleted one no
head). Everything here is pure: the pipeline runs the analyzers and hands both lists in.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field

from bot.change import Change, FileStatus, prefetch, split_lines
from bot.findings import Finding, Side, Source
from bot.surfaces import QUERY_EXTENSIONS

Identity = tuple[str, str, str, str]

# Rule families whose findings are about the change itself (history, consistency, files, suppressions): always the
# change's, filtered by the lines and objects it touched as before.
_CHANGE_FAMILIES = ("change/",)
# The schema's findings are about an object; its name is its identity whatever the line looks like.
_OBJECT_FAMILIES = ("prisma/",)
# A missing index is about the index a function's call needs (its key: `function:client.model.op:@@index([...])`),
# not about the call's text: a call whose `where` changed but still needs the same absent index was already slow.
_INDEX_RULES = ("query/missing-index",)
# Problems of a call's shape, not of the text of its filter: an unbounded listing, a query per loop item, secret
# columns returned, whole rows read. A call the change edits (a filter added, a field selected) that had the same
# problem in the same function at base still has it, and it is not the change's, unless it got worse (a higher
# severity). Rules whose problem lives in the edited text itself (raw SQL) are not among them.
_SHAPE_RULES = ("query/unbounded-find-many", "query/n-plus-one", "query/include-sensitive", "query/over-fetching")
_KEYED_RULES = (*_INDEX_RULES, *_SHAPE_RULES)
_QUERY_FAMILY = "query/"
_SCHEMA_SUFFIX = ".prisma"


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
    # A schema split into several files: models move from a file the change edits or deletes into files it adds.
    # The base side of a deleted schema file is analysed too, so an object's old problem is found wherever the
    # object lives now (split() matches them by rule and name across the schema's files).
    if any(c.status is FileStatus.ADDED and c.path.endswith(_SCHEMA_SUFFIX) and c.path in surface_paths
           for c in change.files):
        for changed in change.files:
            if changed.status is FileStatus.DELETED and changed.path.endswith(_SCHEMA_SUFFIX) \
                    and changed.path in surface_paths:
                out[changed.path] = changed.path
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
    if (f.rule.startswith(_OBJECT_FAMILIES) or f.rule in _KEYED_RULES) and f.key:
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
    base_rank: dict[Identity, int] = {}
    for f in base:
        if f.rule in _SHAPE_RULES:
            key = identity(f, f.path, base_lines)
            base_rank[key] = max(base_rank.get(key, 0), f.severity.rank)
    by_file: dict[tuple[str, str], list[Identity]] = {}
    for f in base:
        by_file.setdefault((f.rule, f.path), []).append(identity(f, f.path, base_lines))
    renames = _Renames(change)
    moved = _Moved(change)
    # Schema objects by name across the base schema files analysed (a split moves them between files). Only objects
    # no head file of the same path still reports are available to an added file: a model kept in its old file is
    # matched there.
    objects = Counter((f.rule, f.key) for f in base
                      if f.rule.startswith(_OBJECT_FAMILIES) and f.key and f.path.endswith(_SCHEMA_SUFFIX))
    for f in head:
        if f.rule.startswith(_OBJECT_FAMILIES) and f.key and analysed.get(f.path, "").endswith(_SCHEMA_SUFFIX) \
                and objects[(f.rule, f.key)] > 0:
            objects[(f.rule, f.key)] -= 1
    out = Novelty()
    for f in sorted(head, key=Finding.sort_key):
        if always_the_changes(f):
            if touched(f):
                out.new.append(f)
            continue
        base_path = analysed.get(f.path)
        if base_path is None and f.rule.startswith(_OBJECT_FAMILIES) and f.key and f.path.endswith(_SCHEMA_SUFFIX) \
                and objects[(f.rule, f.key)] > 0:
            # an object a schema split moved into this new file, with the problem it had in its old file
            objects[(f.rule, f.key)] -= 1
            if touched(f):
                out.preexisting.append(f.with_(preexisting=True))
            continue
        if base_path is None:  # added file, or a file whose base was not analysed: the old line/object test
            if moved.moved_here(f, head_lines):
                if touched(f):
                    out.preexisting.append(f.with_(preexisting=True))
            elif touched(f):
                out.new.append(f)
            continue
        key = identity(f, base_path, head_lines)
        if seen[key] <= 0:
            key = renames.old_twin(key, f.path, base_path, by_file.get((f.rule, base_path), []), seen) or key
        if seen[key] > 0 and f.severity.rank > base_rank.get(key, f.severity.rank):
            out.new.append(f)  # the same problem, made worse by the change (a listing that now spans every tenant)
        elif seen[key] > 0:
            seen[key] -= 1
            if touched(f):
                out.preexisting.append(f.with_(preexisting=True))
        else:
            out.new.append(f)
    return out


def may_be_old(findings: list[Finding], change: Change, analysed: dict[str, str]) -> set[str]:
    """The head paths of `analysed` with a finding that a base finding could match, so the base side of only those
    files needs analysing. A schema object's finding always could (its identity is its name). Any other finding's
    identity holds its flagged code: unless that code, or its shape with every name replaced (a rename-only edit),
    is in the base file, no base finding can match it, and a PR's new code is exactly that."""
    head_lines = _Lines(change.head_text)
    base_text: dict[str, str] = {}
    base_shape: dict[str, str] = {}
    out: set[str] = set()
    if any(f.rule.startswith(_OBJECT_FAMILIES) and f.key and f.path.endswith(_SCHEMA_SUFFIX) and f.path not in analysed
           for f in findings):
        # an object finding in an added schema file may have moved from any edited or deleted schema file
        out.update(head for head, base in analysed.items() if base.endswith(_SCHEMA_SUFFIX))
    for f in findings:
        base_path = analysed.get(f.path)
        if base_path is None or f.path in out or always_the_changes(f):
            continue
        if f.rule.startswith(_OBJECT_FAMILIES) and f.key:
            out.add(f.path)
            continue
        if base_path not in base_text:
            base_text[base_path] = " ".join(" ".join(line.split())
                                            for line in split_lines(change.base_text(base_path) or ""))
        if f.rule in _KEYED_RULES and f.key:
            # the same call target in the base file may have needed the same index, or had the same problem
            target = f.key.split(":")[1] if f.key.count(":") >= 1 else ""
            if target and target.rsplit(".", 1)[0] in base_text[base_path]:
                out.add(f.path)
                continue
        span = head_lines.span(f.path, f.line, f.last_line)
        if span in base_text[base_path]:
            out.add(f.path)
            continue
        # Only when the code itself is not there: the shape tokenises the whole base file.
        if base_path not in base_shape:
            base_shape[base_path] = _shape(base_text[base_path])
        if _shape(span) in base_shape[base_path]:
            out.add(f.path)
    return out


def _shape(code: str) -> str:
    return " ".join("_" if _WORD.fullmatch(token) else token for token in _TOKEN.findall(code))


_WORD = re.compile(r"[A-Za-z_$][\w$]*")
_TOKEN = re.compile(r"[A-Za-z_$][\w$]*|\S")


class _Renames:
    """Rename-only edits: the flagged code differs from an old finding's only by names the change renamed
    throughout the file (a model accessor `workspaceFeatures` that became `workspaceFeature`, a function renamed).
    A name counts as renamed when the old one is gone from the head file and the new one was not in the base file,
    so `where: { id }` edited to `where: { email }` is still a change."""

    def __init__(self, change: Change) -> None:
        self._change = change
        self._words: dict[tuple[str, str], frozenset[str]] = {}

    def _words_of(self, side: str, path: str) -> frozenset[str]:
        key = (side, path)
        if key not in self._words:
            read = self._change.head_text if side == "head" else self._change.base_text
            self._words[key] = frozenset(_WORD.findall(read(path) or ""))
        return self._words[key]

    def old_twin(self, key: Identity, head_path: str, base_path: str, candidates: list[Identity],
                 seen: Counter[Identity]) -> Identity | None:
        # Keyed findings (an index's need, a call's shape) hold no code: their key (`function:client.model.op`)
        # carries the renamed names instead.
        part = 3 if key[3] else 2
        head_tokens = _TOKEN.findall(key[part])
        for old in candidates:
            if seen[old] <= 0:
                continue
            pairs: dict[str, str] = {}
            old_tokens = _TOKEN.findall(old[part])
            if len(old_tokens) != len(head_tokens) or not head_tokens:
                continue
            if all(_renamed(old_tokens, head_tokens, i, pairs) for i in range(len(head_tokens))) and pairs and \
                    not any(a in self._words_of("head", head_path) or b in self._words_of("base", base_path)
                            for a, b in pairs.items()):
                return old
        return None


class _Moved:
    """Code the change moved: a query finding in a file the change adds, whose flagged code (whitespace collapsed,
    at least a statement's worth) is in a file the change deletes. Porting handlers from one framework's folder to
    another's (peppermint moved its Next.js API routes to Fastify controllers) carries their problems along; they
    were already there. Code copied from a file that stays is new code, and stays the change's."""

    _MIN_CHARS = 60
    _MAX_BYTES = 4_000_000  # the deleted files' text read at most (a removed vendored folder is not worth more)

    def __init__(self, change: Change) -> None:
        self._change = change
        self._added = {c.path for c in change.files if c.status is FileStatus.ADDED}
        self._deleted: str | None = None

    def _deleted_text(self) -> str:
        if self._deleted is None:
            parts: list[str] = []
            total = 0
            gone = [c.path for c in self._change.files
                    if c.status is FileStatus.DELETED and c.path.endswith(QUERY_EXTENSIONS)]
            prefetch(self._change.base, gone)  # one git batch for all of them
            for path in gone:
                text = self._change.base_text(path) or ""
                total += len(text)
                if total > self._MAX_BYTES:
                    break
                parts.append(" ".join(" ".join(line.split()) for line in split_lines(text)))
            self._deleted = "\n".join(parts)
        return self._deleted

    def moved_here(self, f: Finding, head_lines: _Lines) -> bool:
        if f.path not in self._added or not f.rule.startswith(_QUERY_FAMILY):
            return False
        span = head_lines.span(f.path, f.line, f.last_line)
        return len(span) >= self._MIN_CHARS and span in self._deleted_text()


def _renamed(old_tokens: list[str], new_tokens: list[str], i: int, pairs: dict[str, str]) -> bool:
    """Token i is the same, or a consistently renamed name in a member chain or call (`prisma.<model>.findMany`,
    `<helper>(...)`); a renamed object key (`select: { title: true }` -> `{ name: true }`) is an edit of the query."""
    old, new = old_tokens[i], new_tokens[i]
    if old == new:
        return True
    if not (_WORD.fullmatch(old) and _WORD.fullmatch(new)):
        return False
    before = new_tokens[i - 1] if i > 0 else ""
    after = new_tokens[i + 1] if i + 1 < len(new_tokens) else ""
    if before != "." and after not in ("(", "."):
        return False
    return pairs.setdefault(old, new) == new


def always_the_changes(f: Finding) -> bool:
    """Findings that only exist because of the change: caused by it, about removed lines, measured, from the LLM,
    or about the change as a whole."""
    return (f.caused_by_change or f.side is Side.OLD or f.source is not Source.RULE
            or f.rule.startswith(_CHANGE_FAMILIES))
