"""Build a Change from a local repository: two git refs, a ref and the working tree, or a diff file.

File contents come from git objects (never the working tree) unless the head is the working tree itself.
Every git failure becomes a ChangeError with one line a user can act on.
"""

from __future__ import annotations

import os
import posixpath
import subprocess
import threading
from collections.abc import Iterable
from dataclasses import replace
from pathlib import Path

from bot.change import (
    Change,
    ChangedFile,
    ChangeError,
    DiffLine,
    FileStatus,
    Hunk,
    MemorySnapshot,
    Snapshot,
    apply_hunks,
    decode_text,
    parse_diff,
    split_lines,
)
from bot.surfaces import QUERY_EXTENSIONS, calls_prisma

_GIT_ENV = {**os.environ, "GIT_TERMINAL_PROMPT": "0", "LC_ALL": "C"}
# Bytes of object names written to `git cat-file --batch` before its answers are read (see GitSnapshot.prefetch).
_PREFETCH_BYTES = 16_384
_SKIP_WALK = {".git", "node_modules", ".venv", "__pycache__", ".next", "dist", "build"}


def _git(repo: Path, *args: str, check: bool = True) -> bytes:
    try:
        proc = subprocess.run(
            ["git", "-c", "core.quotepath=false", "-C", str(repo), *args],
            capture_output=True,
            env=_GIT_ENV,
            timeout=120,
        )
    except FileNotFoundError:
        raise ChangeError("git is not installed or not on PATH") from None
    except subprocess.TimeoutExpired:
        raise ChangeError(f"git {args[0]} timed out in {repo}") from None
    if check and proc.returncode != 0:
        err = proc.stderr.decode("utf-8", "replace").strip().splitlines()
        reason = err[-1] if err else f"exit code {proc.returncode}"
        raise ChangeError(f"git {args[0]} failed: {reason.removeprefix('fatal: ')}")
    return proc.stdout


def is_git_repo(repo: Path) -> bool:
    try:
        return _git(repo, "rev-parse", "--is-inside-work-tree", check=False).strip() == b"true"
    except ChangeError:
        return False


class GitSnapshot:
    """Files at one commit, read through one long-lived `git cat-file --batch` process."""

    def __init__(self, repo: Path, ref: str, commit: str | None = None) -> None:
        self._proc: subprocess.Popen[bytes] | None = None
        self.repo = repo
        self.label = ref
        self.commit = commit or resolve_ref(repo, ref)
        self._listing: list[str] | None = None
        self._cache: dict[str, bytes | None] = {}
        self._lock = threading.Lock()

    def list_files(self) -> list[str]:
        if self._listing is None:
            out = _git(self.repo, "ls-tree", "-r", "-z", "--name-only", self.commit)
            self._listing = [p.decode("utf-8", "surrogateescape") for p in out.split(b"\0") if p]
        return self._listing

    def read_bytes(self, path: str) -> bytes | None:
        if path in self._cache:
            return self._cache[path]
        with self._lock:
            data = self._cat_file(f"{self.commit}:{path}")
        self._cache[path] = data
        return data

    def prefetch(self, paths: Iterable[str]) -> None:
        """Read the files not read yet in batches: all their names are written to `git cat-file` at once, then
        all the answers read, so many files cost one round trip instead of one each (same bytes, same cache)."""
        todo = [p for p in dict.fromkeys(paths) if p not in self._cache and "\n" not in p]
        with self._lock:
            start = 0
            while start < len(todo):
                # Names are written before any answer is read: a batch stays well under a pipe's 64 KiB buffer, so
                # the write never waits for git, which may itself be waiting for us to read its output.
                end, size = start, 0
                while end < len(todo) and (end == start or size < _PREFETCH_BYTES):
                    size += len(self.commit) + len(todo[end].encode("utf-8", "surrogateescape")) + 2
                    end += 1
                chunk = todo[start:end]
                proc = self._cat_file_proc()
                assert proc.stdin is not None
                proc.stdin.write(b"".join(f"{self.commit}:{p}\n".encode("utf-8", "surrogateescape") for p in chunk))
                proc.stdin.flush()
                for path in chunk:
                    self._cache[path] = self._read_answer(proc)
                start = end

    def _cat_file_proc(self) -> subprocess.Popen[bytes]:
        if self._proc is None or self._proc.poll() is not None:
            self._proc = subprocess.Popen(
                ["git", "-C", str(self.repo), "cat-file", "--batch"],
                stdin=subprocess.PIPE,
                stdout=subprocess.PIPE,
                stderr=subprocess.DEVNULL,
                env=_GIT_ENV,
            )
        return self._proc

    def _cat_file(self, spec: str) -> bytes | None:
        if "\n" in spec:
            return None
        proc = self._cat_file_proc()
        assert proc.stdin is not None
        proc.stdin.write(spec.encode("utf-8", "surrogateescape") + b"\n")
        proc.stdin.flush()
        return self._read_answer(proc)

    @staticmethod
    def _read_answer(proc: subprocess.Popen[bytes]) -> bytes | None:
        assert proc.stdout is not None
        header = proc.stdout.readline().split()
        if len(header) < 3 or header[-1] == b"missing":
            return None
        size = int(header[2])
        data = proc.stdout.read(size)
        proc.stdout.read(1)  # the newline after the object
        return data if header[1] == b"blob" else None

    def close(self) -> None:
        if self._proc is not None and self._proc.poll() is None:
            self._proc.kill()
            self._proc.wait()

    def __del__(self) -> None:
        self.close()


class WorkTreeSnapshot:
    """The files on disk: tracked and untracked-but-not-ignored files in a git repo, or every file of a folder."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self.label = "working tree"
        self._git = is_git_repo(root)
        self._listing: list[str] | None = None

    def list_files(self) -> list[str]:
        if self._listing is None:
            if self._git:
                out = _git(self.root, "ls-files", "-z", "--cached", "--others", "--exclude-standard")
                names = {p.decode("utf-8", "surrogateescape") for p in out.split(b"\0") if p}
                self._listing = sorted(n for n in names if (self.root / n).is_file())
            else:
                found: list[str] = []
                for dirpath, dirnames, filenames in os.walk(self.root):
                    dirnames[:] = [d for d in dirnames if d not in _SKIP_WALK]
                    rel = os.path.relpath(dirpath, self.root)
                    for name in filenames:
                        found.append(name if rel == "." else f"{rel}/{name}".replace(os.sep, "/"))
                self._listing = sorted(found)
        return self._listing

    def read_bytes(self, path: str) -> bytes | None:
        target = (self.root / path).resolve()
        if not target.is_relative_to(self.root.resolve()) or not target.is_file():
            return None
        try:
            return target.read_bytes()
        except OSError:
            return None


def resolve_ref(repo: Path, ref: str) -> str:
    if ref.startswith("-"):
        raise ChangeError(f"not a valid ref: {ref!r}")
    out = _git(repo, "rev-parse", "--verify", "--quiet", f"{ref}^{{commit}}", check=False).strip()
    if not out:
        raise ChangeError(f"unknown ref {ref!r} in {repo}")
    return out.decode()


def _resolve_in_work_tree(repo: Path, refs: list[str]) -> list[str] | None:
    """The commits of `refs`, checking that `repo` is a work tree, in one git process (each costs a fork of this
    one); None when anything is off, and the caller asks again one question at a time for the precise message."""
    if any(ref.startswith("-") for ref in refs):
        return None
    out = _git(repo, "rev-parse", "--is-inside-work-tree", *(f"{ref}^{{commit}}" for ref in refs), check=False)
    lines = out.decode("utf-8", "replace").split()
    if len(lines) != len(refs) + 1 or lines[0] != "true":
        return None
    commits = lines[1:]
    if not all(len(c) in (40, 64) and all(ch in "0123456789abcdef" for ch in c) for c in commits):
        return None
    return commits


def default_base(repo: Path) -> str:
    """The merge-base of HEAD with the default branch (origin/HEAD, then main/master), else HEAD itself."""
    if not _git(repo, "rev-parse", "--verify", "--quiet", "HEAD", check=False).strip():
        raise ChangeError(f"the repository at {repo} has no commits yet")
    candidates = []
    origin_head = _git(repo, "symbolic-ref", "--quiet", "refs/remotes/origin/HEAD", check=False).strip()
    if origin_head:
        candidates.append(origin_head.decode())
    candidates += ["origin/main", "origin/master", "main", "master"]
    for candidate in candidates:
        if _git(repo, "rev-parse", "--verify", "--quiet", candidate, check=False).strip():
            base = _git(repo, "merge-base", "HEAD", candidate, check=False).strip()
            if base:
                return base.decode()
    return resolve_ref(repo, "HEAD")


_DIFF_ARGS = ("diff", "--no-color", "--no-ext-diff", "--no-textconv", "-M", "--src-prefix=a/", "--dst-prefix=b/", "-U3")


def git_change(repo: Path, base: str | None = None, head: str | None = None) -> Change:
    """The change from `base` (default: merge-base with the default branch) to `head` (default: the working tree)."""
    repo = repo.resolve()
    if not repo.is_dir():
        raise ChangeError(f"no such directory: {repo}")
    commits = _resolve_in_work_tree(repo, [r for r in (base, head) if r is not None])
    if commits is None and not is_git_repo(repo):
        raise ChangeError(f"not a git repository: {repo} (use --diff FILE to review a diff without git)")
    known = dict(zip([r for r in (base, head) if r is not None], commits or [], strict=False))
    base_ref = base or default_base(repo)
    base_snapshot = GitSnapshot(repo, base_ref, known.get(base_ref))
    if head is None:
        diff = _decode_diff(_git(repo, *_DIFF_ARGS, base_snapshot.commit))
        files = parse_diff(diff, defer_hunks=True)
        files.extend(_untracked_files(repo))
        head_snapshot: Snapshot = WorkTreeSnapshot(repo)
        head_label = "working tree"
    else:
        head_git = GitSnapshot(repo, head, known.get(head))
        diff = _decode_diff(_git(repo, *_DIFF_ARGS, base_snapshot.commit, head_git.commit))
        files = parse_diff(diff, defer_hunks=True)
        head_snapshot = head_git
        head_label = head
    return Change(
        files=files,
        base=base_snapshot,
        head=head_snapshot,
        base_label=base or f"merge-base {base_snapshot.commit[:12]}",
        head_label=head_label,
    )


def _decode_diff(raw: bytes) -> str:
    # Non-UTF-8 lines in a diff must not stop the review of the other files.
    return raw.decode("utf-8", "replace")


def _untracked_files(repo: Path) -> list[ChangedFile]:
    """New files not yet added to git are part of the working-tree change too."""
    out = _git(repo, "ls-files", "-z", "--others", "--exclude-standard")
    files: list[ChangedFile] = []
    for raw in out.split(b"\0"):
        if not raw:
            continue
        path = raw.decode("utf-8", "surrogateescape")
        target = (repo / path).resolve()
        if not target.is_relative_to(repo) or not target.is_file():
            continue  # a symlink out of the repository is not the change's content
        try:
            data = target.read_bytes()
        except OSError:
            continue
        text = decode_text(data)
        if text is None:
            files.append(ChangedFile(path=path, status=FileStatus.ADDED, is_binary=True))
            continue
        lines = split_lines(text)
        hunk_lines = tuple(DiffLine("+", None, i, line) for i, line in enumerate(lines, start=1))
        hunks = [Hunk(0, 0, 1, len(lines), hunk_lines)] if lines else []
        files.append(
            ChangedFile(path=path, status=FileStatus.ADDED, hunks=hunks, added_lines=set(range(1, len(lines) + 1)))
        )
    return files


def diff_file_change(repo: Path, diff_text: str, base: str | None = None) -> Change:
    """The change a diff file describes, read against `base` (a ref) or, without one, the folder's files.

    The folder may hold the pre-change files (the diff is applied in memory to get the head) or the post-change
    files (for `git diff > change.patch` after editing: the diff is reversed to get the base).
    """
    repo = repo.resolve()
    if not repo.is_dir():
        raise ChangeError(f"no such directory: {repo}")
    files = parse_diff(diff_text)
    if not files and diff_text.strip():
        raise ChangeError("the diff file holds no file changes")
    tree: Snapshot = GitSnapshot(repo, base) if base else WorkTreeSnapshot(repo)
    try:
        head_files, stale = _apply_all(tree, files)
        kept = [f for f in files if f.path not in stale]
        return Change(
            files=kept,
            base=tree,
            head=_Overlay(tree, head_files, "diff applied"),
            base_label=base or str(repo.name),
            head_label="diff applied",
            notes=_stale_notes(stale),
        )
    except ChangeError as forward_error:
        if base:
            raise
        try:
            reversed_files = [_reverse(f) for f in files]
            base_files, stale = _apply_all(tree, reversed_files)
        except ChangeError:
            raise forward_error from None
        stale_paths = {_reverse_path(f) for f in reversed_files if f.path in stale}
        return Change(
            files=[f for f in files if f.path not in stale_paths],
            base=_Overlay(tree, base_files, "before the diff"),
            head=tree,
            base_label="before the diff",
            head_label="working tree",
            notes=_stale_notes(stale),
        )


# Files that decide what a change is about: a diff that does not apply to one of these cannot be reviewed.
_LAYOUT_FILES = ("package.json", "prisma.config.ts", "prisma.config.mts", "prisma.config.js", "prisma.config.cjs",
                 "migration_lock.toml", ".dbreview.yml", ".dbreview.yaml", "dbreview.yml", "dbreview.yaml",
                 "package-lock.json", "pnpm-lock.yaml", "yarn.lock", "bun.lock", "npm-shrinkwrap.json")


def _matters(changed: ChangedFile) -> bool:
    """Whether dbreview needs this file of a diff: a database surface, or what finding the surfaces needs."""
    path = changed.path
    if path.endswith((".prisma", ".sql")) or posixpath.basename(path) in _LAYOUT_FILES or "/migrations/" in f"/{path}":
        return True
    if path.endswith(QUERY_EXTENSIONS):
        text = "\n".join(ln.text for h in changed.hunks for ln in h.lines)
        return calls_prisma(text) or "prisma" in text.lower()
    return False


def _apply_all(tree: Snapshot, files: list[ChangedFile]) -> tuple[dict[str, bytes | None], dict[str, str]]:
    """New contents per path after applying the diff to `tree` (None = the file is gone), and the files dbreview
    does not need whose hunks do not apply (path -> why): those are left out of the review, not fatal."""
    result: dict[str, bytes | None] = {}
    stale: dict[str, str] = {}
    for changed in files:
        if changed.is_binary:
            continue
        try:
            _apply_one(tree, changed, result)
        except ChangeError as exc:
            if _matters(changed):
                raise
            stale[changed.path] = str(exc)
    return result, stale


def _apply_one(tree: Snapshot, changed: ChangedFile, result: dict[str, bytes | None]) -> None:
    if changed.status is FileStatus.DELETED:
        result[changed.path] = None
        return
    source_path = changed.base_path
    if source_path is None:
        if tree.read_bytes(changed.path) is not None and changed.hunks:
            raise ChangeError(f"{changed.path}: the diff adds a file that already exists")
        base_text = ""
    else:
        data = tree.read_bytes(source_path)
        base_text = decode_text(data) if data is not None else None
        if base_text is None:
            raise ChangeError(f"{source_path}: not found (or not text) where the diff expects it")
    result[changed.path] = apply_hunks(base_text, changed).encode("utf-8")
    if changed.status is FileStatus.RENAMED and changed.old_path:
        result[changed.old_path] = None


def _reverse_path(reversed_file: ChangedFile) -> str:
    """The head path of the original file a reversed ChangedFile came from."""
    return reversed_file.old_path if reversed_file.status is FileStatus.RENAMED and reversed_file.old_path \
        else reversed_file.path


def _stale_notes(stale: dict[str, str]) -> list[str]:
    if not stale:
        return []
    shown = ", ".join(sorted(stale)[:10]) + (f" and {len(stale) - 10} more" if len(stale) > 10 else "")
    return [f"the diff does not apply to {shown} (not database files): left out of the review"]


def _reverse(changed: ChangedFile) -> ChangedFile:
    flip = {"+": "-", "-": "+", " ": " "}
    hunks = [
        Hunk(h.new_start, h.new_length, h.old_start, h.old_length,
             tuple(DiffLine(flip[ln.kind], ln.new_no, ln.old_no, ln.text) for ln in h.lines))
        for h in changed.hunks
    ]
    status = {FileStatus.ADDED: FileStatus.DELETED, FileStatus.DELETED: FileStatus.ADDED}.get(
        changed.status, changed.status
    )
    path = changed.old_path if changed.status is FileStatus.RENAMED and changed.old_path else changed.path
    return replace(changed, path=path, old_path=changed.path if changed.old_path else None, status=status,
                   hunks=hunks, added_lines=set(changed.deleted_lines), deleted_lines=set(changed.added_lines))


class _Overlay:
    """A snapshot equal to `tree` except for the files a diff changed."""

    def __init__(self, tree: Snapshot, overrides: dict[str, bytes | None], label: str) -> None:
        self._tree = tree
        self._overrides = overrides
        self.label = label

    def read_bytes(self, path: str) -> bytes | None:
        if path in self._overrides:
            return self._overrides[path]
        return self._tree.read_bytes(path)

    def list_files(self) -> list[str]:
        names = set(self._tree.list_files())
        for path, data in self._overrides.items():
            if data is None:
                names.discard(path)
            else:
                names.add(path)
        return sorted(names)


__all__ = ["GitSnapshot", "MemorySnapshot", "WorkTreeSnapshot", "diff_file_change", "git_change", "resolve_ref"]
