"""Whole-process speed, side by side with squawk and prisma-lint in one run on the same inputs.

    .venv/bin/python bench/speed_bench.py                 # the table, ratios, and each analyzer at 1x/2x/4x/8x
    .venv/bin/python bench/speed_bench.py --guard         # exit 1 when the typical-PR ratio regressed > 20 %
    .venv/bin/python bench/speed_bench.py --save-baseline # store this run's ratio in bench/speed_baseline.json

The typical PR, read at run time from ../shared/corpus (never copied into the project): langfuse's
`20240408133037_add_objects_for_evals/migration.sql` (20 statements) and langfuse's schema cut to its first 51 models
(fields that point at the other models left out), committed on an empty base. squawk lints the migration,
prisma-lint the schema, `dbreview check --no-llm` reviews both (and everything else it does) from a cold process.

Every command runs as its own process, round-robin (one run of each, N times), so a busy neighbour slows all of them
alike; each figure is the median wall time. The guard compares ratios, never absolute times: this machine is shared.
dbreview runs with its bytecode cache written (as after `pip install`), whatever PYTHONDONTWRITEBYTECODE says.
"""

from __future__ import annotations

import argparse
import gc
import json
import os
import re
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "bench"))

CORPUS_ROOT = ROOT.parent / "shared" / "corpus"  # `--corpus` for a checkout elsewhere (a git worktree)
LANGFUSE_PRISMA = Path("langfuse") / "packages" / "shared" / "prisma"
CORPUS = CORPUS_ROOT / LANGFUSE_PRISMA
MIGRATION = "20240408133037_add_objects_for_evals"
MODELS = 51
BASELINE = ROOT / "bench" / "speed_baseline.json"
GUARD_SLACK = 1.20  # a typical-PR ratio more than 20 % above the stored one fails the guard
BIN = Path(sys.executable).parent
PRISMA_LINT_RULES = {"require-field-index": ["error", {"forAllRelations": True}],
                     "require-default-empty-arrays": ["error"]}
TARGETS = {"typical": 0.3, "nothing": 0.08, "version": 0.08, "sample": 0.3}
RATIO_TARGET = 0.6

_BLOCK = re.compile(r"^(model|enum|view|type|datasource|generator)\s+(\w+)\s*\{.*?^\}", re.M | re.S)


def schema_subset(text: str, models: int) -> str:
    """The schema's first `models` models (and every enum, datasource and generator); a field whose type is one of
    the models left out is left out too, so the result is a valid schema of the same style."""
    blocks = [(m.group(1), m.group(2), m.group(0)) for m in _BLOCK.finditer(text)]
    all_models = {name for kind, name, _ in blocks if kind in ("model", "view", "type")}
    kept = [name for kind, name, _ in blocks if kind in ("model", "view", "type")][:models]
    dropped = all_models - set(kept)
    out: list[str] = []
    for kind, name, body in blocks:
        if kind in ("model", "view", "type") and name not in kept:
            continue
        lines = [line for line in body.splitlines()
                 if not (len(line.split()) >= 2 and line.split()[1].rstrip("?[]") in dropped)]
        out.append("\n".join(lines))
    return "\n\n".join(out) + "\n"


@dataclass
class Workspace:
    typical: Path  # git repo: empty base, then one commit adding the schema and the migration
    nothing: Path  # git repo: one commit changing no database file
    migration: Path  # the migration file inside `typical`, for squawk
    schema: Path  # the schema file inside `typical`, for prisma-lint
    one_model: Path  # a 1-model schema: prisma-lint's start-up
    statements: int
    models: int


def _git(repo: Path, *args: str) -> None:
    subprocess.run(["git", "-C", str(repo), "-c", "user.name=bench", "-c", "user.email=bench@example.com", *args],
                   check=True, capture_output=True)


def _commit_tree(repo: Path, files: dict[str, str], first: dict[str, str]) -> None:
    repo.mkdir(parents=True)
    _git(repo, "init", "-q")
    for rel, text in first.items():
        (repo / rel).parent.mkdir(parents=True, exist_ok=True)
        (repo / rel).write_text(text, "utf-8")
    _git(repo, "add", "-A")
    _git(repo, "commit", "-q", "--allow-empty", "-m", "base")
    for rel, text in files.items():
        (repo / rel).parent.mkdir(parents=True, exist_ok=True)
        (repo / rel).write_text(text, "utf-8")
    _git(repo, "add", "-A")
    _git(repo, "commit", "-q", "-m", "change")


def make_workspace(folder: Path) -> Workspace:
    migration_sql = (CORPUS / "migrations" / MIGRATION / "migration.sql").read_text("utf-8")
    schema = schema_subset((CORPUS / "schema.prisma").read_text("utf-8"), MODELS)
    migration_rel = f"prisma/migrations/{MIGRATION}/migration.sql"
    _commit_tree(folder / "typical", {
        "prisma/schema.prisma": schema,
        migration_rel: migration_sql,
        "prisma/migrations/migration_lock.toml": 'provider = "postgresql"\n',
    }, {})
    _commit_tree(folder / "nothing", {"src/index.js": "console.log('hello')\n", "README.md": "# app\nv2\n"},
                 {"README.md": "# app\n"})
    one = folder / "one.prisma"
    one.write_text('datasource db {\n  provider = "postgresql"\n  url      = env("DATABASE_URL")\n}\n\n'
                   "model User {\n  id String @id\n}\n", "utf-8")
    statements = sum(1 for s in migration_sql.split(";") if re.sub(r"--[^\n]*", "", s).strip())
    return Workspace(folder / "typical", folder / "nothing", folder / "typical" / migration_rel,
                     folder / "typical" / "prisma" / "schema.prisma", one, statements,
                     len(re.findall(r"^model\s", schema, re.M)))


def _prisma_lint_config(folder: Path) -> Path:
    config = folder / "prismalintrc.json"
    config.write_text(json.dumps({"rules": PRISMA_LINT_RULES}), "utf-8")
    return config


def commands(ws: Workspace, folder: Path) -> dict[str, list[str]]:
    from prisma_lint_compare import PRISMA_LINT

    dbreview = str(BIN / "dbreview")
    lint_config = str(_prisma_lint_config(folder))
    review = ["check", "--base", "HEAD~1", "--head", "HEAD", "--no-llm", "--fail-on", "never"]
    return {
        "squawk": [str(BIN / "squawk"), "--reporter", "json", str(ws.migration)],
        "prisma-lint": [str(PRISMA_LINT), "-c", lint_config, "-o", "json", str(ws.schema)],
        "prisma-lint-1": [str(PRISMA_LINT), "-c", lint_config, "-o", "json", str(ws.one_model)],
        "typical": [dbreview, *review, "--repo", str(ws.typical)],
        "nothing": [dbreview, *review, "--repo", str(ws.nothing)],
        "version": [dbreview, "--version"],
        "sample": [dbreview, "check", "--repo", str(ROOT / "examples" / "marketplace"), "--diff",
                   str(ROOT / "examples" / "vendor-payouts.patch"), "--no-llm", "--fail-on", "never"],
    }


def _env() -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONDONTWRITEBYTECODE", "ANTHROPIC_API_KEY")}
    env["NO_COLOR"] = "1"
    return env


@dataclass
class Timing:
    wall: float  # seconds, median
    cpu: float  # user + system seconds of the process and the processes it waited for (git), median


def run_once(argv: Sequence[str]) -> tuple[float, float]:
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    started = time.perf_counter()
    proc = subprocess.run(argv, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, env=_env(), timeout=300)
    elapsed = time.perf_counter() - started
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    if proc.returncode not in (0, 1):
        raise SystemExit(f"{argv[0]} failed ({proc.returncode}): {proc.stderr.decode(errors='replace')[-500:]}")
    return elapsed, (after.ru_utime + after.ru_stime) - (before.ru_utime + before.ru_stime)


def measure(cmds: dict[str, list[str]], runs: int) -> tuple[dict[str, Timing], float]:
    """Median timings per command, and the median over rounds of the typical-PR ratio (each round runs every
    command once, back to back, so the three tools of one ratio share the machine's load of that moment)."""
    for argv in cmds.values():  # warm-up: bytecode written, files in the page cache
        run_once(argv)
    samples: dict[str, list[tuple[float, float]]] = {name: [] for name in cmds}
    ratios: list[float] = []
    for _ in range(runs):
        for name, argv in cmds.items():
            samples[name].append(run_once(argv))
        ratios.append(samples["typical"][-1][0] / (samples["squawk"][-1][0] + samples["prisma-lint"][-1][0]))
    timings = {name: Timing(statistics.median(w for w, _ in values), statistics.median(c for _, c in values))
               for name, values in samples.items()}
    return timings, statistics.median(ratios)


def print_table(times: dict[str, Timing], ratio: float, ws: Workspace, runs: int, load_before: str) -> None:
    load = " / ".join(f"{x:.2f}" for x in os.getloadavg())
    print(f"median of {runs} runs, whole process; load average (1/5/15 min) {load_before} before, {load} after, "
          f"{os.cpu_count()} CPUs")
    print(f"  {'':<55} {'wall':>8}    {'CPU':>8}")
    rows = [
        ("squawk", f"squawk (the {ws.statements}-statement migration)", None),
        ("prisma-lint", f"prisma-lint (the {ws.models}-model schema)", None),
        ("prisma-lint-1", "prisma-lint (a 1-model schema: node start-up)", None),
        ("typical", "dbreview check (both, committed on an empty base)", TARGETS["typical"]),
        ("nothing", "dbreview check (a change without database files)", TARGETS["nothing"]),
        ("version", "dbreview --version", TARGETS["version"]),
        ("sample", "dbreview check on the sample change", TARGETS["sample"]),
    ]
    for name, label, target in rows:
        t = times[name]
        verdict = "" if target is None else ("  ok" if t.wall < target else f"  OVER {target * 1000:.0f} ms")
        print(f"  {label:<55} {t.wall * 1000:8.1f} ms {t.cpu * 1000:8.1f} ms{verdict}")
    verdict = "ok" if ratio <= RATIO_TARGET else f"OVER {RATIO_TARGET}"
    print(f"  ratio dbreview / (squawk + prisma-lint) on the typical PR, wall (median of the rounds' ratios): "
          f"{ratio:.2f} ({verdict})")
    print(f"  ratio dbreview / prisma-lint alone, wall: {times['typical'].wall / times['prisma-lint'].wall:.2f}")
    # CPU time counts only the work of each process, not the time it waited for a core: on a shared machine it is
    # closer to what a quiet one shows than the wall time is (node's CPU adds up its threads).


def scaling(factors: tuple[int, ...] = (1, 2, 4, 8)) -> None:
    """Each analyzer's time through the review pipeline at 1x..8x input (bench/scaling_bench.py's inputs, smaller
    1x sizes so the whole table takes seconds), and whether it grows linearly."""
    from scaling_bench import CONFIG, migration_trees, query_trees, schema_trees

    from bot.pipeline import review
    from bot.testing import change_from_trees

    # CPU time of this process (the analyzers' threads included), not wall time: on a shared machine the wall time
    # of one size can double when a neighbour starts, which says nothing about how the work grows.
    print("each analyzer through the review pipeline: CPU time, best of 3 (in-process, no LLM)")
    inputs: list[tuple[str, str, int, Callable[[int], tuple[dict[str, str], dict[str, str]]]]] = [
        ("migration", "statements", 400, migration_trees),
        ("schema", "models", 100, schema_trees),
        ("query", "files", 10, query_trees),
    ]
    for name, unit, base_size, build in inputs:
        times: list[float] = []
        for factor in factors:
            base, head = build(base_size * factor)
            best = float("inf")
            for _ in range(3):
                change = change_from_trees(base, head)
                gc.collect()  # the previous run's garbage is not this run's cost
                started = time.process_time()
                review(change, CONFIG)
                best = min(best, time.process_time() - started)
            times.append(best)
        growth = times[-1] / (factors[-1] / factors[0] * times[0])
        shown = "  ".join(f"{f}x {t * 1000:7.1f} ms" for f, t in zip(factors, times, strict=True))
        # Fixed costs (imports, the schema of the query inputs) make small inputs look slower per unit: a ratio
        # to linear under 1.5 is linear growth; above it something grows faster than the input.
        verdict = "linear" if growth <= 1.5 else "FASTER THAN LINEAR"
        print(f"  {name:<9} ({base_size} {unit} at 1x)  {shown}  8x/(8 x 1x) = {growth:.2f} {verdict}")


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=11)
    parser.add_argument("--guard", action="store_true", help="exit 1 when the typical-PR ratio regressed > 20 %%")
    parser.add_argument("--save-baseline", action="store_true", help=f"write this run's ratio to {BASELINE.name}")
    parser.add_argument("--no-scaling", action="store_true", help="skip the 1x/2x/4x/8x table")
    parser.add_argument("--corpus", type=Path, default=CORPUS_ROOT,
                        help=f"the shared corpus folder (default {CORPUS_ROOT})")
    args = parser.parse_args(argv)
    global CORPUS
    CORPUS = args.corpus / LANGFUSE_PRISMA
    from migration_bench import ensure_squawk
    from prisma_lint_compare import ensure_prisma_lint

    ensure_squawk()
    ensure_prisma_lint()
    folder = Path(tempfile.mkdtemp(prefix="dbreview-speed-"))
    load_before = " / ".join(f"{x:.2f}" for x in os.getloadavg())
    try:
        ws = make_workspace(folder)
        times, ratio = measure(commands(ws, folder), args.runs)
    finally:
        shutil.rmtree(folder, ignore_errors=True)
    print_table(times, ratio, ws, args.runs, load_before)
    if args.save_baseline:
        BASELINE.write_text(json.dumps({"typical_ratio": round(ratio, 3), "runs": args.runs,
                                        "load_average": load_before,
                                        "wall_ms": {k: round(v.wall * 1000, 1) for k, v in times.items()},
                                        "cpu_ms": {k: round(v.cpu * 1000, 1) for k, v in times.items()}},
                                       indent=2) + "\n", "utf-8")
        print(f"baseline written to {BASELINE.relative_to(ROOT)}")
    if not args.no_scaling and not args.guard:
        scaling()
    if args.guard:
        baseline = json.loads(BASELINE.read_text("utf-8"))["typical_ratio"]
        limit = baseline * GUARD_SLACK
        if ratio > limit:
            print(f"GUARD FAILED: typical-PR ratio {ratio:.2f} > {limit:.2f} (baseline {baseline:.2f} + 20 %)",
                  file=sys.stderr)
            return 1
        print(f"guard ok: typical-PR ratio {ratio:.2f} <= {limit:.2f} (baseline {baseline:.2f} + 20 %)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
