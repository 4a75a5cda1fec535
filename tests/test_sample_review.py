"""The README's first command: the sample change must keep producing the review the README describes."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from bot.cli import main

ROOT = Path(__file__).resolve().parents[1]


def test_sample_review_finds_what_the_readme_promises(capsys: pytest.CaptureFixture[str]) -> None:
    code = main(["check", "--repo", str(ROOT / "examples/marketplace"), "--diff",
                 str(ROOT / "examples/vendor-payouts.patch"), "--format", "json", "--no-llm"])
    data = json.loads(capsys.readouterr().out)
    assert code == 1  # errors at the default fail_on
    assert not [n for n in data["summary"]["notes"] if "internal error" in n], data["summary"]["notes"]
    by_rule: dict[str, list[dict]] = {}
    for f in data["findings"]:
        by_rule.setdefault(f["rule"], []).append(f)
    for rule in ("migration/rename-as-drop-add", "query/dropped-column-used", "migration/add-required-column",
                 "migration/index-not-concurrent", "prisma/float-money", "prisma/fk-missing-index",
                 "prisma/sensitive-plaintext", "query/n-plus-one", "query/raw-sql-injection",
                 "query/unbounded-find-many", "query/missing-index"):
        assert rule in by_rule, f"the sample review lost {rule}"
    assert by_rule["query/dropped-column-used"][0]["path"] == "src/services/search.ts"
    assert any("@@index([status, createdAt])" in f["message"] for f in by_rule["query/missing-index"])
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    promised = re.search(r"reports (\d+) findings", readme)
    assert promised and int(promised.group(1)) == data["summary"]["total"], "update the README's sample count"
