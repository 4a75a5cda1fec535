"""The whole pipeline over the three real apps of the shared corpus: no crash, no internal error, no parse error."""

from __future__ import annotations

from pathlib import Path

import pytest

from bot.config import Config
from bot.pipeline import review
from bot.testing import change_from_trees

APPS = ("hoppscotch", "umami", "langfuse")


def _tree(app: Path) -> dict[str, str]:
    return {
        str(p.relative_to(app)): p.read_text(encoding="utf-8", errors="replace")
        for p in app.rglob("*")
        if p.is_file() and p.name != "LICENSE"
    }


@pytest.mark.parametrize("app", APPS)
def test_whole_history_reviews_cleanly(corpus_dir: Path, app: str) -> None:
    tree = _tree(corpus_dir / app)
    result = review(change_from_trees({}, tree), Config())
    assert result.has_database_surface
    assert not [n for n in result.notes if "internal error" in n], result.notes
    assert not [f for f in result.findings if f.rule.endswith("parse-error")]
    assert len(result.files["migration"]) >= 19
    assert all(f.fingerprint for f in result.findings)
