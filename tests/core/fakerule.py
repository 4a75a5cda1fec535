"""A throwaway rule registered only for the duration of a test (foundation tests must not depend on real rules)."""

from __future__ import annotations

import re
from collections.abc import Iterator
from contextlib import contextmanager

from bot.context import ReviewContext
from bot.findings import Finding, Severity, Surface
from bot.registry import RULES, Rule, all_rules

FAKE = Rule(
    id="migration/fake-drop",
    severity=Severity.ERROR,
    surface=Surface.MIGRATION,
    summary="test rule: flags DROP statements",
    aliases=("squawk:ban-drop-column",),
)
FAKE_INFO = Rule(
    id="query/fake-info", severity=Severity.INFO, surface=Surface.QUERY, summary="test rule: flags findMany"
)


@contextmanager
def fake_rules() -> Iterator[None]:
    all_rules()
    RULES[FAKE.id] = FAKE
    RULES[FAKE_INFO.id] = FAKE_INFO
    try:
        yield
    finally:
        RULES.pop(FAKE.id, None)
        RULES.pop(FAKE_INFO.id, None)


def fake_analyzer(ctx: ReviewContext) -> list[Finding]:
    """DROP in migrations (statement scope = the line), findMany in query code."""
    out: list[Finding] = []
    for changed in ctx.surfaces.migrations:
        text = ctx.head_text(changed.path) or ""
        for number, line in enumerate(text.splitlines(), start=1):
            if re.search(r"\bDROP\b", line):
                out.append(FAKE.finding(changed.path, number, "Dropping loses data: use @map instead.",
                                        scope=(number, number), key=line.strip()))
    for changed in ctx.surfaces.query:
        text = ctx.head_text(changed.path) or ""
        for number, line in enumerate(text.splitlines(), start=1):
            if "findMany" in line:
                out.append(FAKE_INFO.finding(changed.path, number, "findMany seen.", key=line.strip()))
    return out
