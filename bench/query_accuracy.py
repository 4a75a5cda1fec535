"""Recall and precision of the query analyzer on hand-labelled real Prisma Client call sites.

    cd <worktree> && .venv/bin/python bench/query_accuracy.py [--role tuning|holdout|all] [--kind KIND]
                                                               [--repo OWNER/NAME] [--min-severity warning]
                                                               [--unlabelled] [--json] [--dump DIR]

The labelled set is `bench/query_labels/labels.csv` (repo, commit, path, line, kind, verdict, reason) with the apps
and their role in `bench/query_labels/apps.csv` (see bench/query_labels/README.md). For every (repo, commit) the
labelled files are reviewed as one change that adds them to the repository as it was at that commit: the head is
the whole tree at the commit, read from the bare mirror `<mirrors>/<owner>+<name>/repo` (the `fetch` tool's layout;
`--mirrors` or DBREVIEW_MIRRORS to point elsewhere), the base is the same tree without the labelled files. So the
schema(s), package.json files, tsconfig paths and every module a labelled file imports are there exactly as in a
checkout, and the review runs through `bot.pipeline.review(change, report_all=True)` with this worktree's code
(or the checkout DBREVIEW_CODE names).
`--dump DIR` writes every file the review read (the rebuilt labelled files and their context) under
DIR/<owner>+<name>/, so a single case can be re-run with `dbreview check` by hand.

Matching: a finding counts for a label when it is on the same path, its rule is the label kind's rule, and its lines
overlap the labelled call's span (the outermost call expression that starts on the labelled line; for
`missing-transaction`, from that first write to the end of its enclosing function, since the rule may point at any
write of the group). Locations a grouped finding lists in `extra` (dicts with "line" and optional "path"/"end_line",
or a "lines" list) count too. A `problem` label with a match is a true positive, without one a miss; a `fine` label
with a match is a false positive. `not-prisma` labels are always `fine`: any query/* finding on them is a false
positive, except one whose rule another label on the same line scores. Findings on lines nobody labelled are not
scored (they are listed with --unlabelled). Every severity counts unless `--min-severity` says otherwise.
"""

from __future__ import annotations

import argparse
import csv
import json
import os
import sys
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
# The code under test: this worktree's, or another checkout's (DBREVIEW_CODE=/path/to/checkout), so the labelled set
# can score a branch it has not been merged into yet.
CODE = Path(os.environ.get("DBREVIEW_CODE") or ROOT).resolve()
sys.path.insert(0, str(CODE))

import tree_sitter_javascript as tsjs  # noqa: E402
import tree_sitter_typescript as tsts  # noqa: E402
from tree_sitter import Language, Node, Parser  # noqa: E402

from bot.change import Change, ChangedFile, decode_text, parse_diff  # noqa: E402
from bot.findings import Finding, Severity  # noqa: E402
from bot.gitrepo import GitSnapshot  # noqa: E402
from bot.pipeline import review  # noqa: E402
from bot.review import Review  # noqa: E402
from bot.testing import diff_trees  # noqa: E402

LABELS_DIR = ROOT / "bench" / "query_labels"
DEFAULT_MIRRORS = Path(os.environ.get("DBREVIEW_MIRRORS", "/work/.mirror"))

# Each label kind and the rule that should report it. `not-prisma` is scored against every query rule.
KIND_RULES: dict[str, str] = {
    "n-plus-one": "query/n-plus-one",
    "missing-transaction": "query/missing-transaction",
    "raw-sql-injection": "query/raw-sql-injection",
    "unbounded-find-many": "query/unbounded-find-many",
    "missing-index": "query/missing-index",
    "include-sensitive": "query/include-sensitive",
    "mass-write": "query/mass-write",
    "not-prisma": "query/*",
}
VERDICTS = ("problem", "fine")
ROLES = ("tuning", "holdout", "fresh")  # fresh: apps never used for tuning, checked once (issue #14)
LABEL_COLUMNS = ["repo", "commit", "path", "line", "kind", "verdict", "reason"]
APP_COLUMNS = ["repo", "commit", "role"]


class LabelError(ValueError):
    """A row of the labelled set that cannot be scored (wrong column, unknown kind, missing mirror...)."""


@dataclass(frozen=True)
class Label:
    repo: str
    commit: str
    path: str
    line: int
    kind: str
    verdict: str
    reason: str

    @property
    def rule(self) -> str:
        return KIND_RULES[self.kind]

    def where(self) -> str:
        return f"{self.repo}@{self.commit[:10]} {self.path}:{self.line}"


@dataclass(frozen=True)
class App:
    repo: str
    commit: str
    role: str


# --------------------------------------------------------------------------------------------------- reading the set


def load_apps(path: Path = LABELS_DIR / "apps.csv") -> dict[str, App]:
    apps: dict[str, App] = {}
    for n, row in _rows(path, APP_COLUMNS):
        if row["role"] not in ROLES:
            raise LabelError(f"{path.name}:{n}: role {row['role']!r} is not one of {', '.join(ROLES)}")
        if row["repo"] in apps:
            raise LabelError(f"{path.name}:{n}: {row['repo']} is listed twice")
        apps[row["repo"]] = App(row["repo"], row["commit"], row["role"])
    return apps


def load_labels(path: Path = LABELS_DIR / "labels.csv", apps: dict[str, App] | None = None) -> list[Label]:
    labels: list[Label] = []
    seen: set[tuple[str, str, str, int, str]] = set()
    for n, row in _rows(path, LABEL_COLUMNS):
        where = f"{path.name}:{n}"
        if row["kind"] not in KIND_RULES:
            raise LabelError(f"{where}: kind {row['kind']!r} is not one of {', '.join(KIND_RULES)}")
        if row["verdict"] not in VERDICTS:
            raise LabelError(f"{where}: verdict {row['verdict']!r} is not problem or fine")
        if row["kind"] == "not-prisma" and row["verdict"] != "fine":
            raise LabelError(f"{where}: a not-prisma label is always fine (no Prisma call, nothing to report)")
        if not row["line"].isdigit() or int(row["line"]) < 1:
            raise LabelError(f"{where}: line {row['line']!r} is not a line number")
        if not row["reason"].strip() or "\n" in row["reason"]:
            raise LabelError(f"{where}: the reason is one line, and not empty")
        if apps is not None and row["repo"] not in apps:
            raise LabelError(f"{where}: {row['repo']} is not in apps.csv")
        label = Label(row["repo"], row["commit"], row["path"], int(row["line"]), row["kind"], row["verdict"],
                      row["reason"].strip())
        identity = (label.repo, label.commit, label.path, label.line, label.kind)
        if identity in seen:
            raise LabelError(f"{where}: {label.where()} {label.kind} is labelled twice")
        seen.add(identity)
        labels.append(label)
    return labels


def _rows(path: Path, columns: list[str]) -> Iterable[tuple[int, dict[str, str]]]:
    with path.open(newline="", encoding="utf-8") as fh:
        reader = csv.DictReader(fh)
        if reader.fieldnames != columns:
            raise LabelError(f"{path.name}: the columns are {', '.join(columns)} (found {reader.fieldnames})")
        for n, row in enumerate(reader, start=2):
            if None in row or any(v is None for v in row.values()):
                raise LabelError(f"{path.name}:{n}: expected {len(columns)} columns")
            yield n, {k: v.strip() for k, v in row.items()}


# ------------------------------------------------------------------------------------------ rebuilding the repository


def mirror_of(repo: str, mirrors: Path = DEFAULT_MIRRORS) -> Path:
    path = mirrors / repo.replace("/", "+") / "repo"
    if not path.is_dir():
        raise LabelError(f"no mirror of {repo} at {path} (fetch github:{repo} first)")
    return path


class RecordingTree:
    """The repository at one commit, read lazily from the mirror; remembers what the review read (for --dump)."""

    def __init__(self, mirror: Path, commit: str, hidden: Iterable[str] = (), label: str = "head") -> None:
        self._git = GitSnapshot(mirror, commit)
        self._hidden = frozenset(hidden)
        self.label = label
        self.read: dict[str, bytes] = {}

    @property
    def commit(self) -> str:
        return self._git.commit

    def read_bytes(self, path: str) -> bytes | None:
        if path in self._hidden:
            return None
        data = self._git.read_bytes(path)
        if data is not None:
            self.read[path] = data
        return data

    def list_files(self) -> list[str]:
        return [p for p in self._git.list_files() if p not in self._hidden]

    def close(self) -> None:
        self._git.close()


@dataclass
class RepoRun:
    """One review of some files of one repository at one commit, as a change that adds them."""

    repo: str
    commit: str
    paths: list[str]
    result: Review
    texts: dict[str, str]
    read: dict[str, bytes] = field(default_factory=dict)
    missing: list[str] = field(default_factory=list)


def review_added(repo: str, commit: str, paths: Iterable[str], mirrors: Path = DEFAULT_MIRRORS) -> RepoRun:
    """Review `paths` of `repo` at `commit` as a change that adds them to the rest of that tree."""
    mirror = mirror_of(repo, mirrors)
    wanted = sorted(set(paths))
    head = RecordingTree(mirror, commit, label=commit[:12])
    base = RecordingTree(mirror, commit, hidden=wanted, label="without the labelled files")
    try:
        texts: dict[str, str] = {}
        missing: list[str] = []
        for path in wanted:
            text = decode_text(head.read_bytes(path))
            if text is None:
                missing.append(path)
            else:
                texts[path] = text
        files: list[ChangedFile] = parse_diff(diff_trees({}, texts))
        change = Change(files=files, base=base, head=head, base_label="base", head_label=commit[:12])
        result = review(change, report_all=True)
        return RepoRun(repo, head.commit, wanted, result, texts, {**base.read, **head.read}, missing)
    finally:
        head.close()
        base.close()


def dump(run: RepoRun, into: Path) -> None:
    root = into / run.repo.replace("/", "+")
    for path, data in run.read.items():
        target = (root / path).resolve()
        if root.resolve() not in target.parents:
            continue  # a path that would leave the dump folder is not written
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(data)


# ------------------------------------------------------------------------------------------------------- call spans


def _parser(path: str) -> Parser:
    if path.endswith(".tsx"):
        lang = Language(tsts.language_tsx())
    elif path.endswith((".ts", ".mts", ".cts")):
        lang = Language(tsts.language_typescript())
    else:
        lang = Language(tsjs.language())
    return Parser(lang)


_FUNCTIONS = frozenset({
    "function_declaration", "function_expression", "arrow_function", "method_definition", "function",
    "generator_function_declaration", "generator_function",
})


def label_span(text: str, path: str, line: int, kind: str) -> tuple[int, int]:
    """The 1-based line range a finding for this label may sit on (see the module docstring)."""
    tree = _parser(path).parse(text.encode("utf-8"))
    row = line - 1
    starting: list[Node] = []
    containing: list[Node] = []

    def walk(node: Node) -> None:
        if node.start_point[0] > row or node.end_point[0] < row:
            return
        if node.type in ("call_expression", "new_expression"):
            (starting if node.start_point[0] == row else containing).append(node)
        for child in node.children:
            walk(child)

    walk(tree.root_node)
    if starting:
        call = max(starting, key=lambda n: n.end_byte - n.start_byte)
    elif containing:
        call = min(containing, key=lambda n: n.end_byte - n.start_byte)
    else:
        return line, line
    start, end = call.start_point[0] + 1, call.end_point[0] + 1
    if kind == "missing-transaction":
        parent = call.parent
        while parent is not None and parent.type not in _FUNCTIONS:
            parent = parent.parent
        if parent is not None:
            end = max(end, parent.end_point[0] + 1)
    return start, end


# ----------------------------------------------------------------------------------------------------------- scoring


def locations(finding: Finding) -> list[tuple[str, int, int]]:
    """Where a finding points: its own lines, plus call sites a grouped finding lists in `extra`."""
    out = [(finding.path, finding.line, finding.last_line)]

    def visit(value: object) -> None:
        if isinstance(value, dict):
            line = value.get("line")
            if isinstance(line, int):
                end = value.get("end_line")
                path = value.get("path")
                out.append((path if isinstance(path, str) else finding.path, line,
                            end if isinstance(end, int) else line))
            lines = value.get("lines")
            if isinstance(lines, list):
                out.extend((finding.path, n, n) for n in lines if isinstance(n, int))
            for v in value.values():
                if isinstance(v, (dict, list)):
                    visit(v)
        elif isinstance(value, list):
            for v in value:
                visit(v)

    visit(finding.extra)
    return out


def reported(result: Review) -> list[Finding]:
    """Every finding of a review, including those it files as already there at the base (none for added files)."""
    return [*result.findings, *getattr(result, "preexisting", [])]


def rule_matches(kind: str, rule: str) -> bool:
    return rule.startswith("query/") if kind == "not-prisma" else KIND_RULES[kind] == rule


@dataclass
class Outcome:
    label: Label
    span: tuple[int, int]
    found: list[Finding]

    @property
    def hit(self) -> bool:
        return bool(self.found)

    @property
    def category(self) -> str:
        if self.label.verdict == "problem":
            return "tp" if self.hit else "fn"
        return "fp" if self.hit else "tn"


def score_run(labels: list[Label], run: RepoRun,
              floor: Severity = Severity.INFO) -> tuple[list[Outcome], list[Finding]]:
    """Each label's outcome, and the query findings no label claims (for --unlabelled).

    Only findings at `floor` or above count (info by default: advice is a claim too; --min-severity warning scores
    what is posted inline and fails CI).
    """
    outcomes: list[Outcome] = []
    claimed: set[int] = set()
    query_findings = [f for f in reported(run.result)
                      if f.rule.startswith("query/") and f.severity.rank >= floor.rank]
    # A site may carry a not-prisma label and a label of another kind (a service wrapper called in a loop is not a
    # Prisma call, yet it does issue a query per item): the other label's rule is scored by that label alone.
    own_rules: dict[tuple[str, int], set[str]] = defaultdict(set)
    for label in labels:
        if label.kind != "not-prisma":
            own_rules[(label.path, label.line)].add(label.rule)
    for label in labels:
        text = run.texts.get(label.path)
        if text is None:
            raise LabelError(f"{label.where()}: the file is not in the mirror at that commit")
        span = label_span(text, label.path, label.line, label.kind)
        found = []
        for i, f in enumerate(query_findings):
            if not rule_matches(label.kind, f.rule):
                continue
            if label.kind == "not-prisma" and f.rule in own_rules[(label.path, label.line)]:
                continue
            if any(p == label.path and a <= span[1] and b >= span[0] for p, a, b in locations(f)):
                found.append(f)
                claimed.add(i)
        outcomes.append(Outcome(label, span, found))
    unlabelled = [f for i, f in enumerate(query_findings) if i not in claimed]
    return outcomes, unlabelled


@dataclass
class Tally:
    tp: int = 0
    fn: int = 0
    fp: int = 0
    tn: int = 0

    def add(self, category: str) -> None:
        setattr(self, category, getattr(self, category) + 1)

    @property
    def recall(self) -> float | None:
        return self.tp / (self.tp + self.fn) if self.tp + self.fn else None

    @property
    def precision(self) -> float | None:
        return self.tp / (self.tp + self.fp) if self.tp + self.fp else None


def tallies(outcomes: list[Outcome]) -> dict[str, Tally]:
    by_kind: dict[str, Tally] = defaultdict(Tally)
    for o in outcomes:
        by_kind[o.label.kind].add(o.category)
        by_kind["all"].add(o.category)
    return by_kind


def _pct(value: float | None) -> str:
    return "  n/a" if value is None else f"{100 * value:4.0f} %"


def table(by_kind: dict[str, Tally]) -> str:
    rows = [f"{'kind':<22} {'problem':>7} {'fine':>5} {'TP':>4} {'FN':>4} {'FP':>4} {'recall':>7} {'precision':>9}"]
    for kind in [*KIND_RULES, "all"]:
        t = by_kind.get(kind)
        if t is None:
            continue
        rows.append(f"{kind:<22} {t.tp + t.fn:>7} {t.fp + t.tn:>5} {t.tp:>4} {t.fn:>4} {t.fp:>4} "
                    f"{_pct(t.recall):>7} {_pct(t.precision):>9}")
    return "\n".join(rows)


def code_dir() -> str:
    import bot

    return str(Path(bot.__file__).resolve().parent.parent)


def _brief(f: Finding) -> str:
    first = " ".join(f.message.split())[:150]
    confidence = f" conf={f.confidence}" if f.confidence is not None else ""
    return f"{f.rule} {f.severity.value}{confidence} L{f.line}-{f.last_line}: {first}"


# --------------------------------------------------------------------------------------------------------------- CLI


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--role", choices=[*ROLES, "all"], default="all")
    ap.add_argument("--kind", choices=list(KIND_RULES), help="score one kind only")
    ap.add_argument("--repo", help="score one app only (owner/name)")
    ap.add_argument("--labels", type=Path, default=LABELS_DIR / "labels.csv")
    ap.add_argument("--apps", type=Path, default=LABELS_DIR / "apps.csv")
    ap.add_argument("--mirrors", type=Path, default=DEFAULT_MIRRORS)
    ap.add_argument("--min-severity", choices=[s.value for s in Severity], default="info",
                    help="count only findings at this severity or above (default: every finding)")
    ap.add_argument("--unlabelled", action="store_true", help="also list query findings on unlabelled lines")
    ap.add_argument("--json", action="store_true", help="print the figures and every outcome as JSON")
    ap.add_argument("--dump", type=Path, help="write every file each review read under this folder")
    args = ap.parse_args(argv)

    try:
        apps = load_apps(args.apps)
        labels = load_labels(args.labels, apps)
    except (LabelError, OSError) as exc:
        print(f"query_accuracy: {exc}", file=sys.stderr)
        return 2
    selected = [lb for lb in labels
                if (args.role == "all" or apps[lb.repo].role == args.role)
                and (args.kind is None or lb.kind == args.kind)
                and (args.repo is None or lb.repo == args.repo)]
    if not selected:
        print("query_accuracy: no label matches the selection", file=sys.stderr)
        return 2

    groups: dict[tuple[str, str], list[Label]] = defaultdict(list)
    for lb in selected:
        groups[(lb.repo, lb.commit)].append(lb)
    outcomes: list[Outcome] = []
    unlabelled: list[tuple[str, Finding]] = []
    notes: list[str] = []
    for (repo, commit), group in sorted(groups.items()):
        try:
            run = review_added(repo, commit, {lb.path for lb in group}, args.mirrors)
        except LabelError as exc:
            print(f"query_accuracy: {exc}", file=sys.stderr)
            return 2
        if run.missing:
            print(f"query_accuracy: {repo}@{commit[:10]}: not in the mirror or not text: "
                  f"{', '.join(run.missing)}", file=sys.stderr)
            return 2
        notes += [f"{repo}: {n}" for n in run.result.notes if "internal error" in n]
        if args.dump:
            dump(run, args.dump)
        got, extra = score_run(group, run, Severity(args.min_severity))
        outcomes += got
        unlabelled += [(repo, f) for f in extra]

    by_kind = tallies(outcomes)
    if args.json:
        print(json.dumps({
            "role": args.role,
            "min_severity": args.min_severity,
            "figures": {k: {"tp": t.tp, "fn": t.fn, "fp": t.fp, "tn": t.tn, "recall": t.recall,
                            "precision": t.precision} for k, t in by_kind.items()},
            "outcomes": [{"repo": o.label.repo, "commit": o.label.commit, "path": o.label.path,
                          "line": o.label.line, "kind": o.label.kind, "verdict": o.label.verdict,
                          "outcome": o.category, "findings": [f.to_dict() for f in o.found]} for o in outcomes],
            "notes": notes,
        }, indent=2))
        return 0

    apps_seen = sorted({o.label.repo for o in outcomes})
    print(f"{len(outcomes)} labelled sites from {len(apps_seen)} apps (role: {args.role}, findings at "
          f"{args.min_severity} or above); code: {code_dir()}\n")
    print(table(by_kind))
    for title, category in (("Misses (real problems not reported)", "fn"),
                            ("False positives (fine sites reported)", "fp")):
        listed = [o for o in outcomes if o.category == category]
        print(f"\n{title}: {len(listed)}")
        for o in listed:
            print(f"  {o.label.kind:<20} {o.label.where()}  -- {o.label.reason}")
            for f in o.found:
                print(f"      {_brief(f)}")
    if args.unlabelled:
        print(f"\nQuery findings on unlabelled lines of the labelled files: {len(unlabelled)}")
        for repo, f in unlabelled:
            print(f"  {repo} {f.path}: {_brief(f)}")
    if notes:
        print("\nAnalyzer errors:")
        for n in notes:
            print(f"  {n}")
    return 1 if notes else 0


if __name__ == "__main__":
    sys.exit(main())
