"""Figures for the README: measured query plans on the sample change and on real apps' Prisma queries.

    python bench/plans_bench.py --database-url postgresql://postgres@127.0.0.1:5432/postgres [--apps linkwarden umami]

For each target it reviews a change with the plan step (scratch database with the app's own migrations, seeded rows,
EXPLAIN, candidate indexes) and prints how many Prisma calls were translated, planned and validated, the cost cuts of
the validated indexes, what happened to the static `query/missing-index` advice, and the time spent.

Targets: the sample change (examples/marketplace + examples/vendor-payouts.patch), with HypoPG and with the
real-index fallback; real apps fetched as bare mirrors under /work/.mirror (read in place, never copied into the
project): their schema and migrations form the base, and the change adds every TS file under the app's source
folders that calls `prisma.<model>.<read>` (so every such call is "new" and gets measured).
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bot.change import Change  # noqa: E402
from bot.config import Config  # noqa: E402
from bot.findings import Source  # noqa: E402
from bot.gitrepo import diff_file_change  # noqa: E402
from bot.pipeline import review  # noqa: E402
from bot.plans.analyzer import PlanAnalyzer  # noqa: E402
from bot.testing import change_from_trees  # noqa: E402

MIRRORS = Path("/work/.mirror")
# app -> (mirror folder, schema path, migrations folder, folders whose TS files hold the queries)
APPS = {
    "linkwarden": ("linkwarden+linkwarden", "packages/prisma/schema.prisma", "packages/prisma/migrations",
                   ("apps/web/lib/api", "apps/web/pages/api", "apps/worker")),
    "umami": ("umami-software+umami", "prisma/schema.prisma", "prisma/migrations",
              ("src/queries/prisma", "src/app/api")),
    "rallly": ("lukevella+rallly", "packages/database/prisma/schema.prisma", "packages/database/prisma/migrations",
               ("apps/web/src",)),
}
_READS = ("findMany", "findFirst", "findUnique", "count(", "aggregate", "groupBy", "updateMany", "deleteMany")


def _git(git_dir: Path, *args: str) -> str:
    return subprocess.run(["git", f"--git-dir={git_dir}", *args], check=True, capture_output=True,
                          text=True).stdout


def app_change(name: str) -> tuple[Change, str]:
    mirror, schema, migrations, sources = APPS[name]
    git_dir = MIRRORS / mirror / "repo"
    if not git_dir.is_dir():
        git_dir = MIRRORS / mirror
    commit = _git(git_dir, "rev-parse", "HEAD").strip()
    files = _git(git_dir, "ls-tree", "-r", "--name-only", "HEAD").splitlines()

    def read(path: str) -> str:
        return _git(git_dir, "show", f"HEAD:{path}")

    base = {schema: read(schema)}
    for path in files:
        if path.startswith(migrations + "/") and (path.endswith("/migration.sql") or path.endswith(".toml")):
            base[path] = read(path)
    head = dict(base)
    for path in files:
        if path.endswith((".ts", ".tsx")) and not path.endswith(".d.ts") and path.startswith(sources):
            text = read(path)
            if "prisma." in text and any(op in text for op in _READS):
                head[path] = text
    return change_from_trees(base, head), f"{mirror.replace('+', '/')}@{commit[:10]}"


def sample_change() -> Change:
    return diff_file_change(ROOT / "examples/marketplace", (ROOT / "examples/vendor-payouts.patch").read_text(), None)


def _pct(values: list[float], q: float) -> float:
    if not values:
        return 0.0
    values = sorted(values)
    return values[min(len(values) - 1, int(q * len(values)))]


def measure(label: str, change: Change, url: str, *, hypopg: bool, rows: int) -> None:
    planner = PlanAnalyzer(url, rows, use_hypopg=hypopg)
    started = time.perf_counter()
    result = review(change, Config(), extra_analyzers=[("plans", planner)])
    planner.finish(result)
    total = time.perf_counter() - started
    plans = planner.result
    if plans is None:
        print(f"{label}: plans not run: {planner.error}")
        return
    calls = {(c.call.path, c.call.line) for c in plans.calls} | {(u.call.path, u.call.line) for u in plans.untranslated}
    measured = [m for c in plans.calls for m in c.statements]
    planned = [m for m in measured if m.plan is not None]
    trials = [t for m in planned for t in m.trials if t.plan is not None]
    validated = [(m, m.best()) for m in planned if m.best() is not None
                 and m.best().cut(m.plan) >= planner.settings.min_cost_cut]  # type: ignore[union-attr,arg-type]
    cuts = [b.cut(m.plan) for m, b in validated]  # type: ignore[union-attr,arg-type]
    reasons = Counter(u.reason.split(" (")[0] for u in plans.untranslated)
    confirmed = [f for f in result.findings if f.rule == "query/missing-index" and f.source is Source.MEASURED]
    static_left = [f for f in result.findings if f.rule == "query/missing-index" and f.source is Source.RULE]
    dropped = [n for n in result.notes if n.startswith("plans: dropped")]
    seq = [f for f in result.findings if f.rule == "query/measured-seq-scan"]
    statement_ms = [m.elapsed_ms for m in planned]
    median_ms = statistics.median(statement_ms) if statement_ms else 0.0
    print(f"== {label} ({'HypoPG' if plans.hypopg else 'real-index fallback'})")
    print(f"   calls added/edited: {len(calls)}; translated {plans.translated}, not translated "
          f"{len(plans.untranslated)}; statements {len(measured)}, planned {len(planned)}, EXPLAIN errors "
          f"{len(measured) - len(planned)}")
    if reasons:
        print("   not translated: " + "; ".join(f"{n} x {r}" for r, n in reasons.most_common(4)))
    print(f"   candidate indexes tried {len(trials)}; statements with a validated index {len(validated)}"
          + (f" (cost cut median {statistics.median(cuts):.0%}, min {min(cuts):.0%}, max {max(cuts):.0%})"
             if cuts else ""))
    print(f"   static query/missing-index: {len(confirmed)} confirmed, {len(dropped)} dropped, {len(static_left)} "
          f"not measured; query/measured-seq-scan: {len(seq)}")
    print(f"   seeded {sum(plans.sizes.seeded.values()):,} rows in {len(plans.sizes.seeded)} tables; scratch database "
          f"{plans.setup_s:.1f} s; per statement (EXPLAIN + candidates) median {median_ms:.0f} ms, "
          f"p90 {_pct(statement_ms, 0.9):.0f} ms; whole review {total:.1f} s")
    for m, b in validated[:8]:
        assert b is not None and m.plan is not None and b.plan is not None
        print(f"     {m.statement.label}: {b.candidate.prisma} cost {m.plan.total_cost:,.1f} -> "
              f"{b.plan.total_cost:,.1f} (-{b.cut(m.plan):.0%})")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--database-url", required=True)
    parser.add_argument("--apps", nargs="*", default=["linkwarden"], choices=sorted(APPS))
    parser.add_argument("--rows", type=int, default=0, help="rows per table read (default: plans.default_rows)")
    args = parser.parse_args()
    measure("sample change", sample_change(), args.database_url, hypopg=True, rows=args.rows)
    measure("sample change", sample_change(), args.database_url, hypopg=False, rows=args.rows)
    for name in args.apps:
        change, where = app_change(name)
        measure(f"{name} ({where})", change, args.database_url, hypopg=True, rows=args.rows)


if __name__ == "__main__":
    main()
