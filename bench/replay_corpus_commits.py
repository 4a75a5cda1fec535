"""Every migration of the real histories in ../shared/corpus as its own commit, through `dbreview check`.

    .venv/bin/python bench/replay_corpus_commits.py [--corpus ../shared/corpus] [--project umami] [--last N]
                                                    [--jobs 2] [--timeout 60] [--dbreview .venv/bin/dbreview]

Issue #12's "never crash, never hang" bench on real histories. For each corpus project a throwaway git repository
is built outside the project: the first commit holds the project's schema and its first migration, and every
following commit adds the next migration, in the order Prisma applies them. Each commit is then reviewed exactly as
the Action reviews a push (`dbreview check --base SHA~1 --head SHA --format json --no-llm --fail-on never`, a
separate process, with a timeout) and the script prints, per project and overall: crashes (exit code other than 0
or 1, a traceback, or output that is not the JSON contract), timeouts, and the wall time per commit (median, p90,
p99, max). It exits 1 when anything crashed or timed out, so it can guard a change.

The corpus keeps only each project's final schema, so the schema is ahead of the early migrations and the
consistency rules have things to say: this bench counts crashes and time, not findings (bench/real_prs.py and
bench/real_migrations_bench.py judge findings).
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
DEFAULT_CORPUS = ROOT.parent / "shared" / "corpus"
GIT_ENV = {"GIT_AUTHOR_NAME": "bench", "GIT_AUTHOR_EMAIL": "bench@example.invalid",
           "GIT_COMMITTER_NAME": "bench", "GIT_COMMITTER_EMAIL": "bench@example.invalid"}


# Runs the command and reports its CPU time on stderr: the wall time of one review on a shared machine says more
# about the neighbours than about dbreview.
CPU_WRAPPER = ("import resource, subprocess, sys; r = subprocess.run(sys.argv[1:]); "
               "u = resource.getrusage(resource.RUSAGE_CHILDREN); "
               "sys.stderr.write(f'\\n@@cpu {u.ru_utime + u.ru_stime:.3f}\\n'); sys.exit(r.returncode)")


@dataclass(frozen=True)
class Outcome:
    project: str
    migration: str
    seconds: float  # wall
    cpu: float
    exit_code: int | None  # None: timed out
    findings: int
    problem: str  # "" when the run is fine; else why it counts as a crash or a timeout


def _git(repo: Path, *args: str) -> str:
    env = {**os.environ, **GIT_ENV}
    return subprocess.run(["git", "-C", str(repo), *args], check=True, capture_output=True, text=True,
                          env=env).stdout.strip()


def migrations_dirs(project: Path) -> list[Path]:
    """Every folder of the project that holds `<timestamp>_<name>/migration.sql` folders."""
    return sorted({p.parent.parent for p in project.rglob("migration.sql")})


def build_history(project: Path, into: Path) -> list[tuple[str, str]]:
    """A git repository at `into` with one commit per migration; [(commit sha, migration folder name)]."""
    shutil.copytree(project, into, ignore=shutil.ignore_patterns("migrations"))
    _git(into, "init", "-q")
    _git(into, "add", "-A")
    _git(into, "commit", "-q", "-m", "the schema, before any migration")
    commits: list[tuple[str, str]] = []
    for folder in migrations_dirs(project):
        target = into / folder.relative_to(project)
        lock = folder / "migration_lock.toml"
        steps = sorted(p for p in folder.iterdir() if (p / "migration.sql").is_file())
        for step in steps:
            (target / step.name).mkdir(parents=True, exist_ok=True)
            shutil.copy2(step / "migration.sql", target / step.name / "migration.sql")
            if lock.is_file() and not (target / lock.name).exists():
                shutil.copy2(lock, target / lock.name)
            _git(into, "add", "-A")
            _git(into, "commit", "-q", "--allow-empty", "-m", step.name)
            commits.append((_git(into, "rev-parse", "HEAD"), step.name))
    return commits


def review_commit(dbreview: str, repo: Path, sha: str, project: str, migration: str,
                  timeout: float) -> Outcome:
    cmd = [sys.executable, "-c", CPU_WRAPPER, dbreview, "check", "--repo", str(repo), "--base", f"{sha}~1",
           "--head", sha, "--format", "json", "--no-llm", "--fail-on", "never"]
    started = time.perf_counter()
    try:
        done = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout,
                              env={**os.environ, "ANTHROPIC_API_KEY": ""})
    except subprocess.TimeoutExpired:
        return Outcome(project, migration, timeout, timeout, None, 0, f"timed out after {timeout:.0f} s")
    seconds = time.perf_counter() - started
    stderr, _, cpu_text = done.stderr.rpartition("\n@@cpu ")
    cpu = float(cpu_text.strip() or 0)
    problem = ""
    findings = 0
    if done.returncode not in (0, 1) or "Traceback" in stderr:
        problem = f"exit {done.returncode}: {stderr.strip().splitlines()[-1:] or ['(no stderr)']}"
    else:
        try:
            report = json.loads(done.stdout)
            findings = len(report["findings"])
        except (ValueError, KeyError, TypeError):
            problem = "stdout is not the JSON report"
    return Outcome(project, migration, seconds, cpu, done.returncode, findings, problem)


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    if not ordered:
        return 0.0
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


def describe(name: str, outcomes: list[Outcome]) -> str:
    times = [o.seconds for o in outcomes if o.exit_code is not None]
    cpu = [o.cpu for o in outcomes if o.exit_code is not None]
    crashes = sum(1 for o in outcomes if o.problem and o.exit_code is not None)
    timeouts = sum(1 for o in outcomes if o.exit_code is None)
    if not times:
        return f"{name:<12} commits={len(outcomes)} crashes={crashes} timeouts={timeouts}"
    return (f"{name:<12} commits={len(outcomes):>4} crashes={crashes} timeouts={timeouts} "
            f"time median={statistics.median(times):.2f}s p90={percentile(times, 0.9):.2f}s "
            f"p99={percentile(times, 0.99):.2f}s max={max(times):.2f}s | "
            f"cpu median={statistics.median(cpu):.2f}s p90={percentile(cpu, 0.9):.2f}s "
            f"p99={percentile(cpu, 0.99):.2f}s max={max(cpu):.2f}s")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--corpus", type=Path, default=DEFAULT_CORPUS)
    parser.add_argument("--project", action="append", help="only these corpus folders (repeatable)")
    parser.add_argument("--last", type=int, default=0, help="review only each project's newest N commits")
    parser.add_argument("--jobs", type=int, default=2)
    parser.add_argument("--timeout", type=float, default=60.0)
    parser.add_argument("--dbreview", default=str(Path(sys.executable).parent / "dbreview"))
    args = parser.parse_args(argv)

    projects = sorted(p for p in args.corpus.iterdir() if p.is_dir() and (not args.project or p.name in args.project))
    if not projects:
        print(f"no corpus projects under {args.corpus}", file=sys.stderr)
        return 2
    everything: list[Outcome] = []
    with tempfile.TemporaryDirectory(prefix="dbreview-corpus-") as tmp:
        for project in projects:
            repo = Path(tmp) / project.name
            commits = build_history(project, repo)
            if args.last:
                commits = commits[-args.last:]
            with ThreadPoolExecutor(max_workers=max(1, args.jobs)) as pool:
                futures = [pool.submit(review_commit, args.dbreview, repo, sha, project.name, name, args.timeout)
                           for sha, name in commits]
                outcomes = [f.result() for f in futures]
            for o in outcomes:
                if o.problem:
                    print(f"  {o.project}/{o.migration}: {o.problem}")
            print(describe(project.name, outcomes), flush=True)
            everything.extend(outcomes)
    print(describe("all", everything))
    return 1 if any(o.problem for o in everything) else 0


if __name__ == "__main__":
    sys.exit(main())
