"""Measured plans on the real PostgreSQL of this machine: the sample change, the fallback without HypoPG, advice the
plans reject (tiny table, an index the planner would not use), an index the change adds, and what only a plan shows.

Each review works in its own scratch databases; every test that builds one checks that they were dropped.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

import pytest
from scenarios import (
    DATABASE_URL,
    config,
    helpdesk_change,
    hypopg_available,
    leftover_databases,
    sample_change,
    server_down,
)

from bot.findings import Source
from bot.pipeline import review
from bot.plans.analyzer import PlanAnalyzer
from bot.review import Review

DOWN = server_down()
HYPOPG = DOWN is None and hypopg_available()
pytestmark = pytest.mark.skipif(DOWN is not None, reason=f"PostgreSQL at {DATABASE_URL} unreachable: {DOWN}")


@dataclass
class Reviewed:
    review: Review
    planner: PlanAnalyzer


def _review(change, cfg=None, *, use_hypopg: bool = True) -> Reviewed:  # type: ignore[no-untyped-def]
    planner = PlanAnalyzer(DATABASE_URL, use_hypopg=use_hypopg)
    result = review(change, cfg or config(), extra_analyzers=[("plans", planner)])
    planner.finish(result)
    assert planner.error is None, planner.error
    assert planner.result is not None and planner.result.databases, "no scratch database was created"
    assert leftover_databases(planner.result.databases) == [], "a scratch database was left behind"
    return Reviewed(result, planner)


@pytest.fixture(scope="module")
def sample() -> Reviewed:
    return _review(sample_change())


@pytest.fixture(scope="module")
def sample_without_hypopg() -> Reviewed:
    return _review(sample_change(), use_hypopg=False)


@pytest.fixture(scope="module")
def helpdesk() -> Reviewed:
    return _review(helpdesk_change())


def _finding(reviewed: Reviewed, rule: str, path: str):  # type: ignore[no-untyped-def]
    found = [f for f in reviewed.review.findings if f.rule == rule and f.path == path]
    assert len(found) == 1, [(f.rule, f.path, f.line) for f in reviewed.review.findings]
    return found[0]


def test_payout_listing_gets_measured_plans_and_a_validated_composite_index(sample: Reviewed) -> None:
    f = _finding(sample, "query/missing-index", "src/app/api/payouts/route.ts")
    assert f.source is Source.MEASURED
    assert "@@index([status, createdAt])" in f.message and "Measured: on 20k seeded rows of `payouts`" in f.message
    assert "Seq Scan on payouts" in f.message and "using the suggested index" in f.message
    assert f.extra["hypothetical"] is HYPOPG and f.extra["index"] == "@@index([status, createdAt])"
    assert f.extra["cost_cut"] >= 0.3 and f.extra["cost_after"] < f.extra["cost_before"]
    assert f.extra["sql"].startswith('SELECT "public"."payouts"."id"')
    assert "Seq Scan on payouts" in f.extra["plan_before"]


def test_products_listing_is_measured_in_both_of_its_shapes(sample: Reviewed) -> None:
    f = _finding(sample, "query/missing-index", "src/app/api/products/route.ts")
    assert f.source is Source.MEASURED and "@@index([createdAt])" in f.message
    assert "Limit → Sort → Seq Scan on products" in f.message and f.extra["cost_cut"] > 0.9
    calls = [c for c in sample.review.facts["measured_plans"]["calls"] if c["path"] == "src/app/api/products/route.ts"]
    by_variant = {c["variant"]: c["statements"][0] for c in calls}
    assert set(by_variant) == {"where: `{ categoryId }`", "where: `undefined`"}
    # With a category the existing (categoryId, createdAt DESC) index serves the query as it is.
    assert "products_categoryId_createdAt_idx" in by_variant["where: `{ categoryId }`"]["plan"]
    assert "best_index" not in by_variant["where: `{ categoryId }`"]


def test_an_index_the_change_adds_is_seen_as_present(sample: Reviewed) -> None:
    present = sample.review.facts["measured_plans"]["present"]
    assert {"table": "public.orders", "index": "@@index([status])", "existing": "orders_status_idx"} in present
    assert not any("orders" in (f.extra.get("table") or "") for f in sample.review.findings
                   if f.source is Source.MEASURED)


def test_measured_findings_fold_into_the_static_ones_and_the_review_keeps_its_size(sample: Reviewed) -> None:
    # The two listings were already flagged by query/missing-index: no second finding for the same call.
    assert not [f for f in sample.review.findings if f.rule == "query/measured-seq-scan"]
    assert len(sample.review.findings) == len(review(sample_change(), config()).findings)
    facts = sample.review.facts["measured_plans"]
    assert facts["hypothetical_indexes"] is HYPOPG and facts["planned"] == facts["statements"] > 0
    json.dumps(sample.review.to_dict())  # the facts stay JSON


def test_without_hypopg_the_index_is_built_for_real_and_rolled_back(sample_without_hypopg: Reviewed) -> None:
    f = _finding(sample_without_hypopg, "query/missing-index", "src/app/api/payouts/route.ts")
    assert f.source is Source.MEASURED and f.extra["hypothetical"] is False
    assert "built in a rolled-back transaction" in f.message and f.extra["cost_cut"] >= 0.3
    assert sample_without_hypopg.review.facts["measured_plans"]["hypothetical_indexes"] is False


def test_an_index_the_planner_would_not_use_is_not_posted(helpdesk: Reviewed) -> None:
    assert not [f for f in helpdesk.review.findings if f.rule == "query/missing-index"]
    assert any("dropped query/missing-index at src/app/api/tickets/route.ts:4" in n and "@@index([status])" in n
               and "would not use it" in n for n in helpdesk.review.notes), helpdesk.review.notes


def test_a_scan_only_the_plan_shows_gets_a_measured_finding(helpdesk: Reviewed) -> None:
    f = _finding(helpdesk, "query/measured-seq-scan", "src/app/api/tickets/route.ts")
    assert f.line == 5 and f.source is Source.MEASURED
    assert "Seq Scan on Ticket" in f.message and "Add `@@index([agentId])` to model `Ticket`" in f.message
    assert f.extra["statement"] == "include tickets (Ticket, follow-up query)"
    assert '"Ticket"."agentId" IN (' in f.extra["sql"]


def test_a_tiny_table_gets_no_index_advice(tmp_path: Path) -> None:
    stats = json.dumps({"version": 1, "tables": {"payouts": {"rows": 40, "bytes": 8192, "total_bytes": 16384}}})
    reviewed = _review(sample_change(stats, tmp_path))
    assert not [f for f in reviewed.review.findings
                if f.rule == "query/missing-index" and f.path == "src/app/api/payouts/route.ts"]
    assert any("dropped query/missing-index at src/app/api/payouts/route.ts:6" in n and "40 rows" in n
               for n in reviewed.review.notes), reviewed.review.notes
    assert reviewed.planner.result is not None and reviewed.planner.result.sizes.seeded["payouts"] == 40


def test_a_call_that_cannot_be_translated_is_named_in_a_note(helpdesk: Reviewed) -> None:
    assert any(n.startswith("plans: src/app/api/tickets/route.ts:6 `prisma.ticket.count` not planned: its `where` "
                            "is the expression `filter`") for n in helpdesk.review.notes), helpdesk.review.notes
    untranslated = helpdesk.review.facts["measured_plans"]["untranslated"]
    assert [u["line"] for u in untranslated] == [6]
