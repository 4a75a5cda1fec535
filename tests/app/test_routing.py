"""Pure parts of the App: signatures, payload routing, command parsing, settings."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml
from app_harness import comment_event, pull_request_event

from bot.app.commands import Command, explain, parse
from bot.app.events import decide
from bot.app.settings import SettingsError, load_settings, sqlalchemy_url
from bot.app.signature import sign, verify


def test_signature_matches_githubs_documented_test_vector() -> None:
    secret, body = "It's a Secret to Everybody", b"Hello, World!"
    expected = "sha256=757107ea0eb2509fc211221cce984b8a37570b6d7586c22c46f4379c8b043e17"
    assert sign(secret, body) == expected
    assert verify(secret, body, expected)


@pytest.mark.parametrize("header", [None, "", "sha1=abc", "sha256=", "sha256=" + "0" * 64,
                                    "757107ea0eb2509fc211221cce984b8a37570b6d7586c22c46f4379c8b043e17"])
def test_signature_rejects_missing_malformed_and_wrong(header: str | None) -> None:
    assert not verify("It's a Secret to Everybody", b"Hello, World!", header)


def test_signature_never_passes_with_an_empty_secret() -> None:
    assert not verify("", b"x", sign("", b"x"))


def test_pull_request_events_that_ask_for_a_review() -> None:
    for action in ("opened", "reopened", "synchronize", "ready_for_review"):
        d = decide("pull_request", pull_request_event("acme/shop", 7, action, head="a" * 40))
        assert (d.kind, d.repo, d.number, d.head_sha, d.installation_id) == ("review", "acme/shop", 7, "a" * 40, 42)


@pytest.mark.parametrize(("changes", "reason"), [
    ({"action": "closed"}, "action closed not reviewed"),
    ({"action": "edited"}, "action edited not reviewed"),
    ({"draft": True}, "pull request is a draft"),
    ({"state": "closed", "action": "synchronize"}, "pull request is closed"),
    ({"sender_type": "Bot"}, "sender is a bot"),
])
def test_pull_request_events_that_are_ignored(changes: dict, reason: str) -> None:
    kwargs = {k: v for k, v in changes.items() if k != "action"}
    d = decide("pull_request", pull_request_event("acme/shop", 7, changes.get("action", "opened"), **kwargs))
    assert (d.kind, d.reason) == ("ignore", reason)


def test_our_own_app_and_other_bots_never_trigger_commands() -> None:
    own = comment_event("acme/shop", 7, "/dbreview", login="dbreview[bot]", user_type="Bot", association="NONE")
    other = comment_event("acme/shop", 7, "/dbreview full", login="renovate[bot]", user_type="Bot")
    assert decide("issue_comment", own).kind == "ignore"
    assert decide("issue_comment", other).kind == "ignore"
    # A bot login without type Bot (our slug under a custom name) is still recognised by its login.
    sneaky = comment_event("acme/shop", 7, "/dbreview", login="dbreview[bot]", user_type="User")
    assert decide("issue_comment", sneaky).reason == "sender is a bot"


def test_comment_command_routing() -> None:
    d = decide("issue_comment", comment_event("acme/shop", 7, "/dbreview full", association="COLLABORATOR",
                                              comment_id=99))
    assert (d.kind, d.command, d.comment_id, d.association, d.login, d.pr_author) == (
        "command", Command("full"), 99, "COLLABORATOR", "carol", "alice")
    plain = decide("issue_comment", comment_event("acme/shop", 7, "LGTM, thanks"))
    assert (plain.kind, plain.reason) == ("ignore", "no /dbreview command")
    issue = comment_event("acme/shop", 7, "/dbreview")
    del issue["issue"]["pull_request"]
    assert decide("issue_comment", issue).reason == "comment is not on a pull request"
    edited = comment_event("acme/shop", 7, "/dbreview")
    edited["action"] = "edited"
    assert decide("issue_comment", edited).kind == "ignore"


def test_review_comment_replies_carry_commands() -> None:
    from app_harness import repo_payload

    def event(body: str, *, action: str = "created", user_type: str = "User", reply_to: int | None = 900) -> dict:
        user = {"login": "maya", "type": user_type}
        return {"action": action, "repository": repo_payload("acme/shop"), "installation": {"id": 42},
                "sender": user, "pull_request": {"number": 7, "state": "open", "user": {"login": "alice"}},
                "comment": {"id": 901, "body": body, "user": user, "author_association": "MEMBER",
                            "in_reply_to_id": reply_to, "html_url": "https://github.com/acme/shop/pull/7#r901"}}

    d = decide("pull_request_review_comment", event("/dbreview ignore ratios, not money"))
    assert (d.kind, d.number, d.in_reply_to, d.association) == ("command", 7, 900, "MEMBER")
    assert d.command == Command("ignore", "", "ratios, not money") and d.comment_url.endswith("#r901")
    assert decide("pull_request_review_comment", event("nice catch")).kind == "ignore"
    assert decide("pull_request_review_comment", event("/dbreview ignore x y", action="edited")).kind == "ignore"
    assert decide("pull_request_review_comment", event("/dbreview ignore x y", user_type="Bot")).kind == "ignore"


def test_rerun_of_the_check_reviews_the_pull_request_again() -> None:
    from app_harness import repo_payload

    def event(action: str = "rerequested", pulls: list | None = None) -> dict:
        return {"action": action, "repository": repo_payload("acme/shop"), "installation": {"id": 42},
                "sender": {"login": "maya", "type": "User"},
                "check_run": {"id": 5, "head_sha": "c" * 40, "name": "dbreview",
                              "pull_requests": [{"number": 7}] if pulls is None else pulls}}

    d = decide("check_run", event())
    assert (d.kind, d.number, d.head_sha, d.login) == ("rerun", 7, "c" * 40, "maya")
    assert decide("check_run", event("completed")).kind == "ignore"
    assert decide("check_run", event(pulls=[])).reason == "the check belongs to no open pull request"


def test_installation_events() -> None:
    created = {"action": "created", "installation": {"id": 5, "account": {"login": "acme", "type": "Organization"},
                                                      "repository_selection": "selected"},
               "repositories": [{"full_name": "acme/shop"}], "sender": {"login": "x", "type": "User"}}
    d = decide("installation", created)
    assert d.kind == "installation" and d.installation_id == 5
    assert d.installation["add_repos"] == ["acme/shop"] and d.installation["status"] == "active"
    removed = {"action": "removed", "installation": {"id": 5}, "repositories_removed": [{"full_name": "acme/old"}]}
    assert decide("installation_repositories", removed).installation["remove_repos"] == ["acme/old"]


@pytest.mark.parametrize(("body", "expected"), [
    ("/dbreview", Command("review")),
    ("/dbreview\nplease look at the migration", Command("review")),
    ("  /dbreview full", Command("full")),
    ("/dbreview PAUSE", Command("pause")),
    ("/dbreview resume", Command("resume")),
    ("/dbreview help", Command("help")),
    ("/dbreview explain prisma/fk-missing-index", Command("explain", "prisma/fk-missing-index")),
    ("/dbreview --model=claude-opus", Command("unknown", "--model=claude-opus")),
    ("/dbreview full --key=value", Command("unknown", "full --key=value")),
    ("/dbreview explain ../../etc/passwd", Command("unknown", "explain ../../etc/passwd")),
    ("/dbreview ignore prisma/float-money scores are floats", Command("ignore", "prisma/float-money",
                                                                     "scores are floats")),
    ("/dbreview ignore scores are floats, not money\nmore", Command("ignore", "", "scores are floats, not money")),
    ("/dbreview ignore", Command("ignore", "", "")),
    ("/dbreview stats", Command("stats")),
    ("/dbreview learnings", Command("learnings")),
    ("/dbreview forget 12", Command("forget", "12")),
    ("/dbreview forget twelve", Command("unknown", "forget twelve")),
])
def test_command_parsing(body: str, expected: Command) -> None:
    assert parse(body) == expected


@pytest.mark.parametrize("body", ["please /dbreview", "> /dbreview", "/dbreviewer", "/dbreview-bot", "", None,
                                  "`/dbreview`"])
def test_not_a_command(body: str | None) -> None:
    assert parse(body) is None


def test_explain_unknown_rule_says_so() -> None:
    assert "is not a dbreview rule" in explain("prisma/no-such-rule")


def test_settings_refuse_to_start_without_a_secret() -> None:
    with pytest.raises(SettingsError, match="DBREVIEW_WEBHOOK_SECRET"):
        load_settings({})
    with pytest.raises(SettingsError, match="GITHUB_APP_PRIVATE_KEY"):
        load_settings({"DBREVIEW_WEBHOOK_SECRET": "s", "GITHUB_APP_ID": "1"})
    s = load_settings({"DBREVIEW_WEBHOOK_SECRET": "s3cret", "DATABASE_URL": "postgresql://u@h/db",
                       "DBREVIEW_QUEUE_URL": "redis://127.0.0.1:6379/0"})
    assert s.store_url == "postgresql+psycopg://u@h/db" and s.queue_backend == "redis"
    assert "s3cret" not in repr(s)
    assert sqlalchemy_url("sqlite:///x.db") == "sqlite:///x.db"


def test_app_manifest_asks_for_what_the_app_uses(repo_root: Path) -> None:
    manifest = yaml.safe_load((repo_root / "app.yml").read_text())
    assert set(manifest["default_events"]) == {"pull_request", "issue_comment", "pull_request_review_comment",
                                                   "check_run"}
    assert manifest["default_permissions"] == {"metadata": "read", "contents": "read", "pull_requests": "write",
                                               "issues": "write", "checks": "write"}
    assert manifest["hook_attributes"]["url"].endswith("/webhook")


def test_serve_refuses_to_start_without_a_webhook_secret(monkeypatch: pytest.MonkeyPatch,
                                                         capsys: pytest.CaptureFixture[str]) -> None:
    from bot.app import cli

    monkeypatch.delenv("DBREVIEW_WEBHOOK_SECRET", raising=False)
    assert cli.serve("127.0.0.1", 0, 1) == 2
    assert "DBREVIEW_WEBHOOK_SECRET is not set" in capsys.readouterr().err


def test_a_private_key_with_escaped_newlines_is_unescaped() -> None:
    pem = "-----BEGIN RSA PRIVATE KEY-----\\nMIIabc\\n-----END RSA PRIVATE KEY-----\\n"
    s = load_settings({"DBREVIEW_WEBHOOK_SECRET": "s", "GITHUB_APP_ID": "1", "GITHUB_APP_PRIVATE_KEY": pem})
    assert s.github_private_key.splitlines() == ["-----BEGIN RSA PRIVATE KEY-----", "MIIabc",
                                                 "-----END RSA PRIVATE KEY-----"]
