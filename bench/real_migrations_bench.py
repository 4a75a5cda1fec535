"""Real Prisma migration histories through the whole pipeline, and against squawk.

    python bench/real_migrations_bench.py DIR [--sample N] [--json OUT] [--no-squawk] [--last N]

DIR holds one folder per project, each a Prisma migrations folder (`<timestamp>_<name>/migration.sql`); keep
third-party histories outside the repository. Every file is parsed, then reviewed as its own change (base = the
project's earlier files, head = with it) through `bot.pipeline.review`; the script prints parse errors, internal
errors, findings per rule, error + warning findings per migration (median, p90, share with none), the number of
migrations each rule fires in, and squawk's findings per file and its lock/destructive findings that dbreview also
reports (bench/migration_bench.py's mapping; squawk-cli is installed into the venv on first use).

`--json OUT` writes every finding (migration, rule, severity, line, message) so two runs (before/after a change to
the rules) can be compared finding by finding; `--last N` reviews only each project's newest N migrations (the
whole history is still replayed before them), for a quicker run on long histories.
"""

from __future__ import annotations

import argparse
import collections
import json
import random
import statistics
import sys
import traceback
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

import migration_bench as mb  # noqa: E402

from bot.findings import Finding  # noqa: E402
from bot.pipeline import review  # noqa: E402
from bot.sql.load import parse_migration_text  # noqa: E402
from bot.testing import change_from_trees  # noqa: E402

LOCK = 'provider = "postgresql"\n'


def _share_parses_across_reviews() -> None:
    """Every review replays the project's earlier files, so n reviews parse O(n^2) files. A parse depends only on
    (text, path, provider) and the result is never modified, so the bench keeps one per file across reviews: the
    findings are the same, the run is several times shorter on long histories. (This bench counts findings; times
    come from bench/migration_bench.py, which parses everything.)"""
    import bot.sql.load as load

    original = load.parse_migration_text
    cache: dict[tuple[object, ...], object] = {}

    def cached(text: str, path: str = "migration.sql", provider: str | None = None,  # type: ignore[no-untyped-def]
               **options):
        key = (text, path, provider, *sorted(options.items()))
        if key not in cache:
            cache[key] = original(text, path, provider, **options)
        return cache[key]

    load.parse_migration_text = cached  # type: ignore[assignment]


def review_history(project: Path, last: int = 0
                   ) -> tuple[list[str], list[str], list[str], list[tuple[str, Finding]]]:
    """(migrations reviewed, parse errors, internal errors, (migration, finding) pairs) for one project's folder."""
    tree = {"prisma/migrations/migration_lock.toml": LOCK}
    errors: list[str] = []
    crashes: list[str] = []
    found: list[tuple[str, Finding]] = []
    files = sorted(project.glob("*/migration.sql"))
    reviewed: list[str] = []
    for i, f in enumerate(files):
        text = f.read_text(encoding="utf-8")
        parsed = parse_migration_text(text, str(f))
        if parsed.error:
            errors.append(f"{project.name}/{f.parent.name}:{parsed.error.line} {parsed.error.message}")
        head = dict(tree)
        head[f"prisma/migrations/{f.parent.name}/migration.sql"] = text
        if last and i < len(files) - last:
            tree = head
            continue
        reviewed.append(f"{project.name}/{f.parent.name}")
        try:
            result = review(change_from_trees(tree, head))
        except Exception:  # a crash is what this bench looks for
            crashes.append(f"{project.name}/{f.parent.name}: {traceback.format_exc(limit=3)}")
        else:
            crashes += [f"{project.name}/{f.parent.name}: {n}" for n in result.notes
                        if "internal error" in n or "could not be replayed" in n]
            found += [(f"{project.name}/{f.parent.name}", x) for x in result.findings if x.source.value == "rule"]
        tree = head
    return reviewed, errors, crashes, found


def per_migration(reviewed: list[str], found: list[tuple[str, Finding]]) -> str:
    """Error + warning findings per reviewed migration (each one reviewed as its own change), and rule frequency."""
    counts = collections.Counter(m for m, f in found if f.severity.value in ("error", "warning"))
    values = sorted(counts.get(m, 0) for m in reviewed)
    if not values:
        return "no migration reviewed"
    p90 = values[min(len(values) - 1, int(0.9 * len(values)))]
    quiet = sum(1 for v in values if v == 0) / len(values)
    by_rule = collections.Counter()
    for rule in {(m, f.rule) for m, f in found}:
        by_rule[rule[1]] += 1
    sev = collections.Counter(f.severity.value for _m, f in found)
    return (f"error+warning findings per migration: median {statistics.median(values):g}, p90 {p90}, "
            f"migrations with none {quiet:.1%}; findings by severity {dict(sev)}\n"
            f"migrations each rule fires in (of {len(values)}): {dict(by_rule.most_common())}")


def compare_runs(old: dict, reviewed: list[str], found: list[tuple[str, Finding]]) -> str:  # type: ignore[type-arg]
    """Per rule: findings and error+warning findings before -> after, on the migrations both runs reviewed."""
    both = set(old["migrations"]) & set(reviewed)
    before = [(f["migration"], f["rule"], f["severity"]) for f in old["findings"] if f["migration"] in both]
    after = [(m, f.rule, f.severity.value) for m, f in found if m in both]
    rules = sorted({r for _m, r, _s in before} | {r for _m, r, _s in after})
    lines = [f"\nbefore -> after on {len(both)} migrations (findings; error+warning; migrations fired in):"]
    for rule in rules:
        b = [x for x in before if x[1] == rule]
        a = [x for x in after if x[1] == rule]
        bw = sum(1 for x in b if x[2] != "info")
        aw = sum(1 for x in a if x[2] != "info")
        lines.append(f"  {rule:45} {len(b):4} -> {len(a):4}   {bw:4} -> {aw:4}   "
                     f"{len({x[0] for x in b}):4} -> {len({x[0] for x in a}):4}")
    return "\n".join(lines)


def compare_squawk(projects: list[Path]) -> str:
    exe = mb.ensure_squawk()
    files = sq = sq_tx = checked = 0
    missed: collections.Counter[str] = collections.Counter()
    for project in projects:
        paths = sorted(project.glob("*/migration.sql"))
        _t, ours, _s = mb.run_dbreview(project, set())
        _t, default = mb.run_squawk(exe, paths)
        _t, in_tx = mb.run_squawk(exe, paths, "--assume-in-transaction")
        c, m = mb.coverage(ours, in_tx, set(mb.SQUAWK_TO_OURS))
        files, sq, sq_tx, checked = files + len(paths), sq + len(default), sq_tx + len(in_tx), checked + c
        missed.update(x[0] for x in m)
    return (f"\nsquawk: {sq / max(files, 1):.2f} findings/file (default), {sq_tx / max(files, 1):.2f} "
            f"(--assume-in-transaction); its lock/destructive findings also reported by dbreview: "
            f"{checked - sum(missed.values())}/{checked}; not ours by rule: {dict(missed)}")


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("root", type=Path)
    ap.add_argument("--sample", type=int, default=0, help="print N random findings to hand-check")
    ap.add_argument("--json", type=Path, help="write every finding to this file (to compare two runs)")
    ap.add_argument("--no-squawk", action="store_true", help="skip the squawk comparison")
    ap.add_argument("--last", type=int, default=0, help="review only each project's newest N migrations")
    ap.add_argument("--compare", type=Path, help="a --json file of an earlier run: print what changed per rule")
    args = ap.parse_args()
    _share_parses_across_reviews()
    projects = sorted(p for p in args.root.iterdir() if p.is_dir() and any(p.glob("*/migration.sql")))
    all_reviewed: list[str] = []
    all_found: list[tuple[str, Finding]] = []
    for project in projects:
        reviewed, errors, crashes, found = review_history(project, args.last)
        all_reviewed += reviewed
        all_found += found
        print(f"{project.name:14} files={len(reviewed):4} findings={len(found):4} parse errors={len(errors)} "
              f"internal errors={len(crashes)}", flush=True)
        for line in errors + crashes:
            print("   ", line.splitlines()[0])
    total = len(all_reviewed)
    print(f"\n{len(projects)} projects, {total} files, {len(all_found)} findings "
          f"({len(all_found) / max(total, 1):.2f}/file)")
    print("by rule:", dict(collections.Counter(f.rule for _m, f in all_found).most_common()))
    print(per_migration(all_reviewed, all_found))
    if args.json:
        args.json.write_text(json.dumps({"migrations": all_reviewed, "findings": [
            {"migration": m, "rule": f.rule, "severity": f.severity.value, "line": f.line, "message": f.message}
            for m, f in all_found]}, indent=1), encoding="utf-8")
    if args.compare:
        print(compare_runs(json.loads(args.compare.read_text(encoding="utf-8")), all_reviewed, all_found))
    if not args.no_squawk:
        print(compare_squawk(projects))

    if args.sample:
        rng = random.Random(11)
        for where, f in rng.sample(all_found, min(args.sample, len(all_found))):
            print(f"\n[{f.rule}] {where}:{f.line}\n  {f.message[:400]}")


if __name__ == "__main__":
    main()
