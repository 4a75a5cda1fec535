"""The history checks on a real git repository: renames as git reports them (-M), working-tree changes."""

from __future__ import annotations

import subprocess
from pathlib import Path

from change_fixtures import MIG, base_tree

from bot.checks.change import history
from bot.config import Config
from bot.context import ReviewContext
from bot.gitrepo import git_change
from bot.surfaces import classify

ENV = {"GIT_AUTHOR_NAME": "t", "GIT_AUTHOR_EMAIL": "t@example.com", "GIT_COMMITTER_NAME": "t",
       "GIT_COMMITTER_EMAIL": "t@example.com", "PATH": "/usr/bin:/bin:/usr/local/bin"}


def git(repo: Path, *args: str) -> str:
    return subprocess.run(["git", "-C", str(repo), *args], check=True, capture_output=True, text=True,
                          env={**ENV, "HOME": str(repo)}).stdout


def repo_with_base(tmp_path: Path) -> Path:
    repo = tmp_path / "repo"
    repo.mkdir()
    git(repo, "init", "-q", "-b", "main")
    for rel, text in base_tree().items():
        target = repo / rel
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(text)
    git(repo, "add", "-A")
    git(repo, "commit", "-q", "-m", "base")
    return repo


def review_ctx(repo: Path, base: str, head: str | None) -> ReviewContext:
    change = git_change(repo, base, head)
    config = Config()
    return ReviewContext(change=change, config=config, surfaces=classify(change, config))


def test_git_mv_of_a_committed_migration(tmp_path):
    repo = repo_with_base(tmp_path)
    git(repo, "mv", f"{MIG}/20240215093000_orders", f"{MIG}/20240215093000_create_orders")
    git(repo, "commit", "-q", "-m", "rename")
    findings = history.check(review_ctx(repo, "HEAD~1", "HEAD"))
    assert [f.rule for f in findings] == ["migration/renamed-applied-migration"]
    assert findings[0].extra == {"from": "20240215093000_orders", "to": "20240215093000_create_orders"}


def test_uncommitted_edit_in_the_working_tree(tmp_path):
    repo = repo_with_base(tmp_path)
    path = repo / MIG / "20240101100000_init" / "migration.sql"
    path.write_text(path.read_text().replace('"name" TEXT,', '"name" VARCHAR(100),'))
    findings = history.check(review_ctx(repo, "HEAD", None))
    assert [f.rule for f in findings] == ["migration/edited-applied-migration"]
    assert findings[0].path == f"{MIG}/20240101100000_init/migration.sql"
