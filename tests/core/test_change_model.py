"""The change model on the diffs that break review bots: renames, binaries, deletions, CRLF, spaces, no EOL."""

from __future__ import annotations

from pathlib import Path

import pytest
from gitutil import commit, git, make_repo, write

from bot.change import ChangeError, FileStatus, invalid_utf8_lines, parse_diff
from bot.gitrepo import diff_file_change, git_change

SCHEMA = "\n".join(f"line {i}" for i in range(1, 21)) + "\n"


def test_modified_file_added_and_deleted_lines(tmp_path: Path) -> None:
    repo = make_repo(tmp_path, {"prisma/schema.prisma": SCHEMA})
    new = SCHEMA.replace("line 5\n", "line five\nline 5b\n")
    commit(repo, {"prisma/schema.prisma": new})
    change = git_change(repo, "HEAD~1", "HEAD")
    [f] = change.files
    assert f.status is FileStatus.MODIFIED
    assert f.added_lines == {5, 6}
    assert f.deleted_lines == {5}
    assert change.head_text("prisma/schema.prisma") == new
    assert change.base_text("prisma/schema.prisma") == SCHEMA
    assert {2, 3, 4, 5, 6, 7, 8, 9} <= f.commentable_new_lines()


def test_rename_with_edit_keeps_old_path(tmp_path: Path) -> None:
    body = "\n".join(f"export const v{i} = {i};" for i in range(30)) + "\n"
    repo = make_repo(tmp_path, {"src/users/service.ts": body})
    (repo / "src/accounts").mkdir()
    git(repo, "mv", "src/users/service.ts", "src/accounts/service.ts")
    commit(repo, {"src/accounts/service.ts": body.replace("v3 = 3", "v3 = 33")})
    change = git_change(repo, "HEAD~1", "HEAD")
    [f] = change.files
    assert f.status is FileStatus.RENAMED
    assert f.old_path == "src/users/service.ts"
    assert f.path == "src/accounts/service.ts"
    assert f.added_lines == {4}
    assert change.text_of(f, old=True) == body


def test_pure_rename_has_no_hunks(tmp_path: Path) -> None:
    repo = make_repo(tmp_path, {"a.ts": "x\n" * 5})
    git(repo, "mv", "a.ts", "b.ts")
    commit(repo, {})
    [f] = git_change(repo, "HEAD~1", "HEAD").files
    assert f.status is FileStatus.RENAMED and f.hunks == [] and f.old_path == "a.ts"


def test_binary_deleted_and_added(tmp_path: Path) -> None:
    repo = make_repo(tmp_path, {"docs/erd.png": b"\x89PNG\r\n\x1a\n\x00\x00binary", "scripts/seed.ts": "a\nb\nc\n"})
    commit(repo, {"docs/erd.png": b"\x89PNG\r\n\x1a\n\x00\x01changed", "scripts/seed.ts": None,
                  "prisma/migrations/20240101000000_init/migration.sql": "CREATE TABLE \"A\" (\"id\" INTEGER);\n"})
    files = {f.path: f for f in git_change(repo, "HEAD~1", "HEAD").files}
    assert files["docs/erd.png"].is_binary
    assert files["scripts/seed.ts"].status is FileStatus.DELETED
    assert files["scripts/seed.ts"].deleted_lines == {1, 2, 3}
    added = files["prisma/migrations/20240101000000_init/migration.sql"]
    assert added.status is FileStatus.ADDED and added.added_lines == {1}


def test_no_newline_at_end_of_file(tmp_path: Path) -> None:
    repo = make_repo(tmp_path, {"schema.prisma": "a\nb\nc"})
    commit(repo, {"schema.prisma": "a\nb\nc\nd"})
    [f] = git_change(repo, "HEAD~1", "HEAD").files
    assert f.added_lines == {3, 4}
    assert f.deleted_lines == {3}


def test_crlf_file(tmp_path: Path) -> None:
    repo = make_repo(tmp_path, {"prisma/schema.prisma": "model A {\r\n  id Int @id\r\n}\r\n"})
    commit(repo, {"prisma/schema.prisma": "model A {\r\n  id Int @id\r\n  price Float\r\n}\r\n"})
    change = git_change(repo, "HEAD~1", "HEAD")
    [f] = change.files
    assert f.added_lines == {3}
    assert f.deleted_lines == set()
    assert "price Float" in change.head_text("prisma/schema.prisma")


def test_paths_with_spaces_and_unicode(tmp_path: Path) -> None:
    repo = make_repo(tmp_path, {"src/my services/ordér.ts": "a\n"})
    commit(repo, {"src/my services/ordér.ts": "a\nb\n", "new dir/x y.sql": "SELECT 1;\n"})
    files = {f.path: f for f in git_change(repo, "HEAD~1", "HEAD").files}
    assert set(files) == {"src/my services/ordér.ts", "new dir/x y.sql"}
    assert files["src/my services/ordér.ts"].added_lines == {2}


def test_working_tree_includes_untracked_and_staged(tmp_path: Path) -> None:
    repo = make_repo(tmp_path, {"a.ts": "one\n"})
    write(repo, {"a.ts": "one\ntwo\n", "new.ts": "fresh\nfile\n"})
    change = git_change(repo, "HEAD")
    files = {f.path: f for f in change.files}
    assert files["a.ts"].added_lines == {2}
    assert files["new.ts"].status is FileStatus.ADDED and files["new.ts"].added_lines == {1, 2}
    assert change.head_text("new.ts") == "fresh\nfile\n"


def test_default_base_is_merge_base_with_main(tmp_path: Path) -> None:
    repo = make_repo(tmp_path, {"a.ts": "one\n"})
    git(repo, "checkout", "-q", "-b", "feature")
    commit(repo, {"a.ts": "one\ntwo\n"})
    change = git_change(repo, head="HEAD")
    assert [f.added_lines for f in change.files] == [{2}]


def test_non_utf8_file_is_read_with_replacement_not_fatal(tmp_path: Path) -> None:
    repo = make_repo(tmp_path, {"legacy.sql": "x\n"})
    commit(repo, {"legacy.sql": "caf\xe9\n".encode("latin-1")})
    change = git_change(repo, "HEAD~1", "HEAD")
    assert change.head_text("legacy.sql") == "caf\ufffd\n"
    assert invalid_utf8_lines(change.head.read_bytes("legacy.sql") or b"") == [1]
    assert len(change.files) == 1


@pytest.mark.parametrize(
    ("setup", "message"),
    [
        ("missing-ref", "unknown ref"),
        ("not-git", "not a git repository"),
        ("empty", "no commits"),
        ("no-dir", "no such directory"),
    ],
)
def test_git_errors_are_one_line(tmp_path: Path, setup: str, message: str) -> None:
    if setup == "missing-ref":
        repo = make_repo(tmp_path, {"a": "a\n"})
        with pytest.raises(ChangeError, match=message):
            git_change(repo, "does-not-exist", "HEAD")
    elif setup == "not-git":
        with pytest.raises(ChangeError, match=message):
            git_change(tmp_path)
    elif setup == "empty":
        git(tmp_path, "init", "-q")
        with pytest.raises(ChangeError, match=message):
            git_change(tmp_path)
    else:
        with pytest.raises(ChangeError, match=message):
            git_change(tmp_path / "nope")


def test_corrupt_diff_is_a_change_error() -> None:
    corrupt = "diff --git a/x b/x\n--- a/x\n+++ b/x\n@@ -1,5 +1,5 @@\n-a\n+b\n"
    with pytest.raises(ChangeError, match="does not parse"):
        parse_diff(corrupt)


def test_diff_file_applies_to_folder_or_reverses(tmp_path: Path) -> None:
    base = {"prisma/schema.prisma": "model A {\n  id Int @id\n}\n"}
    repo = make_repo(tmp_path, base)
    commit(repo, {"prisma/schema.prisma": "model A {\n  id Int @id\n  total Float\n}\n"})
    diff = git(repo, "diff", "HEAD~1", "HEAD")
    # The working tree holds the post-change files: the diff is reversed to rebuild the base.
    change = diff_file_change(repo, diff)
    assert change.base_text("prisma/schema.prisma") == base["prisma/schema.prisma"]
    assert "total Float" in change.head_text("prisma/schema.prisma")
    # Against the base ref the diff is applied forward.
    forward = diff_file_change(repo, diff, base="HEAD~1")
    assert "total Float" in forward.head_text("prisma/schema.prisma")


def test_diff_file_that_does_not_apply(tmp_path: Path) -> None:
    repo = make_repo(tmp_path, {"a.ts": "one\n", "prisma/schema.prisma": "model A {\n  id Int @id\n}\n"})
    diff = "--- a/prisma/schema.prisma\n+++ b/prisma/schema.prisma\n@@ -1,1 +1,2 @@\n model B {\n+  x Int\n"
    with pytest.raises(ChangeError, match="does not apply"):
        diff_file_change(repo, diff)
    # Plain code that does not call Prisma is not needed for the review: left out with a note.
    change = diff_file_change(repo, "--- a/a.ts\n+++ b/a.ts\n@@ -1,1 +1,2 @@\n zero\n+two\n")
    assert change.files == [] and change.notes == [
        "the diff does not apply to a.ts (not database files): left out of the review"]


def test_untracked_symlink_out_of_the_repo_is_not_read(tmp_path: Path) -> None:
    repo = make_repo(tmp_path, {"a.ts": "one\n"})
    secret = tmp_path / "outside.txt"
    secret.write_text("TOKEN=ghp_secret\n")
    (repo / "link.ts").symlink_to(secret)
    change = git_change(repo, "HEAD")
    assert "link.ts" not in {f.path for f in change.files}
    assert change.head_text("link.ts") is None
