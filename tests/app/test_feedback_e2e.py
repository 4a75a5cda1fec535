"""Reviewers teach the App, end to end: the real App (uvicorn subprocess) with the real review job and rules against
the fake GitHub (REST + GraphQL), with its state in SQLite and in PostgreSQL, restarted halfway.

A maintainer's 👎 dismisses a finding and an outsider's does not; `/dbreview ignore` answered in a thread is
refused from an outsider and honoured from a member (with the suppression to commit), which turns the check green;
`/dbreview stats` and /metrics show the figures; after a restart the learnings and the repository's record are
still there: the dismissed finding is not posted on the next pull request, the rule went summary-only with a note,
and a finding fixed by a later push counts as fixed.
"""

from __future__ import annotations

import itertools
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from app_harness import AppProcess, comment_event, pull_request_event, repo_payload, wait_for
from fakes.github_server import FakeGitHub, RunningServer

from bot.app.settings import sqlalchemy_url
from bot.app.store import Base, Store
from bot.app.store.feedback import FeedbackStore

APP_TOKEN = "ghs_dbreview_feedback_token"
REPO = "acme/ledger"
BOT = "dbreview[bot]"

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
COUPON = """
model Coupon {
  id        String @id
  code      String
  orderId   String
  order     Order  @relation(fields: [orderId], references: [id])
INDEX}
"""
# Warnings fail this repository's check; two dismissals of a rule (and no fix) make it summary-only.
CONFIG = "fail_on: warning\nfeedback:\n  summary_only_after: 2\n  summary_only_ratio: 1\n"
BASE = {"prisma/schema.prisma": SCHEMA.replace("PLACEHOLDER\n", ""), ".dbreview.yml": CONFIG}
# The two Floats sit in two models: one model's fields would be one grouped finding (one comment).
FLOATS = {**BASE, "prisma/schema.prisma": SCHEMA.replace("PLACEHOLDER", "  discount Float").replace(
    "  orders Order[]\n", "  orders Order[]\n  taxAmount Float\n")}
MOVED = {**BASE, "prisma/schema.prisma": SCHEMA.replace("PLACEHOLDER", "  note String?\n  discount Float").replace(
    "  orders Order[]\n", "  name   String?\n  orders Order[]\n  taxAmount Float\n")}
WITH_COUPON = {**BASE, "prisma/schema.prisma": BASE["prisma/schema.prisma"] + COUPON.replace("INDEX", "")}
COUPON_FIXED = {**BASE, "prisma/schema.prisma": BASE["prisma/schema.prisma"]
                + COUPON.replace("INDEX", "\n  @@index([orderId])\n")}
_ids = itertools.count(77_000)


@pytest.fixture(params=["sqlite", "postgresql"])
def backend(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[tuple[dict[str, str], str]]:
    """(extra App environment, store URL)."""
    if request.param == "sqlite":
        yield {}, f"sqlite:///{tmp_path / 'data' / 'state.db'}"
        return
    url = request.getfixturevalue("pg_url")
    yield {"DATABASE_URL": url}, sqlalchemy_url(url)


@pytest.fixture
def github() -> Iterator[FakeGitHub]:
    fake = FakeGitHub()
    fake.add_token(APP_TOKEN, BOT, type="Bot")
    fake.grant(REPO, "maya", "MEMBER", "write")
    server = RunningServer(fake).start()
    fake.url = server.url  # type: ignore[attr-defined]
    try:
        yield fake
    finally:
        server.stop()


def _inline(fake: FakeGitHub, number: int) -> list[dict[str, Any]]:
    return [c for c in fake.posted_comments(REPO, number) if c["user"]["login"] == BOT and not c["in_reply_to_id"]]


def _with(fake: FakeGitHub, number: int, text: str) -> dict[str, Any]:
    (comment,) = [c for c in _inline(fake, number) if text in c["body"]]
    return comment


def _summary(fake: FakeGitHub, number: int) -> str:
    (body,) = [c["body"] for c in fake.issue_comments.values() if c["_pr"] == number
               and c["user"]["login"] == BOT and "dbreview:summary" in c["body"]]
    return body


def _check(fake: FakeGitHub, number: int) -> str:
    head = fake.repo(REPO).pulls[number].head_sha
    runs = [r for r in fake.check_runs.values() if r["head_sha"] == head]
    return runs[-1]["conclusion"]


def _done(store: Store, number: int) -> int:
    return sum(r.status == "done" for r in store.reviews_for(REPO, number))


def _deliver_and_wait(app: AppProcess, store: Store, number: int, event: str, payload: dict[str, Any]) -> None:
    before = _done(store, number)
    assert app.deliver(event, payload).status_code == 202
    wait_for(lambda: _done(store, number) > before, timeout=60)


def _push(app: AppProcess, store: Store, fake: FakeGitHub, number: int, tree: dict[str, str] | None,
          action: str = "synchronize") -> None:
    if tree is not None:
        fake.push(REPO, number, tree)
    head = fake.repo(REPO).pulls[number].head_sha
    _deliver_and_wait(app, store, number, "pull_request", pull_request_event(REPO, number, action, head=head))


def _review_comment_event(reply: dict[str, Any], association: str) -> dict[str, Any]:
    comment = {k: v for k, v in reply.items() if not k.startswith("_")}
    return {"action": "created", "comment": {**comment, "author_association": association},
            "pull_request": {"number": reply["_pr"], "state": "open", "user": {"login": "alice", "type": "User"}},
            "repository": repo_payload(REPO), "installation": {"id": 42}, "sender": reply["user"]}


def _command(app: AppProcess, fake: FakeGitHub, number: int, body: str) -> list[str]:
    """A `/dbreview` command in the conversation from maya; the App's replies that follow it."""
    cid = next(_ids)
    fake.issue_comments[cid] = {"id": cid, "body": body, "_repo": REPO, "_pr": number,
                                "user": {"login": "maya", "type": "User"}, "author_association": "MEMBER"}
    seen = len(fake.issue_comments)
    assert app.deliver("issue_comment", comment_event(REPO, number, body, login="maya", comment_id=cid)
                       ).status_code == 202
    wait_for(lambda: len(fake.issue_comments) > seen, timeout=30)
    return [c["body"] for c in list(fake.issue_comments.values())[seen:]]


def test_reviewers_feedback_end_to_end(tmp_path: Path, github: FakeGitHub,
                                       backend: tuple[dict[str, str], str]) -> None:
    fake = github
    env, store_url = backend
    app_env = {"GITHUB_TOKEN": APP_TOKEN, "GITHUB_API_URL": fake.url, "DBREVIEW_GITHUB_WRITE_INTERVAL": "0",  # type: ignore[attr-defined]
               "ANTHROPIC_API_KEY": "", **env}
    data = tmp_path / "data"
    fake.open_pr(REPO, BASE, FLOATS, number=1)
    app = AppProcess(data, workers=1, job="github", env=app_env).start()
    store = Store(store_url, migrate=False)
    try:
        _push(app, store, fake, 1, None, "opened")
        assert _check(fake, 1) == "failure" and len(_inline(fake, 1)) == 2, app.logs()[-3000:]
        discount, tax = _with(fake, 1, "Order.discount"), _with(fake, 1, "User.taxAmount")

        # maya (a member) 👎 the discount comment, otto (nobody) the tax one; a push moves both lines.
        fake.react(discount["id"], "maya", "-1")
        fake.react(tax["id"], "otto", "-1")
        fake.reply(discount["id"], "maya", "Discount is a display percentage, never an amount of money.")
        # A reaction sends no webhook: "Re-run" on the check applies it to the same head at once.
        head = fake.repo(REPO).pulls[1].head_sha
        _deliver_and_wait(app, store, 1, "check_run", {
            "action": "rerequested", "repository": repo_payload(REPO), "installation": {"id": 42},
            "sender": {"login": "maya", "type": "User"},
            "check_run": {"id": 1, "name": "dbreview", "head_sha": head, "pull_requests": [{"number": 1}]}})
        assert "Dismissed by reviewers (1)" in _summary(fake, 1) and _check(fake, 1) == "failure"
        _push(app, store, fake, 1, MOVED)
        assert _check(fake, 1) == "failure"  # the tax finding still counts
        assert len(_inline(fake, 1)) == 2, "a dismissed finding is never posted again"
        summary = _summary(fake, 1)
        assert "Dismissed by reviewers (1)" in summary and "👎 by `maya`" in summary
        assert "1 👎 from people who cannot dismiss findings" in summary

        # `/dbreview ignore` in the tax thread: refused from otto, honoured from maya.
        replies_before = len(fake.issue_comments)
        otto = fake.reply(tax["id"], "otto", "/dbreview ignore I am sure")
        assert app.deliver("pull_request_review_comment", _review_comment_event(otto, "CONTRIBUTOR")
                           ).status_code == 202
        wait_for(lambda: any("only repository owners, members and collaborators" in c["body"]
                             for c in list(fake.issue_comments.values())[replies_before:]), timeout=30)
        assert FeedbackStore(store).ignores(REPO, 1) == []
        maya = fake.reply(tax["id"], "maya", "/dbreview ignore tax rates are ratios stored as floats on purpose")
        _deliver_and_wait(app, store, 1, "pull_request_review_comment", _review_comment_event(maya, "MEMBER"))
        answer = [c for c in fake.posted_comments(REPO, 1) if c["user"]["login"] == BOT and c["in_reply_to_id"]]
        assert len(answer) == 1 and answer[0]["in_reply_to_id"] == tax["id"]
        assert "// dbreview-ignore prisma/float-money: tax rates are ratios stored as floats on purpose" in \
            answer[0]["body"] and "prisma/float-money: off" in answer[0]["body"]
        assert _check(fake, 1) == "success", app.logs()[-3000:]
        assert "Dismissed by reviewers (2)" in _summary(fake, 1)

        (stats,) = _command(app, fake, 1, "/dbreview stats")
        assert "| `prisma/float-money` (summary-only) | 2 | 0 | 2 | 0 | 2 | 0% |" in stats
        metrics = httpx.get(app.url + "/metrics", timeout=10).text
        assert f'dbreview_feedback_comments{{outcome="dismissed",repo="{REPO}",rule="prisma/float-money"}} 2' in \
            metrics
        assert f'dbreview_feedback_reactions{{content="-1",repo="{REPO}",rule="prisma/float-money"}} 2' in metrics
    finally:
        app.stop()

    # Restart: everything the App learned is still there.
    app = AppProcess(data, workers=1, job="github", env=app_env).start()
    try:
        (learnings,) = _command(app, fake, 1, "/dbreview learnings")
        assert "Discount is a display percentage, never an amount of money." in learnings
        assert "tax rates are ratios stored as floats on purpose" in learnings

        # Another pull request with the same fields: the dismissed findings are not posted again (other PR), and
        # the rule is summary-only here now, with the note; the check still counts them on this PR.
        fake.open_pr(REPO, BASE, FLOATS, number=2)
        _push(app, store, fake, 2, None, "opened")
        assert _inline(fake, 2) == [], app.logs()[-3000:]
        summary = _summary(fake, 2)
        assert "dismissed on \\#1 (👎 by `maya`)" in summary  # markdown-escaped: renders as "#1"
        assert "`prisma/float-money` is summary-only in this repository: reviewers dismissed it twice" in summary
        assert _check(fake, 2) == "failure"

        # A finding of another rule: maya resolves its thread (a dismissal: not posted again on the next push),
        # then a later push fixes it: counted as fixed.
        fake.open_pr(REPO, BASE, WITH_COUPON, number=3)
        _push(app, store, fake, 3, None, "opened")
        (fk,) = [c for c in _inline(fake, 3) if "fk-missing-index" in c["body"]]
        fake.resolve(fake.thread_of(fk["id"]), "maya")
        _push(app, store, fake, 3, {**WITH_COUPON, "README.md": "# ledger\n"})
        assert [c["id"] for c in _inline(fake, 3) if "fk-missing-index" in c["body"]] == [fk["id"]]
        assert "thread resolved by `maya`" in _summary(fake, 3)
        _push(app, store, fake, 3, COUPON_FIXED)
        figures = FeedbackStore(store).rule_stats(REPO)[(REPO, "prisma/fk-missing-index")]
        assert (figures.posted, figures.fixed, figures.acceptance) == (1, 1, 1.0)
    finally:
        app.stop()
        store.close()
    assert {t.name for t in Base.metadata.sorted_tables} >= {"feedback_comments", "feedback_ignores", "learnings"}
