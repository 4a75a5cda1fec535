"""Real merged pull requests of public Prisma + PostgreSQL apps through `dbreview check`, as the Action runs it.

    python bench/real_prs.py [--apps bench/real_prs_apps.csv] [--mirrors /work/.mirror] [--select migration|query]
                             [--max-per-app N] [--jobs N] [--timeout S] [--role tuning|holdout] [--only SUBSTR]
                             [--out RUN.jsonl]
    python bench/real_prs.py --from RUN.jsonl [--role holdout] [--sample-findings 60 --sample-out F.csv]

Each app of the CSV (repo, role) is read from its bare mirror (`<mirrors>/<owner>+<name>/repo`). The commits of its
first-parent history that add a Prisma migration (`--select migration`: a new `migrations/<dir>/migration.sql`) or
that change a Prisma Client call in TS/JS (`--select query`) are the pull requests (squash merges and merge commits
alike: head = the commit, base = its first parent), newest first, up to `--max-per-app`. Each one is reviewed by a
`dbreview check --repo SCRATCH --base PARENT --head SHA --format json --no-llm` subprocess, where SCRATCH is an
empty git repository that borrows the mirror's objects (both refs are read through git, as the Action's checkout
would give them; none of the apps has a `.dbreview.yml`, so the defaults apply).

Per PR the JSONL (`--out`) records findings by severity, what would be posted inline (error/warning findings new in
the change that anchor on the diff, at most `review.max_inline_comments` = 10) and what stays in the summary,
pre-existing findings, rules, wall and CPU time, and crashes (exit 2 or a traceback) and timeouts. The summary
printed at the end: error + warning findings per PR (median, p90), the share of PRs with none, inline comments per
PR, each rule's PR frequency, crashes/timeouts, and time per PR (median, p90, p99, max). `--from` re-summarises a
run without re-running; `--sample-findings N --sample-out F.csv` draws N random posted findings (error or warning,
inline or summary) of the `--role` apps for a hand check.
"""

from __future__ import annotations

import argparse
import csv
import json
import os
import random
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bot.change import Change, ChangeError, parse_diff  # noqa: E402
from bot.findings import Side  # noqa: E402
from bot.github.anchors import anchor_for  # noqa: E402

MAX_INLINE = 10  # review.max_inline_comments' default
POSTED = ("error", "warning")
RANK = {"error": 3, "warning": 2, "info": 1}
MIGRATION_SPEC = ":(glob)**/migrations/*/migration.sql"
# A Prisma Client call on an added or removed line: `prisma.user.findMany(`, `tx.post.update(`, `db.$queryRaw`.
QUERY_REGEX = (r"\.(findMany|findFirst|findUnique|findFirstOrThrow|findUniqueOrThrow|create|createMany|update|"
               r"updateMany|upsert|delete|deleteMany|count|aggregate|groupBy|\$queryRaw|\$executeRaw|"
               r"\$queryRawUnsafe|\$executeRawUnsafe|\$transaction)\(")
QUERY_SPECS = ("*.ts", "*.tsx", "*.js", "*.mjs", "*.cjs", "*.mts", "*.cts", "*.jsx")
GIT_ENV = {**os.environ, "GIT_TERMINAL_PROMPT": "0", "LC_ALL": "C"}


@dataclass(frozen=True)
class App:
    repo: str
    role: str


@dataclass(frozen=True)
class Pr:
    repo: str
    role: str
    commit: str
    parent: str


@dataclass
class PostedFinding:
    rule: str
    severity: str
    path: str
    line: int
    end_line: int
    side: str
    inline: bool
    message: str


@dataclass
class PrResult:
    repo: str
    role: str
    commit: str
    parent: str
    select: str
    status: str  # ok | crash | timeout
    exit_code: int | None
    wall_s: float
    cpu_s: float
    by_severity: dict[str, int] = field(default_factory=dict)
    inline: int = 0
    summary_only: int = 0
    preexisting: int = 0
    rules: dict[str, int] = field(default_factory=dict)
    findings: list[PostedFinding] = field(default_factory=list)
    error: str = ""

    @property
    def posted(self) -> int:
        return sum(self.by_severity.get(s, 0) for s in POSTED)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> PrResult:
        findings = [PostedFinding(**f) for f in data.pop("findings", [])]
        return cls(**data, findings=findings)


# ---- picking the pull requests ------------------------------------------------------------------------------------

def load_apps(path: Path) -> list[App]:
    with path.open(newline="", encoding="utf-8") as fh:
        return [App(row["repo"].strip(), row["role"].strip()) for row in csv.DictReader(fh) if row["repo"].strip()]


def mirror_of(mirrors: Path, repo: str) -> Path:
    return mirrors / repo.replace("/", "+") / "repo"


def select_log_args(select: str) -> list[str]:
    if select == "migration":
        return ["--diff-filter=A", "--", MIGRATION_SPEC]
    if select == "query":
        return ["-G", QUERY_REGEX, "--", *QUERY_SPECS]
    raise ValueError(f"unknown --select {select!r}")


def pick_prs(git_dir: Path, app: App, select: str, limit: int) -> list[Pr]:
    """The newest first-parent commits of HEAD that match `select`, each against its first parent (so a merge
    commit is its whole pull request). `-m` with `--first-parent` diffs merges against the first parent only."""
    prs: list[Pr] = []
    seen: set[str] = set()
    # Streamed and stopped once enough are found: `-G` reads every diff of the history, and a partial mirror
    # makes git stop with an error on the first missing blob (the commits read until then still count).
    proc = subprocess.Popen(["git", f"--git-dir={git_dir}", "log", "--first-parent", "-m", "--format=%H %P",
                             *select_log_args(select)], stdout=subprocess.PIPE, stderr=subprocess.DEVNULL,
                            env=GIT_ENV, text=True)
    assert proc.stdout is not None
    try:
        for line in proc.stdout:
            parts = line.split()
            if len(parts) < 2 or parts[0] in seen:
                continue  # a root commit has no base to compare with
            seen.add(parts[0])
            if not readable(git_dir, parts[1], parts[0]):
                print(f"skip {app.repo} {parts[0][:12]}: the mirror lacks some of its objects", file=sys.stderr)
                continue
            prs.append(Pr(app.repo, app.role, parts[0], parts[1]))
            if len(prs) >= limit:
                break
    finally:
        proc.kill()
        proc.wait()
    return prs


def readable(git_dir: Path, parent: str, commit: str) -> bool:
    """Whether the mirror holds every blob the change touches (a partial snapshot may not): a review that cannot
    read them fails in git, which says nothing about dbreview."""
    proc = subprocess.run(["git", f"--git-dir={git_dir}", "diff", "--numstat", parent, commit],
                          capture_output=True, env=GIT_ENV, timeout=300)
    return proc.returncode == 0


def scratch_repo(root: Path, git_dir: Path) -> Path:
    """An empty repository that reads the mirror's objects (no checkout, nothing written to the mirror)."""
    path = root / git_dir.parent.name
    if not path.exists():
        subprocess.run(["git", "init", "-q", str(path)], check=True, env=GIT_ENV)
        (path / ".git" / "objects" / "info" / "alternates").write_text(f"{git_dir.resolve() / 'objects'}\n")
    return path


# ---- one review -------------------------------------------------------------------------------------------------

def run_check(cmd: list[str], timeout: float) -> tuple[int | None, bytes, bytes, float, float]:
    """(exit code or None on timeout, stdout, stderr, wall s, CPU s of the child). wait4 gives this child's own
    CPU time even while other reviews run in parallel threads."""
    with tempfile.TemporaryFile() as out, tempfile.TemporaryFile() as err:
        start = time.monotonic()
        proc = subprocess.Popen(cmd, stdout=out, stderr=err, start_new_session=True, env=GIT_ENV)
        code: int | None = None
        while True:
            pid, status, usage = os.wait4(proc.pid, os.WNOHANG)
            if pid:
                code = os.waitstatus_to_exitcode(status)
                break
            if time.monotonic() - start > timeout:
                os.killpg(proc.pid, signal.SIGKILL)
                _, _, usage = os.wait4(proc.pid, 0)
                break
            time.sleep(0.02)
        proc.returncode = code if code is not None else -9  # reaped here: Popen must not wait again
        wall = time.monotonic() - start
        out.seek(0)
        err.seek(0)
        return code, out.read(), err.read(), wall, usage.ru_utime + usage.ru_stime


@dataclass(frozen=True)
class _Located:
    """What anchor_for reads of a finding."""

    path: str
    line: int
    last_line: int
    side: Side


def diff_change(scratch: Path, parent: str, commit: str) -> Change:
    from bot.gitrepo import _DIFF_ARGS, _git

    return Change(files=parse_diff(_git(scratch, *_DIFF_ARGS, parent, commit).decode("utf-8", "replace")))


def posted_findings(data: dict[str, Any], change: Change | None) -> list[PostedFinding]:
    """The change's error/warning findings, each marked inline or not as the publisher would: best first
    (severity, confidence, place), anchored on the diff, at most MAX_INLINE."""
    raw = [f for f in data.get("findings", []) if f.get("severity") in POSTED and not f.get("preexisting")]
    raw.sort(key=lambda f: (-RANK[f["severity"]], f.get("source") == "llm", -(f.get("confidence") or 1.0),
                            f["path"], f["line"]))
    result: list[PostedFinding] = []
    slots = MAX_INLINE
    for f in raw:
        located = _Located(f["path"], f["line"], f.get("end_line") or f["line"],
                           Side.OLD if f.get("side") == Side.OLD.value else Side.NEW)
        inline = False
        if slots and change is not None:
            anchor, _ = anchor_for(located, change)  # type: ignore[arg-type]
            inline = anchor is not None
            slots -= inline
        result.append(PostedFinding(f["rule"], f["severity"], f["path"], f["line"], located.last_line,
                                    located.side.value, inline, f.get("message", "")[:400]))
    return result


def review_pr(pr: Pr, select: str, scratch: Path, dbreview: str, timeout: float) -> PrResult:
    cmd = [dbreview, "check", "--repo", str(scratch), "--base", pr.parent, "--head", pr.commit,
           "--format", "json", "--no-llm", "--color", "never"]
    code, out, err, wall, cpu = run_check(cmd, timeout)
    result = PrResult(pr.repo, pr.role, pr.commit, pr.parent, select, "ok", code, round(wall, 3), round(cpu, 3))
    stderr = err.decode("utf-8", "replace")
    if code is None:
        result.status, result.error = "timeout", f"no result after {timeout:g} s"
        return result
    if code == 2 or "Traceback (most recent call last)" in stderr:
        result.status, result.error = "crash", stderr.strip()[-2000:]
        return result
    try:
        data = json.loads(out)
    except ValueError as exc:
        result.status, result.error = "crash", f"output is not JSON: {exc}; {stderr.strip()[-500:]}"
        return result
    try:
        change: Change | None = diff_change(scratch, pr.parent, pr.commit)
    except ChangeError:
        change = None
    findings = data.get("findings", [])
    result.by_severity = dict(Counter(f["severity"] for f in findings))
    result.rules = dict(Counter(f["rule"] for f in findings))
    result.preexisting = len(data.get("preexisting", []))
    result.findings = posted_findings(data, change)
    result.inline = sum(f.inline for f in result.findings)
    result.summary_only = len(findings) - result.inline
    return result


def run(apps: list[App], args: argparse.Namespace) -> list[PrResult]:
    dbreview = args.dbreview or str(Path(sys.executable).with_name("dbreview"))
    work = Path(tempfile.mkdtemp(prefix="real_prs_"))
    todo: list[tuple[Pr, Path]] = []
    for app in apps:
        git_dir = mirror_of(Path(args.mirrors), app.repo)
        if not git_dir.is_dir():
            print(f"skip {app.repo}: no mirror at {git_dir}", file=sys.stderr)
            continue
        prs = pick_prs(git_dir, app, args.select, args.max_per_app)
        print(f"{app.repo} ({app.role}): {len(prs)} PRs", file=sys.stderr)
        scratch = scratch_repo(work, git_dir)
        todo.extend((pr, scratch) for pr in prs)
    results: list[PrResult] = []
    lock = threading.Lock()
    out = open(args.out, "w", encoding="utf-8") if args.out else None  # noqa: SIM115 (written as results come)

    def one(item: tuple[Pr, Path]) -> None:
        result = review_pr(item[0], args.select, item[1], dbreview, args.timeout)
        with lock:
            results.append(result)
            if out is not None:
                out.write(json.dumps(asdict(result)) + "\n")
                out.flush()
            if result.status != "ok":
                print(f"{result.status}: {result.repo} {result.commit[:12]} {result.error[-300:]}", file=sys.stderr)

    try:
        with ThreadPoolExecutor(max_workers=max(1, args.jobs)) as pool:
            list(pool.map(one, todo))
    finally:
        if out is not None:
            out.close()
        shutil.rmtree(work, ignore_errors=True)
    return results


# ---- figures ---------------------------------------------------------------------------------------------------

def percentile(values: list[float], p: float) -> float:
    """Nearest-rank percentile (0 for no values)."""
    if not values:
        return 0.0
    ordered = sorted(values)
    rank = max(1, min(len(ordered), int(-(-p * len(ordered) // 100))))
    return ordered[rank - 1]


@dataclass(frozen=True)
class Figures:
    prs: int
    reviewed: int
    posted_median: float
    posted_p90: float
    quiet_share: float
    inline_median: float
    inline_p90: float
    preexisting_median: float
    crashes: int
    timeouts: int
    wall_median: float
    wall_p90: float
    wall_p99: float
    wall_max: float
    cpu_median: float
    rule_prs: dict[str, int]
    rule_prs_posted: dict[str, int]


def is_query_rule(rule: str) -> bool:
    return rule.startswith("query/")


def figures(results: list[PrResult], keep: Callable[[str], bool] | None = None) -> Figures:
    """The bench's figures; with `keep`, only the posted findings of the rules it keeps count (error + warning,
    quiet share, inline)."""
    ok = [r for r in results if r.status == "ok"]
    if keep is None:
        posted = [float(r.posted) for r in ok]
        inline = [float(r.inline) for r in ok]
    else:
        posted = [float(sum(keep(f.rule) for f in r.findings)) for r in ok]
        inline = [float(sum(keep(f.rule) and f.inline for f in r.findings)) for r in ok]
    walls = [r.wall_s for r in results]
    any_rule: Counter[str] = Counter()
    posted_rule: Counter[str] = Counter()
    for r in ok:
        any_rule.update(r.rules.keys())
        posted_rule.update({f.rule for f in r.findings})
    return Figures(
        prs=len(results), reviewed=len(ok),
        posted_median=statistics.median(posted) if posted else 0.0, posted_p90=percentile(posted, 90),
        quiet_share=sum(1 for v in posted if v == 0) / len(posted) if posted else 0.0,
        inline_median=statistics.median(inline) if inline else 0.0, inline_p90=percentile(inline, 90),
        preexisting_median=statistics.median([float(r.preexisting) for r in ok]) if ok else 0.0,
        crashes=sum(r.status == "crash" for r in results), timeouts=sum(r.status == "timeout" for r in results),
        wall_median=statistics.median(walls) if walls else 0.0, wall_p90=percentile(walls, 90),
        wall_p99=percentile(walls, 99), wall_max=max(walls, default=0.0),
        cpu_median=statistics.median([r.cpu_s for r in results]) if results else 0.0,
        rule_prs=dict(any_rule.most_common()), rule_prs_posted=dict(posted_rule.most_common()),
    )


def render(results: list[PrResult], title: str) -> str:
    f = figures(results)
    lines = [
        f"== {title}: {f.prs} PRs, {f.reviewed} reviewed, {len({r.repo for r in results})} apps",
        f"error+warning per PR: median {f.posted_median:g}, p90 {f.posted_p90:g}; "
        f"PRs with no error/warning: {f.quiet_share:.1%}",
        f"inline comments per PR: median {f.inline_median:g}, p90 {f.inline_p90:g}; "
        f"pre-existing per PR: median {f.preexisting_median:g}",
        f"crashes {f.crashes}, timeouts {f.timeouts}",
        f"wall s per PR: median {f.wall_median:.2f}, p90 {f.wall_p90:.2f}, p99 {f.wall_p99:.2f}, "
        f"max {f.wall_max:.2f}; CPU s median {f.cpu_median:.2f}",
    ]
    own = figures(results, keep=lambda rule: not is_query_rule(rule))
    lines.append(f"without query/* rules: error+warning per PR median {own.posted_median:g}, p90 {own.posted_p90:g}; "
                 f"no error/warning: {own.quiet_share:.1%}; inline median {own.inline_median:g}")
    lines.append("rule: PRs with an error/warning of it / PRs with any finding of it")
    for rule in sorted(f.rule_prs, key=lambda r: (-f.rule_prs_posted.get(r, 0), -f.rule_prs[r], r)):
        lines.append(f"  {rule:42} {f.rule_prs_posted.get(rule, 0):4} / {f.rule_prs[rule]:4}")
    return "\n".join(lines) + "\n"


def per_app(results: list[PrResult]) -> str:
    rows = ["app: PRs, E+W median, quiet share, inline median"]
    for repo in sorted({r.repo for r in results}):
        mine = [r for r in results if r.repo == repo]
        f = figures(mine)
        rows.append(f"  {repo:36} {mine[0].role:8} {f.prs:3}  {f.posted_median:4g}  {f.quiet_share:6.1%}  "
                    f"{f.inline_median:g}")
    return "\n".join(rows) + "\n"


def sample_findings(results: list[PrResult], n: int, seed: int) -> list[tuple[PrResult, PostedFinding]]:
    pool = [(r, f) for r in results if r.status == "ok" for f in r.findings]
    return random.Random(seed).sample(pool, min(n, len(pool)))


def write_sample(sample: list[tuple[PrResult, PostedFinding]], path: Path) -> None:
    with path.open("w", newline="", encoding="utf-8") as fh:
        w = csv.writer(fh)
        w.writerow(["repo", "commit", "path", "line", "rule", "severity", "inline", "message"])
        for r, f in sample:
            w.writerow([r.repo, r.commit, f.path, f.line, f.rule, f.severity, f.inline, f.message])


def rescore(results: list[PrResult], judged_path: Path) -> str:
    """A hand check against a (later) run: of the judged findings, which are still posted and with what verdicts,
    matched by (repo, commit, path, line, rule); and how many posted findings of the judged PRs are not judged."""
    with judged_path.open(newline="", encoding="utf-8") as fh:
        # (the first hand check wrote "correct-but-noise" for what the later ones call "noise")
        judged = {(r["repo"], r["commit"], r["path"], int(r["line"]), r["rule"]):
                  r["verdict"].strip().replace("correct-but-noise", "noise")
                  for r in csv.DictReader(fh) if r.get("verdict", "").strip()}
    # posted = still an error or a warning: a finding demoted to a note in the summary is no longer a comment
    posted = {(r.repo, r.commit, f.path, f.line, f.rule) for r in results if r.status == "ok" for f in r.findings
              if f.severity in ("error", "warning")}
    prs = {(repo, commit) for repo, commit, *_ in judged}
    still = {k: v for k, v in judged.items() if k in posted}
    gone = Counter(v for k, v in judged.items() if k not in posted)
    kept = Counter(still.values())
    unjudged = sum(1 for k in posted if (k[0], k[1]) in prs and k not in judged)
    n = len(still) or 1
    return (f"judged {len(judged)}: still posted {len(still)} (useful {kept['useful']} {kept['useful'] / n:.0%}, "
            f"noise {kept['noise']} {kept['noise'] / n:.0%}, wrong {kept['wrong']} {kept['wrong'] / n:.0%}); "
            f"no longer posted: {dict(gone)}; posted in the judged PRs but not judged: {unjudged}\n")


def load_results(path: Path) -> list[PrResult]:
    with path.open(encoding="utf-8") as fh:
        return [PrResult.from_dict(json.loads(line)) for line in fh if line.strip()]


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--apps", default=str(ROOT / "bench" / "real_prs_apps.csv"))
    p.add_argument("--mirrors", default="/work/.mirror")
    p.add_argument("--select", choices=("migration", "query"), default="migration")
    p.add_argument("--max-per-app", type=int, default=20)
    p.add_argument("--jobs", type=int, default=2)
    p.add_argument("--timeout", type=float, default=180.0, help="seconds per PR before it counts as a timeout")
    p.add_argument("--role", choices=("tuning", "holdout", "fresh"), default=None, help="only the apps of this role")
    p.add_argument("--only", default=None, help="only the apps whose owner/name contains this")
    p.add_argument("--dbreview", default=None, help="the dbreview command (default: next to this Python)")
    p.add_argument("--out", default=None, help="write one JSON line per PR")
    p.add_argument("--from", dest="from_", default=None, help="summarise an earlier --out file instead of running")
    p.add_argument("--sample-findings", type=int, default=0)
    p.add_argument("--sample-out", default=None)
    p.add_argument("--seed", type=int, default=13)
    p.add_argument("--judged", default=None, help="a hand-check CSV to re-score against this run")
    args = p.parse_args(argv)

    if args.from_:
        results = load_results(Path(args.from_))
    else:
        # `pip install` byte-compiles the package; a checkout run with PYTHONDONTWRITEBYTECODE=1 (this machine's
        # default) would compile every module in every review and add ~0.2-0.4 s of CPU that no user pays.
        import compileall

        compileall.compile_dir(str(ROOT / "bot"), quiet=1)
        apps = [a for a in load_apps(Path(args.apps))
                if (args.role is None or a.role == args.role) and (args.only is None or args.only in a.repo)]
        results = run(apps, args)
    if args.role:
        results = [r for r in results if r.role == args.role]
    sys.stdout.write(render(results, f"--select {results[0].select if results else args.select}"))
    sys.stdout.write(per_app(results))
    for role in ("tuning", "holdout", "fresh"):
        mine = [r for r in results if r.role == role]
        if mine and args.role is None:
            sys.stdout.write(render(mine, role).split("rule:")[0])
    if args.judged:
        sys.stdout.write(rescore(results, Path(args.judged)))
    if args.sample_findings:
        sample = sample_findings(results, args.sample_findings, args.seed)
        if args.sample_out:
            write_sample(sample, Path(args.sample_out))
        print(f"sampled {len(sample)} posted findings" + (f" into {args.sample_out}" if args.sample_out else ""))
    return 1 if any(r.status != "ok" for r in results) else 0


if __name__ == "__main__":
    sys.exit(main())
