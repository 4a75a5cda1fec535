"""The GitHub client over HTTP: rate limits, 5xx, pagination, App auth, and no secret in any log line."""

from __future__ import annotations

import logging
import random
import time

import gh_trees as trees
import httpx
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from fakes.github_server import SECONDARY_MESSAGE
from gh_support import BOT_TOKEN, Env

from bot.github.auth import AppAuth, StaticToken
from bot.github.client import GitHubClient, GitHubError, GitHubRateLimited, graphql_url_for, rate_limit_delay
from bot.github.run import review_pull_request

REPO = "acme/shop"


def _resp(status: int, headers: dict[str, str], text: str = "") -> httpx.Response:
    return httpx.Response(status, headers=headers, text=text)


def test_rate_limit_delay_follows_githubs_documented_order() -> None:
    rng = random.Random(0)
    now = 1_000_000.0
    # retry-after wins over everything else
    assert rate_limit_delay(_resp(403, {"retry-after": "7", "x-ratelimit-remaining": "0",
                                        "x-ratelimit-reset": str(int(now) + 300)}), 1, now, rng) == 7
    # then the primary-limit reset time
    assert rate_limit_delay(_resp(403, {"x-ratelimit-remaining": "0", "x-ratelimit-reset": str(int(now) + 42)}),
                            1, now, rng) == 43
    # else at least a minute, growing exponentially, with jitter
    first = rate_limit_delay(_resp(429, {}), 1, now, rng)
    third = rate_limit_delay(_resp(429, {}), 3, now, rng)
    assert 60 <= first <= 75 and 240 <= third <= 300


def test_graphql_url_for_dotcom_and_enterprise() -> None:
    assert graphql_url_for("https://api.github.com") == "https://api.github.com/graphql"
    assert graphql_url_for("https://ghe.example.com/api/v3") == "https://ghe.example.com/api/graphql"


@pytest.mark.usefixtures("fake_rules")
def test_rate_limited_run_still_completes(gh: Env) -> None:
    gh.fake.open_pr(REPO, trees.BASE, trees.PUSH1)
    gh.fake.inject("GET", r"/pulls/1/files$", 429, headers={"retry-after": "3"}, message="rate limited")
    gh.fake.inject("POST", r"/pulls/1/reviews$", 403, headers={"retry-after": "61"}, message=SECONDARY_MESSAGE)
    gh.fake.inject("POST", r"/issues/1/comments$", 403, message=SECONDARY_MESSAGE)  # no header: >= 60 s backoff
    gh.fake.inject("POST", r"/check-runs$", 502, times=2)
    reset = int(time.time()) + 30
    gh.fake.inject("GET", r"/pulls/1$", 403, headers={"x-ratelimit-remaining": "0", "x-ratelimit-reset": str(reset)},
                   message="API rate limit exceeded")
    client = gh.client()
    result = review_pull_request(client, REPO, 1)

    assert len(result.posted) == 4 and result.summary_comment_id and result.check_run_id
    assert not result.errors and result.conclusion == "failure"
    waits = gh.sleeps.waits
    assert 29 <= waits[0] <= 32  # x-ratelimit-reset
    assert waits[1] == 3 and waits[2] == 61  # retry-after, as given
    assert waits[3] >= 60  # secondary limit without retry-after: at least a minute
    assert 1 <= waits[4] <= 1.5 and 2 <= waits[5] <= 3  # 502 twice: exponential backoff from 1 s
    assert len([r for r in gh.fake.requests if r["path"].endswith("/pulls/1/reviews") and r["method"] == "POST"]) == 2


def test_rate_limit_that_never_lifts_gives_a_neutral_check(gh: Env, caplog: pytest.LogCaptureFixture) -> None:
    from bot.config import Config
    from bot.findings import Finding, Severity
    from bot.github.pr import load_pull_request
    from bot.github.publish import publish_review
    from bot.review import Review

    gh.fake.open_pr(REPO, trees.BASE, trees.PUSH1)
    client = gh.client()
    pr = load_pull_request(client, REPO, 1)
    gh.fake.inject("POST", r"/issues/1/comments$", 403, headers={"retry-after": "30"}, message=SECONDARY_MESSAGE,
                   times=99)
    review = Review(findings=[Finding("test/rule", Severity.WARNING, "src/orders.ts", 1, "m", fingerprint="aaaa1")],
                    has_database_surface=True)
    with caplog.at_level(logging.INFO, logger="dbreview"):
        result = publish_review(client, pr, review, Config(), change=None)
    assert result.summary_comment_id is None
    assert result.errors == ["GitHub rate limit while trying to update the summary comment; gave up after waiting"]
    run = gh.fake.check_runs[result.check_run_id]
    assert run["conclusion"] == "neutral" and "rate limit" in run["output"]["title"]
    assert any("giving up" in r.getMessage() for r in caplog.records)
    assert gh.sleeps.waits == [30, 30, 30, 30]


def test_server_errors_exhaust_into_a_github_error(gh: Env) -> None:
    gh.fake.open_pr(REPO, trees.BASE, trees.PUSH1)
    gh.fake.inject("GET", r"/pulls/1$", 500, times=10)
    with pytest.raises(GitHubError) as info:
        gh.client().get_pull(REPO, 1)
    assert info.value.status == 500 and not isinstance(info.value, GitHubRateLimited)
    assert len(gh.sleeps.waits) == 4


def test_permission_403_is_not_retried(gh: Env) -> None:
    gh.fake.open_pr(REPO, trees.BASE, trees.PUSH1)
    from gh_support import READ_ONLY_TOKEN

    with pytest.raises(GitHubError) as info:
        gh.client(READ_ONLY_TOKEN).create_issue_comment(REPO, 1, "hello")
    assert info.value.status == 403 and gh.sleeps.waits == []


def test_token_never_logged(gh: Env, caplog: pytest.LogCaptureFixture) -> None:
    gh.fake.open_pr(REPO, trees.BASE, trees.PUSH1)
    gh.fake.inject("GET", r"/pulls/1$", 403, headers={"retry-after": "1"}, message=SECONDARY_MESSAGE, times=9)
    with caplog.at_level(logging.DEBUG), pytest.raises(GitHubRateLimited) as info:
        gh.client().get_pull(REPO, 1)
    text = caplog.text + str(info.value) + repr(StaticToken(BOT_TOKEN))
    assert BOT_TOKEN not in text and "retrying" in caplog.text


def test_writes_are_spaced_and_serialised_per_installation(gh: Env) -> None:
    gh.fake.open_pr(REPO, trees.BASE, trees.PUSH1)
    clock = [100.0]
    slept: list[float] = []

    def sleep(s: float) -> None:
        slept.append(s)
        clock[0] += s

    gh.fake.add_token("ghs_spacing", "spacing[bot]", type="Bot")
    client = GitHubClient(StaticToken("ghs_spacing"), gh.url, sleep=sleep, clock=lambda: clock[0], write_interval=1.0)
    other = GitHubClient(StaticToken("ghs_spacing"), gh.url, sleep=sleep, clock=lambda: clock[0], write_interval=1.0)
    client.create_issue_comment(REPO, 1, "one")
    other.create_issue_comment(REPO, 1, "two")  # same credentials: shares the spacing
    client.get_pull(REPO, 1)  # reads are not spaced
    assert slept == [1.0]


def _pem() -> str:
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    return key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                             serialization.NoEncryption()).decode()


def test_app_auth_mints_caches_and_refreshes_installation_tokens(gh: Env) -> None:
    gh.fake.app_installations["777"] = "dbreview[bot]"
    gh.fake.open_pr(REPO, trees.BASE, trees.PUSH1)
    now = [time.time()]
    auth = AppAuth(12345, _pem(), 777, gh.url, clock=lambda: now[0])
    client = GitHubClient(auth, gh.url, sleep=gh.sleeps, write_interval=0)
    client.get_pull(REPO, 1)
    client.get_pull(REPO, 1)
    mints = [r for r in gh.fake.requests if r["path"] == "/app/installations/777/access_tokens"]
    assert len(mints) == 1
    first = auth.token()
    now[0] += 3600 - 120  # inside the refresh margin before the 1 h expiry
    assert auth.token() != first
    assert len([r for r in gh.fake.requests if r["path"] == "/app/installations/777/access_tokens"]) == 2
    import jwt

    claims = jwt.decode(auth.app_jwt(), options={"verify_signature": False})
    assert claims["iss"] == "12345" and claims["exp"] - claims["iat"] <= 600 and claims["iat"] < now[0]


def test_revoked_installation_token_is_replaced_once(gh: Env) -> None:
    gh.fake.app_installations["778"] = "dbreview[bot]"
    gh.fake.open_pr(REPO, trees.BASE, trees.PUSH1)
    auth = AppAuth(12345, _pem(), 778, gh.url)
    client = GitHubClient(auth, gh.url, sleep=gh.sleeps, write_interval=0)
    client.get_pull(REPO, 1)
    gh.fake.tokens.pop(auth.token())  # revoked (or expired early) on GitHub's side
    assert client.get_pull(REPO, 1)["number"] == 1
    assert len([r for r in gh.fake.requests if r["path"] == "/app/installations/778/access_tokens"]) == 2
