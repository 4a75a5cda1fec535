"""What the measurements do to findings, sizing and the loop, without a database: plans are built by hand."""

from __future__ import annotations

import time

from bot.findings import Finding, Severity, Source
from bot.plans.advise import Workload, proposed_columns, run, served_by
from bot.plans.explain import parse_plan
from bot.plans.model import (
    Access,
    CallMeasurement,
    CallRef,
    Candidate,
    Measured,
    Plan,
    PlanNode,
    Statement,
    Translation,
    Trial,
)
from bot.plans.rules import Settings, TableSizes, measured_findings, plan_path, reconcile
from bot.plans.scratch import sizing
from bot.review import Review
from bot.trace.stats import parse_stats

PATH = "src/app/api/payouts/route.ts"
CAND = Candidate("Payout", "public.payouts", ("status", "createdAt"), ("status", "createdAt"), "query/missing-index")


def _plan(cost: float, *nodes: PlanNode) -> Plan:
    return Plan(cost, nodes[0].rows if nodes else 1, list(nodes))


SEQ = _plan(500.0, PlanNode("Sort", rows=1250, total_cost=500.0),
            PlanNode("Seq Scan", relation="payouts", rows=1250, total_cost=420.0, depth=1))


def _call(after: float | None, *, used: bool = True, seeded: int = 20_000) -> tuple[CallMeasurement, TableSizes]:
    ref = CallRef(PATH, 6, 10, "prisma.payout.findMany", "GET:prisma.payout.findMany", (4, 12), "Payout", "findMany")
    statement = Statement("findMany on payouts", 'SELECT "public"."payouts"."id" FROM "public"."payouts"', [],
                          "public.payouts", [Access("Payout", "public.payouts", equality=["status"],
                                                   sort=["createdAt"])])
    measured = Measured(statement, SEQ, params=["status_3", "0"])
    if after is not None:
        plan = _plan(after, PlanNode("Index Scan", relation="payouts", index="<1>btree_payouts_status", rows=1250,
                                     total_cost=after))
        measured.trials.append(Trial(CAND, plan, used=used))
    return CallMeasurement(Translation(ref, [statement]), [measured]), TableSizes(seeded={"payouts": seeded})


def _static() -> Finding:
    return Finding("query/missing-index", Severity.WARNING, PATH, 6,
                   "`prisma.payout.findMany` filters on `status` ... Add `@@index([status, createdAt])` ...",
                   end_line=10, key="GET:prisma.payout.findMany:@@index([status, createdAt])")


def _reconcile(findings: list[Finding], call: CallMeasurement, sizes: TableSizes,
               served: dict | None = None) -> tuple[Review, list[str]]:
    review = Review(findings=list(findings))
    notes = reconcile(review, [call], sizes, Settings(), hypopg=True, served=served or {})
    return review, notes


def test_a_confirmed_static_finding_carries_the_measurement() -> None:
    call, sizes = _call(after=100.0)
    review, notes = _reconcile([_static()], call, sizes)
    [f] = review.findings
    assert notes == [] and f.source is Source.MEASURED and f.rule == "query/missing-index"
    assert "Measured: on 20k seeded rows of `payouts`, EXPLAIN shows Sort → Seq Scan on payouts (reads 20k rows, " \
        "est. 1,250 match); with @@index([status, createdAt]) as a hypothetical index (HypoPG) it is Index Scan " \
        "using the suggested index on payouts (est. 1,250 rows)" in f.message
    assert "cost 500 → 100 (-80%)" in f.message and f.extra["cost_cut"] == 0.8


def test_a_static_finding_whose_index_barely_helps_is_dropped_with_a_note() -> None:
    call, sizes = _call(after=400.0)
    review, notes = _reconcile([_static()], call, sizes)
    assert review.findings == []
    assert notes == [f"plans: dropped query/missing-index at {PATH}:6: measured on generated rows, "
                     "@@index([status, createdAt]) does not help (it cuts the estimated cost by only 20% "
                     "(threshold 30%))"]


def test_an_unused_index_and_an_existing_one_drop_the_claim() -> None:
    call, sizes = _call(after=100.0, used=False)
    review, notes = _reconcile([_static()], call, sizes)
    assert review.findings == [] and "the planner would not use it" in notes[0]
    call, sizes = _call(after=None)
    served = {("public.payouts", ("status", "createdAt")): "payouts_status_createdAt_idx"}
    review, notes = _reconcile([_static()], call, sizes, served)
    assert review.findings == [] and "already has `payouts_status_createdAt_idx`, which starts with those columns" \
        in notes[0]


def test_a_claim_the_plans_did_not_test_stands() -> None:
    call, sizes = _call(after=None)
    review, notes = _reconcile([_static()], call, sizes)
    assert review.findings == [_static()] and notes == []


def test_a_small_table_drops_the_claim_even_when_the_index_would_be_used() -> None:
    call, _ = _call(after=100.0)
    sizes = TableSizes(seeded={"payouts": 40}, production={"public.payouts": 40})
    review, notes = _reconcile([_static()], call, sizes)
    assert review.findings == [] and "has 40 rows (in dbreview-stats.json)" in notes[0]


def test_llm_index_advice_is_judged_the_same_way() -> None:
    llm = Finding("llm/index", Severity.WARNING, PATH, 7, "Consider `@@index([status, createdAt])` on Payout.",
                  source=Source.LLM)
    call, sizes = _call(after=450.0)
    review, notes = _reconcile([llm], call, sizes)
    assert review.findings == [] and "the AI review's index suggestion" in notes[0]
    other = llm.with_(message="Consider `@@index([vendorId])` on Payout.")
    review, notes = _reconcile([other], call, sizes)
    assert review.findings == [other] and notes == []


def test_measured_finding_needs_a_large_scan_and_a_real_cut() -> None:
    call, sizes = _call(after=100.0)
    [f] = measured_findings([call], sizes, Settings(), hypopg=True, schema_paths={"Payout": "prisma/schema.prisma:3"})
    assert f.rule == "query/measured-seq-scan" and f.source is Source.MEASURED and (f.line, f.end_line) == (6, 10)
    assert "Add `@@index([status, createdAt])` to model `Payout` (prisma/schema.prisma:3)" in f.message
    assert measured_findings([_call(after=400.0)[0]], sizes, Settings(), hypopg=True, schema_paths={}) == []
    small = TableSizes(seeded={"payouts": 5_000})
    assert measured_findings([call], small, Settings(), hypopg=True, schema_paths={}) == []
    # The static finding confirmed for the same call makes the measured one redundant.
    review, _ = _reconcile([_static(), f], call, sizes)
    assert [x.rule for x in review.findings] == ["query/missing-index"]


def test_plan_json_is_read_depth_first() -> None:
    plan = parse_plan([{"Plan": {"Node Type": "Limit", "Total Cost": 5.6, "Plan Rows": 50, "Plans": [
        {"Node Type": "Index Scan", "Relation Name": "products", "Index Name": "<13556>btree_products_createdAt",
         "Total Cost": 2228.3, "Plan Rows": 20000, "Scan Direction": "Backward"}]}}])
    assert plan.total_cost == 5.6 and [n.depth for n in plan.nodes] == [0, 1]
    assert plan_path(plan) == "Limit → Index Scan using the suggested index on products (est. 20k rows)"
    assert plan.uses_index("btree_products_createdAt")


def test_sizing_from_stats_keeps_ratios_and_small_tables() -> None:
    stats = parse_stats('{"tables": {"orders": {"rows": 50000000}, "order_items": {"rows": 150000000}, '
                        '"categories": {"rows": 300}, "audit.events": {"rows": 1000000}}}')
    sizes = sizing(["public.orders", "public.order_items", "public.categories", "public.payouts"], stats, 0,
                   default_rows=20_000, max_rows=200_000)
    assert sizes.rows["public.order_items"] == 200_000 and sizes.rows["public.orders"] == 66_667
    assert sizes.rows["public.categories"] == 300 and sizes.rows["audit.events"] == 1_333
    assert sizes.production["public.orders"] == 50_000_000
    assert sizes.rows["public.payouts"] == 27  # not in the stats: the default, scaled like the rest
    assert any("scaled to 0.13%" in n for n in sizes.notes) and any("public.payouts" in n for n in sizes.notes)
    fixed = sizing(["public.orders"], stats, 5_000, default_rows=20_000, max_rows=200_000)
    assert fixed.rows == {"public.orders": 5_000} and fixed.default == 500
    none = sizing(["public.orders"], None, 0, default_rows=20_000, max_rows=200_000)
    assert none.rows == {"public.orders": 20_000} and none.default == 2_000


def test_candidates_follow_the_static_advisor_order_and_skip_existing_indexes() -> None:
    access = Access("Order", "public.orders", equality=["customerId"], weak=["status"], range=["total"],
                    sort=["createdAt"])
    assert proposed_columns(access) == ["customerId", "status", "total"]
    assert proposed_columns(Access("Order", "public.orders", sort=["createdAt"])) == ["createdAt"]
    existing = [("orders_pkey", ("id",)), ("orders_status_createdAt_idx", ("status", "createdAt"))]
    assert served_by(Candidate("Order", "public.orders", ("status",), ("status",), "plan"), existing) == \
        "orders_status_createdAt_idx"
    assert served_by(Candidate("Order", "public.orders", ("createdAt",), ("createdAt",), "plan"), existing) is None


def test_the_time_budget_stops_planning_and_says_how_much_was_left() -> None:
    call, _ = _call(after=None)
    result = run(explainer=None, lookup=None, workloads=[Workload(call.translation)],  # type: ignore[arg-type]
                 deadline=time.perf_counter() - 1, per_call_budget_s=5)
    assert result.skipped_for_time == 1 and result.calls == []
