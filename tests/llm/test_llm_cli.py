"""`dbreview check` uses the LLM review when ANTHROPIC_API_KEY is set, marks its findings, and `--no-llm` stops it."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from bot.cli import main

MIGRATION = "prisma/migrations/20241102101500_vendor_payouts/migration.sql"


@pytest.fixture
def run(repo_root: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch):  # type: ignore[no-untyped-def]
    monkeypatch.setenv("DBREVIEW_DATA_DIR", str(tmp_path / "data"))

    def _run(*extra: str) -> dict:  # type: ignore[type-arg]
        out = tmp_path / "out.json"
        main(["check", "--repo", str(repo_root / "examples" / "marketplace"),
              "--diff", str(repo_root / "examples" / "vendor-payouts.patch"), "--format", "json", "-o", str(out),
              *extra])
        return json.loads(out.read_text())

    return _run


def _answer(body: dict) -> dict:  # type: ignore[type-arg]
    return {"assessment": "Backfill needed before the NOT NULL column.", "findings": [
        {"path": MIGRATION, "line": 10, "severity": "warning", "category": "migration-safety",
         "title": "paidAt is never backfilled", "body": "Existing paid orders keep `paidAt` NULL; backfill it "
         "from the payment records in the same deploy.", "confidence": 0.85}]}


def test_check_with_a_key_includes_llm_findings_marked_as_such(fake_anthropic, run, monkeypatch) -> None:
    monkeypatch.setenv("ANTHROPIC_API_KEY", "sk-ant-test")
    monkeypatch.setenv("ANTHROPIC_BASE_URL", fake_anthropic.base_url)
    fake_anthropic.reply(_answer)
    data = run()
    llm = [f for f in data["findings"] if f["source"] == "llm"]
    assert [(f["rule"], f["path"], f["line"]) for f in llm] == [("llm/migration-safety", MIGRATION, 10)]
    assert data["summary"]["llm"]["calls"] == 1
    assert data["summary"]["llm"]["assessment"].startswith("Backfill needed")
    assert data["summary"]["by_source"]["llm"] == 1


def test_no_llm_flag_turns_it_off(fake_anthropic, run, monkeypatch) -> None:
    monkeypatch.setenv("ANTHROPIC_API_KEY", "sk-ant-test")
    monkeypatch.setenv("ANTHROPIC_BASE_URL", fake_anthropic.base_url)
    fake_anthropic.reply(_answer)
    data = run("--no-llm")
    assert fake_anthropic.requests == []
    assert data["summary"]["by_source"]["llm"] == 0


def test_without_a_key_the_summary_says_the_review_is_deterministic_only(fake_anthropic, run, monkeypatch) -> None:
    monkeypatch.delenv("ANTHROPIC_API_KEY", raising=False)
    data = run()
    assert fake_anthropic.requests == []
    assert sum("LLM review off" in n for n in data["summary"]["notes"]) == 1
