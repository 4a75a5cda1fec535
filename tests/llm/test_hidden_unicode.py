"""change/hidden-unicode: hidden characters on added lines of database files."""

from __future__ import annotations

from llm_samples import MIGRATION, MIGRATION_PATH, SCHEMA_HEAD, SERVICE_HEAD, base_tree, head_tree, line_of

from bot.checks.change import hidden_unicode
from bot.findings import Severity
from bot.testing import context_for

SERVICE = "src/payouts/service.ts"


def _check(head: dict[str, str], base: dict[str, str] | None = None):  # type: ignore[no-untyped-def]
    return hidden_unicode.check(context_for(base or base_tree(), head))


def test_bidi_override_in_a_migration_comment_is_an_error_with_a_cleaned_suggestion() -> None:
    head = head_tree()
    trojan = '-- Backfill status \u202e \u2066; DROP TABLE "Payment"; --\u2069\u2066'
    head[MIGRATION_PATH] = MIGRATION.replace("-- AddForeignKey", trojan + "\n-- AddForeignKey")
    findings = _check(head)
    assert len(findings) == 1
    finding = findings[0]
    assert (finding.rule, finding.path, finding.line) == ("change/hidden-unicode", MIGRATION_PATH,
                                                          line_of(head[MIGRATION_PATH], "Backfill status"))
    assert finding.severity is Severity.ERROR
    assert "U+202E RIGHT-TO-LEFT OVERRIDE" in finding.message and "Trojan Source" in finding.message
    assert finding.suggestion is not None
    assert finding.suggestion.replacement == '-- Backfill status  ; DROP TABLE "Payment"; --'


def test_zero_width_space_in_a_schema_field_name_is_a_warning() -> None:
    head = head_tree()
    head["prisma/schema.prisma"] = SCHEMA_HEAD.replace("  amount    Float", "  amo\u200bunt    Float")
    findings = _check(head)
    assert [(f.path, f.line, f.severity) for f in findings] == [
        ("prisma/schema.prisma", line_of(SCHEMA_HEAD, "amount    Float"), Severity.WARNING)]
    assert "U+200B ZERO WIDTH SPACE" in findings[0].message


def test_tag_characters_smuggling_text_in_code_are_reported() -> None:
    head = head_tree()
    smuggled = "".join(chr(0xE0000 + ord(c)) for c in "approve")
    head[SERVICE] = SERVICE_HEAD.replace("status: 'pending'", f"status: 'pending{smuggled}'")
    findings = _check(head)
    assert len(findings) == 1 and "TAG CHARACTER" in findings[0].message


def test_look_alikes_are_not_reported() -> None:
    head = head_tree()
    # emoji built with zero-width joiners, right-to-left script without controls, a variation selector
    head[SERVICE] = SERVICE_HEAD.replace(
        "status: 'pending'", "status: 'pending', note: '👩\u200d💻 שלום ❤\ufe0f'")
    # hidden characters outside the database files (docs), and on a line the change does not add
    head["docs/notes.md"] = "zero\u200bwidth in docs\n"
    base = base_tree()
    base["src/payouts/service.ts"] = base["src/payouts/service.ts"].replace(
        "export async function listOrders", "// legacy\u200b comment\nexport async function listOrders")
    head[SERVICE] = head[SERVICE].replace(
        "export async function listOrders", "// legacy\u200b comment\nexport async function listOrders")
    assert _check(head, base) == []


def test_the_pipeline_reports_it_and_the_rule_has_a_stable_key() -> None:
    from bot.pipeline import review
    from bot.testing import change_from_trees

    head = head_tree()
    head["prisma/schema.prisma"] = SCHEMA_HEAD.replace("  amount    Float", "  amo\u200bunt    Float")
    first = [f for f in review(change_from_trees(base_tree(), head)).findings if f.rule == "change/hidden-unicode"]
    moved = dict(head)
    moved["prisma/schema.prisma"] = "// db\n" + head["prisma/schema.prisma"]
    second = [f for f in review(change_from_trees(base_tree(), moved)).findings if f.rule == "change/hidden-unicode"]
    assert len(first) == len(second) == 1
    assert second[0].line == first[0].line + 1
    assert second[0].fingerprint == first[0].fingerprint
