"""`dbreview action`: run inside GitHub Actions from the standard environment.

Reads GITHUB_EVENT_NAME, GITHUB_EVENT_PATH, GITHUB_REPOSITORY, GITHUB_TOKEN (or the action input `github-token`),
GITHUB_API_URL and GITHUB_STEP_SUMMARY. Handles:
- `pull_request` (opened, synchronize, reopened, ready_for_review; drafts wait for ready_for_review),
- `pull_request_target` the same way: everything is read through the API, PR code is never checked out or run,
- `issue_comment` with `/dbreview` (or `/dbreview full`, or `/dbreview ignore <rule> <reason>`) on a PR, and
  `pull_request_review_comment` with `/dbreview ignore <reason>` in a finding's thread, only from OWNER, MEMBER or
  COLLABORATOR. An ignore is answered with the suppression to commit, then the PR is reviewed again.
Reviewers' feedback (👎, resolved threads, `/dbreview ignore`) is read from the pull request itself on every run;
with DBREVIEW_DATABASE_URL (the action's `database-url`) the run also uses and feeds the repository's memory:
dismissals on other pull requests, per-rule records, learnings.
With a read-only token (fork PRs under `pull_request`) GitHub refuses reviews, comments and check runs: dbreview
then writes workflow annotations and the job summary instead of failing.

Exit codes: 0 reviewed (or nothing to do, or dbreview itself failed: never a red job for our own trouble),
1 findings at or above `fail_on`, 2 the workflow is misconfigured (no token, no event file).
"""

from __future__ import annotations

import json
import logging
import sys
import time
from collections.abc import Callable, Mapping
from typing import Any, TextIO

from bot.findings import Finding, Severity, Side
from bot.github.auth import StaticToken
from bot.github.client import GitHubClient, GitHubError
from bot.github.publish import PublishResult
from bot.redact import redact_log_handlers, scrub

log = logging.getLogger("dbreview.action")

TRUSTED_ASSOCIATIONS = {"OWNER", "MEMBER", "COLLABORATOR"}
PR_ACTIONS = {"opened", "synchronize", "reopened", "ready_for_review", None}
# GitHub shows at most 10 error and 10 warning annotations per step (and 10 notices); beyond that they are dropped.
MAX_ANNOTATIONS_PER_LEVEL = 10


def _escape_data(text: str) -> str:
    return text.replace("%", "%25").replace("\r", "%0D").replace("\n", "%0A")


def _escape_property(text: str) -> str:
    return _escape_data(text).replace(":", "%3A").replace(",", "%2C")


def workflow_annotation(f: Finding) -> str | None:
    """`::error file=…,line=…::message` for a finding on a head line (old-side findings have no head line)."""
    if f.side is Side.OLD:
        return None
    level = {Severity.ERROR: "error", Severity.WARNING: "warning", Severity.INFO: "notice"}[f.severity]
    props = [f"file={_escape_property(f.path)}", f"line={f.line}"]
    if f.last_line > f.line:
        props.append(f"endLine={f.last_line}")
    props.append(f"title={_escape_property(f.rule)}")
    return f"::{level} {','.join(props)}::{_escape_data(f.message)}"


def fallback_annotations(findings: list[Finding]) -> list[str]:
    """The most severe findings as workflow commands, within GitHub's per-level display limits."""
    out: list[str] = []
    per_level: dict[Severity, int] = {}
    for f in sorted(findings, key=lambda f: (-f.severity.rank, f.path, f.line)):
        line = workflow_annotation(f)
        if line is None or per_level.get(f.severity, 0) >= MAX_ANNOTATIONS_PER_LEVEL:
            continue
        per_level[f.severity] = per_level.get(f.severity, 0) + 1
        out.append(line)
    return out


def _obj(value: Any) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}


def target_of(event_name: str, payload: dict[str, Any]) -> tuple[int | None, str, str]:
    """(PR number, trigger, reason): number None means nothing to do, for the reason given."""
    action = payload.get("action")
    if not isinstance(action, str | None):
        return None, "", "the event payload's action is not a string"
    if event_name in ("pull_request", "pull_request_target"):
        pr = _obj(payload.get("pull_request"))
        if action not in PR_ACTIONS:
            return None, "", f"pull request action {action!r} needs no review"
        if pr.get("state", "open") != "open":
            return None, "", "the pull request is closed"
        if pr.get("draft") and action != "ready_for_review":
            return None, "", "draft pull request (reviewed when marked ready)"
        number = pr.get("number") or payload.get("number")
        if not isinstance(number, int) or isinstance(number, bool):
            return None, "", "the event payload names no pull request number"
        return number, "push" if action == "synchronize" else "opened", ""
    if event_name in ("issue_comment", "pull_request_review_comment"):
        review_comment = event_name == "pull_request_review_comment"
        issue = _obj(payload.get("pull_request" if review_comment else "issue"))
        comment = _obj(payload.get("comment"))
        if action != "created":
            return None, "", "only new comments are commands (edits are ignored)"
        if not review_comment and not issue.get("pull_request"):
            return None, "", "the comment is on an issue, not a pull request"
        body = comment.get("body")
        words = (body if isinstance(body, str) else "").strip().split()
        allowed = ("ignore",) if review_comment else ("full", "review", "ignore")
        if not words or words[0] != "/dbreview" or (len(words) > 1 and words[1] not in allowed) or (
                review_comment and len(words) < 2):
            return None, "", "the comment is not a /dbreview command"
        if _obj(comment.get("user")).get("type") == "Bot":
            return None, "", "comments from bots are ignored"
        association = str(comment.get("author_association") or "NONE")
        if association not in TRUSTED_ASSOCIATIONS:
            return None, "", ("/dbreview is only accepted from owners, members and collaborators "
                              f"(was {association[:40]!r})")
        number = issue.get("number")
        if not isinstance(number, int) or isinstance(number, bool):
            return None, "", "the event payload names no pull request number"
        return number, "ignore" if words[1:2] == ["ignore"] else "command", ""
    return None, "", (f"event {event_name!r} is not handled (use pull_request, pull_request_target, issue_comment or "
                      "pull_request_review_comment)")


class _RepoConfiguredLlm:
    """The LLM reviewer, built once the repo config (read inside the review) is known."""

    def __init__(self, env: Mapping[str, str]) -> None:
        self.env = env
        self._reviewer: Any = None

    def review(self, ctx: Any, rule_findings: list[Finding]) -> Any:
        from bot.llm import DISABLED_NOTE, reviewer_from_env
        from bot.pipeline import LlmResult

        if not ctx.config.llm.enabled:
            return LlmResult(notes=[DISABLED_NOTE])
        if self._reviewer is None:
            self._reviewer = reviewer_from_env(ctx.config, self.env)
        if self._reviewer is None:
            return LlmResult()
        return self._reviewer.review(ctx, rule_findings)


def _write_step_summary(env: Mapping[str, str], markdown: str) -> None:
    path = env.get("GITHUB_STEP_SUMMARY")
    if not path or not markdown:
        return
    try:
        with open(path, "a", encoding="utf-8") as fh:
            fh.write(markdown.rstrip() + "\n")
    except OSError as exc:
        log.warning("cannot write the job summary: %s", exc)


def run_action(env: Mapping[str, str], *, out: TextIO | None = None,
               sleep: Callable[[float], None] | None = None) -> int:
    out = out or sys.stdout

    def say(line: str) -> None:
        print(line, file=out, flush=True)

    event_name = env.get("GITHUB_EVENT_NAME", "")
    event_path = env.get("GITHUB_EVENT_PATH", "")
    repo = env.get("GITHUB_REPOSITORY", "")
    token = env.get("GITHUB_TOKEN") or env.get("INPUT_GITHUB_TOKEN") or env.get("INPUT_GITHUB-TOKEN") or ""
    if not event_path or not repo:
        say("::error title=dbreview::GITHUB_EVENT_PATH and GITHUB_REPOSITORY are not set: "
            "`dbreview action` runs inside GitHub Actions (use `dbreview check` elsewhere)")
        return 2
    if not token:
        say("::error title=dbreview::no GitHub token: pass `github-token: ${{ secrets.GITHUB_TOKEN }}` "
            "or set GITHUB_TOKEN in the step's env")
        return 2
    redact_log_handlers()  # the job log is public on public repositories
    try:
        with open(event_path, encoding="utf-8") as fh:
            payload = json.load(fh)
    except (OSError, ValueError) as exc:
        say(f"::error title=dbreview::cannot read the event payload {_escape_data(event_path)}: "
            f"{_escape_data(scrub(str(exc)))}")
        return 2
    if not isinstance(payload, dict):
        say("::error title=dbreview::the event payload is not a JSON object")
        return 2
    number, trigger, reason = target_of(event_name, payload)
    if number is None:
        say(f"dbreview: nothing to do: {_escape_data(reason)}")
        return 0

    from bot.github.run import review_pull_request

    # The `llm` input: auto (on when a key is given), true (a key is required), false (off).
    llm_input = (env.get("DBREVIEW_LLM") or "auto").strip().lower()
    has_key = bool(env.get("ANTHROPIC_API_KEY", "").strip())
    if llm_input not in ("auto", "true", "false"):
        say(f"::error title=dbreview::the llm input must be auto, true or false, not {_escape_data(llm_input[:40])!r}")
        return 2
    if llm_input == "true" and not has_key:
        say("::error title=dbreview::llm: true needs `anthropic-api-key` (an Anthropic API key secret)")
        return 2
    llm = _RepoConfiguredLlm(env) if has_key and llm_input != "false" else None
    memory = _memory(env, say)
    with GitHubClient(StaticToken(token), env.get("GITHUB_API_URL") or None, sleep=sleep or time.sleep) as client:
        if event_name in ("issue_comment", "pull_request_review_comment"):
            comment_id = _obj(payload.get("comment")).get("id")
            try:
                if isinstance(comment_id, int) and event_name == "issue_comment":
                    client.add_reaction(repo, comment_id, "eyes")
                elif isinstance(comment_id, int):
                    client.request("POST", f"{client.repo_path(repo)}/pulls/comments/{comment_id}/reactions",
                                   json={"content": "eyes"})
            except GitHubError:
                pass  # an acknowledgement only
        if trigger == "ignore":
            if not _answer_ignore(client, repo, number, payload, say):
                return 0
            trigger = "command"
        try:
            result = review_pull_request(client, repo, number, trigger=trigger, llm=llm, memory=memory)
        except Exception as exc:
            # dbreview's own trouble (GitHub down, a bug) never turns the job red; the message is escaped so it
            # cannot smuggle in a workflow command, and scrubbed of secrets.
            log.debug("review failed", exc_info=True)
            say(f"::warning title=dbreview::could not review {_escape_data(repo)}#{number}: "
                f"{_escape_data(scrub(f'{type(exc).__name__}: {exc}'))}")
            return 0
    return _finish(result, env, say)


def _memory(env: Mapping[str, str], say: Callable[[str], None]) -> Any:
    """The repository's feedback memory when the workflow gives the action a database (DBREVIEW_DATABASE_URL)."""
    url = env.get("DBREVIEW_DATABASE_URL", "").strip()
    if not url:
        return None
    from bot.app.feedback import StoreFeedbackMemory
    from bot.app.settings import sqlalchemy_url
    from bot.app.store import Store

    try:
        return StoreFeedbackMemory(Store(sqlalchemy_url(url)))
    except Exception as exc:
        say(f"::warning title=dbreview::the feedback database is unavailable, reviewing without it: "
            f"{_escape_data(scrub(f'{type(exc).__name__}: {exc}'))[:300]}")
        return None


def _answer_ignore(client: GitHubClient, repo: str, number: int, payload: dict[str, Any],
                   say: Callable[[str], None]) -> bool:
    """Answer `/dbreview ignore` with the suppression to commit; True when it was accepted (then the review that
    follows reads it from the pull request and honours it)."""
    from bot.github.feedback import parse_ignore
    from bot.github.suppression import answer_ignore

    comment = _obj(payload.get("comment"))
    parsed = parse_ignore(str(comment.get("body") or "")) or (None, "")
    thread = comment.get("in_reply_to_id")
    in_thread = isinstance(thread, int) and not isinstance(thread, bool)
    login = str(_obj(comment.get("user")).get("login") or "")
    try:
        root = client.get_review_comment(repo, thread) if in_thread and parsed[1] else None
        answer = answer_ignore(parsed[0] or "", parsed[1], login, str(comment.get("html_url") or ""),
                               in_thread=in_thread, root=root)
        if in_thread:
            client.reply_to_review_comment(repo, number, thread, answer.reply)
        else:
            client.create_issue_comment(repo, number, answer.reply)
    except GitHubError as exc:
        say(f"::warning title=dbreview::could not answer /dbreview ignore: {_escape_data(scrub(str(exc)))[:300]}")
        return True  # the review still reads the command from the pull request
    say(f"dbreview: /dbreview ignore from {login}: {answer.outcome}")
    return answer.ignore is not None


def _finish(result: PublishResult, env: Mapping[str, str], say: Callable[[str], None]) -> int:
    review, config = result.review, result.config
    if review is None or config is None:
        return 0
    if result.skipped or not review.has_database_surface:
        say("dbreview: no Prisma schema, migration or Prisma Client change in this pull request")
        _write_outputs(env, {"findings": "0", "errors": "0", "warnings": "0", "sarif-file": ""})
        return 0
    counts = review.counts()
    say(f"dbreview: {counts['error']} errors, {counts['warning']} warnings, {counts['info']} info; "
        f"{len(result.posted)} new inline comments")
    if result.read_only:
        say("::notice title=dbreview::this token cannot post reviews (fork pull request): findings are shown as "
            "annotations and in the job summary")
        for line in fallback_annotations(review.findings):
            say(line)
    for error in result.errors:
        say(f"::warning title=dbreview::{_escape_data(scrub(error))}")
    _write_step_summary(env, scrub(result.summary_markdown))
    sarif_path = _write_sarif(env, review, say)
    _write_outputs(env, {
        "findings": str(len(review.findings)), "errors": str(counts["error"]), "warnings": str(counts["warning"]),
        "sarif-file": sarif_path or "",
    })
    return 1 if review.fails(config.fail_on) else 0


def _write_sarif(env: Mapping[str, str], review: Any, say: Callable[[str], None]) -> str | None:
    """The `sarif-file` input: SARIF 2.1.0 for github/codeql-action/upload-sarif, relative to the workspace."""
    rel = (env.get("DBREVIEW_SARIF_FILE") or "").strip()
    if not rel:
        return None
    import os

    from bot.report.sarif import render_sarif

    workspace = env.get("GITHUB_WORKSPACE") or os.getcwd()
    target = os.path.normpath(os.path.join(workspace, rel))
    if os.path.relpath(target, workspace).startswith(".."):
        say(f"::warning title=dbreview::sarif-file must be inside the workspace: {_escape_data(rel[:200])}")
        return None
    try:
        os.makedirs(os.path.dirname(target) or ".", exist_ok=True)
        with open(target, "w", encoding="utf-8") as fh:
            fh.write(render_sarif(review) + "\n")
    except OSError as exc:
        say(f"::warning title=dbreview::cannot write {_escape_data(rel[:200])}: {_escape_data(str(exc.strerror))}")
        return None
    return rel


def _write_outputs(env: Mapping[str, str], outputs: dict[str, str]) -> None:
    path = env.get("GITHUB_OUTPUT")
    if not path:
        return
    try:
        with open(path, "a", encoding="utf-8") as fh:
            for name, value in outputs.items():
                fh.write(f"{name}={value.replace(chr(10), ' ')}\n")
    except OSError as exc:
        log.warning("cannot write the step outputs: %s", exc)
