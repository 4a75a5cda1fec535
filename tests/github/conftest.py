"""Fixtures for the GitHub tests: a fake GitHub on a loopback port, clients that never really sleep."""

from __future__ import annotations

import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

# Works under any pytest import mode: tests/ (for `fakes`) and this folder (for gh_support, gh_trees) on sys.path.
for folder in (Path(__file__).resolve().parents[1], Path(__file__).resolve().parent):
    if str(folder) not in sys.path:
        sys.path.insert(0, str(folder))

from fakes.github_server import FakeGitHub, RunningServer  # noqa: E402
from gh_support import BOT_TOKEN, HUMAN_TOKEN, READ_ONLY_TOKEN, Env, Sleeps, fake_analyze  # noqa: E402


@pytest.fixture
def gh() -> Iterator[Env]:
    fake = FakeGitHub()
    fake.add_token(BOT_TOKEN, "github-actions[bot]", type="Bot")
    fake.add_token(READ_ONLY_TOKEN, "github-actions[bot]", type="Bot", write=False)
    fake.add_token(HUMAN_TOKEN, "bob")
    server = RunningServer(fake).start()
    try:
        yield Env(fake, server, Sleeps())
    finally:
        server.stop()


@pytest.fixture
def fake_rules(monkeypatch: pytest.MonkeyPatch) -> None:
    """Make bot.pipeline run only the stand-in analyzer (so these tests do not depend on the real rule packs)."""
    import bot.pipeline

    monkeypatch.setattr(bot.pipeline, "analyzers", lambda: [("fake", fake_analyze)])
