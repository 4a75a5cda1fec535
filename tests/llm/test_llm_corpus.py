"""The LLM context on a real project: umami's newest migration replayed as a pull request."""

from __future__ import annotations

from pathlib import Path

from bot.config import Config
from bot.llm import MemoryResultCache, reviewer_from_env
from bot.pipeline import review
from bot.testing import change_from_trees

LAST = "prisma/migrations/19_add_session_replay"


def _tree(app: Path) -> dict[str, str]:
    return {str(p.relative_to(app)): p.read_text("utf-8", errors="replace")
            for p in app.rglob("*") if p.is_file() and p.name != "LICENSE"}


def test_umami_last_migration_gets_the_mapped_models_it_touches(corpus_dir: Path, fake_anthropic, llm_env) -> None:
    head = _tree(corpus_dir / "umami")
    base = {p: t for p, t in head.items() if not p.startswith(LAST + "/")}
    schema = head["prisma/schema.prisma"]
    assert 'model Website {' in schema and '@@map("website")' in schema
    result = review(change_from_trees(base, head), Config(),
                    llm=reviewer_from_env(Config(), llm_env, cache=MemoryResultCache()))
    assert result.llm is not None and result.llm.error is None and result.llm.calls == 1
    body = fake_anthropic.calls()[0].body
    schema_block = body["system"][1]["text"]
    # tables named in the SQL ("website", "board", "session_replay") resolve to their models through @@map
    assert "model Website {" in schema_block and "model Board {" in schema_block
    assert f"### {LAST}/migration.sql (migration, new file) hunk 1" in body["messages"][0]["content"]
