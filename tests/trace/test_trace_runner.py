"""The runner around the measurements: base history, interruption, Prisma layouts, the CLI entry points."""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

import psycopg
import pytest
from trace_helpers import (
    DATABASE_URL,
    MIGRATIONS,
    base_tree,
    change_adding,
    leftover_databases,
    requires_pg,
    scenario_path,
)

from bot.config import Config
from bot.testing import change_from_trees
from bot.trace.rules import measured_findings
from bot.trace.runner import TraceResult, plan, trace_change
from bot.trace.tempdb import TraceError

pytestmark = requires_pg

Trace = Callable[..., TraceResult]
REPO_ROOT = Path(__file__).resolve().parents[2]


def test_base_history_of_100_langfuse_migrations(corpus_dir: Path, trace: Trace) -> None:
    root = corpus_dir / "langfuse/packages/shared/prisma/migrations"
    dirs = sorted(p for p in root.iterdir() if p.is_dir())[:100]
    prefix = "packages/shared/prisma/migrations"
    base = {f"{prefix}/{d.name}/migration.sql": (d / "migration.sql").read_text("utf-8") for d in dirs}
    base[f"{prefix}/migration_lock.toml"] = (root / "migration_lock.toml").read_text("utf-8")
    head = dict(base)
    head[f"{prefix}/29990101000000_trace_name/migration.sql"] = (
        '-- CreateIndex\nCREATE INDEX "traces_name_idx_new" ON "traces"("name");\n')
    result = trace(change_from_trees(base, head), rows=100)
    assert result.base_error is None
    assert result.base_migrations == 100
    [stmt] = result.statements()
    assert stmt.error is None
    assert result.seeded.get("traces") == 100
    assert any(lk.relation == "traces" and lk.mode == "ShareLock" and lk.existing for lk in stmt.locks)


def test_base_migration_that_fails_is_a_note_not_a_crash(trace: Trace) -> None:
    base = base_tree({f"{MIGRATIONS}/20240102000000_broken/migration.sql": 'ALTER TABLE "Nope" ADD COLUMN "x" INT;\n'})
    result = trace(change_adding({"20240201000000_idx": 'CREATE INDEX "i" ON "Post"("title");\n'}, base=base))
    assert result.base_error is not None and "Nope" in result.base_error
    assert result.migrations == []
    assert any("were not traced" in note for note in result.notes)


def test_only_new_postgres_migrations_are_planned() -> None:
    change = change_adding({"20240201000000_idx": 'CREATE INDEX "i" ON "Post"("title");\n'})
    plans, notes = plan(change, Config())
    assert plans == {MIGRATIONS: [f"{MIGRATIONS}/20240201000000_idx/migration.sql"]} and notes == []

    mysql = {f"{MIGRATIONS}/migration_lock.toml": 'provider = "mysql"\n',
             f"{MIGRATIONS}/20240101000000_init/migration.sql": "CREATE TABLE `User` (`id` INT);\n"}
    head = {**mysql, f"{MIGRATIONS}/20240201000000_x/migration.sql": "ALTER TABLE `User` ADD COLUMN `a` INT;\n"}
    plans, notes = plan(change_from_trees(mysql, head), Config())
    assert plans == {} and any("mysql" in n for n in notes)


def test_no_new_migration_creates_no_database() -> None:
    change = change_from_trees(base_tree(), base_tree({"src/app.ts": "export const x = 1;\n"}))
    result = trace_change(change, Config(), DATABASE_URL)
    assert result.databases == [] and result.notes == ["trace: no new migration in this change"]


def test_unreachable_server_is_a_trace_error() -> None:
    change = change_adding({"20240201000000_idx": 'CREATE INDEX "i" ON "Post"("title");\n'})
    with pytest.raises(TraceError, match="cannot connect"):
        trace_change(change, Config(), "postgresql://postgres@127.0.0.1:1/test")


_CHILD = """
import logging, sys
sys.path.insert(0, {root!r}); sys.path.insert(0, {tests!r})
logging.basicConfig(stream=sys.stderr, format="%(message)s")
logging.getLogger("dbreview.trace").setLevel(logging.DEBUG)
from trace_helpers import change_adding, DATABASE_URL
from bot.config import Config
from bot.trace.runner import trace_change
trace_change(change_adding({{"20240201000000_slow": "SELECT pg_sleep(30);\\n"}}), Config(), DATABASE_URL)
"""


def test_interrupted_trace_drops_its_databases() -> None:
    # SIGINT and SIGTERM go through the same handler; SIGINT (Ctrl-C) is the one people send.
    code = _CHILD.format(root=str(REPO_ROOT), tests=str(Path(__file__).parent))
    child = subprocess.Popen([sys.executable, "-c", code], cwd=REPO_ROOT, stderr=subprocess.PIPE, text=True)
    try:
        with psycopg.connect(DATABASE_URL, autocommit=True) as conn:
            deadline = time.monotonic() + 60
            sleeping = None
            while time.monotonic() < deadline and sleeping is None and child.poll() is None:
                # the child's own statement, in one of its scratch databases
                sleeping = conn.execute(
                    "SELECT datname FROM pg_stat_activity WHERE query LIKE 'SELECT pg_sleep(30)%%' "
                    "AND datname LIKE 'dbreview\\_trace\\_%%' LIMIT 1").fetchone()
                time.sleep(0.05)
        assert sleeping is not None, "the traced statement never started"
        os.kill(child.pid, signal.SIGINT)
        _, stderr = child.communicate(timeout=30)
    finally:
        if child.poll() is None:
            child.kill()
    created = re.findall(r"created scratch database (dbreview_trace_\w+)", stderr)
    assert child.returncode != 0
    assert sleeping[0] in created and len(created) == 2  # the base database and the replay's copy
    assert leftover_databases(created) == []


def test_run_stats_and_size_aware_severity(tmp_path: Path, scenario: TraceResult) -> None:
    from bot.trace.cli import run_stats
    from bot.trace.stats import adjust_severity, load_stats
    from bot.trace.tempdb import scratch_server, url_for

    with scratch_server(DATABASE_URL) as server:
        name = server.create()
        with psycopg.connect(url_for(DATABASE_URL, name), autocommit=True) as conn:
            conn.execute('CREATE TABLE "Post" ("id" SERIAL PRIMARY KEY, "title" TEXT NOT NULL)')
            conn.execute('INSERT INTO "Post" ("title") SELECT \'t\' || g FROM generate_series(1, 5000) g')
            conn.execute('ANALYZE "Post"')
        assert run_stats(url_for(DATABASE_URL, name), tmp_path / "dbreview-stats.json") == 0
    data = json.loads((tmp_path / "dbreview-stats.json").read_text())
    assert data["tables"]["Post"]["rows"] == 5000 and data["tables"]["Post"]["bytes"] > 0
    assert "title" not in json.dumps(data) or "t1" not in json.dumps(data)  # sizes only, never data
    stats = load_stats(tmp_path)
    assert stats is not None and stats.lookup('"Post"') is not None

    [finding] = adjust_severity([f for f in measured_findings(scenario) if f.path == scenario_path("idx")], stats)
    assert finding.severity.value == "info" and "5,000 rows" in finding.message


def test_run_trace_on_a_git_repository(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    sys.path.insert(0, str(REPO_ROOT / "tests/core"))
    from gitutil import commit, make_repo

    from bot.trace.cli import run_trace

    stats = {"version": 1, "tables": {"Post": {"rows": 40_000_000, "bytes": 8 * 1024 ** 3,
                                               "total_bytes": 12 * 1024 ** 3}}}
    repo = make_repo(tmp_path, {**base_tree(), "dbreview-stats.json": json.dumps(stats)})
    commit(repo, {f"{MIGRATIONS}/20240201000000_views/migration.sql":
                  '-- AlterTable\nALTER TABLE "Post" ALTER COLUMN "views" SET DATA TYPE BIGINT;\n'})
    code = run_trace(repo, "HEAD~1", "HEAD", DATABASE_URL, None, "json")
    out = json.loads(capsys.readouterr().out)
    assert code == 1
    measured = [f for f in out["findings"] if f["rule"] == "migration/measured-rewrite"
                or f.get("extra", {}).get("measured")]
    assert measured, out["findings"]
    assert all(f["severity"] == "error" for f in measured)
    assert any("estimated" in f["message"] for f in measured)
    assert out["summary"]["measured_locks"][0]["table"] == "Post"
    assert out["summary"]["measured_trace"]["base_migrations"] == 1


def test_the_change_sql_runs_as_a_restricted_role(trace: Trace) -> None:
    from bot.trace.tempdb import scratch_server

    with scratch_server(DATABASE_URL) as server:
        victim = server.create()  # another database on the same server, which the change's SQL must not reach
        result = trace(change_adding({
            "20240201000000_drop": f'DROP DATABASE "{victim}";\n',
            "20240202000000_program": "COPY (SELECT 1) TO PROGRAM 'true';\n",
        }))
        assert server.exists(victim)
    assert result.restricted_role is not None
    drop, program = result.statements()
    assert drop.sqlstate == "42501" and program.sqlstate == "42501"  # insufficient privilege, both
    with psycopg.connect(DATABASE_URL, autocommit=True) as conn:
        role = conn.execute("SELECT 1 FROM pg_roles WHERE rolname = %s", (result.restricted_role,)).fetchone()
    assert role is None  # the role is dropped with the databases


def test_a_base_history_that_needs_a_superuser_is_applied_as_admin_but_the_change_still_runs_restricted(
        trace: Trace) -> None:
    base = base_tree({f"{MIGRATIONS}/20240102000000_stats/migration.sql":
                      'CREATE EXTENSION IF NOT EXISTS "pg_stat_statements";\n'})
    result = trace(change_adding({
        "20240201000000_idx": 'CREATE INDEX "i" ON "Post"("title");\n',
        "20240202000000_program": "COPY (SELECT 1) TO PROGRAM 'true';\n",
    }, base=base))
    assert result.base_error is None and result.base_migrations == 2
    assert result.restricted_role is not None
    assert any("more than a restricted role may do" in note for note in result.notes)
    index, program = result.statements()
    # The role owns the base history's tables, so the change's own DDL works on them...
    assert index.error is None and any(lk.mode == "ShareLock" for lk in index.locks)
    # ...and the superuser's powers stay out of its reach.
    assert program.sqlstate == "42501"


def test_sql_that_lifts_its_own_statement_timeout_is_still_ended() -> None:
    # The change's SQL can `SET statement_timeout = 0`; the watchdog ends it from outside its session, and the
    # statements after it are still measured.
    result = trace_change(change_adding({
        "20240201000000_sleep": "SET statement_timeout = 0;\nSELECT pg_sleep(60);\n",
        "20240201000001_idx": 'CREATE INDEX "i" ON "Post"("title");\n',
    }), Config(), DATABASE_URL, statement_timeout_s=1)
    _set, sleep, index = result.statements()
    assert sleep.sqlstate == "57P01"  # admin shutdown: ended by the watchdog, not by the SQL's own timeout
    assert index.error is None and any(lk.mode == "ShareLock" for lk in index.locks)
    assert any("ran past the 1 s statement timeout" in note for note in result.notes)
    assert leftover_databases(result.databases) == []


def test_a_createrole_user_is_isolated_like_a_superuser() -> None:
    # Before PostgreSQL 16, CREATEROLE can grant itself pg_execute_server_program: as good as a superuser.
    user, password = "dbreview_createrole_test", "createrole-pw-1234"
    with psycopg.connect(DATABASE_URL, autocommit=True) as admin:
        admin.execute(f'DROP ROLE IF EXISTS "{user}"')
        admin.execute(f"CREATE ROLE \"{user}\" LOGIN PASSWORD '{password}' CREATEROLE CREATEDB")
    try:
        url = re.sub(r"://[^@/]*@", f"://{user}:{password}@", DATABASE_URL) if "@" in DATABASE_URL else \
            DATABASE_URL.replace("://", f"://{user}:{password}@", 1)
        result = trace_change(change_adding({
            "20240201000000_escalate": "GRANT pg_execute_server_program TO CURRENT_USER;\n"
                                       "COPY (SELECT 1) TO PROGRAM 'true';\n",
        }), Config(), url)
        assert result.restricted_role is not None
        grant, program = result.statements()
        assert grant.sqlstate == "42501" and program.sqlstate == "42501"
        assert leftover_databases(result.databases) == []
    finally:
        with psycopg.connect(DATABASE_URL, autocommit=True) as admin:
            admin.execute(f'DROP ROLE IF EXISTS "{user}"')
