from __future__ import annotations

import pytest
from query_testkit import Run, run_query

from bot.findings import Finding


@pytest.fixture
def query_findings() -> Run:
    def run(head: dict[str, str], base: dict[str, str] | None = None, rule: str | None = None,
            **kwargs: object) -> list[Finding]:
        found, _notes = run_query(head, base, **kwargs)  # type: ignore[arg-type]
        return [f for f in found if rule is None or f.rule == rule]

    return run
