"""Size-aware severity: table sizes from production (no data) decide how much a lock or a rewrite matters.

`dbreview stats --database-url URL` (run against a production replica) writes dbreview-stats.json:

    {"version": 1, "generated_at": "...", "server_version": 150020,
     "tables": {"User": {"rows": 1200000, "bytes": 412000000, "total_bytes": 655000000}, "audit.Event": {...}}}

Names are as PostgreSQL spells them, schema-qualified outside `public`. Only catalog estimates are read
(pg_class.reltuples, pg_total_relation_size): no row is ever selected.

`adjust_severity(findings, stats)` then moves lock and rewrite findings: on a small table down to info, on a
large one up to error with an estimate of how long writes (or reads and writes) would be blocked.
"""

from __future__ import annotations

import datetime as dt
import json
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from bot.findings import Finding, Severity, Source

if TYPE_CHECKING:
    from bot.change import Snapshot
    from bot.config import Config

STATS_PATHS = ("dbreview-stats.json", ".github/dbreview-stats.json", "prisma/dbreview-stats.json")

SMALL_ROWS = 10_000
SMALL_BYTES = 64 * 1024 * 1024
LARGE_ROWS = 1_000_000
LARGE_BYTES = 1024 * 1024 * 1024
# Rough single-core throughputs for the work a blocked table waits on (PostgreSQL 15 on cloud SSD storage).
_BYTES_PER_S = {"rewrite": 40 * 1024 * 1024, "build": 60 * 1024 * 1024, "scan": 150 * 1024 * 1024}

_STATS_QUERY = """
SELECT n.nspname, c.relname, c.reltuples::bigint, pg_relation_size(c.oid), pg_total_relation_size(c.oid),
       s.n_live_tup
FROM pg_class c
JOIN pg_namespace n ON n.oid = c.relnamespace
LEFT JOIN pg_stat_user_tables s ON s.relid = c.oid
WHERE c.relkind IN ('r', 'p', 'm') AND n.nspname NOT IN ('pg_catalog', 'information_schema')
  AND n.nspname NOT LIKE 'pg_toast%' AND n.nspname NOT LIKE 'pg_temp%'
ORDER BY 1, 2
"""


@dataclass(frozen=True)
class TableStats:
    """One table's size on production (catalog estimates, no data)."""

    rows: int
    bytes: int
    total_bytes: int = 0


@dataclass
class Stats:
    """dbreview-stats.json: table sizes, for size-aware severity."""

    tables: dict[str, TableStats] = field(default_factory=dict)
    generated_at: str = ""
    source: str = "dbreview-stats.json"

    def lookup(self, name: str) -> TableStats | None:
        key = _normalise(name)
        return self.tables.get(key) or self.tables.get(key.removeprefix("public."))


def _normalise(name: str) -> str:
    return name.replace('"', "").strip().removeprefix("public.")


def human_bytes(n: int) -> str:
    size = float(n)
    for unit in ("B", "kB", "MB", "GB", "TB"):
        if size < 1024 or unit == "TB":
            return f"{size:.0f} {unit}" if unit == "B" else f"{size:.1f} {unit}"
        size /= 1024
    return f"{n} B"


def human_seconds(s: float) -> str:
    if s < 1:
        return "under a second"
    if s < 90:
        return f"~{s:.0f} s"
    if s < 5400:
        return f"~{s / 60:.0f} min"
    return f"~{s / 3600:.1f} h"


# -- collecting ---------------------------------------------------------------------------------------------------


def collect_stats(database_url: str) -> dict[str, Any]:
    """Sizes of every table of the database at `database_url`, read-only, from catalog estimates."""
    from bot.trace.tempdb import connect

    conn = connect(database_url)
    try:
        conn.execute("SET default_transaction_read_only = on")
        tables: dict[str, dict[str, int]] = {}
        for schema, name, reltuples, rel_bytes, total_bytes, live in conn.execute(_STATS_QUERY).fetchall():
            rows = int(reltuples) if reltuples is not None and reltuples >= 0 else int(live or 0)
            key = name if schema == "public" else f"{schema}.{name}"
            tables[key] = {"rows": rows, "bytes": int(rel_bytes), "total_bytes": int(total_bytes)}
        return {
            "version": 1,
            "generated_at": dt.datetime.now(dt.UTC).replace(microsecond=0).isoformat(),
            "server_version": int(conn.info.server_version),
            "tables": tables,
        }
    finally:
        conn.close()


# -- loading ------------------------------------------------------------------------------------------------------


def parse_stats(text: str, source: str = "dbreview-stats.json") -> Stats | None:
    try:
        data = json.loads(text)
    except (json.JSONDecodeError, ValueError):
        return None
    if not isinstance(data, dict) or not isinstance(data.get("tables"), dict):
        return None
    tables: dict[str, TableStats] = {}
    for name, entry in data["tables"].items():
        if not isinstance(entry, dict):
            continue
        try:
            tables[_normalise(str(name))] = TableStats(int(entry.get("rows", 0)), int(entry.get("bytes", 0)),
                                                       int(entry.get("total_bytes", entry.get("bytes", 0))))
        except (TypeError, ValueError):
            continue
    return Stats(tables, str(data.get("generated_at", "")), source)


def load_stats(snapshot: Snapshot | Path | None) -> Stats | None:
    """The repository's dbreview-stats.json (root, .github/ or prisma/), or None when there is none or it is
    not valid. `snapshot` is a Change snapshot (read the base branch's copy) or a directory."""
    if snapshot is None:
        return None
    for rel in STATS_PATHS:
        if isinstance(snapshot, Path):
            path = snapshot / rel
            text = path.read_text("utf-8", errors="replace") if path.is_file() else None
        else:
            data = snapshot.read_bytes(rel)
            text = data.decode("utf-8", "replace") if data is not None else None
        if text is not None:
            return parse_stats(text, rel)
    return None


# -- adjusting ----------------------------------------------------------------------------------------------------

_QUOTED = re.compile(r'"([^"]+)"(?:\s*\.\s*"([^"]+)")?')


def work_of(finding: Finding) -> str | None:
    """What the blocked table waits for: "rewrite", "build", "scan"; None for findings that are not about locks
    or rewrites, or for quick catalog-only locks (their cost does not grow with the table)."""
    from bot.trace.claims import claim_of
    from bot.trace.rules import ACCESS_EXCLUSIVE, REWRITE, WRITE_LOCK

    if finding.source is Source.LLM:
        return None
    if finding.rule == REWRITE.id:
        return "rewrite"
    if finding.rule in (ACCESS_EXCLUSIVE.id, WRITE_LOCK.id):
        if not finding.extra.get("scans"):
            return None
        return "build" if "INDEX" in finding.key.upper() else "scan"
    claim = claim_of(finding.rule)
    if claim == "rewrite":
        return "rewrite"
    if claim == "lock":
        return "build" if "index" in finding.rule else "scan"
    return None


def table_names(finding: Finding) -> list[str]:
    """The tables a lock or rewrite finding is about, as the SQL names them (candidates: some may not exist)."""
    names: list[str] = []
    for key in ("tables", "table", "relation"):
        value = finding.extra.get(key)
        if isinstance(value, str):
            names.append(value)
        elif isinstance(value, (list, tuple)):
            names.extend(str(v) for v in value)
    if not names and finding.key:
        # Static migration rules key findings as "<verb> <table>.<column>" or "<verb> <name> on <table>".
        token = finding.key.rsplit(" on ", 1)[1] if " on " in finding.key else finding.key.split()[-1]
        names.extend([token, token.rsplit(".", 1)[0]] if "." in token else [token])
    return names


def _tables_of(finding: Finding, stats: Stats) -> list[tuple[str, TableStats]]:
    names = table_names(finding)
    if not any(stats.lookup(n) for n in names):
        for match in _QUOTED.finditer(finding.message):
            names.append(f"{match.group(1)}.{match.group(2)}" if match.group(2) else match.group(1))
    found: dict[str, TableStats] = {}
    for name in names:
        entry = stats.lookup(name)
        if entry is not None:
            found[_normalise(name)] = entry
    return list(found.items())


def estimate_seconds(finding: Finding, work: str, table: TableStats, seeded_rows: int | None = None) -> float:
    """Blocking time: extrapolated from the measured time when the trace seeded rows, else from the size."""
    measured_ms = finding.extra.get("statement_ms")
    if seeded_rows and isinstance(measured_ms, (int, float)) and measured_ms > 0 and table.rows > 0:
        return float(measured_ms) / 1000 * table.rows / seeded_rows
    size = table.total_bytes if work == "rewrite" else table.bytes
    return size / _BYTES_PER_S[work]


def adjust_severity(findings: list[Finding], stats: Stats | None, config: Config | None = None, *,
                    seeded: dict[str, int] | None = None) -> list[Finding]:
    """Lock and rewrite findings re-graded by table size; everything else unchanged.

    A severity the repo config sets explicitly for a rule is left alone. `seeded` ({table: rows}) comes from a
    trace run with --rows, so measured times can be extrapolated to production row counts.
    """
    if stats is None or not stats.tables:
        return list(findings)
    out: list[Finding] = []
    for f in findings:
        work = work_of(f)
        tables = _tables_of(f, stats) if work else []
        already = "table_rows" in f.extra  # adjusted once already (the pipeline and the trace may both call this)
        if already or not work or not tables or (config is not None and config.has_severity_override(f.rule)):
            out.append(f)
            continue
        name, table = max(tables, key=lambda item: (item[1].total_bytes, item[1].rows))
        size = f'"{name}" has ~{table.rows:,} rows ({human_bytes(table.total_bytes or table.bytes)}) in {stats.source}'
        if table.rows < SMALL_ROWS and (table.total_bytes or table.bytes) < SMALL_BYTES:
            out.append(f.with_(severity=Severity.INFO, message=f"{f.message} Size-aware: {size}, so the lock is "
                               f"brief there.", extra={**f.extra, "table_rows": table.rows}))
        elif table.rows >= LARGE_ROWS or (table.total_bytes or table.bytes) >= LARGE_BYTES:
            seconds = estimate_seconds(f, work, table, (seeded or {}).get(name))
            blocked = "reads and writes" if work == "rewrite" or "ACCESS EXCLUSIVE" in f.message else "writes"
            out.append(f.with_(severity=Severity.ERROR, message=f"{f.message} Size-aware: {size}; estimated "
                               f"{human_seconds(seconds)} of blocked {blocked} in production.",
                               extra={**f.extra, "table_rows": table.rows, "estimated_block_s": round(seconds, 1)}))
        else:
            out.append(f)
    return out
