from __future__ import annotations

import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

# pytest runs with --import-mode=importlib, which puts no test folder on sys.path: add tests/ (for `fakes`) and
# this folder (for `llm_samples`).
for folder in (Path(__file__).resolve().parents[1], Path(__file__).resolve().parent):
    if str(folder) not in sys.path:
        sys.path.insert(0, str(folder))

from fakes.anthropic_server import FakeAnthropic  # noqa: E402


@pytest.fixture(scope="session")
def _fake_server() -> Iterator[FakeAnthropic]:
    fake = FakeAnthropic().start()
    yield fake
    fake.stop()


@pytest.fixture
def fake_anthropic(_fake_server: FakeAnthropic) -> Iterator[FakeAnthropic]:
    _fake_server.reset()
    yield _fake_server
    _fake_server.reset()


@pytest.fixture
def llm_env(fake_anthropic: FakeAnthropic) -> dict[str, str]:
    return {"ANTHROPIC_API_KEY": "sk-ant-test", "ANTHROPIC_BASE_URL": fake_anthropic.base_url}
