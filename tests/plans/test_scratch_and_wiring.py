"""The scratch database the plans use (production-like seeding, HypoPG or not) and how the plans are wired into
`dbreview check`, the Action and the App (all through bot.trace.tracer_for)."""

from __future__ import annotations

import json

import psycopg
import pytest
from scenarios import DATABASE_URL, ROOT, config, helpdesk_change, hypopg_available, leftover_databases, server_down

from bot.cli import main
from bot.plans.analyzer import PlanAnalyzer
from bot.plans.scratch import PlanSetupError, _enable_hypopg, migration_files, plan_database, sizing
from bot.testing import change_from_trees
from bot.trace import MeasuredSteps, tracer_for

DOWN = server_down()
needs_pg = pytest.mark.skipif(DOWN is not None, reason=f"PostgreSQL at {DATABASE_URL} unreachable: {DOWN}")


@needs_pg
def test_seeded_rows_look_like_production() -> None:
    change = helpdesk_change()
    tables = ["public.Ticket", "public.Agent"]
    sizes = sizing(tables, None, 0, default_rows=12_000, max_rows=200_000)
    values = {("public.Ticket", "status"): ["OPEN"]}
    with plan_database(change, config(), DATABASE_URL, tables=tables, sizes=sizes, values=values) as db:
        names = list(db.server.history)
        with psycopg.connect(db.admin_url) as conn:
            statuses = conn.execute('SELECT status, count(*) FROM "Ticket" GROUP BY 1 ORDER BY 2 DESC').fetchall()
            span = conn.execute('SELECT extract(day FROM max("createdAt") - min("createdAt")), (SELECT correlation '
                                "FROM pg_stats WHERE tablename = 'Ticket' AND attname = 'createdAt') "
                                'FROM "Ticket"').fetchone()
            per_agent = conn.execute('SELECT count(DISTINCT "agentId"), max(n) FROM (SELECT "agentId", count(*) n '
                                     'FROM "Ticket" GROUP BY 1) s').fetchone()
            emails = conn.execute('SELECT count(*), count(DISTINCT email) FROM "Agent"').fetchone()
            managers = conn.execute('SELECT count("managerId"), count(DISTINCT "managerId") FROM "Agent"').fetchone()
            stats = conn.execute("SELECT count(*) FROM pg_stats WHERE tablename = 'Ticket'").fetchone()
    assert leftover_databases(names) == []
    assert db.seeded == {"Agent": 12_000, "Ticket": 12_000}
    # The code's literal is the most common value and holds about half the rows; the rest thin out.
    assert statuses[0][0] == "OPEN" and 0.45 < statuses[0][1] / 12_000 < 0.55 and len(statuses) == 6
    assert statuses[-1][1] < 12_000 * 0.06
    # Two years of rows, inserted oldest first as an append-mostly table would be.
    assert span[0] > 700 and span[1] > 0.99
    # Foreign keys spread unevenly over many parents; unique columns stay unique; statistics are there.
    assert per_agent[0] > 2_000 and per_agent[1] >= 5
    assert emails[0] == emails[1] == 12_000
    # A foreign key to the table itself (a tree) is filled afterwards: most rows get a parent, a tenth are parents.
    assert 0.6 < managers[0] / 12_000 < 0.8 and 500 < managers[1] <= 1_200
    assert stats[0] > 0


@needs_pg
def test_hypopg_needs_a_privileged_user_and_its_absence_is_detected() -> None:
    change = helpdesk_change()
    sizes = sizing(["public.Agent"], None, 10, default_rows=10, max_rows=100)
    with plan_database(change, config(), DATABASE_URL, tables=["public.Agent"], sizes=sizes, values={}) as db:
        assert db.hypopg is hypopg_available()
        with psycopg.connect(db.role_url, autocommit=True) as role:
            # The restricted role may not create an untrusted extension: the plans fall back to real indexes.
            assert _enable_hypopg(role, None) is False
        names = list(db.server.history)
    assert leftover_databases(names) == []


def test_no_migration_history_is_a_setup_error() -> None:
    change = change_from_trees({"prisma/schema.prisma": "model A {\n  id Int @id\n}\n"},
                               {"prisma/schema.prisma": "model A {\n  id Int @id\n}\n", "src/a.ts": "x"})
    with pytest.raises(PlanSetupError, match="no Prisma migration history"):
        migration_files(change, config())


def test_tracer_for_runs_the_plans_with_the_trace_unless_disabled() -> None:
    steps = tracer_for(config(), {"DBREVIEW_TRACE_DATABASE_URL": DATABASE_URL})
    assert isinstance(steps, MeasuredSteps) and isinstance(steps.plans, PlanAnalyzer)
    assert steps.plans.database_url == DATABASE_URL
    off = tracer_for(config(enabled=False), {}, url=DATABASE_URL)
    assert isinstance(off, MeasuredSteps) and off.plans is None
    assert tracer_for(config(), {}) is None


def test_an_unreachable_server_is_a_note_not_a_crash() -> None:
    planner = PlanAnalyzer("postgresql://nobody@127.0.0.1:1/none")
    from bot.pipeline import review

    result = review(helpdesk_change(), config(), extra_analyzers=[("plans", planner)])
    planner.finish(result)
    assert planner.error is not None and any(n.startswith("plans: not run: cannot connect") for n in result.notes)


@needs_pg
def test_check_with_a_database_url_posts_measured_plans(capsys: pytest.CaptureFixture[str]) -> None:
    code = main(["check", "--repo", str(ROOT / "examples/marketplace"), "--diff",
                 str(ROOT / "examples/vendor-payouts.patch"), "--database-url", DATABASE_URL, "--format", "json",
                 "--no-llm"])
    data = json.loads(capsys.readouterr().out)
    assert code == 1
    measured = {(f["rule"], f["path"]) for f in data["findings"] if f["source"] == "measured"}
    assert ("query/missing-index", "src/app/api/payouts/route.ts") in measured
    assert ("query/missing-index", "src/app/api/products/route.ts") in measured
    plans = data["summary"]["measured_plans"]
    assert plans["planned"] >= 6 and plans["hypothetical_indexes"] is hypopg_available()
    assert "measured_trace" in data["summary"]  # the migration trace ran on the same server
