"""bench/replay_corpus_commits.py on a two-migration history of ours: it builds the commits and reviews each."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "bench"))

import replay_corpus_commits as bench  # noqa: E402

SCHEMA = """datasource db {
  provider = "postgresql"
  url      = env("DATABASE_URL")
}

model Note {
  id   Int    @id @default(autoincrement())
  body String
}
"""


def test_each_migration_is_one_reviewed_commit(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    app = tmp_path / "corpus" / "notes" / "prisma"
    (app / "migrations" / "01_init").mkdir(parents=True)
    (app / "migrations" / "02_body").mkdir(parents=True)
    (app / "schema.prisma").write_text(SCHEMA)
    (app / "migrations" / "migration_lock.toml").write_text('provider = "postgresql"\n')
    (app / "migrations" / "01_init" / "migration.sql").write_text('CREATE TABLE "Note" ("id" SERIAL PRIMARY KEY);\n')
    (app / "migrations" / "02_body" / "migration.sql").write_text(
        'ALTER TABLE "Note" ADD COLUMN "body" TEXT NOT NULL;\n')

    code = bench.main(["--corpus", str(tmp_path / "corpus"), "--jobs", "1", "--timeout", "120"])

    out = capsys.readouterr().out
    assert code == 0, out
    assert "notes        commits=   2 crashes=0 timeouts=0" in out
    repo = tmp_path / "built"
    commits = bench.build_history(tmp_path / "corpus" / "notes", repo)
    assert [name for _, name in commits] == ["01_init", "02_body"]
    outcome = bench.review_commit(str(Path(sys.executable).parent / "dbreview"), repo, commits[1][0], "notes",
                                  "02_body", 120)
    # The second commit adds a NOT NULL column without a default to a table the first one created: a real finding.
    assert outcome.problem == "" and outcome.exit_code in (0, 1) and outcome.findings >= 1
