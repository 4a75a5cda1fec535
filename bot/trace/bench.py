"""Figures for the README: how fast the trace applies a real migration history and measures a new migration.

    python -m bot.trace.bench --database-url postgresql://postgres@127.0.0.1:5432/postgres [--corpus ../shared/corpus]

Uses the langfuse history of the shared corpus (read in place): the first 100 migrations, then all of them, each
with one new migration on top (an index on an existing table, measured with and without seeded rows).
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

from bot.config import Config
from bot.testing import change_from_trees
from bot.trace.rules import measured_findings
from bot.trace.runner import trace_change

_PREFIX = "packages/shared/prisma/migrations"
_NEW = {
    100: 'CREATE INDEX "traces_name_idx_bench" ON "traces"("name");\n',
    None: 'CREATE INDEX "projects_name_idx_bench" ON "projects"("name");\n',
}


def _history(corpus: Path, count: int | None) -> dict[str, str]:
    root = corpus / "langfuse" / _PREFIX
    dirs = sorted(p for p in root.iterdir() if p.is_dir())
    dirs = dirs[:count] if count is not None else dirs
    files = {f"{_PREFIX}/{d.name}/migration.sql": (d / "migration.sql").read_text("utf-8") for d in dirs}
    files[f"{_PREFIX}/migration_lock.toml"] = (root / "migration_lock.toml").read_text("utf-8")
    return files


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--database-url", required=True)
    parser.add_argument("--corpus", default=str(Path(__file__).resolve().parents[3] / "shared" / "corpus"))
    args = parser.parse_args()
    for count, rows in ((100, 0), (100, 20_000), (None, 0)):
        base = _history(Path(args.corpus), count)
        head = {**base, f"{_PREFIX}/29990101000000_bench/migration.sql": _NEW[count]}
        started = time.perf_counter()
        result = trace_change(change_from_trees(base, head), Config(), args.database_url, rows=rows)
        total = time.perf_counter() - started
        [stmt] = result.statements()
        lock = next((f"{lk.mode} on {lk.relation}" for lk in stmt.locks if lk.existing and lk.kind == "r"), "-")
        rules = ", ".join(f.rule for f in measured_findings(result)) or "none"
        print(f"langfuse {result.base_migrations:>3} base migrations applied in {result.base_seconds:5.2f} s; "
              f"seeded {rows:>7,} rows; new CREATE INDEX took {stmt.duration_ms:8.1f} ms ({lock}); "
              f"whole trace {total:5.2f} s; findings: {rules}")


if __name__ == "__main__":
    main()
