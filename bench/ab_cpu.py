"""CPU of two dbreview builds on the same real pull requests, interleaved: which code is faster on this machine now.

    python bench/ab_cpu.py --a OLD/.venv/bin/dbreview --b .venv/bin/dbreview --from RUN.jsonl [--prs 80]

RUN.jsonl is a `bench/real_prs.py --out` run: PRs are picked evenly over its CPU distribution, and each is reviewed
by A and B back to back (the order alternating), as the real-PR bench runs them (`check --base PARENT --head SHA
--format json --no-llm` on a scratch repository borrowing the mirror's objects). This shared machine's speed drifts by
±20 % within the hour, so two separate runs of real_prs.py cannot tell a 5 % change; interleaving can. Each build
should be byte-compiled (`python -m compileall -q bot` in its checkout), as `pip install` leaves it.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from real_prs import mirror_of, scratch_repo


def cpu_of(cmd: list[str]) -> float:
    proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    _, _, usage = os.wait4(proc.pid, 0)
    proc.returncode = 0  # reaped here
    return usage.ru_utime + usage.ru_stime


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--a", required=True, help="the dbreview command of build A (the baseline)")
    p.add_argument("--b", required=True, help="the dbreview command of build B")
    p.add_argument("--from", dest="from_", required=True, help="a bench/real_prs.py --out file")
    p.add_argument("--prs", type=int, default=80)
    p.add_argument("--mirrors", default="/work/.mirror")
    args = p.parse_args(argv)
    rows = [json.loads(line) for line in Path(args.from_).read_text().splitlines() if line.strip()]
    rows = sorted((r for r in rows if r["status"] == "ok"), key=lambda r: r["cpu_s"])
    picked = rows[::max(1, len(rows) // args.prs)][:args.prs]
    a_cpu: list[float] = []
    b_cpu: list[float] = []
    with tempfile.TemporaryDirectory() as tmp:
        for i, r in enumerate(picked):
            repo = scratch_repo(Path(tmp), mirror_of(Path(args.mirrors), r["repo"]))
            tail = ["check", "--repo", str(repo), "--base", r["parent"], "--head", r["commit"], "--format", "json",
                    "--no-llm"]
            order = [(args.a, a_cpu), (args.b, b_cpu)]
            for exe, out in (order if i % 2 == 0 else order[::-1]):
                out.append(cpu_of([exe, *tail]))
    if not a_cpu:
        print("no PRs to compare")
        return 1
    print(f"{len(a_cpu)} PRs, CPU s per PR, A then B interleaved")
    print(f"  A median {statistics.median(a_cpu):.3f}  mean {statistics.mean(a_cpu):.3f}")
    print(f"  B median {statistics.median(b_cpu):.3f}  mean {statistics.mean(b_cpu):.3f}")
    print(f"  B / A, total CPU: {sum(b_cpu) / sum(a_cpu):.3f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
