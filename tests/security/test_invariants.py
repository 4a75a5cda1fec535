"""dbreview's safety invariants, end to end: each test fails if one of them breaks.

1. PR content is data: no shell/eval/unsafe loaders, no path traversal by PR-provided paths, PR SQL never as a
   superuser (tests/trace/test_trace_runner.py covers the restricted role against a real server).
2. The bot never approves.
3. No secret reaches a log line, a comment, a check run or an exception message.
4. Comments only on lines of the diff (LEFT for deleted lines, start_line < line in one hunk).
5. Bad input never crashes the review and never loses the rest of it.
(6. HMAC before parsing, idempotency and fast acks: tests/app/test_webhook_app.py runs them against the real app.)
"""

from __future__ import annotations

import io
import json
import logging
import re
from collections.abc import Iterator
from pathlib import Path

import gh_trees as trees
import pytest
from gh_support import BOT_TOKEN, Env
from hypothesis import given, settings
from hypothesis import strategies as st

from bot.action import run_action, target_of
from bot.app.logs import JsonFormatter
from bot.change import parse_diff
from bot.config import Config, parse_config
from bot.findings import Finding, Severity, Side, Source
from bot.github.anchors import anchor_for, valid_against
from bot.github.auth import StaticToken
from bot.github.client import GitHubClient, is_safe_repo_path
from bot.github.comments import SUMMARY_MARKER
from bot.github.pr import PullRequestInfo
from bot.github.publish import Publisher
from bot.github.run import review_pull_request
from bot.redact import RedactingFilter, scrub
from bot.review import Review

REPO = "acme/shop"
ROOT = Path(__file__).resolve().parents[2]
BOT = ROOT / "bot"

PEM = ("-----BEGIN RSA PRIVATE KEY-----\nMIIEowIBAAKCAQEAu1SU1LfVLPHCozMxH2Mo4lgOEePzNm0tRgeLezV6ffAt0gun\n"
       "VTLw7onLRnrq0/IzW7yWR7QkrmBL7jTKEn5u+qKhbwKfBstIs+bMY2Zkp18gnTxK\n-----END RSA PRIVATE KEY-----\n")
SECRETS = {
    "GITHUB_TOKEN": BOT_TOKEN,
    "GITHUB_APP_PRIVATE_KEY": PEM,
    "DBREVIEW_WEBHOOK_SECRET": "whsec-5f0c1e2d3b4a",
    "ANTHROPIC_API_KEY": "sk-ant-api03-Zq9XwV8uT7sR6",
    "DATABASE_URL": "postgresql://dbreview:Pg-Secret-1234@db.internal:5432/dbreview",
    "DBREVIEW_QUEUE_URL": "redis://:Redis-Secret-5678@redis.internal:6379/0",
    # Malformed on purpose (no ':' after the scheme): libpq quotes such a string back in its error, password and all.
    "DBREVIEW_TRACE_DATABASE_URL": "postgresql//trace:Trace-Secret-9012@127.0.0.1/test",
}
SECRET_VALUES = [BOT_TOKEN, "MIIEowIBAAKCAQEAu1SU1LfVLPHCozMxH2Mo4lgOEePzNm0tRgeLezV6ffAt0gun", "whsec-5f0c1e2d3b4a",
                 "sk-ant-api03-Zq9XwV8uT7sR6", "Pg-Secret-1234", "Redis-Secret-5678", "Trace-Secret-9012"]


def _posted_text(env: Env) -> str:
    """Everything dbreview sent to GitHub: every request body."""
    return "\n".join(json.dumps(r.get("json"), ensure_ascii=False) for r in env.fake.requests if r.get("json"))


def _summary(env: Env) -> str:
    return next(c["body"] for c in env.fake.issue_comments.values() if SUMMARY_MARKER in c["body"])


# -- 1. data, never code -------------------------------------------------------------------------------------------

_DANGEROUS = re.compile(
    r"\b(eval|exec)\(|shell\s*=\s*True|os\.system\(|os\.popen\(|yaml\.(load|unsafe_load|full_load)\(|"
    r"yaml\.(Unsafe|Full)?Loader\b|pickle\.loads?\(|marshal\.loads?\(|__import__\(")


def test_no_code_execution_primitives_in_the_bot() -> None:
    offenders = [f"{p.relative_to(ROOT)}:{n}" for p in BOT.rglob("*.py")
                 for n, line in enumerate(p.read_text("utf-8").splitlines(), 1)
                 if _DANGEROUS.search(line) and not line.lstrip().startswith("#")]
    assert offenders == []


def test_subprocess_only_runs_git_with_fixed_arguments() -> None:
    users = [p.relative_to(ROOT).as_posix() for p in BOT.rglob("*.py") if "subprocess" in p.read_text("utf-8")]
    assert users == ["bot/gitrepo.py"]


def test_refs_that_look_like_options_are_refused(tmp_path: Path) -> None:
    from bot.change import ChangeError
    from bot.gitrepo import resolve_ref

    with pytest.raises(ChangeError, match="not a valid ref"):
        resolve_ref(tmp_path, "--output=/tmp/pwned")


def test_config_yaml_never_constructs_objects() -> None:
    from bot.config import ConfigError

    with pytest.raises(ConfigError):
        parse_config("rules: !!python/object/apply:os.system ['touch /tmp/dbreview-pwned']\n", ".dbreview.yml")
    assert not Path("/tmp/dbreview-pwned").exists()


@pytest.mark.parametrize("path", ["../../../user", "prisma/../../other/contents/x", "/etc/passwd", "a//b", "./x",
                                  "a/./b", ""])
def test_paths_that_climb_out_of_the_repository_are_not_fetched(path: str) -> None:
    assert not is_safe_repo_path(path)


@pytest.mark.parametrize("path", ["prisma/schema.prisma", "-rf x/schema.prisma", "a b/ü.prisma", "..x/y", "x../y"])
def test_odd_but_legal_names_are_fetched(path: str) -> None:
    assert is_safe_repo_path(path)


def test_a_pr_with_traversal_and_odd_file_names_is_reviewed_without_leaving_the_repo(gh: Env) -> None:
    head = {**trees.PUSH1,
            "prisma/../../../orgs/acme/secrets.prisma": "model X { id Int @id }\n",
            "-rf --all.prisma": "model Y { id Int @id }\n",
            "docs/spaced name ü.md": "hello\n",
            "assets/logo.bin": b"\x89PNG\r\n\x1a\n\x00\x00\xff\xfe",
            "prisma/latin1.sql": "-- caf\xe9\n".encode("latin-1")}
    gh.fake.open_pr(REPO, trees.BASE, head)
    result = review_pull_request(gh.client(), REPO, 1)
    assert result.review is not None and result.summary_comment_id is not None
    prefixes = ("/repos/acme/shop/", "/graphql")
    # The fake records the path as the server saw it (after normalisation): nothing left the repository's routes.
    assert all(r["path"].startswith(prefixes) or r["path"] == "/user" for r in gh.fake.requests), \
        [r["path"] for r in gh.fake.requests]


def test_a_diff_file_naming_paths_outside_the_folder_reads_nothing_there(tmp_path: Path) -> None:
    from bot.gitrepo import diff_file_change

    secret = tmp_path / "outside.prisma"
    secret.write_text("model Secret { id Int @id }\n")
    repo = tmp_path / "repo"
    repo.mkdir()
    diff = ("--- a/../outside.prisma\n+++ b/../outside.prisma\n@@ -1 +1 @@\n-model Secret { id Int @id }\n"
            "+model Secret { id BigInt @id }\n")
    from bot.change import ChangeError

    with pytest.raises(ChangeError):
        diff_file_change(repo, diff)  # the base file is not found inside the folder: a clear error, not a read


# -- 2. never approves ---------------------------------------------------------------------------------------------


def test_no_code_path_can_send_approve() -> None:
    hits = [p.relative_to(ROOT).as_posix() for p in BOT.rglob("*.py") if "APPROVE" in p.read_text("utf-8")]
    assert hits == []


_SEVERITIES = st.sampled_from(list(Severity))
_SOURCES = st.sampled_from(list(Source))


@settings(max_examples=60, deadline=None)
@given(findings=st.lists(st.tuples(_SEVERITIES, _SOURCES), max_size=6), opt_in=st.booleans())
def test_the_review_event_is_comment_or_opted_in_request_changes(findings: list[tuple[Severity, Source]],
                                                                 opt_in: bool) -> None:
    config = parse_config(f"review: {{request_changes: {str(opt_in).lower()}}}\n", ".dbreview.yml")
    review = Review(findings=[Finding("prisma/float-money", sev, "prisma/schema.prisma", 1, "m", source=src)
                              for sev, src in findings])
    pr = PullRequestInfo(REPO, 1, "t", "", "h" * 40, "b" * 40, "feature", "main", REPO, "alice")
    publisher = Publisher(client=None, pr=pr, review=review, config=config, change=None)  # type: ignore[arg-type]
    event = publisher._event()
    rule_error = any(sev is Severity.ERROR and src is Source.RULE for sev, src in findings)
    assert event == ("REQUEST_CHANGES" if opt_in and rule_error else "COMMENT")


def test_every_review_posted_in_a_full_run_is_a_comment(gh: Env) -> None:
    gh.fake.open_pr(REPO, trees.BASE, trees.PUSH1)
    review_pull_request(gh.client(), REPO, 1)
    events = [r["json"].get("event") for r in gh.fake.requests
              if r["method"] == "POST" and r["path"].endswith("/reviews")]
    assert events and set(events) == {"COMMENT"}


# -- 3. no secret leaks ----------------------------------------------------------------------------------------------


class _LeakyLlm:
    """An LLM reviewer that fails with the API key in its message (as a misconfigured SDK error might)."""

    def review(self, ctx, rule_findings):  # type: ignore[no-untyped-def]
        logging.getLogger("dbreview.llm").warning("calling Anthropic with key %s", SECRETS["ANTHROPIC_API_KEY"])
        raise RuntimeError(f"authentication failed for x-api-key {SECRETS['ANTHROPIC_API_KEY']} "
                           f"(proxy {SECRETS['DATABASE_URL']})")


@pytest.fixture
def captured_logs() -> Iterator[tuple[io.StringIO, io.StringIO]]:
    """The two production log outputs, at DEBUG: the App's JSON lines and the Action's plain lines (with its
    redacting filter)."""
    json_out, plain_out = io.StringIO(), io.StringIO()
    json_handler = logging.StreamHandler(json_out)
    json_handler.setFormatter(JsonFormatter())
    plain_handler = logging.StreamHandler(plain_out)
    plain_handler.setFormatter(logging.Formatter("dbreview: %(levelname)s %(name)s: %(message)s"))
    plain_handler.addFilter(RedactingFilter())
    root = logging.getLogger()
    old_level = root.level
    root.setLevel(logging.DEBUG)
    root.addHandler(json_handler)
    root.addHandler(plain_handler)
    try:
        yield json_out, plain_out
    finally:
        root.removeHandler(json_handler)
        root.removeHandler(plain_handler)
        root.setLevel(old_level)


def test_no_secret_in_logs_comments_or_check_runs_of_a_full_review(
        gh: Env, monkeypatch: pytest.MonkeyPatch, captured_logs: tuple[io.StringIO, io.StringIO]) -> None:
    for name, value in SECRETS.items():
        monkeypatch.setenv(name, value)
    gh.fake.open_pr(REPO, trees.BASE, trees.PUSH1)
    result = review_pull_request(gh.client(), REPO, 1, llm=_LeakyLlm())
    assert result.posted and result.check_run_id is not None
    # The trace was attempted on the malformed URL and said so, without the URL.
    assert "trace: not run" in _summary(gh)
    json_logs, plain_logs = (out.getvalue() for out in captured_logs)
    assert "calling Anthropic" in json_logs and "calling Anthropic" in plain_logs
    for where, text in (("posted", _posted_text(gh)), ("json logs", json_logs), ("plain logs", plain_logs),
                        ("summary", result.summary_markdown)):
        leaked = [v for v in SECRET_VALUES if v in text]
        assert leaked == [], f"{where} leaks {leaked}"


def test_a_secret_inside_a_finding_never_reaches_github(gh: Env, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ANTHROPIC_API_KEY", SECRETS["ANTHROPIC_API_KEY"])
    gh.fake.open_pr(REPO, trees.BASE, trees.PUSH1)
    from bot.github.pr import load_review_input
    from bot.github.publish import publish_review

    data = load_review_input(gh.client(), REPO, 1)
    line = trees.SCHEMA_PUSH1.splitlines().index("  discount   Float") + 1
    review = Review(findings=[Finding(
        "prisma/float-money", Severity.WARNING, "prisma/schema.prisma", line,
        f"leak {SECRETS['ANTHROPIC_API_KEY']} and postgres://app:Hunter2-Pass@db/app and ghp_{'a' * 36}",
        fingerprint="fp-secret-1")], has_database_surface=True)
    publish_review(gh.client(), data.pr, review, Config(), change=data.change)
    posted = _posted_text(gh)
    assert "leak ***" in posted
    assert SECRETS["ANTHROPIC_API_KEY"] not in posted and "Hunter2-Pass" not in posted and "a" * 36 not in posted


def test_the_trace_never_echoes_a_malformed_url() -> None:
    from bot.trace.tempdb import TraceError, connect, describe_server

    url = SECRETS["DBREVIEW_TRACE_DATABASE_URL"]
    assert "Trace-Secret" not in describe_server(url)
    with pytest.raises(TraceError) as info:
        connect(url)
    assert "Trace-Secret" not in str(info.value) and "malformed database URL" in str(info.value)


@pytest.mark.parametrize("text, secret", [
    ("token ghs_0123456789abcdefABCDEF0123 used", "ghs_0123456789abcdefABCDEF0123"),
    ("jwt eyJhbGciOiJSUzI1NiJ9.eyJpc3MiOiIxMjMifQ.c2lnbmF0dXJlLXNpZ24 sent", "c2lnbmF0dXJlLXNpZ24"),
    ("dsn host=db password=s3cr3t-pw user=x", "s3cr3t-pw"),
    ("url postgresql://u:p%40ss-word@h/db", "p%40ss-word"),
    (PEM, "MIIEowIBAAKCAQEAu1SU1LfVLPHCozMxH2Mo4lgOEePzNm0tRgeLezV6ffAt0gun"),
])
def test_secret_shapes_are_scrubbed_without_knowing_the_value(text: str, secret: str) -> None:
    assert secret not in scrub(text, env={})


def test_a_secret_with_json_special_characters_is_redacted_in_json_logs(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DBREVIEW_WEBHOOK_SECRET", 'we"ird\\secret')
    record = logging.LogRecord("dbreview", logging.ERROR, __file__, 1, "secret is %s", ('we"ird\\secret',), None)
    line = JsonFormatter().format(record)
    assert "ird" not in line and json.loads(line)["msg"] == "secret is ***"


def test_the_token_is_not_sent_to_another_host(gh: Env) -> None:
    import httpx

    seen: list[httpx.Request] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        if request.url.host == "api.github.com":
            return httpx.Response(200, json=[{"n": 1}], headers={"link": '<https://evil.example/x>; rel="next"'})
        return httpx.Response(200, json=[{"n": 2}])

    from bot.github.auth import StaticToken
    from bot.github.client import GitHubClient

    client = GitHubClient(StaticToken(BOT_TOKEN), "https://api.github.com", transport=httpx.MockTransport(handler))
    assert [i["n"] for i in client.paginate("/repos/acme/shop/pulls/1/files")] == [1, 2]
    assert "authorization" in seen[0].headers and "authorization" not in seen[1].headers


# -- 4. anchors only on diff lines ---------------------------------------------------------------------------------

_DIFF = """--- a/prisma/schema.prisma
+++ b/prisma/schema.prisma
@@ -3,6 +3,7 @@ model User {
   id    String @id
   email String @unique
-  name  String?
+  fullName String?
+  nick  String?
   posts Post[]
   createdAt DateTime @default(now())
   updatedAt DateTime @updatedAt
@@ -20,4 +21,3 @@ model Post {
   id     String @id
   title  String
-  legacy Int
   userId String
"""


@settings(max_examples=300, deadline=None)
@given(line=st.integers(0, 30), span=st.integers(0, 25), old=st.booleans(),
       path=st.sampled_from(["prisma/schema.prisma", "prisma/other.prisma"]))
def test_every_anchor_is_valid_against_the_parsed_diff(line: int, span: int, old: bool, path: str) -> None:
    from bot.change import Change, MemorySnapshot

    change = Change(files=parse_diff(_DIFF), base=MemorySnapshot(), head=MemorySnapshot())
    finding = Finding("prisma/x", Severity.WARNING, path, max(line, 1), "m", end_line=max(line, 1) + span,
                      side=Side.OLD if old else Side.NEW)
    anchor, reason = anchor_for(finding, change)
    if anchor is None:
        assert reason
        return
    assert valid_against(anchor, change)
    changed = change.file(anchor.path)
    assert changed is not None
    lines = changed.commentable_old_lines() if old else changed.commentable_new_lines()
    assert anchor.line in lines and anchor.side == ("LEFT" if old else "RIGHT")
    api = anchor.to_api()
    if "start_line" in api:
        assert api["start_line"] < api["line"] and api["start_side"] == api["side"]
        assert changed.hunk_index(api["start_line"], old=old) == changed.hunk_index(api["line"], old=old)


def test_a_deleted_line_is_anchored_left_on_its_old_number() -> None:
    from bot.change import Change, MemorySnapshot

    change = Change(files=parse_diff(_DIFF), base=MemorySnapshot(), head=MemorySnapshot())
    anchor, _ = anchor_for(Finding("prisma/x", Severity.ERROR, "prisma/schema.prisma", 22, "dropped", side=Side.OLD),
                           change)
    assert anchor is not None and (anchor.line, anchor.side) == (22, "LEFT")


# -- 5. bad input never crashes, never loses work ------------------------------------------------------------------


@pytest.mark.parametrize("config_text", [
    "rules: {no-such/rule: error}\n",
    "fail_on: sometimes\n",
    "rules: [unclosed\n",
    "\xff\xfe not yaml at all: [\n",
    "rules: !!python/object/apply:os.system ['true']\n",
    "rules: " + "[" * 5000 + "]" * 5000 + "\n",
    "- just\n- a list\n",
])
def test_an_invalid_base_branch_config_is_explained_not_a_crash(gh: Env, config_text: str) -> None:
    base = {**trees.BASE, ".dbreview.yml": config_text}
    gh.fake.open_pr(REPO, base, {**trees.PUSH1, ".dbreview.yml": config_text})
    result = review_pull_request(gh.client(), REPO, 1)
    summary = _summary(gh)
    assert "the base branch's config is invalid, defaults were used" in summary
    run = gh.fake.check_runs[result.check_run_id]
    assert "config is invalid" in run["output"]["summary"]
    assert result.posted  # the review itself still happened, with the defaults


def test_a_schema_that_does_not_parse_is_a_finding_and_the_rest_goes_on(gh: Env) -> None:
    head = {**trees.PUSH1, "prisma/schema.prisma": trees.SCHEMA_PUSH1 + "\nmodel Broken {\n  id Int @id\n  oops (\n"}
    gh.fake.open_pr(REPO, trees.BASE, head)
    result = review_pull_request(gh.client(), REPO, 1)
    assert result.review is not None
    rules = {f.rule for f in result.review.findings}
    assert "prisma/parse-error" in rules
    assert any(r.startswith("migration/") for r in rules)  # the migration was still reviewed


def test_a_pr_touching_3000_files_is_reviewed_and_says_what_it_skipped(gh: Env) -> None:
    head = {**trees.PUSH1, **{f"docs/page{i:04}.md": f"page {i}\n" for i in range(3000)}}
    gh.fake.open_pr(REPO, trees.BASE, head)
    result = review_pull_request(gh.client(), REPO, 1)
    # The database files sort after docs/ and fall beyond GitHub's 3000-file listing: found from the trees anyway.
    assert result.summary_comment_id is not None and result.check_run_id is not None
    assert result.review is not None and any(f.path == trees.NEW_MIGRATION for f in result.review.findings)
    summary = _summary(gh)
    assert "GitHub lists only 3000 of the" in summary and "found by comparing the base and head trees" in summary


@pytest.mark.parametrize("payload", [
    {"action": "opened", "pull_request": {}},
    {"action": "opened", "pull_request": {"number": "1; rm -rf /"}},
    {"action": "created", "issue": {"pull_request": {}, "number": None},
     "comment": {"body": "/dbreview", "author_association": "OWNER"}},
    {"action": "created", "issue": {"pull_request": {}, "number": 1},
     "comment": {"body": "/dbreview", "author_association": ["OWNER"]}},
])
def test_malformed_action_events_are_refused_cleanly(payload: dict) -> None:
    event = "issue_comment" if "issue" in payload else "pull_request"
    number, _, reason = target_of(event, payload)
    assert number is None and reason


def test_the_action_never_goes_red_for_its_own_failure_and_escapes_workflow_commands(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import bot.github.run

    def explode(*_args: object, **_kwargs: object) -> None:
        raise RuntimeError("boom\n::add-mask::x\n::error::forged " + SECRETS["ANTHROPIC_API_KEY"])

    monkeypatch.setattr(bot.github.run, "review_pull_request", explode)
    monkeypatch.setenv("ANTHROPIC_API_KEY", SECRETS["ANTHROPIC_API_KEY"])
    event = tmp_path / "event.json"
    event.write_text(json.dumps({"action": "opened", "number": 1,
                                 "pull_request": {"number": 1, "state": "open"}}))
    out = io.StringIO()
    code = run_action({"GITHUB_EVENT_NAME": "pull_request", "GITHUB_EVENT_PATH": str(event),
                       "GITHUB_REPOSITORY": REPO, "GITHUB_TOKEN": BOT_TOKEN,
                       "GITHUB_API_URL": "http://127.0.0.1:9"}, out=out)
    text = out.getvalue()
    assert code == 0
    assert [ln for ln in text.splitlines() if ln.startswith("::")] == [ln for ln in text.splitlines()
                                                                        if ln.startswith("::warning")]
    assert "%0A::error::forged" in text and SECRETS["ANTHROPIC_API_KEY"] not in text


_JSON = st.recursive(
    st.none() | st.booleans() | st.integers() | st.text(max_size=5),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.sampled_from(
        ["action", "full_name", "id", "number", "state", "draft", "head", "sha", "user", "login", "type", "body",
         "pull_request", "author_association", "account"]), inner, max_size=5),
    max_leaves=15)


@settings(max_examples=400, deadline=None)
@given(event=st.sampled_from(["pull_request", "pull_request_target", "issue_comment", "installation",
                              "installation_repositories", "ping", "push"]),
       payload=st.dictionaries(st.sampled_from(["action", "repository", "installation", "pull_request", "number",
                                                "sender", "issue", "comment", "repositories",
                                                "repositories_added", "repositories_removed"]), _JSON, max_size=6))
def test_routing_any_signed_json_object_never_raises(event: str, payload: dict) -> None:
    from bot.app.events import decide

    decision = decide(event, payload)
    assert decision.number is None or isinstance(decision.number, int)
    number, _, _ = target_of(event, payload)
    assert number is None or isinstance(number, int)


def test_pr_text_in_the_summary_cannot_mention_forge_markers_or_issue_commands(gh: Env) -> None:
    from bot.github.pr import load_review_input
    from bot.github.publish import publish_review

    gh.fake.open_pr(REPO, trees.BASE, trees.PUSH1)
    data = load_review_input(gh.client(), REPO, 1)
    hostile = "ping @acme/security-team <!-- dbreview:fp=forged123 -->\n/dbreview pause"
    review = Review(findings=[Finding("prisma/float-money", Severity.WARNING, "docs/@everyone.prisma", 1, hostile,
                                      fingerprint="fp-hostile")], has_database_surface=True,
                    notes=["skipped @octocat.prisma: binary or not UTF-8"])
    publish_review(gh.client(), data.pr, review, Config(), change=data.change)
    summary = _summary(gh)
    run = next(iter(gh.fake.check_runs.values()))["output"]["summary"]
    for text in (summary, run):
        prose = re.sub(r"`[^`]*`", "", text)  # what GitHub renders outside code spans
        assert "@acme" not in prose and "@octocat" not in prose and "@everyone" not in prose
        assert "dbreview:fp=forged123 -->" not in text.replace("--&gt;", "")
        assert not any(line.lstrip().startswith("/dbreview") for line in text.splitlines())
    assert summary.count("<!--") == 1  # our own summary marker, nothing else


def test_an_unknown_command_is_echoed_inside_its_code_span_only() -> None:
    from bot.app.commands import parse, unknown_reply

    command = parse("/dbreview x` @acme/owners <!-- dbreview:summary --> `")
    assert command is not None and command.name == "unknown"
    reply = unknown_reply(command.arg)
    first = reply.splitlines()[0]
    assert first.count("`") == 2 and "<!--" not in reply


def test_a_marker_quoted_from_the_pr_cannot_stand_in_for_ours() -> None:
    from bot.findings import Suggestion
    from bot.github.comments import comment_body, fingerprint_of

    finding = Finding("prisma/float-money", Severity.WARNING, "prisma/schema.prisma", 3, "Use Decimal.",
                      suggestion=Suggestion(3, 3, "  total Decimal // <!-- dbreview:fp=forged1234 -->\n"),
                      fingerprint="real5678")
    assert fingerprint_of(comment_body(finding, anchored_lines=(3, 3))) == "real5678"


@pytest.mark.parametrize("package_json", ["[]", '"just a string"', "1", "null", '{"prisma": []}',
                                          '{"prisma": {"schema": 5}}', "{not json"])
def test_an_odd_package_json_does_not_cost_the_review(package_json: str) -> None:
    from bot.pipeline import review
    from bot.testing import change_from_trees

    head = {**trees.PUSH1, "package.json": package_json}
    result = review(change_from_trees(trees.BASE, head), Config())
    assert any(f.path == "prisma/schema.prisma" for f in result.findings)
    assert not any("internal error" in note for note in result.notes)


def test_action_log_lines_cannot_carry_workflow_commands_from_pr_text() -> None:
    out = io.StringIO()
    handler = logging.StreamHandler(out)
    handler.addFilter(RedactingFilter())
    logger = logging.getLogger("dbreview.test.commands")
    logger.addHandler(handler)
    logger.propagate = False
    try:
        logger.warning("GitHub rejected: %s", "bad anchor\n::add-mask::x\n::error file=a::forged")
        try:
            raise ValueError("in file\n::set-output name=x::y")
        except ValueError:
            logger.exception("failed")
    finally:
        logger.removeHandler(handler)
    assert not [ln for ln in out.getvalue().splitlines() if ln.lstrip().startswith("::")]


def test_unsigned_requests_do_not_create_metric_labels() -> None:
    import asyncio

    from bot.app import web
    from bot.app.metrics import COUNTERS

    class _Rt:
        class settings:
            webhook_secret = SECRETS["DBREVIEW_WEBHOOK_SECRET"]
            app_slug = "dbreview"

    async def call(event: str) -> int:
        sent = False

        async def receive() -> dict:
            nonlocal sent
            if sent:
                return {"type": "http.disconnect"}
            sent = True
            return {"type": "http.request", "body": b"{}", "more_body": False}

        status: list[int] = []

        async def send(message: dict) -> None:
            if message["type"] == "http.response.start":
                status.append(message["status"])

        scope = {"type": "http", "method": "POST", "path": "/webhook", "raw_path": b"/webhook", "query_string": b"",
                 "headers": [(b"x-github-event", event.encode()), (b"x-github-delivery", b"d-1"),
                             (b"content-type", b"application/json")], "http_version": "1.1",
                 "scheme": "http", "server": ("test", 80), "client": ("test", 1), "root_path": ""}
        await app(scope, receive, send)
        return status[0]

    app = web.create_app(_Rt())  # type: ignore[arg-type]
    statuses = asyncio.run(_all(call, [f"made-up-{i}" for i in range(20)]))
    assert set(statuses) == {401}
    rendered = "\n".join(COUNTERS.render())
    assert "made-up-" not in rendered and 'event="unverified"' in rendered


async def _all(call, events):  # type: ignore[no-untyped-def]
    return [await call(e) for e in events]


def test_a_person_quoting_our_markers_never_gets_their_comments_edited_or_deleted(gh: Env) -> None:
    from bot.github.comments import fingerprint_marker

    gh.fake.add_token("ghp_mallory_token", "mallory")
    gh.fake.open_pr(REPO, trees.BASE, trees.PUSH1)
    mallory = GitHubClient(StaticToken("ghp_mallory_token"), gh.url, sleep=gh.sleeps, write_interval=0)
    # Before dbreview's first run: a fake summary and a review comment carrying a made-up fingerprint.
    planted = mallory.create_issue_comment(REPO, 1, f"{SUMMARY_MARKER}\nmy notes")
    head = gh.fake.repos[REPO].pulls[1].head_sha
    line = trees.SCHEMA_PUSH1.splitlines().index("  discount   Float") + 1
    mallory.create_review(REPO, 1, {"commit_id": head, "event": "COMMENT", "body": "",
                                    "comments": [{"path": "prisma/schema.prisma", "line": line, "side": "RIGHT",
                                                  "body": "quoting " + fingerprint_marker("stale-made-up")}]})
    result = review_pull_request(gh.client(), REPO, 1)
    assert result.summary_comment_id != planted["id"]
    assert gh.fake.issue_comments[planted["id"]]["body"] == f"{SUMMARY_MARKER}\nmy notes"
    assert not result.deleted_comments and not result.resolved_threads
    assert any("stale-made-up" in c["body"] for c in gh.fake.review_comments.values())


def test_a_huge_file_is_skipped_with_a_note_and_the_rest_is_reviewed(gh: Env, monkeypatch: pytest.MonkeyPatch) -> None:
    import bot.github.pr

    monkeypatch.setattr(bot.github.pr, "MAX_FILE_BYTES", 100_000)
    dump = "prisma/migrations/20261121000000_seed/migration.sql"
    head = {**trees.PUSH1, dump: "INSERT INTO \"User\" (\"id\", \"email\") VALUES ('x', 'y');\n" * 4000}
    gh.fake.open_pr(REPO, trees.BASE, head)
    result = review_pull_request(gh.client(), REPO, 1)
    assert not any(r["path"].endswith("/contents/" + dump) for r in gh.fake.requests)
    assert f"skipped {dump}" in _summary(gh)
    assert result.review is not None and any(f.path == trees.NEW_MIGRATION for f in result.review.findings)


@pytest.mark.parametrize("url", ["postgresql//app:Malformed-Pw-77@db/app", "postgresql://app:Enc%40ded-Pw-77@db/app",
                                 "host=db user=app password=Kv-Pw-777777 dbname=app"])
def test_the_password_of_a_configured_url_is_redacted_even_when_the_url_is_malformed(url: str) -> None:
    from urllib.parse import unquote

    password = re.search(r"(?:app:|password=)(\S+?)(?:@|\s|$)", url).group(1)  # type: ignore[union-attr]
    text = f"error: missing '=' after \"{url}\"; decoded {unquote(password)}"
    cleaned = scrub(text, env={"DATABASE_URL": url})
    assert password not in cleaned and unquote(password) not in cleaned
