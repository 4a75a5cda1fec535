"""The conversations of one review, pinned: what dbreview sends to and receives from the Anthropic API and the
GitHub API, recorded as vcrpy cassettes in tests/llm/cassettes/ and replayed here without any server.

Two pushes of a pull request run through `dbreview action` with the LLM review on: the first push (empty result
cache: schema and migration) and a second push that adds a function charging an order (only that hunk is sent; the
schema and migration hunks come from the cache and are listed to the model with its earlier remarks). Replaying
checks that every recorded call is made, in the recorded order, with the recorded method, path, query and JSON
body, and nothing else: a change in the prompts, the tool schema, the context sent, the number of API calls or a
request body fails here and shows up as a diff of a cassette in review.

Re-record (after an intended change; review the cassette diff like code):

    DBREVIEW_RECORD_CASSETTES=1 .venv/bin/python -m pytest tests/llm/test_llm_conversations.py

Recording runs the fake GitHub (tests/fakes/github_server.py) and the fake Anthropic API answering with
`realistic_answer` on loopback ports; hosts are rewritten to github.test / anthropic.test and credentials are never
stored. The rule packs are replaced by the small stand-in analyzer of tests/github/gh_support.py, so a change to a
rule's wording elsewhere does not invalidate these cassettes.
"""

from __future__ import annotations

import io
import json
import os
import re
import sys
from pathlib import Path
from typing import Any, ClassVar

import pytest
import vcr
from vcr.record_mode import RecordMode

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "github"))

from gh_support import BOT_TOKEN, HUMAN_TOKEN, fake_analyze

from bot.action import run_action

CASSETTES = Path(__file__).parent / "cassettes"
EVENTS = Path(__file__).resolve().parents[1] / "github" / "events"
RECORD = os.environ.get("DBREVIEW_RECORD_CASSETTES") == "1"
REPO = "acme/shop"
GITHUB = "http://github.test"
ANTHROPIC = "http://anthropic.test"
PUSHES = ("first_push", "second_push")
_LOOPBACK = re.compile(r"^http://127\.0\.0\.1:(\d+)")
_LOOPBACK_ANYWHERE = re.compile(r"http://127\.0\.0\.1:(\d+)")
# Values that differ between two runs of the same review: wall-clock times and durations.
_VOLATILE = [
    (re.compile(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(?:\.\d+)?(?:Z|[+-]\d\d:\d\d)"), "<time>"),
    (re.compile(r"\b\d+(?:\.\d+)?\s?(?:ms|s)\b"), "<duration>"),
]


class _Hosts:
    """Loopback ports of the fakes while recording, mapped to stable host names in the cassettes."""

    ports: ClassVar[dict[str, str]] = {}

    @classmethod
    def rewrite(cls, text: str) -> str:
        """Every loopback URL of a fake in `text` (bodies carry html_url links), as its stable host."""
        return _LOOPBACK_ANYWHERE.sub(lambda m: cls.ports.get(m.group(1), "http://unknown.test"), text)

    @classmethod
    def canonical(cls, request: Any) -> Any:
        match = _LOOPBACK.match(request.uri)
        if match:
            host = cls.ports.get(match.group(1), "http://unknown.test")
            request.uri = host + request.uri[match.end():]
        if isinstance(request.body, bytes) and b"127.0.0.1:" in request.body:
            request.body = cls.rewrite(request.body.decode("utf-8", "surrogateescape")).encode(
                "utf-8", "surrogateescape")
        for name in [h for h in request.headers if h.lower() == "host"]:  # the fake's port changes every run
            request.headers[name] = cls.rewrite("http://" + request.headers[name]).removeprefix("http://")
        for header in ("authorization", "x-api-key", "cookie"):
            request.headers.pop(header, None)
            request.headers.pop(header.title(), None)
        return request


def _normalise(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: _normalise(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_normalise(v) for v in value]
    if isinstance(value, str):
        for pattern, replacement in _VOLATILE:
            value = pattern.sub(replacement, value)
    return value


def _body(request: Any) -> Any:
    raw = request.body
    if raw in (None, b"", ""):
        return None
    if isinstance(raw, bytes):
        raw = raw.decode("utf-8", "replace")
    try:
        return _normalise(json.loads(raw))
    except ValueError:
        return _normalise(raw)


def json_body(r1: Any, r2: Any) -> None:
    assert _body(r1) == _body(r2), "request body differs from the recorded one"


def _recorder(name: str) -> vcr.VCR:
    recorder = vcr.VCR(
        cassette_library_dir=str(CASSETTES),
        record_mode=RecordMode.ALL if RECORD else RecordMode.NONE,
        match_on=["method", "path", "query", "json_body"],
        before_record_request=_Hosts.canonical,
        before_record_response=_scrub_response,
        decode_compressed_response=True,
    )
    recorder.register_matcher("json_body", json_body)
    return recorder


def _scrub_response(response: dict[str, Any]) -> dict[str, Any]:
    headers = response.get("headers") or {}
    for name in list(headers):
        if name.lower() in ("date", "server", "request-id", "x-github-request-id", "set-cookie"):
            headers.pop(name)
    body = response.get("body") or {}
    raw = body.get("string")
    if isinstance(raw, bytes) and b"127.0.0.1:" in raw:  # html_url links of the fake: replayed, they must match
        body["string"] = _Hosts.rewrite(raw.decode("utf-8", "surrogateescape")).encode("utf-8", "surrogateescape")
    return response


def _second_push(tree: dict[str, Any]) -> dict[str, Any]:
    service = tree["src/orders.ts"] + (
        "\nexport async function charge(orderId: string, amount: number) {\n"
        "  const order = await prisma.order.findUniqueOrThrow({ where: { id: orderId } });\n"
        "  await prisma.order.update({ where: { id: orderId }, data: { total: order.total - amount } });\n"
        "  return prisma.order.findMany({ where: { userId: order.userId } });\n"
        "}\n")
    return {**tree, "src/orders.ts": service}


def _event(tmp_path: Path, push: str, head_sha: str = "", base_sha: str = "") -> Path:
    saved = CASSETTES / f"{push}.event.json"
    if RECORD:
        text = (EVENTS / "pull_request.json").read_text()
        text = (text.replace("__HEAD_SHA__", head_sha).replace("__BASE_SHA__", base_sha)
                .replace("__HEAD_OWNER__", "acme").replace("__HEAD_REPO__", "acme/shop").replace("__FORK__", "false"))
        saved.write_text(json.dumps(json.loads(text), indent=1) + "\n")
    path = tmp_path / f"{push}.json"
    path.write_text(saved.read_text())
    return path


def _env(tmp_path: Path, event: Path, github: str, anthropic: str) -> dict[str, str]:
    return {
        "GITHUB_EVENT_NAME": "pull_request", "GITHUB_EVENT_PATH": str(event), "GITHUB_REPOSITORY": REPO,
        "GITHUB_TOKEN": BOT_TOKEN, "GITHUB_API_URL": github, "GITHUB_STEP_SUMMARY": str(tmp_path / "summary.md"),
        "ANTHROPIC_API_KEY": "sk-ant-cassette", "ANTHROPIC_BASE_URL": anthropic,
    }


def _run_pushes(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> list[tuple[str, Any, str]]:
    """Both pushes, recording or replaying; returns (push, cassette, action output) per push."""
    import bot.pipeline

    monkeypatch.setattr(bot.pipeline, "analyzers", lambda: [("fake", fake_analyze)])
    monkeypatch.setenv("DBREVIEW_DATA_DIR", str(tmp_path / "cache"))
    for name in ("DBREVIEW_TRACE_DATABASE_URL", "ANTHROPIC_API_KEY"):
        monkeypatch.delenv(name, raising=False)
    servers: list[Any] = []
    github, anthropic = GITHUB, ANTHROPIC
    fake_gh = None
    if RECORD:
        import gh_trees as trees
        from fakes.anthropic_server import FakeAnthropic, realistic_answer
        from fakes.github_server import FakeGitHub, RunningServer

        fake_gh = FakeGitHub()
        fake_gh.add_token(BOT_TOKEN, "github-actions[bot]", type="Bot")
        fake_gh.add_token(HUMAN_TOKEN, "bob")
        gh_server = RunningServer(fake_gh).start()
        fake_ai = FakeAnthropic().start()
        fake_ai.reply(realistic_answer)
        servers = [gh_server, fake_ai]
        github, anthropic = gh_server.url, fake_ai.base_url
        _Hosts.ports = {str(gh_server.port): GITHUB, fake_ai.base_url.rsplit(":", 1)[1]: ANTHROPIC}
        fake_gh.open_pr(REPO, trees.BASE, trees.BASE)
        fake_gh.push(REPO, 1, trees.PUSH1, message="Add discount and tax to Order")
    out: list[tuple[str, Any, str]] = []
    try:
        for push in PUSHES:
            if RECORD and fake_gh is not None:
                import gh_trees as trees

                if push == "second_push":
                    fake_gh.push(REPO, 1, _second_push(trees.PUSH1), message="Charge an order")
                pr = fake_gh.repos[REPO].pulls[1]
                event = _event(tmp_path, push, pr.head_sha, pr.base_sha)
            else:
                event = _event(tmp_path, push)
            printed = io.StringIO()
            if RECORD:
                (CASSETTES / f"{push}.yaml").unlink(missing_ok=True)  # re-recording replaces, never appends
            with _recorder(push).use_cassette(f"{push}.yaml") as cassette:
                run_action(_env(tmp_path, event, github, anthropic), out=printed, sleep=lambda _s: None)
            out.append((push, cassette, printed.getvalue()))
    finally:
        for server in servers:
            server.stop()
    return out


def test_the_recorded_conversations_replay_call_for_call(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    results = _run_pushes(tmp_path, monkeypatch)
    first, second = (cassette for _, cassette, _ in results)
    for push, cassette, printed in results:
        assert len(cassette) > 0, push
        if not RECORD:
            assert cassette.all_played, f"{push}: recorded calls that were not made"
            played = [(r.method, r.path) for r, _ in cassette._played_interactions]
            assert played == [(r.method, r.path) for r in cassette.requests], f"{push}: calls made in another order"
        assert printed.startswith("dbreview: "), printed
    calls = {push: [(r.method, r.host, r.path) for r in cassette.requests] for push, cassette, _ in results}
    ai_first = [c for c in calls["first_push"] if c[1] == "anthropic.test"]
    ai_second = [c for c in calls["second_push"] if c[1] == "anthropic.test"]
    # First push: the model info, then one review call (a small change is not counted remotely).
    assert [p for _, _, p in ai_first] == ["/v1/models/claude-sonnet-4-6", "/v1/messages"]
    # Second push: only the edited hunks are sent again.
    assert [p for _, _, p in ai_second] == ["/v1/models/claude-sonnet-4-6", "/v1/messages"]
    second_message = _message(second)
    assert "# Hunks of this change you reviewed on an earlier push" in second_message
    assert "### src/orders.ts (query, modified file)" in second_message
    assert "### prisma/schema.prisma" not in second_message and "### prisma/migrations/" not in second_message
    assert "### prisma/schema.prisma" in _message(first)
    # GitHub: the review is posted once per push, after everything was read.
    for push in PUSHES:
        posts = [p for m, h, p in calls[push] if h == "github.test" and m == "POST"]
        assert f"/repos/{REPO}/pulls/1/reviews" in posts or push == "second_push"
    # no credential reached a cassette
    for name in PUSHES:
        text = (CASSETTES / f"{name}.yaml").read_text()
        assert "sk-ant-cassette" not in text and BOT_TOKEN not in text


def _message(cassette: Any) -> str:
    request = next(r for r in cassette.requests if r.path == "/v1/messages")
    return str(json.loads(request.body)["messages"][0]["content"])
