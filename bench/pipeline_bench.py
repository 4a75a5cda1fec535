"""End-to-end review time: the sample change, and the shared corpus replayed as pull requests.

    python bench/pipeline_bench.py

For each corpus app, three changes are reviewed with the full deterministic pipeline (no LLM):
  - "last migration": the base lacks the newest migration directory (a typical PR);
  - "last 20 migrations": a long-lived branch;
  - "whole history": every migration and the schema added at once (the worst case).
Prints wall time (best of 3) and the number of findings by surface.
"""

from __future__ import annotations

import time
from collections import Counter
from pathlib import Path

from bot.config import Config
from bot.gitrepo import diff_file_change
from bot.pipeline import review
from bot.testing import change_from_trees

ROOT = Path(__file__).resolve().parents[1]
CORPUS = ROOT.parent / "shared" / "corpus"


def load_tree(app: Path) -> dict[str, str]:
    tree: dict[str, str] = {}
    for path in app.rglob("*"):
        if path.is_file() and path.name != "LICENSE":
            tree[str(path.relative_to(app))] = path.read_text(encoding="utf-8", errors="replace")
    return tree


def without_last(tree: dict[str, str], count: int) -> dict[str, str]:
    dirs = sorted({p.rsplit("/", 2)[0] + "/" + p.rsplit("/", 2)[1] for p in tree if p.endswith("/migration.sql")},
                  key=lambda d: d.rsplit("/", 1)[1])
    drop = set(dirs[-count:])
    return {p: t for p, t in tree.items() if not any(p.startswith(d + "/") for d in drop)}


def timed(fn, repeat: int = 3):  # type: ignore[no-untyped-def]
    best, result = float("inf"), None
    for _ in range(repeat):
        started = time.perf_counter()
        result = fn()
        best = min(best, time.perf_counter() - started)
    return best, result


def describe(result) -> str:  # type: ignore[no-untyped-def]
    by_prefix = Counter(f.rule.split("/", 1)[0] for f in result.findings)
    return ", ".join(f"{k} {v}" for k, v in sorted(by_prefix.items())) or "none"


def main() -> None:
    sample = (ROOT / "examples" / "vendor-payouts.patch").read_text()
    seconds, result = timed(lambda: review(diff_file_change(ROOT / "examples" / "marketplace", sample), Config()))
    print(f"sample change (examples/vendor-payouts.patch): {seconds * 1000:.0f} ms, "
          f"{len(result.findings)} findings ({describe(result)})")
    for app in sorted(p for p in CORPUS.iterdir() if p.is_dir()):
        tree = load_tree(app)
        migrations = sum(1 for p in tree if p.endswith("migration.sql"))
        for label, base in (
            ("last migration", without_last(tree, 1)),
            ("last 20 migrations", without_last(tree, 20)),
            ("whole history", {}),
        ):
            seconds, result = timed(lambda base=base, tree=tree: review(change_from_trees(base, tree), Config()))
            print(f"{app.name:<10} {label:<19} ({migrations} migrations in repo): {seconds * 1000:7.0f} ms, "
                  f"{len(result.findings):4d} findings ({describe(result)})")


if __name__ == "__main__":
    main()
