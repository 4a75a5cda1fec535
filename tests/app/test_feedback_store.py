"""Feedback in the state store on SQLite and PostgreSQL: outcomes per comment, figures per rule, dismissals across
pull requests, `/dbreview ignore`, learnings; all of it survives a restart; and the Alembic migration passes
dbreview's own migration rules."""

from __future__ import annotations

import argparse
import io
from collections.abc import Iterator
from pathlib import Path

import pytest
from alembic import command

from bot.app.feedback import StoreFeedbackMemory, learnings_markdown, stats_markdown, stats_text
from bot.app.settings import sqlalchemy_url
from bot.app.store import Base, Store
from bot.app.store.engine import alembic_config
from bot.app.store.feedback import FeedbackStore, Posted
from bot.config import Config
from bot.findings import Severity
from bot.github.feedback import Dismissal, How, Ignore, Outcome, State
from bot.learnings import Learning

REPO = "acme/shop"


@pytest.fixture(params=["sqlite", "postgresql"])
def url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'state.db'}"
        return
    url = sqlalchemy_url(request.getfixturevalue("pg_module_url"))
    s = Store(url)
    with s.engine.begin() as conn:  # a database shared by the module's tests: start from empty tables
        conn.exec_driver_sql(f"TRUNCATE {', '.join(t.name for t in Base.metadata.sorted_tables)} "
                             "RESTART IDENTITY CASCADE")
    s.close()
    yield url


def _outcome(fp: str, state: State, *, rule: str = "prisma/float-money", how: How | None = None, by: str = "",
             down: int = 0, up: int = 0, obj: str | None = None) -> Outcome:
    return Outcome(fp, obj or f"obj-{fp}", rule, "prisma/schema.prisma", "warning", state, comment_id=1,
                   thread_id="T", url=f"https://github.com/{REPO}/pull/1#discussion_r{fp}",
                   dismissal=Dismissal(how, by, "ratios") if how else None, thumbs_up=up, thumbs_down=down)


def test_outcomes_figures_dismissals_and_learnings_survive_a_restart(url: str) -> None:
    store = Store(url)
    fb = FeedbackStore(store)
    fb.record(REPO, 1, [], [Posted("a1", "obj-a1", "prisma/float-money", "prisma/schema.prisma", "warning"),
                            Posted("b1", "obj-b1", "migration/ban-drop-column", "m.sql", "error")])
    fb.record(REPO, 1, [_outcome("a1", State.DISMISSED, how=How.THUMBS_DOWN, by="maya", down=2),
                        _outcome("b1", State.FIXED, rule="migration/ban-drop-column", up=1)])
    fb.record(REPO, 1, [_outcome("a1", State.DISMISSED, how=How.THUMBS_DOWN, by="maya", down=2)])  # a re-run
    fb.record(REPO, 2, [_outcome("c2", State.OPEN, obj="obj-a1")])
    fb.add_ignore(REPO, 2, Ignore("ratios, not money", "maya", "prisma/float-money", url="https://github.com/x/1"))
    assert fb.add_learnings(REPO, [Learning("Scores are floats, not money.", "maya", "2026-12-01T10:00:00Z",
                                            "https://github.com/acme/shop/pull/1#discussion_r9", "prisma/float-money")
                                   ]) == 1
    store.close()

    store = Store(url)  # the App restarted
    fb = FeedbackStore(store)
    stats = fb.rule_stats(REPO)
    money = stats[(REPO, "prisma/float-money")]
    assert (money.posted, money.fixed, money.dismissed, money.thumbs_down) == (2, 0, 1, 2)
    assert stats[(REPO, "migration/ban-drop-column")].acceptance == 1.0 and money.acceptance == 0.0
    memory = StoreFeedbackMemory(store).load(REPO, 2)
    assert memory.dismissals == {"obj-a1": Dismissal(How.THUMBS_DOWN, "maya", "ratios",
                                                     f"https://github.com/{REPO}/pull/1#discussion_ra1", 1,
                                                     Severity.WARNING)}
    assert StoreFeedbackMemory(store).load(REPO, 1).dismissals == {}  # its own pull request reads its threads
    assert [i.reason for i in memory.ignores] == ["ratios, not money"]
    assert memory.rules["prisma/float-money"].dismissed == 1
    (learning,) = memory.learnings
    assert learning.text == "Scores are floats, not money." and learning.date == "2026-12-01"
    # The same comment does not make a second learning; a removed one does not come back from its thread.
    assert fb.add_learnings(REPO, [learning]) == 0
    assert learning.id is not None and fb.remove_learning(REPO, learning.id, "olive")
    assert not fb.remove_learning(REPO, learning.id, "olive") and not fb.remove_learning("other/repo", 1, "x")
    assert fb.add_learnings(REPO, [learning]) == 0 and fb.learnings(REPO) == []
    store.close()


def test_a_finding_posted_again_is_open_again(url: str) -> None:
    store = Store(url)
    fb = FeedbackStore(store)
    fb.record(REPO, 1, [_outcome("a1", State.FIXED)])
    fb.record(REPO, 1, [], [Posted("a1", "obj-a1", "prisma/float-money", "prisma/schema.prisma", "warning")])
    assert [(r.state, r.how) for r in fb.comments(REPO, 1)] == [("open", None)]
    store.close()


def test_replies_and_command_output() -> None:
    from bot.github.feedback import RuleStats

    stats = {"prisma/float-money": RuleStats("prisma/float-money", posted=9, fixed=1, dismissed=7, thumbs_down=6),
             "migration/ban-drop-column": RuleStats("migration/ban-drop-column", posted=4, fixed=3, dismissed=1)}
    text = stats_markdown(REPO, stats, Config())
    assert "| `prisma/float-money` (summary-only) | 9 | 1 | 7 | 0 | 6 | 12% |" in text
    assert "| `migration/ban-drop-column` | 4 | 3 | 1 | 0 | 0 | 75% |" in text
    assert "| **all rules** | 13 | 4 | 8 | 0 | 6 | 33% |" in text and "feedback.keep_inline" in text
    kept = stats_markdown(REPO, stats, Config.model_validate({"feedback": {"keep_inline": ["prisma/float-money"]}}))
    assert "summary-only" not in kept
    assert "prisma/float-money" in stats_text({REPO: stats}) and "no feedback" in stats_text({})
    listed = learnings_markdown(REPO, [Learning("Ping @alice: <!-- x --> scores | floats", "maya",
                                                "2026-12-01T10:00:00", "https://github.com/a/b/pull/1", "r/x", "", 3)])
    assert "| 3 |" in listed and "`@alice`" in listed and "<!--" not in listed and "scores \\| floats" in listed


def _migration_sql(revisions: str) -> str:
    cfg = alembic_config()
    buf = io.StringIO()
    cfg.output_buffer = buf
    cfg.cmd_opts = argparse.Namespace(x=["url=postgresql://dbreview@localhost/dbreview"])
    command.upgrade(cfg, revisions, sql=True)
    return buf.getvalue()


def test_the_feedback_migration_follows_dbreviews_own_migration_rules() -> None:
    from bot.pipeline import review
    from bot.testing import change_from_trees

    lock = 'provider = "postgresql"\n'
    base = {"prisma/migrations/migration_lock.toml": lock,
            "prisma/migrations/20261124000000_initial/migration.sql": _migration_sql("0001_initial")}
    sql = _migration_sql("0001_initial:0002_feedback")
    assert "CREATE TABLE feedback_comments" in sql and "CREATE TABLE learnings" in sql
    head = {**base, "prisma/migrations/20261207000000_feedback/migration.sql": sql}
    result = review(change_from_trees(base, head))
    assert result.has_database_surface and result.files["migration"]
    assert [(f.rule, f.line, f.message) for f in result.findings] == []


def test_feedback_stats_and_learnings_commands(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    import json

    from bot.cli import main

    url = f"sqlite:///{tmp_path / 'state.db'}"
    assert main(["feedback-stats", "--database-url", url]) == 2  # no store there: nothing is created
    assert "no dbreview store" in capsys.readouterr().err and not (tmp_path / "state.db").exists()
    store = Store(url)
    fb = FeedbackStore(store)
    fb.record(REPO, 1, [_outcome("a1", State.DISMISSED, how=How.THUMBS_DOWN, by="maya", down=1),
                        _outcome("b1", State.FIXED, rule="migration/ban-drop-column")])
    fb.add_learnings(REPO, [Learning("Scores are floats, not money.", "maya", "2026-12-01T10:00:00Z",
                                     "https://github.com/acme/shop/pull/1#discussion_r9")])
    store.close()
    assert main(["feedback-stats", "--database-url", url]) == 0
    text = capsys.readouterr().out
    assert REPO in text and "prisma/float-money" in text and "100%" in text
    assert main(["feedback-stats", "--database-url", url, "--repo", REPO, "--format", "json"]) == 0
    data = json.loads(capsys.readouterr().out)["repositories"][REPO]
    assert data["prisma/float-money"]["dismissed"] == 1 and data["migration/ban-drop-column"]["acceptance"] == 1.0
    assert main(["learnings", "--database-url", url, "--repo", REPO]) == 0
    line = capsys.readouterr().out.strip()
    assert "Scores are floats, not money." in line and "maya" in line
    learning_id = line.split()[0]
    assert main(["learnings", "--database-url", url, "--repo", REPO, "--remove", learning_id]) == 0
    assert main(["learnings", "--database-url", url, "--repo", REPO]) == 0
    assert "no learnings" in capsys.readouterr().out
