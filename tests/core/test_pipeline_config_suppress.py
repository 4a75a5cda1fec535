"""Config, inline suppressions and diff-aware filtering, through the real pipeline."""

from __future__ import annotations

import pytest
from fakerule import FAKE, FAKE_INFO, fake_analyzer, fake_rules

from bot.config import ConfigError, parse_config
from bot.findings import Severity
from bot.pipeline import review
from bot.testing import change_from_trees

MIG = "prisma/migrations/20240601000000_cleanup/migration.sql"


@pytest.fixture(autouse=True)
def _rules():  # type: ignore[no-untyped-def]
    with fake_rules():
        yield


OWN_RULES = {FAKE.id, FAKE_INFO.id, "change/unused-suppression", "change/invalid-suppression"}


def run(base: dict[str, str], head: dict[str, str], config: str = "", report_all: bool = False):  # type: ignore[no-untyped-def]
    """The real pipeline plus the fake analyzer; only the fake rules' and suppression findings are kept, so these
    tests do not depend on what the real analyzers say about the same SQL."""
    result = review(change_from_trees(base, head), parse_config(config), report_all=report_all,
                    extra_analyzers=[("fake", fake_analyzer)])
    result.findings = [f for f in result.findings if f.rule in OWN_RULES]
    result.suppressed = [f for f in result.suppressed if f.rule in OWN_RULES]
    return result


def test_findings_have_stable_fingerprints_across_moves() -> None:
    first = run({}, {MIG: 'ALTER TABLE "a" DROP COLUMN "b";\n'})
    moved = run({}, {MIG: '-- CleanUp\n\nALTER TABLE "a" DROP COLUMN "b";\n'})
    [f1], [f2] = first.findings, moved.findings
    assert (f1.line, f2.line) == (1, 3)
    assert f1.fingerprint == f2.fingerprint and len(f1.fingerprint) == 16


def test_rule_severity_override_and_off() -> None:
    head = {MIG: 'ALTER TABLE "a" DROP COLUMN "b";\n'}
    [f] = run({}, head, f"rules:\n  {FAKE.id}: warning\n").findings
    assert f.severity is Severity.WARNING
    assert run({}, head, f"rules:\n  {FAKE.id}: off\n").findings == []
    assert run({}, head, f"rules:\n  {FAKE.id}: {{enabled: false}}\n").findings == []


def test_dbreview_ignore_with_reason_suppresses_and_echoes() -> None:
    head = {MIG: f'-- dbreview-ignore {FAKE.id}: column unused since v4\nALTER TABLE "a" DROP COLUMN "b";\n'}
    result = run({}, head)
    assert result.findings == []
    [s] = result.suppressed
    assert "column unused since v4" in (s.suppressed_reason or "")


def test_short_rule_name_and_trailing_comment() -> None:
    head = {MIG: 'ALTER TABLE "a" DROP COLUMN "b"; -- dbreview-ignore fake-drop: emptied in #412\n'}
    result = run({}, head)
    assert result.findings == [] and len(result.suppressed) == 1


def test_suppression_without_reason_is_invalid_and_does_not_suppress() -> None:
    head = {MIG: f'-- dbreview-ignore {FAKE.id}\nALTER TABLE "a" DROP COLUMN "b";\n'}
    rules = sorted(f.rule for f in run({}, head).findings)
    assert rules == ["change/invalid-suppression", FAKE.id]


def test_unknown_rule_in_suppression_is_reported() -> None:
    head = {MIG: '-- dbreview-ignore migration/no-such-rule: because\nSELECT 1;\n'}
    [f] = run({}, head).findings
    assert f.rule == "change/invalid-suppression" and "no-such-rule" in f.message


def test_unused_suppression_is_reported() -> None:
    head = {MIG: f'-- dbreview-ignore {FAKE.id}: old reason\nALTER TABLE "a" ADD COLUMN "c" TEXT;\n'}
    [f] = run({}, head).findings
    assert f.rule == "change/unused-suppression" and f.line == 1


def test_squawk_ignore_maps_through_aliases() -> None:
    head = {MIG: '-- squawk-ignore ban-drop-column\nALTER TABLE "a" DROP COLUMN "b";\n'}
    result = run({}, head)
    assert result.findings == [] and result.suppressed[0].suppressed_reason.startswith("squawk-ignore")


def test_squawk_ignore_of_unrelated_rule_does_not_suppress() -> None:
    head = {MIG: '-- squawk-ignore prefer-robust-stmts\nALTER TABLE "a" DROP COLUMN "b";\n'}
    assert [f.rule for f in run({}, head).findings] == [FAKE.id]


def test_file_level_ignore() -> None:
    head = {MIG: f'-- dbreview-ignore-file {FAKE.id}: cleanup release\nSELECT 1;\nDROP TABLE "x";\nDROP TABLE "y";\n'}
    result = run({}, head)
    assert result.findings == [] and len(result.suppressed) == 2


def test_diff_aware_reports_only_touched_lines() -> None:
    path = "src/report.ts"
    base = {path: "const a = await prisma.order.findMany()\nconst b = 1\n"}
    head = {path: "const a = await prisma.order.findMany()\nconst b = 2\nconst c = await prisma.user.findMany()\n"}
    touched = run(base, head)
    assert [f.line for f in touched.findings] == [3]
    everything = run(base, head, report_all=True)
    assert [f.line for f in everything.findings] == [1, 3]


def test_config_errors_name_the_key() -> None:
    with pytest.raises(ConfigError, match=r"rules.prisma/nope: unknown rule id"):
        parse_config("rules:\n  prisma/nope: error\n")
    with pytest.raises(ConfigError, match=r"fail_onn: unknown key"):
        parse_config("fail_onn: error\n")
    with pytest.raises(ConfigError, match=r"fail_on"):
        parse_config("fail_on: sometimes\n")
    with pytest.raises(ConfigError, match=r"dbreview.yml:3: not valid YAML"):
        parse_config("rules:\n  - [unclosed\n")
    with pytest.raises(ConfigError, match=r"unknown option"):
        parse_config(f"rules:\n  {FAKE.id}: {{severity: error, max_things: 3}}\n")
    with pytest.raises(ConfigError, match=r"enable: unknown rule or pack"):
        parse_config("enable: [namingg]\n")
    with pytest.raises(ConfigError, match=r"expected a mapping"):
        parse_config("- a\n- b\n")


def test_config_json_schema_is_valid() -> None:
    import json

    import jsonschema

    from bot.config import json_schema

    schema = json.loads(json_schema())
    jsonschema.Draft202012Validator.check_schema(schema)
    assert "fail_on" in schema["properties"] and "source" not in schema["properties"]


def test_no_database_surface_costs_nothing() -> None:
    result = run({"README.md": "a\n"}, {"README.md": "b\n"})
    assert not result.has_database_surface and result.findings == []


def test_deleting_a_line_inside_an_object_touches_it_but_not_next_to_it() -> None:
    from bot.findings import Finding
    from bot.pipeline import _caused_by_change

    base = "model A {\n  id Int @id\n  old String\n}\n\nmodel B {\n  id Int @id\n}\n"
    inside = change_from_trees({"s.prisma": base}, {"s.prisma": base.replace("  old String\n", "")})
    outside = change_from_trees({"s.prisma": base + "// trailing note\n"}, {"s.prisma": base})

    def about_b(scope: tuple[int, int], line: int) -> Finding:
        return Finding(rule="x", severity=Severity.INFO, path="s.prisma", line=line, message="m", scope=scope)

    assert _caused_by_change(about_b((1, 3), 1), inside)  # model A lost a line: A's findings are the author's
    assert not _caused_by_change(about_b((5, 7), 5), inside)  # model B was not touched
    assert not _caused_by_change(about_b((6, 8), 6), outside)  # a deletion after B's closing brace is not inside B


def test_pathologically_nested_config_is_a_config_error() -> None:
    with pytest.raises(ConfigError, match="nested too deeply"):
        parse_config("context: " + "[" * 5000 + "]" * 5000 + "\n")
