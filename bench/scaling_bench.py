"""How each analyzer's time grows with its input: 1x, 2x, 4x, 8x, through the whole review pipeline.

    .venv/bin/python bench/scaling_bench.py [--base-migration 3250] [--base-models 625] [--base-files 50]
    .venv/bin/python bench/scaling_bench.py --targets     # the issue #12 targets only: 2 MB migration, 5,000 models

Each input is reviewed as a real change would be (`bot.pipeline.review` on a change built from two trees, no LLM):
- migration: one new migration.sql with N statements (`ADD COLUMN ... NOT NULL` and `CREATE INDEX` on tables an
  earlier migration created, so every lock rule runs);
- schema: a new schema of N models (bench/schema_bench.py's generator);
- query: N new TypeScript files that call Prisma Client (bench/query_bench.py's generator).
It prints the wall time per size, the time per unit, and the ratio of the 8x time to 8 x the 1x time (1.0 is
linear; above ~1.5 something grows faster than the input). Best of `--repeat` runs; the machine is shared, so read
ratios, not absolute numbers.
"""

from __future__ import annotations

import argparse
import gc
import sys
import time
from collections.abc import Callable
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

from bot.config import parse_config  # noqa: E402
from bot.pipeline import review  # noqa: E402
from bot.testing import change_from_trees  # noqa: E402

LOCK = 'provider = "postgresql"\n'
TABLES = int(__import__("os").environ.get("SCALING_TABLES", "50"))
SCHEMA_HEADER = 'datasource db {\n  provider = "postgresql"\n  url      = env("DATABASE_URL")\n}\n'
# Time limits high enough that the bench measures the analyzers, not the deadline.
CONFIG = parse_config("limits:\n  review_seconds: 3600\n  migration_bytes: 100000000\n  query_bytes: 100000000\n")


def migration_trees(statements: int) -> tuple[dict[str, str], dict[str, str]]:
    init = "".join(f'CREATE TABLE "T{t}" ("id" TEXT NOT NULL, CONSTRAINT "T{t}_pkey" PRIMARY KEY ("id"));\n'
                   for t in range(TABLES))
    schema = SCHEMA_HEADER + "".join(f"model T{t} {{\n  id String @id\n}}\n" for t in range(TABLES))
    base = {"prisma/schema.prisma": schema, "prisma/migrations/migration_lock.toml": LOCK,
            "prisma/migrations/20240101000000_init/migration.sql": init}
    lines = []
    for i in range(statements):
        table = f"T{i % TABLES}"
        if i % 2 == 0:
            lines.append(f'ALTER TABLE "{table}" ADD COLUMN "c{i}" TEXT NOT NULL;\n')
        else:
            lines.append(f'CREATE INDEX "{table}_c{i - 1}_idx" ON "{table}"("c{i - 1}");\n')
    head = {**base, "prisma/migrations/20240201000000_big/migration.sql": "".join(lines)}
    return base, head


def schema_trees(models: int) -> tuple[dict[str, str], dict[str, str]]:
    from schema_bench import generate_schema

    return {}, {"prisma/schema.prisma": generate_schema(models)}


def query_trees(files: int) -> tuple[dict[str, str], dict[str, str]]:
    import random

    import query_bench

    rnd = random.Random(7)
    base = {"prisma/schema.prisma": query_bench.SCHEMA}
    return base, {**base, **dict(query_bench.make_file(rnd, n) for n in range(files))}


def best_of(repeat: int, fn: Callable[[], object]) -> float:
    """Best wall time of `repeat` runs, each with the collector set up as `dbreview check` sets it (what is loaded
    frozen, no cycle collection during the review), so the figures are the command's."""
    best = float("inf")
    for _ in range(repeat):
        gc.collect()
        gc.freeze()
        gc.disable()
        try:
            started = time.perf_counter()
            fn()
            best = min(best, time.perf_counter() - started)
        finally:
            gc.enable()
            gc.unfreeze()
    return best


def scale(name: str, unit: str, base_size: int, build: Callable[[int], tuple[dict[str, str], dict[str, str]]],
          repeat: int, factors: tuple[int, ...] = (1, 2, 4, 8)) -> None:
    times: list[float] = []
    for factor in factors:
        size = base_size * factor
        base, head = build(size)
        megabytes = sum(len(t) for p, t in head.items() if base.get(p) != t) / 1e6
        seconds = best_of(repeat, lambda base=base, head=head: review(change_from_trees(base, head), CONFIG))
        times.append(seconds)
        print(f"  {name:<9} {factor}x {size:>7} {unit:<10} {megabytes:6.2f} MB  {seconds:7.3f} s  "
              f"{seconds / size * 1e6:8.1f} us/{unit.rstrip('s')}")
    print(f"  {name:<9} growth 8x/1x = {times[-1] / times[0]:.1f} (linear: 8.0; ratio to linear "
          f"{times[-1] / (8 * times[0]):.2f})")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--base-migration", type=int, default=3250, help="statements at 1x (8x = 26,000)")
    parser.add_argument("--base-models", type=int, default=625, help="models at 1x (8x = 5,000)")
    parser.add_argument("--base-files", type=int, default=25, help="query files at 1x")
    parser.add_argument("--repeat", type=int, default=1)
    parser.add_argument("--targets", action="store_true", help="only the 2 MB migration and the 5,000-model schema")
    parser.add_argument("--only", choices=("migration", "schema", "query"), default=None)
    args = parser.parse_args()
    if args.targets:
        for name, build, size, target in (("migration", migration_trees, 39_000, 5.0),
                                          ("schema", schema_trees, 5_000, 3.0)):
            base, head = build(size)
            megabytes = sum(len(t) for p, t in head.items() if base.get(p) != t) / 1e6
            cpu_before = time.process_time()
            seconds = best_of(args.repeat, lambda base=base, head=head: review(change_from_trees(base, head), CONFIG))
            cpu = (time.process_time() - cpu_before) / args.repeat
            verdict = "ok" if seconds < target else "OVER TARGET"
            print(f"{name}: {size} units, {megabytes:.2f} MB: {seconds:.2f} s wall, {cpu:.2f} s CPU per run "
                  f"(target < {target:g} s) {verdict}")
        return
    print("time per analyzer at 1x, 2x, 4x, 8x input (whole review pipeline, no LLM)")
    if args.only in (None, "migration"):
        scale("migration", "statements", args.base_migration, migration_trees, args.repeat)
    if args.only in (None, "schema"):
        scale("schema", "models", args.base_models, schema_trees, args.repeat)
    if args.only in (None, "query"):
        scale("query", "files", args.base_files, query_trees, args.repeat)


if __name__ == "__main__":
    main()
