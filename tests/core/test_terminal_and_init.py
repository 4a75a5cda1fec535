"""The terminal side: `--format concise`, config errors in our words, `dbreview init`, missing extras."""

from __future__ import annotations

import re
import shutil
from pathlib import Path

import pytest

from bot.cli import main
from bot.config import ConfigError, parse_config

REPO_ROOT = Path(__file__).resolve().parents[2]
EXAMPLE = REPO_ROOT / "examples" / "marketplace"
PATCH = REPO_ROOT / "examples" / "vendor-payouts.patch"
_CONCISE = re.compile(r"^(?P<path>[^:\s]+):(?P<line>\d+):(?P<col>\d+): (?P<sev>error|warning|info) "
                      r"(?P<rule>[a-z]+/[a-z0-9-]+) (?P<title>\S.*)$")


def _check(capsys: pytest.CaptureFixture[str], *args: str, repo: Path = EXAMPLE) -> tuple[int, str, str]:
    code = main(["check", "--repo", str(repo), "--diff", str(PATCH), "--no-llm", *args])
    out, err = capsys.readouterr()
    return code, out, err


def test_concise_is_one_line_per_finding_like_ruff(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = _check(capsys, "--format", "concise")
    assert code == 1  # the sample has errors: exit 1 on purpose
    lines = out.splitlines()
    findings = [m for ln in lines[:-1] if (m := _CONCISE.match(ln))]
    assert len(findings) == len(lines) - 1 > 10
    by_severity = {s: sum(1 for m in findings if m["sev"] == s) for s in ("error", "warning", "info")}
    assert lines[-1] == (f"Found {len(findings)} findings ({by_severity['error']} error, {by_severity['warning']} "
                         f"warning, {by_severity['info']} info).")
    raw = next(m for m in findings if m["rule"] == "query/raw-sql-injection")
    assert (raw["path"], raw["line"]) == ("src/services/payouts.ts", "22")
    assert "`" not in raw["title"] and len(raw["title"]) <= 120
    assert all("\x1b[" not in ln for ln in lines)
    # Same findings as the JSON contract, in the same places.
    _, json_out, _ = _check(capsys, "--format", "json")
    import json

    data = json.loads(json_out)
    assert sorted((f["path"], f["line"], f["rule"]) for f in data["findings"]) == \
        sorted((m["path"], int(m["line"]), m["rule"]) for m in findings)


def test_concise_without_findings_says_so(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    from bot.report.concise import render_concise
    from bot.review import Review

    assert render_concise(Review(has_database_surface=True)) == "No findings.\n"
    assert "No database change" in render_concise(Review())


def test_config_errors_list_every_problem_in_our_words() -> None:
    text = ("fail_onn: error\nfail_on: sometimes\nrules:\n  prisma/float-mony: error\n  fk-missing-index: warning\n"
            "llm: {max_findings: lots, modle: x}\nreview: {max_inline_comments: -1}\nenable: [namng]\n"
            "paths: {schema: x}\n")
    with pytest.raises(ConfigError) as caught:
        parse_config(text)
    problems = caught.value.problems
    assert problems == [
        "fail_on: expected one of error, warning, info, never; got 'sometimes'",
        "paths.schema: expected a list (e.g. [a, b]), got 'x'",
        "llm.max_findings: expected a whole number, got 'lots'",
        "llm.modle: unknown key (did you mean 'model'?)",
        "review.max_inline_comments: must be at least 0, got -1",
        "fail_onn: unknown key (did you mean 'fail_on'?)",
        "rules.prisma/float-mony: unknown rule id (did you mean 'prisma/float-money'?)",
        "rules.fk-missing-index: unknown rule id (did you mean 'prisma/fk-missing-index'?)",
        "enable: unknown rule or pack 'namng' (did you mean 'naming'?) (packs: naming)",
    ]
    message = str(caught.value)
    assert message.startswith(".dbreview.yml: 9 problems: ") and "\n" not in message
    for pydantic_word in ("Input should", "validation error", "Extra inputs", "literal_error", "pydantic"):
        assert pydantic_word not in message


def test_one_config_problem_keeps_the_one_line_form() -> None:
    with pytest.raises(ConfigError, match=r"^\.dbreview\.yml: review\.inline_inf: unknown key \(did you mean "
                                          r"'inline_info'\?\)$"):
        parse_config("review: {inline_inf: true}\n")
    with pytest.raises(ConfigError, match=r"known keys: fail_on, enable"):
        parse_config("zzz: 1\n")  # nothing close: the known keys are listed instead


def test_cli_prints_each_config_problem_on_its_own_line(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    repo = tmp_path / "app"
    shutil.copytree(EXAMPLE, repo)
    (repo / ".dbreview.yml").write_text("fail_on: sometimes\nreview: {max_inline: 3}\n")
    code, out, err = _check(capsys, repo=repo)
    assert code == 2 and out == ""
    assert err.splitlines() == [
        "dbreview: error: .dbreview.yml has 2 problems:",
        "  - fail_on: expected one of error, warning, info, never; got 'sometimes'",
        "  - review.max_inline: unknown key (did you mean 'max_inline_comments'?)",
    ]
    assert "Traceback" not in err


def test_init_writes_a_detected_config_and_the_workflow_and_never_overwrites(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    repo = tmp_path / "app"
    shutil.copytree(EXAMPLE, repo)
    assert main(["init", "--repo", str(repo)]) == 0
    out = capsys.readouterr().out
    assert "wrote .dbreview.yml" in out and "wrote .github/workflows/dbreview.yml" in out
    text = (repo / ".dbreview.yml").read_text()
    config = parse_config(text)
    assert config.paths.schema_ == ["prisma/schema.prisma"]
    assert config.paths.migrations == ["prisma/migrations/**"]
    assert "database: postgresql (from prisma/migrations/migration_lock.toml)" in text
    assert "code calling Prisma Client: src/ (" in text
    workflow = (repo / ".github/workflows/dbreview.yml").read_text()
    assert workflow == (REPO_ROOT / ".github/workflows/dbreview-example.yml").read_text()
    # The detected config reviews the sample exactly as no config does.
    code, with_config, _ = _check(capsys, "--format", "concise", repo=repo)
    _, without, _ = _check(capsys, "--format", "concise")
    assert code == 1 and with_config == without
    # A second run refuses and writes nothing.
    (repo / ".dbreview.yml").write_text("fail_on: never\n")
    assert main(["init", "--repo", str(repo)]) == 2
    assert "already exists; nothing written" in capsys.readouterr().err
    assert (repo / ".dbreview.yml").read_text() == "fail_on: never\n"
    assert main(["init", "--repo", str(repo), "--force", "--no-workflow"]) == 0
    assert (repo / ".dbreview.yml").read_text() == text


def test_init_on_a_multi_file_schema_and_another_database(tmp_path: Path) -> None:
    from bot.init import config_text, detect

    (tmp_path / "db/prisma/schema").mkdir(parents=True)
    (tmp_path / "db/prisma/schema/main.prisma").write_text('datasource db {\n  provider = "mysql"\n}\n')
    (tmp_path / "db/prisma/schema/user.prisma").write_text("model User {\n  id Int @id\n}\n")
    found = detect(tmp_path)
    assert found.provider == "mysql" and found.provider_source == "the schema's datasource"
    text = config_text(found)
    assert parse_config(text).paths.schema_ == ["db/prisma/schema/**/*.prisma"]
    assert "lock and rewrite rules are written for PostgreSQL" in text
    assert "migrations: none found" in text


def test_packaged_workflow_is_the_example_workflow() -> None:
    from bot.init import workflow_text

    assert workflow_text() == (REPO_ROOT / ".github/workflows/dbreview-example.yml").read_text()


@pytest.mark.parametrize(("argv", "extra"), [
    (["serve"], "app"), (["worker"], "app"), (["action"], "github"),
    (["trace", "--database-url", "postgresql://x@localhost/db"], "trace"),
    (["stats", "--database-url", "postgresql://x@localhost/db"], "trace"),
    (["check", "--repo", str(EXAMPLE), "--diff", str(PATCH), "--trace-database-url", "postgresql://x@h/db"],
     "trace"),
])
def test_a_command_needing_a_missing_extra_names_it(argv: list[str], extra: str, monkeypatch: pytest.MonkeyPatch,
                                                     capsys: pytest.CaptureFixture[str]) -> None:
    import bot.extras

    real = bot.extras.importlib.util.find_spec
    hidden = set(bot.extras.EXTRAS[extra][0])
    monkeypatch.setattr(bot.extras.importlib.util, "find_spec",
                        lambda name, *a: None if name in hidden else real(name, *a))
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and f"pip install 'dbreview[{extra}]'" in err


def test_check_with_a_key_but_without_the_llm_extra_says_so_and_goes_on(
        monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    import bot.extras

    real = bot.extras.importlib.util.find_spec
    monkeypatch.setattr(bot.extras.importlib.util, "find_spec",
                        lambda name, *a: None if name == "anthropic" else real(name, *a))
    monkeypatch.setenv("ANTHROPIC_API_KEY", "sk-ant-test-key")
    code = main(["check", "--repo", str(EXAMPLE), "--diff", str(PATCH), "--format", "text"])
    out = capsys.readouterr().out
    assert code == 1
    assert "the [llm] extra is not installed (pip install 'dbreview[llm]')" in out


def test_action_config_inputs_pick_the_file_and_override_fail_on() -> None:
    from bot.change import MemorySnapshot
    from bot.config import load_config

    snapshot = MemorySnapshot({".dbreview.yml": "fail_on: warning\n",
                               "packages/db/.dbreview.yml": "fail_on: info\n",
                               "ci/review.yml": "fail_on: never\n"})
    assert load_config(snapshot, env={}).fail_on == "warning"
    assert load_config(snapshot, env={"DBREVIEW_WORKING_DIRECTORY": "packages/db/"}).fail_on == "info"
    assert load_config(snapshot, env={"DBREVIEW_WORKING_DIRECTORY": "packages/other"}).fail_on == "warning"
    assert load_config(snapshot, env={"DBREVIEW_CONFIG": "ci/review.yml",
                                      "DBREVIEW_WORKING_DIRECTORY": "packages/db"}).fail_on == "never"
    assert load_config(snapshot, env={"DBREVIEW_FAIL_ON": "error"}).fail_on == "error"
    with pytest.raises(ConfigError, match=r"ci/missing.yml: no such config file"):
        load_config(snapshot, env={"DBREVIEW_CONFIG": "ci/missing.yml"})
    with pytest.raises(ConfigError, match=r"fail-on: expected one of .*got 'eror' \(did you mean 'error'\?\)"):
        load_config(snapshot, env={"DBREVIEW_FAIL_ON": "eror"})
    # A path outside the repository is never read.
    assert load_config(snapshot, env={"DBREVIEW_WORKING_DIRECTORY": "../../etc"}).fail_on == "warning"
    with pytest.raises(ConfigError, match="must be inside the repository"):
        load_config(snapshot, env={"DBREVIEW_CONFIG": "../secrets.yml"})
