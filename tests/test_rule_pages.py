"""Every rule has its page in rules/ and every page has a rule; pages follow the ruff-style shape."""

from __future__ import annotations

from pathlib import Path

import pytest

from bot.registry import all_rules

RULES_DIR = Path(__file__).resolve().parents[1] / "rules"
SECTIONS = ("## What it finds", "## Why it matters", "## Example", "## Use instead")


def _pages() -> dict[str, Path]:
    return {str(p.relative_to(RULES_DIR).with_suffix("")): p for p in RULES_DIR.rglob("*.md")
            if p.name != "README.md"}


def test_every_rule_has_a_page() -> None:
    missing = sorted(set(all_rules()) - set(_pages()))
    assert missing == [], f"rules without a page in rules/: {missing}"


def test_every_page_has_a_rule() -> None:
    orphans = sorted(set(_pages()) - set(all_rules()))
    assert orphans == [], f"pages without a rule: {orphans}"


@pytest.mark.parametrize("rule_id", sorted(all_rules()))
def test_page_shape(rule_id: str) -> None:
    page = _pages().get(rule_id)
    if page is None:
        pytest.fail(f"{rule_id} has no page")
    text = page.read_text(encoding="utf-8")
    assert text.startswith(f"# {rule_id}\n"), f"{page} must start with '# {rule_id}'"
    positions = [text.find(section) for section in SECTIONS]
    assert all(p > 0 for p in positions), f"{page} lacks one of {SECTIONS}"
    assert positions == sorted(positions), f"{page}: sections out of order"


def test_rule_ids_are_well_formed() -> None:
    for rule_id, rule in all_rules().items():
        prefix, _, name = rule_id.partition("/")
        assert prefix in ("prisma", "migration", "query", "change"), rule_id
        assert name and name == name.lower() and " " not in name, rule_id
        assert rule.summary and not rule.summary.endswith("."), f"{rule_id}: summary is one line, no period"


def test_readme_lists_every_rule() -> None:
    readme = (RULES_DIR.parent / "README.md").read_text(encoding="utf-8")
    missing = sorted(rule_id for rule_id in all_rules() if f"`{rule_id}`" not in readme)
    assert missing == [], f"README's rule table lacks: {missing}"
