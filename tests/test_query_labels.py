"""The labelled set of real Prisma Client sites (bench/query_labels) and its scorer (bench/query_accuracy.py).

The set itself is checked for shape (columns, kinds, verdicts, one-line reasons, enough apps and sites); the scorer
is checked on a small repository built here as a bare "mirror", so no fetched code is needed.
"""

from __future__ import annotations

import csv
import json
import subprocess
import sys
from collections import Counter
from pathlib import Path

import pytest

BENCH = Path(__file__).resolve().parents[1] / "bench"
sys.path.insert(0, str(BENCH))

import query_accuracy as qa  # noqa: E402
import query_findings as qf  # noqa: E402

from bot.findings import Finding, Severity  # noqa: E402
from bot.review import Review  # noqa: E402

LABELS = BENCH / "query_labels"


# ------------------------------------------------------------------------------------------------------ the data set


def test_labelled_set_loads_and_covers_every_kind() -> None:
    apps = qa.load_apps(LABELS / "apps.csv")
    labels = qa.load_labels(LABELS / "labels.csv", apps)
    assert len(labels) >= 170
    assert len({lb.repo for lb in labels}) >= 10
    assert len({a.repo for a in apps.values() if a.role == "holdout"}) >= 3
    assert {lb.kind for lb in labels} == set(qa.KIND_RULES)
    verdicts = Counter(lb.verdict for lb in labels)
    assert verdicts["problem"] >= len(labels) // 3  # real problems and look-alikes both well represented
    for lb in labels:
        assert lb.commit == apps[lb.repo].commit, f"{lb.where()}: labels use the app's pinned commit"


def test_holdout_judgements_load() -> None:
    judged = qf.load_judged(LABELS / "holdout_judged.csv")
    apps = qa.load_apps(LABELS / "apps.csv")
    assert len(judged) >= 50
    assert {j.repo for j in judged.values()} <= {a.repo for a in apps.values() if a.role == "holdout"}
    assert all(j.reason and j.severity in ("error", "warning") for j in judged.values())


def test_fresh_judgements_load_and_are_pinned_to_the_fresh_apps() -> None:
    judged = qf.load_judged(LABELS / "fresh_judged.csv")
    apps = qa.load_apps(LABELS / "apps.csv")
    fresh = {a.repo: a.commit for a in apps.values() if a.role == "fresh"}
    assert len(fresh) == 8 and len(judged) >= 50
    assert all(j.repo in fresh and j.commit == fresh[j.repo] for j in judged.values())
    assert {j.verdict for j in judged.values()} <= {"useful", "noise", "wrong"}
    assert all(j.reason and "\n" not in j.reason and j.severity in ("error", "warning") for j in judged.values())


def test_the_fresh_real_pr_hand_check_is_sixty_findings_of_the_fresh_apps() -> None:
    apps = {r["repo"] for r in csv.DictReader((BENCH / "real_prs_apps_fresh.csv").open(encoding="utf-8"))}
    rows = list(csv.DictReader((BENCH / "real_prs_handcheck_fresh.csv").open(encoding="utf-8")))
    assert len(apps) == 3 and len(rows) == 60
    assert {r["repo"] for r in rows} <= apps
    assert {r["verdict"] for r in rows} <= {"useful", "noise", "wrong"}
    assert all(r["severity"] in ("error", "warning") and r["reason"].strip() and int(r["line"]) > 0 for r in rows)


def test_the_second_fresh_hand_checks_are_pinned_to_their_apps() -> None:
    # five apps nobody had looked at, judged on this round's code before the fixes they prompted
    apps = {r["repo"] for r in csv.DictReader((BENCH / "real_prs_apps_fresh2.csv").open(encoding="utf-8"))}
    rows = list(csv.DictReader((BENCH / "real_prs_handcheck_fresh2.csv").open(encoding="utf-8")))
    assert len(apps) == 5 and len(rows) == 70 and {r["repo"] for r in rows} <= apps
    judged = qf.load_judged(LABELS / "fresh2_judged.csv")
    pinned = {a.repo: a.commit for a in qa.load_apps(LABELS / "apps.csv").values() if a.repo in apps}
    assert len(judged) == 67 and all(j.commit == pinned[j.repo] for j in judged.values())
    for verdicts in ({r["verdict"] for r in rows}, {j.verdict for j in judged.values()}):
        assert verdicts <= {"useful", "noise", "wrong"}
    assert all(r["reason"].strip() and "\n" not in r["reason"] and int(r["line"]) > 0 for r in rows)


@pytest.mark.parametrize(("name", "app_count", "row_count"),
                         [("fresh3", 3, 60), ("fresh4", 5, 60), ("fresh5", 5, 60), ("fresh6", 4, 60)])
def test_the_later_fresh_hand_checks_are_pinned_to_their_apps(name: str, app_count: int, row_count: int) -> None:
    apps = {r["repo"] for r in csv.DictReader((BENCH / f"real_prs_apps_{name}.csv").open(encoding="utf-8"))}
    rows = list(csv.DictReader((BENCH / f"real_prs_handcheck_{name}.csv").open(encoding="utf-8")))
    assert len(apps) == app_count and len(rows) == row_count and {r["repo"] for r in rows} <= apps
    assert {r["verdict"] for r in rows} <= {"useful", "noise", "wrong"}
    assert all(r["reason"].strip() and "\n" not in r["reason"] and int(r["line"]) > 0 for r in rows)


def _write(path: Path, header: list[str], rows: list[list[object]]) -> Path:
    with path.open("w", newline="") as fh:
        out = csv.writer(fh)
        out.writerow(header)
        out.writerows(rows)
    return path


@pytest.mark.parametrize(("row", "message"), [
    (["o/r", "c", "a.ts", "3", "n-plus-two", "problem", "why"], "kind"),
    (["o/r", "c", "a.ts", "3", "n-plus-one", "bad", "why"], "verdict"),
    (["o/r", "c", "a.ts", "x", "n-plus-one", "problem", "why"], "line"),
    (["o/r", "c", "a.ts", "3", "not-prisma", "problem", "why"], "always fine"),
    (["o/r", "c", "a.ts", "3", "n-plus-one", "problem", " "], "reason"),
    (["x/y", "c", "a.ts", "3", "n-plus-one", "problem", "why"], "apps.csv"),
])
def test_bad_label_rows_are_refused_with_their_line(tmp_path: Path, row: list[str], message: str) -> None:
    apps = {"o/r": qa.App("o/r", "c", "tuning")}
    path = _write(tmp_path / "labels.csv", qa.LABEL_COLUMNS, [row])
    with pytest.raises(qa.LabelError, match=message) as err:
        qa.load_labels(path, apps)
    assert "labels.csv:2" in str(err.value)


def test_a_site_labelled_twice_for_one_kind_is_refused(tmp_path: Path) -> None:
    row = ["o/r", "c", "a.ts", "3", "n-plus-one", "problem", "why"]
    path = _write(tmp_path / "labels.csv", qa.LABEL_COLUMNS, [row, row])
    with pytest.raises(qa.LabelError, match="labelled twice"):
        qa.load_labels(path)


# ------------------------------------------------------------------------------------------------------------ spans

SOURCE = """\
export async function save(prisma, ids) {
  for (const id of ids) {
    await prisma.order.update({
      where: { id },
      data: { paid: true },
    })
  }
  await prisma.audit.create({ data: {} })
}
const x = 1
"""


def test_label_span_is_the_call_that_starts_on_the_line() -> None:
    assert qa.label_span(SOURCE, "a.ts", 3, "n-plus-one") == (3, 6)


def test_missing_transaction_span_runs_to_the_end_of_the_function() -> None:
    assert qa.label_span(SOURCE, "a.ts", 3, "missing-transaction") == (3, 9)


def test_a_line_without_a_call_is_its_own_span() -> None:
    assert qa.label_span(SOURCE, "a.ts", 10, "n-plus-one") == (10, 10)


# ---------------------------------------------------------------------------------------------------------- scoring


def _finding(rule: str, line: int, end: int | None = None, **extra: object) -> Finding:
    return Finding(rule=rule, severity=Severity.WARNING, path="a.ts", line=line, end_line=end, message="m",
                   extra=dict(extra))


def _run(findings: list[Finding]) -> qa.RepoRun:
    return qa.RepoRun("o/r", "c", ["a.ts"], Review(findings=findings), {"a.ts": SOURCE})


def _label(line: int, kind: str, verdict: str) -> qa.Label:
    return qa.Label("o/r", "c", "a.ts", line, kind, verdict, "why")


def test_outcomes_by_rule_and_line() -> None:
    labels = [_label(3, "n-plus-one", "problem"), _label(8, "missing-index", "fine"),
              _label(8, "mass-write", "fine"), _label(3, "unbounded-find-many", "problem")]
    outcomes, unlabelled = qa.score_run(labels, _run([
        _finding("query/n-plus-one", 4, 4),  # inside the labelled call's span
        _finding("query/missing-index", 8),
        _finding("query/include-depth", 1),
    ]))
    assert [o.category for o in outcomes] == ["tp", "fp", "tn", "fn"]
    assert [f.rule for f in unlabelled] == ["query/include-depth"]
    by_kind = qa.tallies(outcomes)
    assert (by_kind["all"].recall, by_kind["all"].precision) == (0.5, 0.5)


def test_not_prisma_counts_any_query_rule_except_one_another_label_scores() -> None:
    labels = [_label(3, "not-prisma", "fine"), _label(3, "n-plus-one", "problem")]
    outcomes, _ = qa.score_run(labels, _run([_finding("query/n-plus-one", 3)]))
    assert [o.category for o in outcomes] == ["tn", "tp"]
    outcomes, _ = qa.score_run(labels, _run([_finding("query/mass-write", 3)]))
    assert [o.category for o in outcomes] == ["fp", "fn"]


def test_a_grouped_finding_counts_at_the_call_sites_it_lists() -> None:
    labels = [_label(8, "missing-index", "problem")]
    grouped = _finding("query/missing-index", 3, sites=[{"path": "a.ts", "line": 8}])
    outcomes, _ = qa.score_run(labels, _run([grouped]))
    assert outcomes[0].category == "tp"
    outcomes, _ = qa.score_run(labels, _run([_finding("query/missing-index", 3, lines=[8])]))
    assert outcomes[0].category == "tp"


# --------------------------------------------------------------------------------- end to end on a local "mirror"

SCHEMA = """\
datasource db {
  provider = "postgresql"
  url      = env("DATABASE_URL")
}

model Order {
  id     Int     @id
  userId Int
  paid   Boolean
}
"""

HANDLER = """\
import { prisma } from "./db";

export async function GET(request: Request) {
  const ids: number[] = await request.json();
  for (const id of ids) {
    await prisma.order.update({ where: { id }, data: { paid: true } });
  }
  return Response.json(await prisma.order.findMany({ where: { userId: 1 } }));
}
"""


def _git(cwd: Path, *args: str) -> str:
    return subprocess.run(["git", *args], cwd=cwd, check=True, capture_output=True, text=True).stdout.strip()


@pytest.fixture()
def mirror(tmp_path: Path) -> tuple[Path, str]:
    work = tmp_path / "work"
    (work / "prisma").mkdir(parents=True)
    (work / "prisma" / "schema.prisma").write_text(SCHEMA)
    (work / "src").mkdir()
    (work / "src" / "db.ts").write_text('import { PrismaClient } from "@prisma/client";\n'
                                        "export const prisma = new PrismaClient();\n")
    (work / "src" / "route.ts").write_text(HANDLER)
    _git(work, "init", "-q")
    _git(work, "add", ".")
    _git(work, "-c", "user.name=t", "-c", "user.email=t@t", "commit", "-qm", "app")
    commit = _git(work, "rev-parse", "HEAD")
    mirrors = tmp_path / "mirrors"
    (mirrors / "acme+shop").mkdir(parents=True)
    _git(tmp_path, "clone", "-q", "--bare", str(work), str(mirrors / "acme+shop" / "repo"))
    return mirrors, commit


def test_scorer_end_to_end(mirror: tuple[Path, str], tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    mirrors, commit = mirror
    apps = _write(tmp_path / "apps.csv", qa.APP_COLUMNS, [["acme/shop", commit, "holdout"]])
    labels = _write(tmp_path / "labels.csv", qa.LABEL_COLUMNS, [
        ["acme/shop", commit, "src/route.ts", 6, "n-plus-one", "problem", "update per id of the request body"],
        ["acme/shop", commit, "src/route.ts", 8, "missing-index", "problem", "orders by userId, no index"],
        ["acme/shop", commit, "src/route.ts", 8, "mass-write", "fine", "a read"],
    ])
    dump = tmp_path / "dump"
    code = qa.main(["--labels", str(labels), "--apps", str(apps), "--mirrors", str(mirrors), "--role", "holdout",
                    "--json", "--dump", str(dump)])
    assert code == 0
    report = json.loads(capsys.readouterr().out)
    outcomes = {(o["line"], o["kind"]): o["outcome"] for o in report["outcomes"]}
    assert outcomes == {(6, "n-plus-one"): "tp", (8, "missing-index"): "tp", (8, "mass-write"): "tn"}
    # The review read the labelled file and its context (the schema) from the mirror at that commit.
    assert (dump / "acme+shop" / "src" / "route.ts").read_text() == HANDLER
    assert (dump / "acme+shop" / "prisma" / "schema.prisma").exists()


def test_a_missing_mirror_is_an_error_not_a_silent_skip(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    apps = _write(tmp_path / "apps.csv", qa.APP_COLUMNS, [["acme/none", "c", "tuning"]])
    labels = _write(tmp_path / "labels.csv", qa.LABEL_COLUMNS,
                    [["acme/none", "c", "a.ts", 1, "n-plus-one", "problem", "why"]])
    assert qa.main(["--labels", str(labels), "--apps", str(apps), "--mirrors", str(tmp_path)]) == 2
    assert "no mirror of acme/none" in capsys.readouterr().err


def test_findings_list_and_sample(mirror: tuple[Path, str], tmp_path: Path,
                                  capsys: pytest.CaptureFixture[str]) -> None:
    mirrors, commit = mirror
    apps = _write(tmp_path / "apps.csv", qa.APP_COLUMNS, [["acme/shop", commit, "holdout"]])
    judged = _write(tmp_path / "judged.csv", qf.JUDGED_COLUMNS,
                    [["acme/shop", commit, "src/route.ts", 6, "query/n-plus-one", "warning", "useful", "a loop"]])
    assert qf.main(["--apps", str(apps), "--mirrors", str(mirrors), "--judged", str(judged)]) == 0
    out = capsys.readouterr().out
    assert "[useful]    acme/shop src/route.ts:6 query/n-plus-one" in out
    assert "useful     1  100.0 %" in out
    assert qf.main(["--apps", str(apps), "--mirrors", str(mirrors), "--csv", "--sample", "1"]) == 0
    rows = list(csv.DictReader(capsys.readouterr().out.splitlines()))
    assert len(rows) == 1 and rows[0]["repo"] == "acme/shop"


def test_min_severity_leaves_advice_out() -> None:
    labels = [_label(3, "n-plus-one", "fine")]
    advice = Finding(rule="query/n-plus-one", severity=Severity.INFO, path="a.ts", line=3, message="m")
    outcomes, _ = qa.score_run(labels, _run([advice]))
    assert outcomes[0].category == "fp"
    outcomes, _ = qa.score_run(labels, _run([advice]), Severity.WARNING)
    assert outcomes[0].category == "tn"
