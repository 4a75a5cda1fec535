"""Fixtures for the safety-invariant tests: the fake GitHub server of tests/fakes on a loopback port."""

from __future__ import annotations

import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

for folder in (Path(__file__).resolve().parents[1], Path(__file__).resolve().parents[1] / "github"):
    if str(folder) not in sys.path:
        sys.path.insert(0, str(folder))

from fakes.github_server import FakeGitHub, RunningServer  # noqa: E402
from gh_support import BOT_TOKEN, Env, Sleeps  # noqa: E402


@pytest.fixture
def gh() -> Iterator[Env]:
    fake = FakeGitHub()
    fake.add_token(BOT_TOKEN, "github-actions[bot]", type="Bot")
    server = RunningServer(fake).start()
    try:
        yield Env(fake, server, Sleeps())
    finally:
        server.stop()
