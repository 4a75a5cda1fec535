"""The state store on SQLite and PostgreSQL: migrations, idempotency, coalescing, leases, recovery."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from pathlib import Path

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import update

from bot.app.settings import sqlalchemy_url
from bot.app.store import Base, Store
from bot.app.store.models import Delivery, Review


@pytest.fixture(params=["sqlite", "postgresql"])
def store(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Store]:
    if request.param == "sqlite":
        url = f"sqlite:///{tmp_path / 'state.db'}"
    else:
        url = sqlalchemy_url(request.getfixturevalue("pg_module_url"))
    s = Store(url)
    if request.param == "postgresql":  # a database shared by the module's tests: start from empty tables
        with s.engine.begin() as conn:
            names = ", ".join(t.name for t in Base.metadata.sorted_tables)
            conn.exec_driver_sql(f"TRUNCATE {names} RESTART IDENTITY CASCADE")
    yield s
    s.close()


def test_migrations_create_exactly_the_modelled_schema(store: Store) -> None:
    with store.engine.connect() as conn:
        context = MigrationContext.configure(conn, opts={"version_table": "dbreview_alembic_version"})
        diff = compare_metadata(context, Base.metadata)
    assert diff == []


def test_migrating_twice_is_a_no_op(store: Store) -> None:
    again = Store(store.url)
    assert again.accept_pull_request("d1", "pull_request", "opened", "o/r", 1, None, "a" * 40).result == "queued"
    again.close()


def test_redelivery_and_same_head_are_no_ops(store: Store) -> None:
    first = store.accept_pull_request("d1", "pull_request", "opened", "o/r", 1, 5, "a" * 40)
    assert (first.duplicate, first.result) == (False, "queued")
    assert store.accept_pull_request("d1", "pull_request", "opened", "o/r", 1, 5, "a" * 40).duplicate
    # A second event for the same push (different delivery id, same head) is coalesced.
    same = store.accept_pull_request("d2", "pull_request", "synchronize", "o/r", 1, 5, "a" * 40)
    assert (same.result, same.review_id) == ("coalesced", first.review_id)
    assert [r.status for r in store.reviews_for("o/r", 1)] == ["queued"]


def test_newer_head_supersedes_queued_and_stops_running(store: Store) -> None:
    a = store.accept_pull_request("d1", "pull_request", "opened", "o/r", 1, 5, "a" * 40).review_id
    assert store.claim(a, "w1", 30, 3).outcome == "claimed"
    b = store.accept_pull_request("d2", "pull_request", "synchronize", "o/r", 1, 5, "b" * 40).review_id
    c = store.accept_pull_request("d3", "pull_request", "synchronize", "o/r", 1, 5, "c" * 40).review_id
    assert not store.is_current(a)  # the running one must not post
    assert store.claim(b, "w2", 30, 3).outcome == "gone"  # superseded while queued, by c
    # One review per PR at a time: c waits while a still holds its lease.
    assert store.claim(c, "w2", 30, 3).outcome == "wait"
    assert store.finish(a, "w1", "superseded")
    claim = store.claim(c, "w2", 30, 3)
    assert claim.outcome == "claimed" and claim.job is not None and claim.job.head_sha == "c" * 40
    assert store.finish(c, "w2", "done", findings_total=3, counts={"error": 1, "warning": 2}, llm_input_tokens=100,
                        llm_cost_usd=0.01)
    done = store.review(c)
    assert done is not None and done.counts == {"error": 1, "warning": 2} and done.llm_input_tokens == 100
    assert done.finished_at is not None and done.started_at is not None and done.finished_at >= done.started_at
    assert store.pr_state("o/r", 1).last_reviewed_sha == "c" * 40  # type: ignore[union-attr]
    assert [r.status for r in store.reviews_for("o/r", 1)] == ["superseded", "superseded", "done"]
    # Other PRs are independent.
    d = store.accept_pull_request("d4", "pull_request", "opened", "o/r", 2, 5, "a" * 40).review_id
    assert store.claim(d, "w3", 30, 3).outcome == "claimed"


def _expire(store: Store, review_id: int) -> None:
    with store.engine.begin() as conn:
        past = dt.datetime.now(dt.UTC) - dt.timedelta(seconds=5)
        conn.execute(update(Review).where(Review.id == review_id).values(lease_until=past))


def test_a_dead_workers_review_is_recovered_then_failed_after_max_attempts(store: Store) -> None:
    rid = store.accept_pull_request("d1", "pull_request", "opened", "o/r", 1, 5, "a" * 40).review_id
    assert store.claim(rid, "w1", 30, 2).outcome == "claimed"
    assert store.claim(rid, "w2", 30, 2).outcome == "busy"  # a duplicate task while the lease holds
    assert store.expired(requeue_after_s=300, hold_s=30) == []
    _expire(store, rid)  # w1 was SIGKILLed: no more renewals
    assert store.expired(requeue_after_s=300, hold_s=30) == [rid]
    assert store.expired(requeue_after_s=300, hold_s=30) == []  # not handed out twice
    assert not store.renew(rid, "w1", 30)  # the old worker, if alive after all, learns it lost the lease
    claim = store.claim(rid, "w2", 30, 2)
    assert claim.outcome == "claimed" and claim.job is not None and claim.job.attempts == 2
    _expire(store, rid)
    assert store.expired(requeue_after_s=300, hold_s=30) == [rid]
    assert store.claim(rid, "w3", 30, 2).outcome == "failed"
    review = store.review(rid)
    assert review is not None and review.status == "failed" and "gave up after 2 attempts" in (review.error or "")


def test_old_deliveries_are_pruned(store: Store) -> None:
    store.record_delivery("old", "ping", "", "ignored")
    store.record_delivery("new", "ping", "", "ignored")
    with store.engine.begin() as conn:
        conn.execute(update(Delivery).where(Delivery.id == "old")
                     .values(received_at=dt.datetime.now(dt.UTC) - dt.timedelta(days=15)))
    assert store.prune(keep_days=14) == 1
    assert store.delivery("old") is None and store.delivery("new") is not None


def test_commands_state(store: Store) -> None:
    assert store.deny_once("o/r", 1, "mallory") and not store.deny_once("o/r", 1, "mallory")
    assert store.deny_once("o/r", 2, "mallory")
    assert [store.take_command_slot("o/r", 1, 2, 3600) for _ in range(3)] == [1, 2, 3]
    store.set_paused("o/r", 1, True)
    assert store.accept_pull_request("d1", "pull_request", "synchronize", "o/r", 1, 5, "a" * 40).result == "paused"
    store.set_paused("o/r", 1, False)
    assert store.accept_pull_request("d2", "pull_request", "synchronize", "o/r", 1, 5, "a" * 40).result == "queued"


def test_comments_installations_and_kv(store: Store) -> None:
    store.record_comment("o/r", 1, "fp1", 11, None)
    store.record_comment("o/r", 1, "fp1", None, "T_1")
    assert store.posted_comments("o/r", 1) == {"fp1": (11, "T_1")}
    store.upsert_installation(9, account="acme", account_type="Organization", status="active",
                              add_repos=["acme/a", "acme/b"], replace_repos=True)
    store.upsert_installation(9, remove_repos=["acme/a"], add_repos=["acme/c"])
    store.upsert_installation(9, status="suspended")
    inst, repos = store.installation(9)
    assert inst is not None and inst.status == "suspended" and inst.account == "acme"
    assert repos == ["acme/b", "acme/c"]
    store.kv_set("publish:o/r#1", {"summary_comment_id": 5})
    store.kv_set("publish:o/r#1", {"summary_comment_id": 6, "head_sha": "x"})
    assert store.kv_get("publish:o/r#1") == {"summary_comment_id": 6, "head_sha": "x"}
