"""Replay real migration histories one migration at a time: no false history/deploy findings, and every
consistency finding is explained by a later migration that changes the same object again.

The corpus keeps only the final schema, so "schema at N-1" is not reconstructible: each step is reviewed with the
final schema on both sides. A migration whose effects a later one undid (a column added, then dropped) then
legitimately disagrees with the final schema; anything else would be a false positive.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from bot.checks.change import concurrently, consistency, history
from bot.testing import context_for

CASES = [
    ("langfuse", "packages/shared/prisma", 30),
    ("umami", "prisma", 100),
    ("hoppscotch", "packages/hoppscotch-backend/prisma", 100),
]


def _tree(corpus: Path, name: str, rel: str) -> dict[str, str]:
    root = corpus / name
    return {
        str(p.relative_to(root)): p.read_text()
        for p in (root / rel).rglob("*")
        if p.is_file() and p.name in ("migration.sql", "migration_lock.toml", "schema.prisma")
    }


def _object_name(key: str) -> str:
    kind, _, rest = key.partition(":")
    if kind in ("column", "index"):
        return rest.split(":")[0].split(".")[0]
    return rest.split(".")[0]


@pytest.mark.parametrize(("name", "rel", "last"), CASES)
def test_replaying_history_gives_no_unexplained_findings(corpus_dir, name, rel, last):
    files = _tree(corpus_dir, name, rel)
    migrations = sorted(p for p in files if p.endswith("migration.sql"))
    assert len(migrations) >= 19
    unexplained: list[str] = []
    for step in migrations[-last:]:
        head = {p: t for p, t in files.items() if not p.endswith("migration.sql") or p <= step}
        base = {p: t for p, t in head.items() if p != step}
        ctx = context_for(base, head)
        assert history.check(ctx) == [], step
        assert [f for f in concurrently.check(ctx) if f.severity.value == "error"] == [], step
        later = "\n".join(files[p] for p in migrations if p > step)
        for finding in consistency.check(ctx):
            assert finding.rule == "migration/migration-without-schema-change"
            named = set(re.findall(r"`([^`]+)`", finding.message))
            for key in finding.extra["objects"]:
                # A later statement names the table, or one of its indexes (`"<table>_<cols>_key"`), or (for a
                # column type) the type the migration used, renamed later.
                if f'"{_object_name(key)}' in later:
                    continue
                if key.startswith("type:") and any(f'"{n}" RENAME' in later for n in named):
                    continue
                unexplained.append(f"{step}: {key}")
    assert unexplained == []
