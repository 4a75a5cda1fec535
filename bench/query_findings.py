"""The query analyzer's findings on real apps, and the hand-judged holdout check.

    cd <worktree> && .venv/bin/python bench/query_findings.py [--role holdout] [--repo OWNER/NAME]
                                                             [--severity warning] [--csv] [--judged FILE]

For each app of `bench/query_labels/apps.csv` (default: the holdout apps) at its pinned commit, every file the
query analyzer would read (TS/JS that calls Prisma Client, the files `bot.surfaces` picks) in the app's source
folders (`--under`, default: the whole tree) is reviewed as a change that adds it to the rest of the tree (see
bench/query_accuracy.py), through `bot.pipeline.review(..., report_all=True)` with this worktree's code. Files are
reviewed in batches of `--batch` per change.

It prints the query findings at `--severity` or above (default warning: errors and warnings), one per line, or as
CSV with `--csv` (repo, commit, path, line, rule, severity, message). `--sample N` keeps, per app, the N findings
that come first in a stable hash order of (repo, path, line, rule); `holdout_judged.csv` judges today's
`--sample 20`. Findings the analyzer stops producing leave the sample and new ones enter it, so after an analyzer
change the sample shows which of its findings still need a judgement.

With `--judged` (default: bench/query_labels/holdout_judged.csv when the role is holdout and no --csv) it matches
the findings to the judged ones by (repo, commit, path, line, rule) and prints the share useful / correct-but-noise /
wrong among those judged, and how many findings are not judged yet.
"""

from __future__ import annotations

import argparse
import csv
import hashlib
import sys
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

import query_accuracy as qa  # noqa: E402

from bot.change import decode_text  # noqa: E402
from bot.findings import Finding, Severity  # noqa: E402
from bot.gitrepo import GitSnapshot  # noqa: E402
from bot.surfaces import calls_prisma, is_query_path  # noqa: E402

JUDGED_COLUMNS = ["repo", "commit", "path", "line", "rule", "severity", "verdict", "reason"]
JUDGEMENTS = ("useful", "noise", "wrong")


@dataclass(frozen=True)
class Judged:
    repo: str
    commit: str
    path: str
    line: int
    rule: str
    severity: str
    verdict: str
    reason: str

    @property
    def key(self) -> tuple[str, str, str, int, str]:
        return (self.repo, self.commit, self.path, self.line, self.rule)


def load_judged(path: Path) -> dict[tuple[str, str, str, int, str], Judged]:
    out: dict[tuple[str, str, str, int, str], Judged] = {}
    for n, row in qa._rows(path, JUDGED_COLUMNS):
        if row["verdict"] not in JUDGEMENTS:
            raise qa.LabelError(f"{path.name}:{n}: verdict {row['verdict']!r} is not one of {', '.join(JUDGEMENTS)}")
        if not row["line"].isdigit():
            raise qa.LabelError(f"{path.name}:{n}: line {row['line']!r} is not a line number")
        j = Judged(row["repo"], row["commit"], row["path"], int(row["line"]), row["rule"], row["severity"],
                   row["verdict"], row["reason"])
        if j.key in out:
            raise qa.LabelError(f"{path.name}:{n}: {j.path}:{j.line} {j.rule} is judged twice")
        out[j.key] = j
    return out


def query_files(repo: str, commit: str, mirrors: Path, under: list[str]) -> list[str]:
    """The files of the tree the query analyzer would read when a change adds them."""
    tree = GitSnapshot(qa.mirror_of(repo, mirrors), commit)
    try:
        out = []
        for path in tree.list_files():
            if under and not any(path == u or path.startswith(u.rstrip("/") + "/") for u in under):
                continue
            if not is_query_path(path):
                continue
            text = decode_text(tree.read_bytes(path))
            if text is not None and calls_prisma(text):
                out.append(path)
        return out
    finally:
        tree.close()


def findings_of(app: qa.App, mirrors: Path, under: list[str], batch: int, floor: Severity) -> list[Finding]:
    paths = query_files(app.repo, app.commit, mirrors, under)
    found: list[Finding] = []
    for i in range(0, len(paths), batch):
        run = qa.review_added(app.repo, app.commit, paths[i:i + batch], mirrors)
        for note in run.result.notes:
            if "internal error" in note:
                print(f"query_findings: {app.repo}: {note}", file=sys.stderr)
        found += [f for f in qa.reported(run.result)
                  if f.rule.startswith("query/") and f.severity.rank >= floor.rank]
    return sorted(found, key=Finding.sort_key)


def sample_key(repo: str, f: Finding) -> str:
    """A stable pseudo-random order of findings, independent of the analyzer's output order."""
    return hashlib.sha1(f"{repo}|{f.path}|{f.line}|{f.rule}".encode()).hexdigest()


def sampled(rows: list[tuple[qa.App, Finding]], per_app: int) -> list[tuple[qa.App, Finding]]:
    """The `per_app` findings of each app that come first in sample_key order."""
    out: list[tuple[qa.App, Finding]] = []
    for repo in sorted({app.repo for app, _ in rows}):
        mine = [(a, f) for a, f in rows if a.repo == repo]
        out += sorted(mine, key=lambda row: sample_key(row[0].repo, row[1]))[:per_app]
    return sorted(out, key=lambda row: (row[0].repo, row[1].path, row[1].line, row[1].rule))


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--role", choices=[*qa.ROLES, "all"], default="holdout")
    ap.add_argument("--repo", help="one app only (owner/name)")
    ap.add_argument("--under", action="append", default=[], help="only files under this folder (repeatable)")
    ap.add_argument("--severity", choices=[s.value for s in Severity], default="warning")
    ap.add_argument("--batch", type=int, default=40, help="files per reviewed change")
    ap.add_argument("--apps", type=Path, default=qa.LABELS_DIR / "apps.csv")
    ap.add_argument("--mirrors", type=Path, default=qa.DEFAULT_MIRRORS)
    ap.add_argument("--csv", action="store_true", help="print the findings as CSV")
    ap.add_argument("--sample", type=int, metavar="N",
                    help="only the N findings per app that come first in a stable hash order (the judged sample)")
    ap.add_argument("--judged", type=Path, help="judged findings to score against (holdout_judged.csv layout)")
    args = ap.parse_args(argv)

    try:
        apps = qa.load_apps(args.apps)
    except (qa.LabelError, OSError) as exc:
        print(f"query_findings: {exc}", file=sys.stderr)
        return 2
    chosen = [a for a in apps.values()
              if (args.repo is None or a.repo == args.repo) and (args.role == "all" or a.role == args.role)]
    if args.repo and not chosen:
        chosen = [a for a in apps.values() if a.repo == args.repo]
    if not chosen:
        print("query_findings: no app matches the selection", file=sys.stderr)
        return 2
    judged_path = args.judged
    if judged_path is None and args.role == "holdout" and not args.csv:
        judged_path = qa.LABELS_DIR / "holdout_judged.csv"
    judged = {}
    if judged_path is not None and judged_path.exists():
        judged = load_judged(judged_path)

    floor = Severity(args.severity)
    rows: list[tuple[qa.App, Finding]] = []
    for app in sorted(chosen, key=lambda a: a.repo):
        try:
            rows += [(app, f) for f in findings_of(app, args.mirrors, args.under, args.batch, floor)]
        except qa.LabelError as exc:
            print(f"query_findings: {exc}", file=sys.stderr)
            return 2

    if args.sample:
        rows = sampled(rows, args.sample)

    if args.csv:
        out = csv.writer(sys.stdout)
        out.writerow(["repo", "commit", "path", "line", "rule", "severity", "message"])
        for app, f in rows:
            out.writerow([app.repo, app.commit, f.path, f.line, f.rule, f.severity.value,
                          " ".join(f.message.split())])
        return 0

    for app, f in rows:
        j = judged.get((app.repo, app.commit, f.path, f.line, f.rule))
        mark = f"[{j.verdict}]" if j else "[unjudged]"
        message = " ".join(f.message.split())[:160]
        print(f"{mark:<11} {app.repo} {f.path}:{f.line} {f.rule} {f.severity.value}: {message}")
    print(f"\n{len(rows)} query findings at {floor.value} or above in {len(chosen)} apps; "
          f"by rule: {dict(Counter(f.rule for _, f in rows).most_common())}")
    if judged:
        keys = [(a.repo, a.commit, f.path, f.line, f.rule) for a, f in rows]
        seen = [judged[k] for k in keys if k in judged]  # per finding: two findings can share a judged line
        gone = len(set(judged) - set(keys))
        counts = Counter(j.verdict for j in seen)
        total = len(seen)
        print(f"judged: {total} of these findings ({len(judged)} judged rows, {gone} of them no longer reported)")
        for verdict in JUDGEMENTS:
            share = f"{100 * counts[verdict] / total:5.1f} %" if total else "  n/a"
            print(f"  {verdict:<7} {counts[verdict]:>4}  {share}")
        print(f"findings not judged yet: {len(rows) - total}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
