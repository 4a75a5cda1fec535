"""The change under review: which files changed, how, and their text at base and at head.

Built from a unified diff (unidiff underneath) plus two snapshots that can read any file at base and at head:
git objects for refs, the working tree for uncommitted work, or an in-memory mapping (tests, the GitHub API).
"""

from __future__ import annotations

import re
import threading
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field, fields
from enum import StrEnum
from typing import Any, Protocol

from unidiff import PatchedFile, PatchSet
from unidiff.errors import UnidiffParseError


def split_lines(text: str) -> list[str]:
    """Lines as git and GitHub number them: split on "\n" only (never on U+0085, U+2028, form feed or a lone
    "\r", which `str.splitlines` also treats as line ends), without the "\r" of a CRLF line end."""
    if not text:
        return []
    lines = text.split("\n")
    if lines[-1] == "":
        lines.pop()
    return [line[:-1] if line.endswith("\r") else line for line in lines]


def split_lines_keepends(text: str) -> list[str]:
    """Like `split_lines`, each line keeping its own end ("\n" or "\r\n"; the last may have none)."""
    if not text:
        return []
    lines = [line + "\n" for line in text.split("\n")]
    last = lines.pop()[:-1]
    if last:
        lines.append(last)
    return lines


class ChangeError(Exception):
    """A diff or a repository that cannot be read; the message is one line a user can act on."""


class FileStatus(StrEnum):
    ADDED = "added"
    MODIFIED = "modified"
    DELETED = "deleted"
    RENAMED = "renamed"


@dataclass(frozen=True)
class DiffLine:
    """One line of a hunk: added, deleted or context, with its old and new numbers."""

    kind: str  # "+", "-" or " "
    old_no: int | None
    new_no: int | None
    text: str


@dataclass(frozen=True)
class Hunk:
    """One hunk of a file's diff."""

    old_start: int
    old_length: int
    new_start: int
    new_length: int
    lines: tuple[DiffLine, ...]

    @property
    def new_range(self) -> range:
        return range(self.new_start, self.new_start + self.new_length)

    @property
    def old_range(self) -> range:
        return range(self.old_start, self.old_start + self.old_length)


@dataclass
class ChangedFile:
    """A file the change adds, deletes, modifies or renames, with its hunks and changed lines."""

    path: str  # path at head (for a deleted file: its path at base)
    status: FileStatus
    old_path: str | None = None  # path at base; differs from `path` only for renames
    hunks: list[Hunk] = field(default_factory=list)
    is_binary: bool = False
    added_lines: set[int] = field(default_factory=set)  # new-file line numbers
    deleted_lines: set[int] = field(default_factory=set)  # old-file line numbers

    @property
    def base_path(self) -> str | None:
        if self.status is FileStatus.ADDED:
            return None
        return self.old_path or self.path

    @property
    def head_path(self) -> str | None:
        return None if self.status is FileStatus.DELETED else self.path

    def commentable_new_lines(self) -> set[int]:
        """Lines GitHub accepts a review comment on with side=RIGHT: added and context lines of a hunk."""
        return {ln.new_no for h in self.hunks for ln in h.lines if ln.new_no is not None}

    def commentable_old_lines(self) -> set[int]:
        """Lines GitHub accepts with side=LEFT: deleted and context lines (old numbering)."""
        return {ln.old_no for h in self.hunks for ln in h.lines if ln.old_no is not None}

    def deletion_positions(self) -> set[int]:
        """For each run of deleted lines, the new-file line right after it (where the removed text used to be)."""
        positions: set[int] = set()
        for hunk in self.hunks:
            pending = False
            last_new = hunk.new_start - 1
            for ln in hunk.lines:
                if ln.kind == "-":
                    pending = True
                elif ln.new_no is not None:
                    if pending:
                        positions.add(ln.new_no)
                        pending = False
                    last_new = ln.new_no
            if pending:
                positions.add(last_new + 1)
        return positions

    def hunk_index(self, line: int, *, old: bool = False) -> int | None:
        for i, hunk in enumerate(self.hunks):
            if line in (hunk.old_range if old else hunk.new_range):
                return i
        return None


class Snapshot(Protocol):
    """Read access to one version of the repository."""

    label: str

    def read_bytes(self, path: str) -> bytes | None: ...

    def list_files(self) -> list[str]: ...


class MemorySnapshot:
    """A snapshot held in memory (tests, diffs applied in memory, files fetched from an API)."""

    def __init__(self, files: dict[str, str | bytes] | None = None, label: str = "memory",
                 loader: Callable[[str], bytes | None] | None = None, listing: Iterable[str] | None = None) -> None:
        self.label = label
        self._files: dict[str, bytes] = {
            p: (t.encode("utf-8") if isinstance(t, str) else t) for p, t in (files or {}).items()
        }
        self._loader = loader
        self._listing = list(listing) if listing is not None else None

    def read_bytes(self, path: str) -> bytes | None:
        if path not in self._files and self._loader is not None:
            data = self._loader(path)
            if data is None:
                return None
            self._files[path] = data
        return self._files.get(path)

    def list_files(self) -> list[str]:
        if self._listing is not None:
            return sorted(set(self._listing) | set(self._files))
        return sorted(self._files)


EMPTY_SNAPSHOT = MemorySnapshot(label="empty")


def prefetch(snapshot: Snapshot, paths: Iterable[str]) -> None:
    """Tell a snapshot which files are about to be read, so one that reads through git fetches them in one exchange
    with `git cat-file` instead of one round trip per file (a history replay reads every migration.sql). Snapshots
    without a batch read (memory, working tree, a diff overlay) read each file when asked, as before."""
    batch = getattr(snapshot, "prefetch", None)
    if batch is not None:
        batch(paths)


def is_binary(data: bytes) -> bool:
    """git's test: a NUL byte in the first 8 KB makes a file binary (no text diff, no line comments)."""
    return b"\x00" in data[:8192]


def decode_text(data: bytes | None) -> str | None:
    """The text of a file, or None when it is absent or binary.

    Bytes that are not UTF-8 become U+FFFD, so the rest of the file is still analysed; `invalid_utf8_lines` says
    where they were (the change/unreadable-file check reports them).
    """
    if data is None or is_binary(data):
        return None
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError:
        text = data.decode("utf-8", "replace")
    return text.removeprefix("\ufeff")


def invalid_utf8_lines(data: bytes) -> list[int]:
    """1-based numbers of the lines holding bytes that are not UTF-8 (empty for valid UTF-8)."""
    try:
        data.decode("utf-8")
    except UnicodeDecodeError:
        pass
    else:
        return []
    bad: list[int] = []
    for number, line in enumerate(data.split(b"\n"), start=1):
        try:
            line.decode("utf-8")
        except UnicodeDecodeError:
            bad.append(number)
    return bad


@dataclass(frozen=True)
class ReviewComment:
    """One of dbreview's own inline comments already on the pull request, with the replies people wrote to it.
    The LLM review is shown its earlier remarks on a hunk so it neither repeats nor contradicts itself."""

    path: str
    line: int
    side: str  # "RIGHT" (new file) or "LEFT" (old file), as GitHub says
    rule: str
    body: str
    replies: tuple[tuple[str, str], ...] = ()  # (author login, text)


@dataclass
class Change:
    """What a review reviews: the changed files and both snapshots of the repository."""

    files: list[ChangedFile]
    base: Snapshot = field(default_factory=lambda: EMPTY_SNAPSHOT)
    head: Snapshot = field(default_factory=lambda: EMPTY_SNAPSHOT)
    base_label: str = "base"
    head_label: str = "head"
    title: str = ""
    body: str = ""
    # PR text the author wrote besides the code (front doors that have them fill these); the LLM review shows them
    # to the model as untrusted data.
    commit_messages: list[str] = field(default_factory=list)
    comments: list[str] = field(default_factory=list)
    # What building the change left out and why (a stale diff's non-database files), shown in the review's notes.
    notes: list[str] = field(default_factory=list)
    review_comments: list[ReviewComment] = field(default_factory=list)

    def file(self, path: str) -> ChangedFile | None:
        return next((f for f in self.files if f.path == path), None)

    def head_text(self, path: str) -> str | None:
        return decode_text(self.head.read_bytes(path))

    def base_text(self, path: str) -> str | None:
        return decode_text(self.base.read_bytes(path))

    def text_of(self, changed: ChangedFile, *, old: bool = False) -> str | None:
        if old:
            return None if changed.base_path is None else self.base_text(changed.base_path)
        return None if changed.head_path is None else self.head_text(changed.head_path)


_GIT_PREFIX = re.compile(r"^[ab]/")


def _strip_prefix(name: str) -> str:
    if name.startswith('"') and name.endswith('"'):
        name = _unquote_c_style(name[1:-1])
    return _GIT_PREFIX.sub("", name, count=1)


def _unquote_c_style(quoted: str) -> str:
    """git quotes unusual paths C-style ("a/caf\\303\\251.ts"); decode octal escapes as UTF-8 bytes."""
    out = bytearray()
    i = 0
    escapes = {"n": b"\n", "t": b"\t", '"': b'"', "\\": b"\\", "a": b"\a", "b": b"\b", "f": b"\f", "r": b"\r",
               "v": b"\v"}
    while i < len(quoted):
        ch = quoted[i]
        if ch == "\\" and i + 1 < len(quoted):
            nxt = quoted[i + 1]
            if nxt in "01234567" and i + 3 < len(quoted) + 1:
                out.append(int(quoted[i + 1:i + 4], 8))
                i += 4
                continue
            out += escapes.get(nxt, nxt.encode())
            i += 2
            continue
        out += ch.encode("utf-8")
        i += 1
    return out.decode("utf-8", "replace")


def parse_diff(diff_text: str, *, defer_hunks: bool = False) -> list[ChangedFile]:
    """Changed files of a unified diff (git or plain). Raises ChangeError on a diff that does not parse.

    With `defer_hunks` (git's own output), each file's hunks are parsed when first read: a review reads them for its
    database files, while a pull request's diff is often mostly lockfiles and other code (umami's 460 KB diff took
    69 ms to parse whole). The files, their status and paths come from unidiff's metadata pass over the whole diff,
    which checks its structure as the full parse does."""
    if not diff_text.strip():
        return []
    # CRLF files keep their \r inside line values; the diff's own line structure must be \n-separated.
    lines = split_lines_keepends(diff_text)
    if defer_hunks:
        chunks = _git_file_chunks(lines)
        patch = _patch_set(lines, metadata_only=True)
        if chunks is not None and len(chunks) == len(patch):
            return [_changed_file(pf, lambda chunk=chunk: _hunks_of(_patch_set(chunk)[0]))
                    for pf, chunk in zip(patch, chunks, strict=True)]
    return [_changed_file(pf) for pf in _patch_set(lines)]


def _patch_set(lines: list[str], metadata_only: bool = False) -> PatchSet:
    try:
        return PatchSet(lines, metadata_only=metadata_only)
    except UnidiffParseError as exc:
        raise ChangeError(f"the diff does not parse: {exc}") from None
    except Exception as exc:  # unidiff raises bare errors on some malformed headers
        raise ChangeError(f"the diff does not parse: {type(exc).__name__}: {exc}") from None


def _git_file_chunks(lines: list[str]) -> list[list[str]] | None:
    """git's diff cut at each file's `diff --git` line (a hunk line starts with " ", "+", "-" or "\\", never with
    that); None for a diff that does not start with one."""
    starts = [i for i, line in enumerate(lines) if line.startswith("diff --git ")]
    if not starts or starts[0] != 0:
        return None
    return [lines[start:end] for start, end in zip(starts, [*starts[1:], len(lines)], strict=True)]


def _changed_file(pf: PatchedFile, deferred: Callable[[], _Hunks] | None = None) -> ChangedFile:
    source = _strip_prefix(pf.source_file) if pf.source_file else None
    target = _strip_prefix(pf.target_file) if pf.target_file else None
    if pf.is_added_file:
        status, path, old_path = FileStatus.ADDED, target or pf.path, None
    elif pf.is_removed_file:
        status, path, old_path = FileStatus.DELETED, source or pf.path, None
    elif pf.is_rename or (source and target and source != target and source != "/dev/null"):
        status, path, old_path = FileStatus.RENAMED, target or pf.path, source
    else:
        status, path, old_path = FileStatus.MODIFIED, target or pf.path, None
    if path == "/dev/null":
        path = pf.path
    if deferred is not None:
        return _DeferredHunksFile(path, status, old_path, bool(pf.is_binary_file), deferred)
    hunks, added, deleted = _hunks_of(pf)
    return ChangedFile(path=path, status=status, old_path=old_path, hunks=hunks, is_binary=bool(pf.is_binary_file),
                       added_lines=added, deleted_lines=deleted)


_Hunks = tuple[list[Hunk], set[int], set[int]]


def _hunks_of(pf: PatchedFile) -> _Hunks:
    hunks: list[Hunk] = []
    added: set[int] = set()
    deleted: set[int] = set()
    for h in pf:
        lines: list[DiffLine] = []
        for ln in h:
            if ln.line_type not in ("+", "-", " "):
                continue  # "\ No newline at end of file" carries no line number
            value = ln.value.removesuffix("\n")
            lines.append(DiffLine(ln.line_type, ln.source_line_no, ln.target_line_no, value))
            if ln.is_added and ln.target_line_no is not None:
                added.add(ln.target_line_no)
            elif ln.is_removed and ln.source_line_no is not None:
                deleted.add(ln.source_line_no)
        hunks.append(Hunk(h.source_start, h.source_length, h.target_start, h.target_length, tuple(lines)))
    return hunks, added, deleted


class _DeferredHunksFile(ChangedFile):
    """A ChangedFile whose hunks, added and deleted lines are parsed from its part of the diff on first read."""

    _lock = threading.Lock()

    def __init__(self, path: str, status: FileStatus, old_path: str | None, is_binary: bool,
                 deferred: Callable[[], _Hunks]) -> None:
        # The dataclass fields but the three deferred ones; __getattr__ runs only for an attribute not yet set.
        self.path, self.status, self.old_path, self.is_binary = path, status, old_path, is_binary
        self._deferred = deferred

    def __getattr__(self, name: str) -> Any:
        if name not in ("hunks", "added_lines", "deleted_lines"):
            raise AttributeError(name)
        with self._lock:  # an analyzer thread and the pipeline may read the same file
            if "hunks" not in self.__dict__:
                self.hunks, self.added_lines, self.deleted_lines = self._deferred()
        return self.__dict__[name]

    def __eq__(self, other: object) -> bool:
        # Equal to a ChangedFile with the same fields, as between two ChangedFiles (the dataclass's own __eq__
        # compares only instances of one class).
        if not isinstance(other, ChangedFile):
            return NotImplemented
        return all(getattr(self, f.name) == getattr(other, f.name) for f in fields(ChangedFile))

    __hash__ = None  # type: ignore[assignment]  (mutable, like ChangedFile)


def apply_hunks(base_text: str, changed: ChangedFile) -> str:
    """Apply a file's hunks to its base text (to rebuild head text from a diff). Raises ChangeError on mismatch."""
    old_lines = split_lines_keepends(base_text)
    out: list[str] = []
    cursor = 0  # 0-based index into old_lines
    for hunk in changed.hunks:
        start = max(hunk.old_start - 1, 0) if hunk.old_length else hunk.old_start
        if start < cursor or start > len(old_lines):
            raise ChangeError(f"{changed.path}: the diff does not apply (hunk at line {hunk.old_start})")
        out.extend(old_lines[cursor:start])
        cursor = start
        for ln in hunk.lines:
            if ln.kind in (" ", "-"):
                actual = old_lines[cursor].rstrip("\r\n") if cursor < len(old_lines) else None
                if actual != ln.text.rstrip("\r"):
                    raise ChangeError(f"{changed.path}: the diff does not apply at line {cursor + 1}")
                if ln.kind == " ":
                    out.append(old_lines[cursor])
                cursor += 1
            else:
                eol = "\r\n" if ln.text.endswith("\r") else "\n"
                out.append(ln.text.rstrip("\r") + eol)
    out.extend(old_lines[cursor:])
    return "".join(out)
