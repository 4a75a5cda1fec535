"""`/dbreview` reviews what changed since the last reviewed head; `/dbreview full` reviews (and re-posts)
everything. The real App (uvicorn subprocess, SQLite) with the real review job against the fake GitHub server;
the compare-range logic also directly against the fake's compare route."""

from __future__ import annotations

import itertools
from collections.abc import Iterator
from typing import Any

import pytest
from app_harness import AppProcess, comment_event, pull_request_event, wait_for
from fakes.github_server import FakeGitHub, RunningServer

from bot.app.store import Store
from bot.findings import Finding, Severity, Side
from bot.github.auth import StaticToken
from bot.github.client import GitHubClient
from bot.github.comments import fingerprint_of
from bot.github.run import ChangesSince, changes_since

APP_TOKEN = "ghs_dbreview_incremental_token"
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
COUPON = """
model Coupon {
  id        String @id
  code      String
  amountOff Float
  orderId   String
  order     Order  @relation(fields: [orderId], references: [id])
}
"""
# Info findings are summary-only by default; these tests count comments, so this repository asks for them inline.
BASE = {"prisma/schema.prisma": SCHEMA.replace("PLACEHOLDER\n", ""), ".dbreview.yml": "review:\n  inline_info: true\n"}
# Push 1: two Float money fields, on Order and on User (in one model they would be one grouped finding). Push 2
# adds the Coupon model (three findings on its new lines).
PUSH1 = {"prisma/schema.prisma": SCHEMA.replace("PLACEHOLDER", "  discount Float").replace(
    "  orders Order[]\n", "  orders Order[]\n  taxAmount Float\n")}
PUSH2 = {"prisma/schema.prisma": PUSH1["prisma/schema.prisma"] + COUPON}
REWRITTEN = {"prisma/schema.prisma": SCHEMA.replace("PLACEHOLDER", "  discount Float").replace(
    "  orders Order[]\n", "  orders Order[]\n  shippingPrice Float\n")}
_comment_ids = itertools.count(9100)


@pytest.fixture(scope="module")
def github() -> Iterator[tuple[FakeGitHub, RunningServer]]:
    fake = FakeGitHub()
    fake.add_token(APP_TOKEN, "dbreview[bot]", type="Bot")
    server = RunningServer(fake).start()
    try:
        yield fake, server
    finally:
        server.stop()


@pytest.fixture(scope="module")
def app(tmp_path_factory: pytest.TempPathFactory,
        github: tuple[FakeGitHub, RunningServer]) -> Iterator[tuple[AppProcess, Store]]:
    data = tmp_path_factory.mktemp("incremental")
    with AppProcess(data, workers=1, job="github", env={
            "GITHUB_TOKEN": APP_TOKEN, "GITHUB_API_URL": github[1].url, "DBREVIEW_GITHUB_WRITE_INTERVAL": "0",
            "ANTHROPIC_API_KEY": ""}) as process:
        store = Store(f"sqlite:///{data / 'state.db'}", migrate=False)
        try:
            yield process, store
        finally:
            store.close()


def _by_fp(fake: FakeGitHub, number: int) -> dict[str, list[dict[str, Any]]]:
    out: dict[str, list[dict[str, Any]]] = {}
    for c in fake.posted_comments(REPO, number):
        fp = fingerprint_of(c["body"])
        if fp and c["user"]["login"] == "dbreview[bot]" and not c.get("in_reply_to_id"):
            out.setdefault(fp, []).append(c)
    return out


def _with(fake: FakeGitHub, number: int, field: str) -> dict[str, Any]:
    (comment,) = [c for cs in _by_fp(fake, number).values() for c in cs if f".{field}`" in c["body"]]
    return comment


def _summary(fake: FakeGitHub, number: int) -> str:
    (body,) = [c["body"] for c in fake.issue_comments.values() if c["_pr"] == number
               and c["user"]["login"] == "dbreview[bot]" and "dbreview:summary" in c["body"]]
    return body


def _done(store: Store, number: int) -> int:
    return sum(r.status == "done" for r in store.reviews_for(REPO, number))


def _run(app: tuple[AppProcess, Store], fake: FakeGitHub, number: int, event: str, payload: dict[str, Any]) -> None:
    process, store = app
    before = _done(store, number)
    if event == "issue_comment":
        cid = next(_comment_ids)
        payload = {**payload, "comment": {**payload["comment"], "id": cid}}
        fake.issue_comments[cid] = {"id": cid, "body": payload["comment"]["body"], "_repo": REPO, "_pr": number,
                                    "user": {"login": "carol", "type": "User"}}
    assert process.deliver(event, payload).status_code == 202
    wait_for(lambda: _done(store, number) > before, timeout=30)


def _command(app: tuple[AppProcess, Store], fake: FakeGitHub, number: int, body: str) -> None:
    _run(app, fake, number, "issue_comment", comment_event(REPO, number, body))


def _opened(app: tuple[AppProcess, Store], fake: FakeGitHub, number: int) -> None:
    head = fake.repo(REPO).pulls[number].head_sha
    _run(app, fake, number, "pull_request", pull_request_event(REPO, number, "opened", head=head))


def test_incremental_review_then_unchanged_head_then_full_reposts(app: tuple[AppProcess, Store],
                                                                  github: tuple[FakeGitHub, RunningServer]) -> None:
    fake, _ = github
    process, store = app
    fake.open_pr(REPO, BASE, PUSH1, number=1)
    _opened(app, fake, 1)
    first_head = fake.repo(REPO).pulls[1].head_sha
    assert len(_by_fp(fake, 1)) == 2, process.logs()[-3000:]
    # Someone deletes the `discount` comment: outside the next push's lines, so `/dbreview` must not bring it back.
    discount = _with(fake, 1, "discount")
    del fake.review_comments[discount["id"]]

    # A second push the App never heard of (no webhook): `/dbreview` reviews what changed since `first_head`.
    fake.push(REPO, 1, PUSH2)
    _command(app, fake, 1, "/dbreview")
    posted = _by_fp(fake, 1)
    bodies = " ".join(c["body"] for cs in posted.values() for c in cs)
    assert len(posted) == 4 and all(len(cs) == 1 for cs in posted.values()), process.logs()[-3000:]
    assert "Coupon" in bodies and "fk-missing-index" in bodies and "Order.discount" not in bodies
    summary = _summary(fake, 1)
    assert f"Reviewed changes since `{first_head[:7]}`" in summary
    assert "3 findings on those lines; 2 elsewhere" in summary
    assert store.pr_state(REPO, 1).last_reviewed_sha == fake.repo(REPO).pulls[1].head_sha  # type: ignore[union-attr]

    # Same head again: nothing is reviewed or posted; the summary says so.
    reviews_posted = len(fake.reviews)
    _command(app, fake, 1, "/dbreview")
    assert len(fake.reviews) == reviews_posted and len(_by_fp(fake, 1)) == 4
    summary = _summary(fake, 1)
    assert "Nothing changed since the last review" in summary and "Reviewed changes since" not in summary

    # `/dbreview full`: the deleted comment comes back, and so does the one whose thread was resolved.
    tax = _with(fake, 1, "taxAmount")
    fake.threads[tax["_thread"]]["resolved"] = True
    _command(app, fake, 1, "/dbreview full")
    posted = _by_fp(fake, 1)
    assert len(posted) == 5 and all(len(cs) == 1 for cs in posted.values()), process.logs()[-3000:]
    assert _with(fake, 1, "discount")["id"] != discount["id"]
    assert _with(fake, 1, "taxAmount")["id"] != tax["id"]  # re-posted; the resolved copy without replies is gone
    summary = _summary(fake, 1)
    assert "Nothing changed" not in summary and "Reviewed changes since" not in summary
    assert [r.trigger for r in store.reviews_for(REPO, 1)] == ["opened", "command", "command", "full"]


def test_force_push_falls_back_to_a_full_review(app: tuple[AppProcess, Store],
                                               github: tuple[FakeGitHub, RunningServer]) -> None:
    fake, _ = github
    process, _store = app
    fake.open_pr(REPO, BASE, PUSH1, number=2)
    _opened(app, fake, 2)
    old_head = fake.repo(REPO).pulls[2].head_sha
    assert len(_by_fp(fake, 2)) == 2
    # The branch is rewritten and the old head garbage-collected: the compare API answers 404 for it.
    fake.push(REPO, 2, REWRITTEN, force=True, forget_old=True)
    _command(app, fake, 2, "/dbreview")
    bodies = [c["body"] for cs in _by_fp(fake, 2).values() for c in cs]
    assert any("User.shippingPrice" in b for b in bodies), process.logs()[-3000:]
    assert not any("User.taxAmount" in b for b in bodies)  # gone from the code: its comment is retired
    summary = _summary(fake, 2)
    assert f"Reviewed the whole pull request: the last reviewed commit `{old_head[:7]}` is no longer" in summary


# -- the compare range, directly against the fake's compare route -------------------------------------------------


def _finding(line: int, path: str = "prisma/schema.prisma", **kw: Any) -> Finding:
    return Finding(rule="prisma/float-money", severity=Severity.WARNING, path=path, line=line, message="m", **kw)


def test_changes_since_reads_the_compare_range(github: tuple[FakeGitHub, RunningServer]) -> None:
    fake, server = github
    fake.open_pr(REPO, BASE, PUSH1, number=3)
    first = fake.repo(REPO).pulls[3].head_sha
    fake.push(REPO, 3, {**PUSH2, "prisma/migrations/1_coupon/migration.sql": "CREATE TABLE coupon ();\n"})
    head = fake.repo(REPO).pulls[3].head_sha
    with GitHubClient(StaticToken(APP_TOKEN), server.url) as client:
        found = changes_since(client, REPO, first, head)
        assert isinstance(found, ChangesSince)
        assert found.added["prisma/schema.prisma"] == set(range(21, 29))  # the Coupon block
        assert found.whole_files == {"prisma/migrations/1_coupon/migration.sql"}
        assert found.keeps(_finding(25)) and found.keeps(_finding(16, end_line=22))
        assert not found.keeps(_finding(17)) and not found.keeps(_finding(25, side=Side.OLD))
        assert found.keeps(_finding(17, caused_by_change=True))
        assert found.keeps(_finding(1, path="prisma/migrations/1_coupon/migration.sql"))
        assert not found.keeps(_finding(1, path="src/orders.ts"))

        fake.push(REPO, 3, REWRITTEN, force=True)  # rewritten, but the old head still exists: diverged
        reason = changes_since(client, REPO, head, fake.repo(REPO).pulls[3].head_sha)
        assert isinstance(reason, str) and "rewritten" in reason
        assert "no longer in the repository" in str(changes_since(client, REPO, "f" * 40, head))
        assert "not a commit id" in str(changes_since(client, REPO, "../../x", head))
