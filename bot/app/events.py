"""Webhook payload -> what to do with it. Pure: no I/O, so every routing rule is unit-testable."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from bot.app.commands import Command, parse

PR_ACTIONS = frozenset({"opened", "reopened", "synchronize", "ready_for_review"})


@dataclass
class Decision:
    kind: str  # review | rerun | command | installation | ping | ignore
    reason: str = ""
    event: str = ""
    action: str = ""
    repo: str = ""
    number: int | None = None
    installation_id: int | None = None
    head_sha: str = ""
    command: Command | None = None
    comment_id: int | None = None
    login: str = ""
    association: str = ""
    pr_author: str = ""
    # A command written as a reply in a review thread: the thread's first comment (a dbreview finding, for ignore).
    in_reply_to: int | None = None
    comment_url: str = ""
    installation: dict[str, Any] = field(default_factory=dict)


def _obj(value: Any) -> dict[str, Any]:
    """`value` when it is a JSON object, else {}: a signed payload can still be malformed, never a crash."""
    return value if isinstance(value, dict) else {}


def _is_bot(user: Any, app_slug: str) -> bool:
    if not isinstance(user, dict):
        return False
    login = str(user.get("login") or "")
    return user.get("type") == "Bot" or login.endswith("[bot]") or login == f"{app_slug}[bot]"


def decide(event: str, payload: dict[str, Any], app_slug: str = "dbreview") -> Decision:
    action = payload.get("action")
    action = action if isinstance(action, str) else ""
    repo = _obj(payload.get("repository")).get("full_name")
    repo = repo if isinstance(repo, str) else ""
    inst_id = _obj(payload.get("installation")).get("id")
    base = Decision(kind="ignore", event=event, action=action, repo=repo,
                    installation_id=inst_id if isinstance(inst_id, int) and not isinstance(inst_id, bool) else None)

    if event == "ping":
        base.kind = "ping"
        return base
    if event in ("installation", "installation_repositories"):
        return _installation(base, payload)
    if _is_bot(payload.get("sender"), app_slug):
        base.reason = "sender is a bot"
        return base
    if event == "pull_request":
        return _pull_request(base, payload)
    if event == "issue_comment":
        return _issue_comment(base, payload, app_slug)
    if event == "pull_request_review_comment":
        return _review_comment(base, payload, app_slug)
    if event in ("check_run", "check_suite"):
        return _rerun(base, payload)
    base.reason = f"event {event or '(none)'} not handled"
    return base


def _pull_request(d: Decision, payload: dict[str, Any]) -> Decision:
    pr = payload.get("pull_request")
    if not isinstance(pr, dict) or not d.repo:
        d.reason = "no pull_request in payload"
        return d
    number = pr.get("number") if isinstance(pr.get("number"), int) else payload.get("number")
    d.number = number if isinstance(number, int) and not isinstance(number, bool) else None
    if d.action not in PR_ACTIONS:
        d.reason = f"action {d.action or '(none)'} not reviewed"
        return d
    if pr.get("state") != "open":
        d.reason = "pull request is closed"
        return d
    if pr.get("draft"):
        d.reason = "pull request is a draft"
        return d
    head = _obj(pr.get("head")).get("sha")
    if not isinstance(head, str) or not head or not isinstance(d.number, int):
        d.reason = "no head sha or number"
        return d
    d.kind = "review"
    d.head_sha = head
    d.pr_author = str(_obj(pr.get("user")).get("login") or "")
    return d


def _issue_comment(d: Decision, payload: dict[str, Any], app_slug: str) -> Decision:
    issue = _obj(payload.get("issue"))
    comment = _obj(payload.get("comment"))
    if d.action != "created":
        d.reason = f"comment {d.action or '(none)'} ignored (only new comments carry commands)"
        return d
    if not isinstance(issue, dict) or not issue.get("pull_request"):
        d.reason = "comment is not on a pull request"
        return d
    if not isinstance(comment, dict) or _is_bot(comment.get("user"), app_slug):
        d.reason = "comment is from a bot"
        return d
    body = comment.get("body")
    command = parse(body if isinstance(body, str) else None)
    if command is None:
        d.reason = "no /dbreview command"
        return d
    if issue.get("state") != "open":
        d.reason = "pull request is closed"
        return d
    number = issue.get("number")
    comment_id = comment.get("id")
    if not isinstance(number, int) or not isinstance(comment_id, int) or not d.repo:
        d.reason = "malformed comment payload"
        return d
    d.kind = "command"
    d.number = number
    d.command = command
    d.comment_id = comment_id
    url = comment.get("html_url")
    d.comment_url = url if isinstance(url, str) else ""
    d.login = str(_obj(comment.get("user")).get("login") or "")
    d.association = str(comment.get("author_association") or "NONE").upper()
    d.pr_author = str(_obj(issue.get("user")).get("login") or "")
    return d


def _rerun(d: Decision, payload: dict[str, Any]) -> Decision:
    """"Re-run" on the `dbreview` check (or all checks) of a pull request: review its head again, applying what
    reviewers answered since (a 👎 sends no webhook). GitHub sends an App `rerequested` for its own checks only."""
    if d.action != "rerequested":
        d.reason = f"{d.event} {d.action or '(none)'} needs no review"
        return d
    run = _obj(payload.get(d.event))
    pulls = run.get("pull_requests")
    first = pulls[0] if isinstance(pulls, list) and pulls and isinstance(pulls[0], dict) else {}
    number, head = first.get("number"), run.get("head_sha")
    if not isinstance(number, int) or isinstance(number, bool) or not isinstance(head, str) or not head or not d.repo:
        d.reason = "the check belongs to no open pull request"
        return d
    d.kind = "rerun"
    d.number = number
    d.head_sha = head
    d.login = str(_obj(payload.get("sender")).get("login") or "")
    return d


def _review_comment(d: Decision, payload: dict[str, Any], app_slug: str) -> Decision:
    """A comment on a line of the diff, usually a reply in one of our threads (`/dbreview ignore <reason>`)."""
    pr = _obj(payload.get("pull_request"))
    comment = _obj(payload.get("comment"))
    if d.action != "created":
        d.reason = f"review comment {d.action or '(none)'} ignored (only new comments carry commands)"
        return d
    if _is_bot(comment.get("user"), app_slug):
        d.reason = "comment is from a bot"
        return d
    body = comment.get("body")
    command = parse(body if isinstance(body, str) else None)
    if command is None:
        d.reason = "no /dbreview command"
        return d
    if pr.get("state") != "open":
        d.reason = "pull request is closed"
        return d
    number = pr.get("number")
    comment_id = comment.get("id")
    if not isinstance(number, int) or not isinstance(comment_id, int) or not d.repo:
        d.reason = "malformed review comment payload"
        return d
    reply_to = comment.get("in_reply_to_id")
    d.kind = "command"
    d.number = number
    d.command = command
    d.comment_id = comment_id
    d.in_reply_to = reply_to if isinstance(reply_to, int) and not isinstance(reply_to, bool) else None
    url = comment.get("html_url")
    d.comment_url = url if isinstance(url, str) else ""
    d.login = str(_obj(comment.get("user")).get("login") or "")
    d.association = str(comment.get("author_association") or "NONE").upper()
    d.pr_author = str(_obj(pr.get("user")).get("login") or "")
    return d


def _installation(d: Decision, payload: dict[str, Any]) -> Decision:
    inst = _obj(payload.get("installation"))
    if not isinstance(inst.get("id"), int):
        d.reason = "no installation id"
        return d
    account = _obj(inst.get("account"))
    status = {"deleted": "deleted", "suspend": "suspended", "unsuspend": "active", "created": "active"}.get(d.action)

    def names(key: str) -> list[str]:
        items = payload.get(key)
        return [str(r.get("full_name")) for r in (items if isinstance(items, list) else [])
                if isinstance(r, dict) and r.get("full_name")]

    d.kind = "installation"
    d.installation_id = inst["id"]
    d.installation = {
        "account": str(account.get("login") or ""),
        "account_type": str(account.get("type") or ""),
        "status": status,
        "repository_selection": str(inst.get("repository_selection") or payload.get("repository_selection") or ""),
        # `installation` created lists the repos under `repositories`; `installation_repositories` under
        # `repositories_added` / `repositories_removed`.
        "add_repos": names("repositories") + names("repositories_added"),
        "remove_repos": names("repositories_removed"),
        "replace_repos": d.event == "installation" and d.action == "created",
    }
    return d
