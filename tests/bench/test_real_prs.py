"""bench/real_prs.py on a tiny app built here as a bare "mirror": which commits it picks, what it records per PR
(severities, inline or summary, rules), that `--from` gives the same figures, the hand-check sample, and that a
crash and a hang are counted, not lost."""

from __future__ import annotations

import csv
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

BENCH = Path(__file__).resolve().parents[2] / "bench"
sys.path.insert(0, str(BENCH))

import real_prs  # noqa: E402

SCHEMA = """datasource db {
  provider = "postgresql"
  url      = env("DATABASE_URL")
}

model User {
  id    String @id
  email String
  name  String?
}
"""
INIT_SQL = 'CREATE TABLE "User" ("id" TEXT NOT NULL, "email" TEXT NOT NULL, "name" TEXT,\n' \
           '    CONSTRAINT "User_pkey" PRIMARY KEY ("id"));\n'
DROP_SQL = '-- AlterTable\nALTER TABLE "User" DROP COLUMN "name";\n'
QUIET_SQL = 'CREATE TABLE "Tag" ("id" TEXT NOT NULL, CONSTRAINT "Tag_pkey" PRIMARY KEY ("id"));\n'


def _commit(work: Path, files: dict[str, str], message: str) -> str:
    for path, text in files.items():
        (work / path).parent.mkdir(parents=True, exist_ok=True)
        (work / path).write_text(text)
    env = {**os.environ, "GIT_AUTHOR_NAME": "t", "GIT_AUTHOR_EMAIL": "t@example.com", "GIT_COMMITTER_NAME": "t",
           "GIT_COMMITTER_EMAIL": "t@example.com"}
    subprocess.run(["git", "-C", str(work), "add", "-A"], check=True, env=env)
    subprocess.run(["git", "-C", str(work), "commit", "-qm", message], check=True, env=env)
    return subprocess.run(["git", "-C", str(work), "rev-parse", "HEAD"], capture_output=True, text=True,
                          check=True).stdout.strip()


@pytest.fixture(scope="module")
def app(tmp_path_factory: pytest.TempPathFactory) -> dict[str, object]:
    root = tmp_path_factory.mktemp("real_prs")
    work = root / "work"
    subprocess.run(["git", "init", "-q", "-b", "main", str(work)], check=True)
    _commit(work, {"prisma/schema.prisma": SCHEMA, "prisma/migrations/migration_lock.toml": 'provider = "postgresql"\n',
                   "prisma/migrations/20240101000000_init/migration.sql": INIT_SQL}, "init")
    dropped = SCHEMA.replace("  name  String?\n", "")
    drop = _commit(work, {"prisma/schema.prisma": dropped,
                          "prisma/migrations/20240201000000_drop_name/migration.sql": DROP_SQL}, "drop name")
    _commit(work, {"README.md": "docs only\n"}, "docs")
    tagged = dropped + "\nmodel Tag {\n  id String @id\n}\n"
    quiet = _commit(work, {"prisma/schema.prisma": tagged,
                           "prisma/migrations/20240301000000_tag/migration.sql": QUIET_SQL}, "tag")
    mirrors = root / "mirrors"
    subprocess.run(["git", "clone", "-q", "--bare", str(work), str(mirrors / "acme+shop" / "repo")], check=True)
    apps = root / "apps.csv"
    apps.write_text("repo,role\nacme/shop,holdout\nacme/absent,tuning\n")
    return {"root": root, "mirrors": mirrors, "apps": apps, "drop": drop, "quiet": quiet}


def _args(app: dict[str, object], *extra: str) -> list[str]:
    return ["--apps", str(app["apps"]), "--mirrors", str(app["mirrors"]), "--jobs", "1", *extra]


def test_replays_the_migration_commits_and_records_what_would_be_posted(
        app: dict[str, object], capsys: pytest.CaptureFixture[str]) -> None:
    out = Path(str(app["root"])) / "run.jsonl"
    assert real_prs.main(_args(app, "--out", str(out))) == 0
    results = {r.commit: r for r in real_prs.load_results(out)}
    # The root commit has no base and the docs commit adds no migration: two PRs, both against their parent.
    assert set(results) == {app["drop"], app["quiet"]}
    drop, quiet = results[str(app["drop"])], results[str(app["quiet"])]
    assert drop.status == "ok" and drop.exit_code == 1
    assert drop.by_severity.get("error", 0) >= 1
    dropped = [f for f in drop.findings if f.rule == "migration/drop-column"]
    assert len(dropped) == 1 and dropped[0].severity == "error" and dropped[0].inline
    assert dropped[0].path.endswith("20240201000000_drop_name/migration.sql") and dropped[0].line == 2
    assert quiet.status == "ok" and quiet.posted == 0 and quiet.inline == 0
    assert drop.wall_s > 0 and drop.cpu_s > 0
    text = capsys.readouterr().out
    assert "PRs with no error/warning: 50.0%" in text
    assert "crashes 0, timeouts 0" in text
    assert "without query/* rules: error+warning per PR median 0.5" in text

    # --from re-summarises the same run without re-running it, and draws the hand-check sample.
    sample = Path(str(app["root"])) / "sample.csv"
    assert real_prs.main(["--from", str(out), "--sample-findings", "60", "--sample-out", str(sample)]) == 0
    assert capsys.readouterr().out.startswith(text.split("app:")[0])
    rows = list(csv.DictReader(sample.open()))
    assert len(rows) == drop.posted
    assert {"repo": "acme/shop", "commit": app["drop"], "rule": "migration/drop-column"}.items() <= next(
        r for r in rows if r["rule"] == "migration/drop-column").items()

    # --judged re-scores a hand check against a later run: judged findings still posted, and those gone.
    judged = Path(str(app["root"])) / "judged.csv"
    with judged.open("w", newline="") as fh:
        w = csv.writer(fh)
        w.writerow(["repo", "commit", "path", "line", "rule", "severity", "verdict", "reason"])
        w.writerow(["acme/shop", app["drop"], dropped[0].path, 2, "migration/drop-column", "error", "useful", "x"])
        w.writerow(["acme/shop", app["drop"], dropped[0].path, 9, "migration/drop-table", "error", "wrong", "y"])
    capsys.readouterr()
    assert real_prs.main(["--from", str(out), "--judged", str(judged)]) == 0
    rescored = capsys.readouterr().out
    assert "judged 2: still posted 1 (useful 1 100%, noise 0 0%, wrong 0 0%)" in rescored
    assert "no longer posted: {'wrong': 1}" in rescored


@pytest.mark.parametrize(("script", "status"), [
    ("echo 'Traceback (most recent call last):' >&2; exit 2", "crash"),
    ("sleep 30", "timeout"),
])
def test_a_crash_or_a_hang_is_counted(app: dict[str, object], tmp_path: Path, script: str, status: str) -> None:
    fake = tmp_path / "dbreview"
    fake.write_text(f"#!/bin/sh\n{script}\n")
    fake.chmod(0o755)
    out = tmp_path / "run.jsonl"
    code = real_prs.main(_args(app, "--dbreview", str(fake), "--timeout", "1", "--out", str(out)))
    assert code == 1
    lines = [json.loads(line) for line in out.read_text().splitlines()]
    assert len(lines) == 2 and {line["status"] for line in lines} == {status}
    assert all(line["wall_s"] < 10 for line in lines)


def test_percentile_is_nearest_rank() -> None:
    assert real_prs.percentile([], 90) == 0.0
    assert real_prs.percentile([float(v) for v in range(1, 11)], 90) == 9.0
    assert real_prs.percentile([float(v) for v in range(1, 11)], 99) == 10.0
    assert real_prs.percentile([3.0], 50) == 3.0


def test_the_hand_check_is_sixty_holdout_findings_each_judged_with_a_reason() -> None:
    holdout = {a.repo for a in real_prs.load_apps(BENCH / "real_prs_apps.csv") if a.role == "holdout"}
    assert len(holdout) >= 8 and len(real_prs.load_apps(BENCH / "real_prs_apps.csv")) >= 20
    rows = list(csv.DictReader((BENCH / "real_prs_handcheck.csv").open(encoding="utf-8")))
    assert len(rows) == 60
    assert {r["repo"] for r in rows} <= holdout
    assert {r["verdict"] for r in rows} <= {"useful", "correct-but-noise", "wrong"}
    assert all(r["severity"] in ("error", "warning") and r["reason"].strip() and "\n" not in r["reason"]
               for r in rows)


def test_ab_cpu_runs_both_builds_on_the_same_prs(app: dict[str, object], tmp_path: Path,
                                                 capsys: pytest.CaptureFixture[str]) -> None:
    import ab_cpu

    out = tmp_path / "run.jsonl"
    assert real_prs.main(_args(app, "--out", str(out))) == 0
    calls = tmp_path / "calls.txt"
    builds = []
    for name in ("a", "b"):
        fake = tmp_path / f"dbreview-{name}"
        fake.write_text(f"#!/bin/sh\necho {name} \"$7\" >> {calls}\n")
        fake.chmod(0o755)
        builds.append(str(fake))
    capsys.readouterr()
    assert ab_cpu.main(["--a", builds[0], "--b", builds[1], "--from", str(out), "--mirrors", str(app["mirrors"])]) == 0
    ran = calls.read_text().split("\n")
    # Each PR is reviewed by both builds back to back, the order alternating: a b, then b a.
    assert [line.split()[0] for line in ran if line] == ["a", "b", "b", "a"]
    assert "2 PRs, CPU s per PR" in capsys.readouterr().out
