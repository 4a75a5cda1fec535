"""Read a pull request through the API and turn it into the Change the pipeline reviews.

Files and patches come from `GET /pulls/{n}/files` (paginated). GitHub omits `patch` for very large diffs and for
binary files; those are diffed locally from their contents at both SHAs, or skipped with a note. File contents for
the analyzers are fetched by SHA on demand. The repo config is read from the BASE commit, so a PR cannot change its
own review rules.
"""

from __future__ import annotations

import difflib
import logging
import re
from dataclasses import dataclass, field
from typing import Any

from bot.change import (
    Change,
    ChangedFile,
    ChangeError,
    FileStatus,
    MemorySnapshot,
    ReviewComment,
    decode_text,
    parse_diff,
    split_lines_keepends,
)
from bot.config import CONFIG_PATHS, Config, ConfigError, load_config
from bot.github.client import GitHubClient

log = logging.getLogger("dbreview.github")

# Above this many bytes a file is not diffed locally (GitHub already declined to); it is listed as skipped.
MAX_LOCAL_DIFF_BYTES = 2_000_000
MAX_API_FILES = 3000
# Files above this size are not fetched at all (the tree listing gives the size).
MAX_FILE_BYTES = 10_000_000


@dataclass
class PullRequestInfo:
    repo: str
    number: int
    title: str
    body: str
    head_sha: str
    base_sha: str
    head_ref: str
    base_ref: str
    head_repo: str | None  # full name of the head repository; differs from `repo` for forks
    author: str
    state: str = "open"
    draft: bool = False
    changed_files: int = 0

    @property
    def is_fork(self) -> bool:
        return self.head_repo is not None and self.head_repo != self.repo

    @classmethod
    def from_api(cls, repo: str, data: dict[str, Any]) -> PullRequestInfo:
        head = data.get("head") or {}
        base = data.get("base") or {}
        head_repo = (head.get("repo") or {}).get("full_name")
        return cls(
            repo=repo,
            number=int(data["number"]),
            title=data.get("title") or "",
            body=data.get("body") or "",
            head_sha=head.get("sha", ""),
            base_sha=base.get("sha", ""),
            head_ref=head.get("ref", ""),
            base_ref=base.get("ref", ""),
            head_repo=head_repo,
            author=(data.get("user") or {}).get("login", ""),
            state=data.get("state", "open"),
            draft=bool(data.get("draft")),
            changed_files=int(data.get("changed_files") or 0),
        )


@dataclass
class PullFile:
    filename: str
    status: str  # added | removed | modified | renamed | copied | changed | unchanged
    previous_filename: str | None = None
    patch: str | None = None
    changes: int = 0

    @classmethod
    def from_api(cls, data: dict[str, Any]) -> PullFile:
        return cls(
            filename=data["filename"],
            status=data.get("status", "modified"),
            previous_filename=data.get("previous_filename"),
            patch=data.get("patch"),
            changes=int(data.get("changes") or 0),
        )


@dataclass
class ReviewInput:
    pr: PullRequestInfo
    files: list[PullFile]
    change: Change
    config: Config
    notes: list[str] = field(default_factory=list)
    config_error: str | None = None


def load_pull_request(client: GitHubClient, repo: str, number: int) -> PullRequestInfo:
    return PullRequestInfo.from_api(repo, client.get_pull(repo, number))


def list_pull_files(client: GitHubClient, repo: str, number: int) -> list[PullFile]:
    return [PullFile.from_api(f) for f in client.list_pull_files(repo, number)]


_STATUS = {
    "added": FileStatus.ADDED,
    "copied": FileStatus.ADDED,
    "removed": FileStatus.DELETED,
    "renamed": FileStatus.RENAMED,
    "modified": FileStatus.MODIFIED,
    "changed": FileStatus.MODIFIED,
}


def _header(old: str | None, new: str | None) -> str:
    return f"--- {'a/' + old if old else '/dev/null'}\n+++ {'b/' + new if new else '/dev/null'}\n"


def _parse_patch(old: str | None, new: str | None, patch: str) -> ChangedFile | None:
    text = patch if patch.endswith("\n") else patch + "\n"
    parsed = parse_diff(_header(old, new) + text)
    return parsed[0] if parsed else None


def _local_patch(old_text: str, new_text: str) -> str:
    old_lines = [ln if ln.endswith("\n") else ln + "\n" for ln in split_lines_keepends(old_text)]
    new_lines = [ln if ln.endswith("\n") else ln + "\n" for ln in split_lines_keepends(new_text)]
    body = list(difflib.unified_diff(old_lines, new_lines, n=3))
    return "".join(body[2:])  # drop difflib's ---/+++ lines; _header supplies them


def changed_file_for(pf: PullFile, base: MemorySnapshot, head: MemorySnapshot, notes: list[str]) -> ChangedFile | None:
    status = _STATUS.get(pf.status)
    if status is None:
        return None
    old_path = pf.previous_filename if status is FileStatus.RENAMED else None
    base_path = None if status is FileStatus.ADDED else (old_path or pf.filename)
    head_path = None if status is FileStatus.DELETED else pf.filename
    patch = pf.patch
    if patch is None and (pf.changes > 0 or status in (FileStatus.ADDED, FileStatus.DELETED)):
        # GitHub left the patch out (too large, or binary): rebuild it from the two versions.
        old_bytes = base.read_bytes(base_path) if base_path else b""
        new_bytes = head.read_bytes(head_path) if head_path else b""
        old_text = decode_text(old_bytes) if old_bytes is not None else ""
        new_text = decode_text(new_bytes) if new_bytes is not None else ""
        size = len(old_bytes or b"") + len(new_bytes or b"")
        if old_text is None or new_text is None:
            notes.append(f"skipped {pf.filename}: binary or not UTF-8")
            return ChangedFile(path=pf.filename, status=status, old_path=old_path, is_binary=True)
        if size > MAX_LOCAL_DIFF_BYTES:
            notes.append(f"skipped {pf.filename}: too large to diff ({size // 1024} KiB)")
            return ChangedFile(path=pf.filename, status=status, old_path=old_path)
        patch = _local_patch(old_text, new_text)
    changed: ChangedFile | None = None
    if patch:
        try:
            changed = _parse_patch(base_path, head_path, patch)
        except ChangeError as exc:
            notes.append(f"skipped {pf.filename}: {exc}")
    if changed is None:
        changed = ChangedFile(path=pf.filename, status=status)
    # The API's metadata is authoritative (parse_diff cannot see renames in a per-file patch).
    changed.path = pf.filename
    changed.status = status
    changed.old_path = old_path
    return changed


def change_for_pull_request(client: GitHubClient, repo: str, pr: PullRequestInfo, files: list[PullFile],
                            notes: list[str] | None = None) -> Change:
    """The Change for a PR: per-file patches parsed, base/head snapshots that fetch contents by SHA on demand."""
    notes = notes if notes is not None else []
    base_entries, base_truncated = client.list_tree_entries(repo, pr.base_sha)
    head_entries, head_truncated = client.list_tree_entries(repo, pr.head_sha)
    base_blobs = {p: sha for p, (sha, _) in base_entries.items()}
    head_blobs = {p: sha for p, (sha, _) in head_entries.items()}
    base_listing, head_listing = list(base_blobs), list(head_blobs)
    sizes = {p: size for entries in (base_entries, head_entries) for p, (_, size) in entries.items()}
    too_large: set[str] = set()
    if base_truncated or head_truncated:
        notes.append("the repository tree is too large for one listing; schema/migration discovery may be partial")

    def loader(sha: str, listing: list[str], truncated: bool):  # type: ignore[no-untyped-def]
        known = set(listing)

        def load(path: str) -> bytes | None:
            if known and not truncated and path not in known:
                return None  # the tree says it does not exist: save the API call
            if sizes.get(path, -1) > MAX_FILE_BYTES:
                # A 90 MB "schema" would cost memory and parse time for nothing a reviewer can act on.
                if path not in too_large:
                    too_large.add(path)
                    notes.append(f"skipped {path}: {sizes[path] // (1024 * 1024)} MiB is too large to review")
                return None
            return client.get_file_bytes(repo, path, sha)
        return load

    base = MemorySnapshot(label=pr.base_sha[:12], loader=loader(pr.base_sha, base_listing, base_truncated),
                          listing=base_listing)
    head = MemorySnapshot(label=pr.head_sha[:12], loader=loader(pr.head_sha, head_listing, head_truncated),
                          listing=head_listing)
    listed_all = not (len(files) >= MAX_API_FILES or (pr.changed_files and pr.changed_files > len(files)))
    unlisted: list[PullFile] = []
    if not listed_all and not (base_truncated or head_truncated):
        unlisted = unlisted_database_files(files, base_blobs, head_blobs)
    changed_files: list[ChangedFile] = []
    for pf in [*files, *unlisted[:MAX_UNLISTED_FILES]]:
        changed = changed_file_for(pf, base, head, notes)
        if changed is not None:
            changed_files.append(changed)
    if not listed_all:
        found = min(len(unlisted), MAX_UNLISTED_FILES)
        extra = (f"; {found} more Prisma, migration or TS/JS file(s) were found by comparing the base and head trees "
                 "and reviewed") if found else ""
        left = len(unlisted) - found
        notes.append(f"GitHub lists only {len(files)} of the {pr.changed_files or 'many'} changed files{extra}; "
                     f"{f'{left} more such files and ' if left > 0 else ''}the other files were not reviewed")
    return Change(files=changed_files, base=base, head=head, base_label=pr.base_sha[:12],
                  head_label=pr.head_sha[:12], title=pr.title, body=pr.body)


# A PR over GitHub's 3000-file listing limit: files beyond it that could be a database surface are found from the
# trees, up to this many (each costs two content reads).
MAX_UNLISTED_FILES = 300
_SURFACE_SUFFIXES = (".prisma", "migration.sql", "migration_lock.toml", "ops.json", "package.json",
                     ".ts", ".tsx", ".js", ".jsx", ".mjs", ".cjs", ".mts", ".cts")


def unlisted_database_files(files: list[PullFile], base: dict[str, str], head: dict[str, str]) -> list[PullFile]:
    """Files that differ between the base and head trees, are missing from GitHub's (truncated) file list and may
    be a database surface: without them a 3000+-file PR would silently get no review of its migrations."""
    listed = {pf.filename for pf in files} | {pf.previous_filename for pf in files if pf.previous_filename}
    out: list[PullFile] = []
    for path in sorted(set(base) | set(head)):
        if path in listed or base.get(path) == head.get(path) or not path.endswith(_SURFACE_SUFFIXES):
            continue
        if path.endswith(".d.ts") or "node_modules/" in path:
            continue
        status = "added" if path not in base else "removed" if path not in head else "modified"
        out.append(PullFile(filename=path, status=status, patch=None, changes=1))
    # Schema and migrations first: they matter most when the cap cuts the list.
    return sorted(out, key=lambda pf: (not pf.filename.endswith((".prisma", ".sql", ".toml", ".json")), pf.filename))


def config_for(change: Change, files: list[PullFile]) -> tuple[Config, list[str], str | None]:
    """The config from the BASE commit, a note when the PR edits a config file, and a config error if any."""
    notes: list[str] = []
    touched = [pf.filename for pf in files if pf.filename in CONFIG_PATHS or pf.previous_filename in CONFIG_PATHS]
    if touched:
        notes.append(f"this PR changes {', '.join(touched)}; the review used the base branch's config "
                     "(a pull request cannot change its own review rules; the new config applies after merge)")
    try:
        return load_config(change.base), notes, None
    except ConfigError as exc:
        notes.append(f"the base branch's config is invalid, defaults were used: {exc}")
        return Config(), notes, str(exc)
    except (RecursionError, MemoryError, ValueError, TypeError) as exc:
        # The loader should turn every bad file into a ConfigError; a pathological one (nesting thousands deep)
        # still must not cost the PR its review.
        error = f"the config file could not be read ({type(exc).__name__})"
        notes.append(f"the base branch's config is invalid, defaults were used: {error}")
        return Config(), notes, error


MAX_PR_COMMENTS = 20
MAX_PR_TEXT = 2000


def pr_conversation(client: GitHubClient, repo: str, number: int) -> tuple[list[str], list[str]]:
    """Commit messages and people's PR comments (newest 20; not bots, not dbreview's own), for the LLM review,
    which shows them to the model as untrusted text."""
    from bot.github.comments import SUMMARY_MARKER

    commits = [str((c.get("commit") or {}).get("message") or "")[:MAX_PR_TEXT]
               for c in client.list_pull_commits(repo, number)]
    comments = [str(c.get("body") or "")[:MAX_PR_TEXT] for c in client.list_issue_comments(repo, number)
                if (c.get("user") or {}).get("type") != "Bot" and SUMMARY_MARKER not in (c.get("body") or "")]
    return [m for m in commits if m.strip()], [c for c in comments if c.strip()][-MAX_PR_COMMENTS:]


_RULE_IN_HEAD = re.compile(r"· `(llm/[\w./-]+)`")


def ai_review_comments(client: GitHubClient, repo: str, number: int) -> list[ReviewComment]:
    """dbreview's own AI-review comments still on a line of the pull request, with the replies people wrote, for the
    LLM review (shown to the model as untrusted text so it neither repeats nor contradicts itself)."""
    from bot.github.comments import fingerprint_of

    comments = client.list_review_comments(repo, number)
    replies: dict[int, list[tuple[str, str]]] = {}
    for c in comments:
        parent = c.get("in_reply_to_id")
        author = (c.get("user") or {})
        if parent and author.get("type") != "Bot":
            replies.setdefault(int(parent), []).append((str(author.get("login") or "someone"),
                                                        str(c.get("body") or "")[:MAX_PR_TEXT]))
    out: list[ReviewComment] = []
    for c in comments:
        body = str(c.get("body") or "")
        rule = _RULE_IN_HEAD.search(body.split("\n", 1)[0])
        # Ours: a bot's comment with our marker. `line` is null once the commented line changed (outdated).
        if (c.get("in_reply_to_id") or rule is None or not fingerprint_of(body) or c.get("line") is None
                or (c.get("user") or {}).get("type") != "Bot"):
            continue
        text = "\n".join(ln for ln in body.split("\n")[1:] if "<!-- dbreview:" not in ln).strip()
        title, _, rest = text.partition("\n\n")
        if title.startswith("**") and rest.startswith(title.strip("*")):
            text = f"{title}\n\n{rest[len(title.strip('*')):].strip()}"  # the message repeats the bold title
        out.append(ReviewComment(path=str(c.get("path") or ""), line=int(c["line"]), side=str(c.get("side") or "RIGHT"),
                                 rule=rule.group(1), body=text[:MAX_PR_TEXT],
                                 replies=tuple(replies.get(int(c.get("id") or 0), [])[:MAX_PR_COMMENTS])))
    return out


def load_review_input(client: GitHubClient, repo: str, number: int) -> ReviewInput:
    pr = load_pull_request(client, repo, number)
    files = list_pull_files(client, repo, number)
    notes: list[str] = []
    change = change_for_pull_request(client, repo, pr, files, notes)
    config, config_notes, error = config_for(change, files)
    # The same list: files read lazily during the review (a skipped huge file) still add their note.
    notes[:0] = config_notes
    return ReviewInput(pr=pr, files=files, change=change, config=config, notes=notes, config_error=error)
