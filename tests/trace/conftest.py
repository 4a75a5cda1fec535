"""Trace tests run against the PostgreSQL server of this machine (127.0.0.1:5432, maintenance db `test`).

Every trace works in its own scratch databases (dbreview_trace_*) and drops them; tests check that it did.
Helpers live in trace_helpers.py (importable because this folder is put on sys.path, as tests/core does).
"""

from __future__ import annotations

import sys
from collections.abc import Callable
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).parent))

from trace_helpers import DOWN, FAILING, make_trace, run_scenario

from bot.trace.runner import TraceResult


@pytest.fixture
def trace() -> Callable[..., TraceResult]:
    """Trace a change and check that every scratch database it created is gone afterwards."""
    return make_trace()


@pytest.fixture(scope="session")
def scenario() -> TraceResult:
    """SCENARIO traced once for the whole session, with seeded rows."""
    if DOWN is not None:
        pytest.skip(f"PostgreSQL unreachable: {DOWN}")
    return run_scenario()


@pytest.fixture(scope="session")
def failing() -> TraceResult:
    """FAILING traced once on 20 seeded rows: its first statement fails (NOT NULL column without a default)."""
    if DOWN is not None:
        pytest.skip(f"PostgreSQL unreachable: {DOWN}")
    return run_scenario(FAILING, rows=20)
