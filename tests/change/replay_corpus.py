"""Replay each corpus history one migration at a time through the change checks and print the figures.

    .venv/bin/python tests/change/replay_corpus.py [langfuse|umami|hoppscotch ...]

Each step reviews "migrations up to N-1" -> "migrations up to N" with the corpus's final schema on both sides (the
schema at N-1 is not kept), so a consistency finding is expected exactly when a later migration changed the same
object again; the script counts the findings that no later migration explains (which would be false positives).
"""

from __future__ import annotations

import re
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from test_corpus_history import _object_name, _tree

from bot.checks.change import concurrently, consistency, history
from bot.testing import context_for

CORPUS = Path(__file__).resolve().parents[2].parent / "shared" / "corpus"
RELS = {"langfuse": "packages/shared/prisma", "umami": "prisma", "hoppscotch": "packages/hoppscotch-backend/prisma"}


def replay(name: str) -> None:
    files = _tree(CORPUS, name, RELS[name])
    migrations = sorted(p for p in files if p.endswith("migration.sql"))
    counts = {"history": 0, "concurrently": 0, "consistency": 0, "objects": 0, "unexplained": 0}
    spent = 0.0
    for step in migrations:
        head = {p: t for p, t in files.items() if not p.endswith("migration.sql") or p <= step}
        base = {p: t for p, t in head.items() if p != step}
        ctx = context_for(base, head)
        started = time.perf_counter()
        found = {"history": history.check(ctx), "concurrently": concurrently.check(ctx),
                 "consistency": consistency.check(ctx)}
        spent += time.perf_counter() - started
        later = "\n".join(files[p] for p in migrations if p > step)
        for key, findings in found.items():
            counts[key] += len(findings)
        for finding in found["consistency"]:
            named = set(re.findall(r"`([^`]+)`", finding.message))
            for key in finding.extra.get("objects", []):
                counts["objects"] += 1
                target = _object_name(key)
                if f'"{target}' in later or re.search(rf"\b{re.escape(target)}\b", later):
                    continue
                if key.startswith("type:") and any(f'"{n}" RENAME' in later for n in named):
                    continue
                counts["unexplained"] += 1
                print(f"  unexplained: {step}: {key}")
    print(f"{name}: {len(migrations)} migrations replayed; findings: history {counts['history']}, "
          f"concurrently {counts['concurrently']}, consistency {counts['consistency']} "
          f"({counts['objects']} objects, {counts['unexplained']} not explained by a later migration); "
          f"checks {spent / len(migrations) * 1000:.0f} ms per step (schema parsing included)")


if __name__ == "__main__":
    for corpus_name in sys.argv[1:] or list(RELS):
        replay(corpus_name)
