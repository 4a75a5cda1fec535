"""Static findings meet measurements (the measurement wins), and size-aware severity from dbreview-stats.json."""

from __future__ import annotations

import json
from collections.abc import Callable

from trace_helpers import MIGRATIONS, requires_pg, scenario_path

from bot.change import MemorySnapshot
from bot.config import parse_config
from bot.findings import Finding, Severity, Source
from bot.registry import RULES
from bot.trace.claims import claim_of
from bot.trace.reconcile import reconcile
from bot.trace.rules import measured_findings
from bot.trace.runner import TraceResult
from bot.trace.stats import Stats, TableStats, adjust_severity, load_stats, parse_stats

Trace = Callable[..., TraceResult]


def _static(rule: str, path: str, line: int, message: str, key: str = "") -> Finding:
    return Finding(rule=rule, severity=Severity.WARNING, path=path, line=line, message=message, key=key)


def test_claims_of_the_migration_analyzer_rules() -> None:
    assert claim_of("migration/column-type-change") == "rewrite"
    assert claim_of("migration/add-column-rewrite") == "rewrite"
    assert claim_of("migration/index-not-concurrent") == "lock"
    assert claim_of("migration/constraint-not-valid") == "lock"
    assert claim_of("migration/add-required-column") == "failure"
    for unrelated in ("migration/drop-column", "migration/rename", "migration/unique-on-existing-data",
                      "migration/measured-rewrite", "prisma/fk-missing-index", "migration/missing-lock-timeout"):
        assert claim_of(unrelated) is None, unrelated


@requires_pg
def test_measurement_withdraws_a_rewrite_claim_it_disproves(scenario: TraceResult) -> None:
    path = scenario_path("widen")  # VARCHAR(50) -> VARCHAR(200)
    static = _static("migration/column-type-change", path, 2, 'Changing "User"."name" rewrites the table.')
    unrelated = _static("migration/rename", path, 2, "unrelated")
    kept, notes = reconcile([static, unrelated, *measured_findings(scenario)], scenario)
    assert static not in kept and unrelated in kept
    assert len(notes) == 1 and "migration/column-type-change" in notes[0] and "relfilenodes unchanged" in notes[0]


@requires_pg
def test_agreeing_claims_keep_one_finding_with_the_evidence(scenario: TraceResult) -> None:
    path = scenario_path("idx")
    measured = [f for f in measured_findings(scenario) if f.path == path]
    assert [f.rule for f in measured] == ["migration/measured-write-lock"]
    static = _static("migration/index-not-concurrent", path, 2, "Use CREATE INDEX CONCURRENTLY.",
                     key="create index Post_authorId_idx on Post")
    kept, notes = reconcile([static, *measured], scenario)
    assert notes == []
    [only] = kept
    assert only.rule == "migration/index-not-concurrent" and only.source is Source.RULE
    assert 'Measured on PostgreSQL: took SHARE on "Post"' in only.message


@requires_pg
def test_a_rewrite_claim_confirmed_keeps_the_static_finding(scenario: TraceResult) -> None:
    path = scenario_path("bigint")
    static = _static("migration/column-type-change", path, 2, "INT -> BIGINT rewrites.")
    kept, _ = reconcile([static, *[f for f in measured_findings(scenario) if f.path == path]], scenario)
    assert [f.rule for f in kept] == ["migration/column-type-change"]
    assert "rewrote table Post" in kept[0].message


@requires_pg
def test_lock_claim_on_a_table_created_by_the_change_is_withdrawn(scenario: TraceResult) -> None:
    static = _static("migration/index-not-concurrent", scenario_path("comment"), 9, "Use CONCURRENTLY.")
    kept, notes = reconcile([static], scenario)
    assert kept == [] and "not in use yet" in notes[0]


@requires_pg
def test_failure_claim_confirmed_by_seeded_rows(failing: TraceResult) -> None:
    path = f"{MIGRATIONS}/20240201000000_slug/migration.sql"
    static = _static("migration/add-required-column", path, 2, "Add a default.")
    kept, notes = reconcile([static, *measured_findings(failing)], failing)
    assert [f.rule for f in kept if f.path == path] == ["migration/add-required-column"] and notes == []
    assert "contains null values" in kept[0].message


def _lock_finding(table: str, rule: str = "migration/measured-write-lock", *, scans: bool = True,
                  statement_ms: float = 5.0) -> Finding:
    return RULES[rule].finding(f"{MIGRATIONS}/x/migration.sql", 1, f'Measured: SHARE on "{table}".',
                               key=f"SHARE {table}: CREATE INDEX …", source=Source.MEASURED,
                               extra={"table": table, "tables": [table], "scans": scans,
                                      "statement_ms": statement_ms})


STATS = Stats({"Post": TableStats(40_000_000, 8 * 1024 ** 3, 12 * 1024 ** 3), "Tag": TableStats(120, 16_384),
               "Order": TableStats(200_000, 90 * 1024 ** 2)})


def test_small_tables_go_down_to_info_and_large_ones_up_to_error() -> None:
    small, large, medium = adjust_severity([_lock_finding("Tag"), _lock_finding("Post"), _lock_finding("Order")],
                                           STATS)
    assert small.severity is Severity.INFO and "~120 rows" in small.message
    assert large.severity is Severity.ERROR and "estimated" in large.message and "blocked writes" in large.message
    assert large.extra["estimated_block_s"] > 60
    assert medium.severity is Severity.WARNING and medium.message == _lock_finding("Order").message
    assert adjust_severity([small, large], STATS) == [small, large]  # idempotent


def test_measured_time_is_extrapolated_from_seeded_rows() -> None:
    [finding] = adjust_severity([_lock_finding("Post", statement_ms=50.0)], STATS, seeded={"Post": 10_000})
    # 50 ms for 10,000 rows -> 40M rows: 200 s
    assert finding.extra["estimated_block_s"] == 200.0 and "~3 min" in finding.message


def test_quick_catalog_locks_and_unrelated_findings_are_left_alone() -> None:
    quick = _lock_finding("Post", "migration/measured-access-exclusive", scans=False)
    other = Finding(rule="migration/drop-column", severity=Severity.ERROR, path="a.sql", line=1,
                    message='Dropping "Post"."title" loses data.', key="drop column Post.title")
    assert adjust_severity([quick, other], STATS) == [quick, other]


def test_static_findings_are_sized_through_their_key() -> None:
    static = Finding(rule="migration/index-not-concurrent", severity=Severity.WARNING, path="a.sql", line=1,
                     message="CREATE INDEX without CONCURRENTLY.", key="create index Post_title_idx on Post")
    [adjusted] = adjust_severity([static], STATS)
    assert adjusted.severity is Severity.ERROR


def test_config_severity_overrides_win() -> None:
    config = parse_config("rules:\n  migration/measured-write-lock: warning\n")
    [finding] = adjust_severity([_lock_finding("Post")], STATS, config)
    assert finding.severity is Severity.WARNING


def test_stats_file_is_read_from_the_snapshot_and_bad_files_are_ignored() -> None:
    data = {"version": 1, "tables": {"public.User": {"rows": 10, "bytes": 8192}, "audit.Event": {"rows": 5}}}
    stats = load_stats(MemorySnapshot({".github/dbreview-stats.json": json.dumps(data)}))
    assert stats is not None and stats.lookup('"User"') == TableStats(10, 8192, 8192)
    assert stats.lookup("audit.Event") is not None and stats.lookup("Event") is None
    assert load_stats(MemorySnapshot({})) is None
    assert parse_stats("{not json") is None and parse_stats('{"tables": []}') is None
    assert adjust_severity([_lock_finding("Post")], None) == [_lock_finding("Post")]
