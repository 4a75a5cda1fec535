"""The real App under uvicorn on a loopback port (SQLite store and queue, consumer threads in the process), fed
signed deliveries. The review job and the App's own GitHub calls are recording fakes (see app_server.py)."""

from __future__ import annotations

import json
from collections.abc import Iterator

import httpx
import pytest
from app_harness import SECRET, AppProcess, comment_event, new_sha, pull_request_event, wait_for

from bot.app.signature import sign


@pytest.fixture(scope="module")
def app(tmp_path_factory: pytest.TempPathFactory) -> Iterator[AppProcess]:
    env = {"FAKE_JOB_SECONDS": "0.8", "FAKE_ALLOW_AUTHOR": "1", "DBREVIEW_COMMAND_LIMIT": "3",
           "FAKE_GATE_REPO": "acme/burst",
           "GITHUB_TOKEN": "ghp_thisisnotarealtoken_butkeepitsecret"}
    with AppProcess(tmp_path_factory.mktemp("app"), workers=2, env=env) as proc:
        yield proc


def _jobs(app: AppProcess, repo: str, event: str | None = None) -> list[dict]:
    return [r for r in app.records("jobs.jsonl") if r["repo"] == repo and (event is None or r["event"] == event)]


def _ops(app: AppProcess, repo: str, op: str | None = None) -> list[dict]:
    return [r for r in app.records("ops.jsonl") if r["repo"] == repo and (op is None or r["op"] == op)]


def test_signatures_are_checked_before_anything_else(app: AppProcess) -> None:
    payload = pull_request_event("acme/sig", 1)
    assert app.deliver("pull_request", payload, secret=None).status_code == 401
    assert app.deliver("pull_request", payload, secret="wrong secret").status_code == 401
    assert app.deliver("pull_request", payload, signature="sha256=zz").status_code == 401
    # An unsigned body that is not even JSON is a 401, not a 400: nothing is parsed before the signature.
    assert app.post_raw("pull_request", b"{not json", secret=None).status_code == 401
    assert app.post_raw("pull_request", b"{not json").status_code == 400
    assert app.post_raw("pull_request", b"[1, 2]").status_code == 400
    assert app.deliver("ping", {"zen": "Keep it logically awesome."}).json() == {"result": "pong"}
    assert _jobs(app, "acme/sig") == []


def test_deeply_nested_signed_json_is_a_400_not_a_500(app: AppProcess) -> None:
    for body in (b"[" * 100_000, b'{"a":' * 100_000 + b"1" + b"}" * 100_000):
        response = app.post_raw("pull_request", body)
        assert response.status_code == 400, response.text
        assert response.json()["result"] == "bad-json"
    assert httpx.get(app.url + "/healthz").status_code == 200


def test_oversized_payload_is_refused_with_413(app: AppProcess) -> None:
    body = b" " * (25 * 1024 * 1024 + 1)
    response = app.post_raw("pull_request", body, signature=sign(SECRET, body))
    assert response.status_code == 413


def test_review_is_queued_with_202_and_a_redelivery_is_a_no_op(app: AppProcess) -> None:
    payload = pull_request_event("acme/redeliver", 3)
    first = app.deliver("pull_request", payload, delivery="delivery-redeliver-1")
    assert first.status_code == 202 and first.json()["result"] == "queued"
    again = app.deliver("pull_request", payload, delivery="delivery-redeliver-1")
    assert again.status_code == 200 and again.json()["result"] == "duplicate"
    # A second event for the same push (new delivery id, same head) is coalesced into the first review.
    payload["action"] = "synchronize"
    same_head = app.deliver("pull_request", payload)
    assert (same_head.status_code, same_head.json()["result"]) == (200, "coalesced")
    wait_for(lambda: _jobs(app, "acme/redeliver", "end"))
    assert len(_jobs(app, "acme/redeliver", "start")) == 1


def test_drafts_closed_and_bot_events_are_ignored_with_200(app: AppProcess) -> None:
    for payload in (pull_request_event("acme/ignored", 1, draft=True),
                    pull_request_event("acme/ignored", 2, "synchronize", state="closed"),
                    pull_request_event("acme/ignored", 3, "closed"),
                    pull_request_event("acme/ignored", 4, sender="dependabot[bot]", sender_type="Bot")):
        response = app.deliver("pull_request", payload)
        assert (response.status_code, response.json()["result"]) == (200, "ignored")
    assert app.deliver("push", {"ref": "refs/heads/main"}).json()["result"] == "ignored"
    assert _jobs(app, "acme/ignored") == []


def test_burst_of_pushes_reviews_only_the_newest_head(app: AppProcess) -> None:
    heads = [new_sha() for _ in range(8)]
    with httpx.Client(timeout=10) as client:
        for i, head in enumerate(heads):
            action = "opened" if i == 0 else "synchronize"
            response = app.deliver("pull_request", pull_request_event("acme/burst", 9, action, head=head),
                                   client=client)
            assert response.status_code == 202
    (app.data_dir / "gate-open").touch()
    wait_for(lambda: _jobs(app, "acme/burst", "end"), timeout=20)
    posted = [r for r in app.records("posted.jsonl") if r["repo"] == "acme/burst"]
    # Exactly one review posted, for the newest head; any older one that had started stopped before posting.
    assert {r["head"] for r in posted} == {heads[-1]}
    assert [r["head"] for r in _jobs(app, "acme/burst", "end")] == [heads[-1]]
    for started in _jobs(app, "acme/burst", "start"):
        assert started["head"] == heads[-1] or any(
            s["review_id"] == started["review_id"] for s in _jobs(app, "acme/burst", "superseded"))


def test_reviews_of_different_prs_run_in_parallel(app: AppProcess) -> None:
    for number in (21, 22):
        assert app.deliver("pull_request", pull_request_event("acme/parallel", number)).status_code == 202
    wait_for(lambda: len(_jobs(app, "acme/parallel", "end")) == 2)
    events = [(r["event"], r["number"]) for r in _jobs(app, "acme/parallel")]
    # Both started before either ended (two worker threads, 0.8 s per review).
    assert [e for e, _ in events[:2]] == ["start", "start"]


def test_commands_from_members_run_and_are_acknowledged(app: AppProcess) -> None:
    repo = "acme/commands"
    response = app.deliver("issue_comment", comment_event(repo, 5, "/dbreview full", association="OWNER",
                                                          comment_id=501))
    assert (response.status_code, response.json()["result"]) == (202, "queued")
    wait_for(lambda: _jobs(app, repo, "end"))
    assert _jobs(app, repo, "start")[0]["trigger"] == "full"
    assert {"op": "react", "repo": repo, "comment_id": 501} in _ops(app, repo)

    app.deliver("issue_comment", comment_event(repo, 5, "/dbreview pause", association="MEMBER"))
    wait_for(lambda: _ops(app, repo, "reply"))
    assert "paused" in _ops(app, repo, "reply")[0]["body"]
    paused = app.deliver("pull_request", pull_request_event(repo, 5, "synchronize"))
    assert (paused.status_code, paused.json()["result"]) == (200, "paused")

    app.deliver("issue_comment", comment_event(repo, 5, "/dbreview resume", association="COLLABORATOR"))
    wait_for(lambda: len(_ops(app, repo, "reply")) == 2)
    resumed = app.deliver("pull_request", pull_request_event(repo, 5, "synchronize"))
    assert resumed.status_code == 202


def test_help_and_unknown_commands_reply_with_the_command_list(app: AppProcess) -> None:
    repo = "acme/help"
    app.deliver("issue_comment", comment_event(repo, 6, "/dbreview help"))
    app.deliver("issue_comment", comment_event(repo, 7, "/dbreview --model=opus"))
    wait_for(lambda: len(_ops(app, repo, "reply")) == 2)
    bodies = sorted(r["body"] for r in _ops(app, repo, "reply"))
    assert all("/dbreview pause" in b for b in bodies)
    assert any("is not a dbreview command" in b for b in bodies)
    assert _jobs(app, repo) == []


def test_explain_replies_with_the_rule_page(app: AppProcess) -> None:
    repo = "acme/explain"
    app.deliver("issue_comment", comment_event(repo, 3, "/dbreview explain prisma/fk-missing-index"))
    (reply,) = wait_for(lambda: _ops(app, repo, "reply"))
    assert reply["body"].startswith("# prisma/fk-missing-index") and "## Why it matters" in reply["body"]


def test_installation_events_are_recorded(app: AppProcess) -> None:
    from bot.app.store import Store

    created = {"action": "created", "installation": {"id": 77, "account": {"login": "acme", "type": "Organization"},
                                                      "repository_selection": "selected"},
               "repositories": [{"full_name": "acme/a"}, {"full_name": "acme/b"}],
               "sender": {"login": "owner", "type": "User"}}
    assert app.deliver("installation", created).json()["result"] == "recorded"
    changed = {"action": "added", "installation": {"id": 77}, "repositories_added": [{"full_name": "acme/c"}],
               "repositories_removed": [{"full_name": "acme/a"}], "sender": {"login": "owner", "type": "User"}}
    assert app.deliver("installation_repositories", changed, delivery="inst-77-2").status_code == 200
    assert app.deliver("installation_repositories", changed, delivery="inst-77-2").json()["result"] == "duplicate"
    suspended = {"action": "suspend", "installation": {"id": 77}, "sender": {"login": "owner", "type": "User"}}
    app.deliver("installation", suspended)
    store = Store(f"sqlite:///{app.data_dir / 'state.db'}", migrate=False)
    installation, repos = store.installation(77)
    store.close()
    assert installation is not None and (installation.account, installation.status) == ("acme", "suspended")
    assert repos == ["acme/b", "acme/c"]


def test_outsiders_get_one_short_reply_and_no_review(app: AppProcess) -> None:
    repo = "acme/outsiders"
    for _ in range(3):
        app.deliver("issue_comment", comment_event(repo, 8, "/dbreview", login="mallory", association="NONE",
                                                   pr_author="alice"))
    app.deliver("issue_comment", comment_event(repo, 8, "/dbreview full", login="eve",
                                               association="FIRST_TIME_CONTRIBUTOR", pr_author="alice"))
    wait_for(lambda: len(_ops(app, repo, "reply")) == 2)
    # The two later attempts by mallory are refused silently.
    wait_for(lambda: 'outcome="denied-silently"} 2' in httpx.get(app.url + "/metrics").text)
    replies = _ops(app, repo, "reply")
    assert sorted(r["body"].split()[1] for r in replies) == ["@eve,", "@mallory,"]
    assert _ops(app, repo, "react") == [] and _jobs(app, repo) == []


def test_the_pr_author_may_run_commands_when_the_repo_config_allows_it(app: AppProcess) -> None:
    repo = "acme/author"
    app.deliver("issue_comment", comment_event(repo, 9, "/dbreview", login="alice", association="CONTRIBUTOR",
                                               pr_author="alice"))
    wait_for(lambda: _jobs(app, repo, "end"))
    assert _ops(app, repo, "react")


def test_our_own_comments_are_never_commands(app: AppProcess) -> None:
    response = app.deliver("issue_comment", comment_event("acme/own", 1, "/dbreview help", login="dbreview[bot]",
                                                          user_type="Bot", association="NONE"))
    assert (response.status_code, response.json()["result"]) == (200, "ignored")


def test_command_rate_limit_per_pull_request(app: AppProcess) -> None:
    repo = "acme/ratelimit"
    for _ in range(5):
        app.deliver("issue_comment", comment_event(repo, 4, "/dbreview help"))
    wait_for(lambda: len(_ops(app, repo, "reply")) == 4)
    replies = [r["body"] for r in _ops(app, repo, "reply")]
    assert sum("wait a little" in b for b in replies) == 1  # told once, then silence
    assert len(_ops(app, repo, "react")) == 3


def test_operations_endpoints_and_logs(app: AppProcess) -> None:
    assert httpx.get(app.url + "/healthz").json() == {"status": "ok"}
    ready = httpx.get(app.url + "/readyz")
    assert ready.status_code == 200 and ready.json() == {"status": "ok", "store": "ok", "queue": "ok"}
    text = httpx.get(app.url + "/metrics").text
    assert 'dbreview_webhooks_total{event="unverified",result="bad-signature"}' in text
    assert 'dbreview_reviews{status="done"}' in text and "dbreview_queue_depth" in text
    assert "dbreview_review_latency_seconds_count" in text and 'dbreview_llm_tokens{kind="input"}' in text
    lines = [json.loads(line) for line in app.logs().splitlines() if line.startswith("{")]
    queued = [r for r in lines if r.get("delivery") == "delivery-redeliver-1"]
    assert queued and queued[0]["repo"] == "acme/redeliver" and queued[0]["pr"] == 3
    assert SECRET not in app.logs() and "ghp_thisisnotarealtoken" not in app.logs()
