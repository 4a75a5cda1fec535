"""End to end: the real App (uvicorn subprocess, SQLite queue and store) with the real review job
(bot.github.run.review_pull_request and the real rule packs) against the fake GitHub server from tests/fakes."""

from __future__ import annotations

import signal
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from app_harness import AppProcess, comment_event, pull_request_event, wait_for
from fakes.github_server import FakeGitHub, RunningServer

from bot.app.store import Store

APP_TOKEN = "ghs_dbreview_app_token"
REPO = "acme/shop"

SCHEMA = """datasource db {
  provider = "postgresql"
  url      = env("DATABASE_URL")
}

model User {
  id     String  @id @default(cuid())
  email  String  @unique
  orders Order[]
}

model Order {
  id     String @id @default(cuid())
  userId String
  user   User   @relation(fields: [userId], references: [id])
  total  Int
PLACEHOLDER
  @@index([userId])
}
"""
BASE = {"prisma/schema.prisma": SCHEMA.replace("PLACEHOLDER\n", "")}
PUSH1 = {"prisma/schema.prisma": SCHEMA.replace("PLACEHOLDER", "  discount Float\n  taxAmount Float")}
PUSH2 = {"prisma/schema.prisma": SCHEMA.replace("PLACEHOLDER", "  discount Float\n  shippingPrice Float")}


@pytest.fixture
def github() -> Iterator[tuple[FakeGitHub, RunningServer]]:
    fake = FakeGitHub()
    fake.add_token(APP_TOKEN, "dbreview[bot]", type="Bot")
    server = RunningServer(fake).start()
    try:
        yield fake, server
    finally:
        server.stop()


def _app(tmp_path: Path, server: RunningServer, **env: str) -> AppProcess:
    return AppProcess(tmp_path, workers=1, job="github", env={
        "GITHUB_TOKEN": APP_TOKEN, "GITHUB_API_URL": server.url, "DBREVIEW_GITHUB_WRITE_INTERVAL": "0",
        "ANTHROPIC_API_KEY": "", **env})


def _pr_event(fake: FakeGitHub, number: int, action: str) -> dict[str, Any]:
    return pull_request_event(REPO, number, action, head=fake.repo(REPO).pulls[number].head_sha)


def _inline(fake: FakeGitHub, number: int) -> list[dict[str, Any]]:
    return [c for c in fake.posted_comments(REPO, number) if c["user"]["login"] == "dbreview[bot]"]


def _summaries(fake: FakeGitHub, number: int) -> list[dict[str, Any]]:
    return [c for c in fake.issue_comments.values() if c["_pr"] == number
            and c["user"]["login"] == "dbreview[bot]" and "dbreview" in c["body"] and "Sorry" not in c["body"]]


def _done(store: Store, number: int, count: int) -> bool:
    return sum(r.status == "done" for r in store.reviews_for(REPO, number)) >= count


def _private_key_pem() -> str:
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import rsa

    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    return key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                             serialization.NoEncryption()).decode()


def test_review_push_and_commands_against_fake_github(tmp_path: Path,
                                                     github: tuple[FakeGitHub, RunningServer]) -> None:
    """As a GitHub App: an installation token minted per event's installation id (JWT -> access token)."""
    fake, server = github
    fake.app_installations["42"] = "dbreview[bot]"
    fake.open_pr(REPO, BASE, PUSH1, number=1)
    key_path = tmp_path / "app.pem"
    key_path.write_text(_private_key_pem())
    with _app(tmp_path, server, GITHUB_TOKEN="", GITHUB_APP_ID="123456",
              GITHUB_APP_PRIVATE_KEY_PATH=str(key_path)) as app:
        store = Store(f"sqlite:///{tmp_path / 'state.db'}", migrate=False)
        assert app.deliver("pull_request", _pr_event(fake, 1, "opened")).status_code == 202
        wait_for(lambda: _done(store, 1, 1), timeout=30)
        first = _inline(fake, 1)
        assert first, app.logs()[-3000:]
        assert len(fake.check_runs) == 1

        fake.push(REPO, 1, PUSH2)
        assert app.deliver("pull_request", _pr_event(fake, 1, "synchronize")).status_code == 202
        wait_for(lambda: _done(store, 1, 2), timeout=30)
        bodies = [c["body"] for c in _inline(fake, 1)]
        assert len(bodies) == len(set(bodies))  # nothing posted twice
        assert store.pr_state(REPO, 1).last_reviewed_sha == fake.repo(REPO).pulls[1].head_sha  # type: ignore[union-attr]

        member = comment_event(REPO, 1, "/dbreview", login="carol", association="MEMBER", comment_id=7001)
        fake.issue_comments[7001] = {"id": 7001, "body": "/dbreview", "user": {"login": "carol", "type": "User"},
                                     "_repo": REPO, "_pr": 1}
        assert app.deliver("issue_comment", member).status_code == 202
        outsider = comment_event(REPO, 1, "/dbreview full", login="mallory", association="NONE")
        app.deliver("issue_comment", outsider)
        app.deliver("issue_comment", outsider)
        wait_for(lambda: _done(store, 1, 3), timeout=30)
        wait_for(lambda: any("Sorry @mallory" in c["body"] for c in fake.issue_comments.values()))
        assert [r["content"] for r in fake.reactions if r["comment_id"] == 7001] == ["eyes"]
        assert sum("Sorry @mallory" in c["body"] for c in fake.issue_comments.values()) == 1
        reviews = store.reviews_for(REPO, 1)
        assert [r.trigger for r in reviews] == ["opened", "synchronize", "command"]
        assert reviews[-1].requested_by == "carol"
        store.close()
        metrics = httpx.get(app.url + "/metrics").text
        assert 'dbreview_github_api_calls_total{method="POST",status="2xx"}' in metrics
        minted = [r for r in fake.requests if r["path"] == "/app/installations/42/access_tokens"]
        assert len(minted) == 1  # one installation token, cached across jobs
        assert "BEGIN PRIVATE KEY" not in app.logs() and "ghs_" not in app.logs()


def test_sigkill_during_publishing_then_restart_posts_nothing_twice(tmp_path: Path,
                                                                    github: tuple[FakeGitHub, RunningServer]) -> None:
    fake, server = github
    fake.open_pr(REPO, BASE, PUSH1, number=2)
    # The check run (the last write) fails with 5xx twice: the client backs off, and we kill the App meanwhile.
    fake.inject("POST", r"/check-runs$", 502, times=2)
    first = _app(tmp_path, server, DBREVIEW_LEASE_SECONDS="1.5").start()
    seen = len(fake.requests)  # the fake is shared with earlier tests: only this run's check-run attempt counts
    try:
        assert first.deliver("pull_request", _pr_event(fake, 2, "opened")).status_code == 202
        wait_for(lambda: any(r["path"].endswith("/check-runs") for r in fake.requests[seen:]), timeout=30)
        posted_before = len(_inline(fake, 2))
        assert posted_before > 0 and len(_summaries(fake, 2)) == 1
        first.kill(signal.SIGKILL)
        fake.faults.clear()
    finally:
        first.stop()
    store = Store(f"sqlite:///{tmp_path / 'state.db'}", migrate=False)
    assert [r.status for r in store.reviews_for(REPO, 2)] == ["running"]
    with _app(tmp_path, server, DBREVIEW_LEASE_SECONDS="1.5"):
        wait_for(lambda: _done(store, 2, 1), timeout=40)
    (review,) = store.reviews_for(REPO, 2)
    assert review.attempts == 2
    inline = _inline(fake, 2)
    assert len(inline) == posted_before
    assert len({c["body"] for c in inline}) == len(inline)
    assert len(_summaries(fake, 2)) == 1
    assert [c["conclusion"] for c in fake.check_runs.values() if c.get("conclusion")]
    store.close()
