"""What happened to each review thread of a pull request, in one GraphQL query per 100 threads.

The query reads every thread with its resolution (and who resolved it), the root comment with its body (our hidden
markers), author and its 👍 / 👎 reactions (with who gave them), and the latest replies with their authors'
association to the repository. The publisher uses it instead of listing review comments over REST, and feedback
(bot/github/feedback.py) reads reactions, replies and resolutions from it, so knowing what reviewers did costs no
extra call.

GraphQL names a bot `dbreview` where REST says `dbreview[bot]`: logins here are in the REST form, so one set of
known logins recognises our comments in both.

Cost against GitHub's GraphQL rate limit (docs "rate-limits-and-node-limits-for-the-graphql-api"): 100 threads,
each with 1 root, 30 replies and 2 x 25 reactions, is 1 + 100 + 100 + 200 requests = 5 points per page.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from typing import Any

from bot.github.client import GitHubClient

log = logging.getLogger("dbreview.github")

MAX_PAGES = 50
REPLIES = 30
REACTIONS = 25

THREADS_QUERY = """
query($owner: String!, $name: String!, $number: Int!, $cursor: String) {
  repository(owner: $owner, name: $name) {
    pullRequest(number: $number) {
      author { __typename login }
      authorAssociation
      reviewThreads(first: 100, after: $cursor) {
        pageInfo { hasNextPage endCursor }
        nodes {
          id isResolved isOutdated path line diffSide
          resolvedBy { login }
          root: comments(first: 1) {
            nodes {
              databaseId body url state author { __typename login } authorAssociation
              up: reactions(content: THUMBS_UP, first: REACTIONS) { totalCount nodes { user { login } } }
              down: reactions(content: THUMBS_DOWN, first: REACTIONS) { totalCount nodes { user { login } } }
            }
          }
          replies: comments(last: REPLIES) {
            totalCount
            nodes { databaseId body url createdAt author { __typename login } authorAssociation }
          }
        }
      }
    }
  }
}
""".replace("REACTIONS", str(REACTIONS)).replace("REPLIES", str(REPLIES))


def rest_login(actor: Any) -> tuple[str, bool]:
    """(login as REST spells it, is a bot) for a GraphQL Actor."""
    if not isinstance(actor, dict):
        return "", False
    login = str(actor.get("login") or "")
    is_bot = actor.get("__typename") == "Bot" or login.endswith("[bot]")
    if is_bot and login and not login.endswith("[bot]"):
        login += "[bot]"
    return login, is_bot


@dataclass(frozen=True)
class Note:
    """A comment written by someone: a reply in a thread, or a comment in the pull request's conversation."""

    comment_id: int
    login: str
    association: str  # OWNER | MEMBER | COLLABORATOR | CONTRIBUTOR | NONE | ...
    body: str
    url: str = ""
    created_at: str = ""
    is_bot: bool = False


@dataclass
class Thread:
    id: str  # the GraphQL node id (for resolveReviewThread)
    comment_id: int  # the root comment's database id (REST id)
    login: str  # who wrote the root comment
    is_bot: bool
    body: str
    url: str = ""
    path: str = ""
    line: int | None = None
    resolved: bool = False
    resolved_by: str | None = None
    outdated: bool = False
    pending: bool = False
    thumbs_up: list[str] = field(default_factory=list)  # logins
    thumbs_down: list[str] = field(default_factory=list)
    replies: list[Note] = field(default_factory=list)

    @property
    def replied(self) -> bool:
        return bool(self.replies)


@dataclass
class PullThreads:
    threads: list[Thread] = field(default_factory=list)
    author: str = ""
    author_association: str = "NONE"
    complete: bool = True  # False when a page limit was hit: some threads are unknown


def _int(value: Any) -> int | None:
    return value if isinstance(value, int) and not isinstance(value, bool) else None


def _logins(conn: Any) -> list[str]:
    nodes = (conn or {}).get("nodes") or []
    return [str((n.get("user") or {}).get("login")) for n in nodes if isinstance(n, dict)
            and (n.get("user") or {}).get("login")]


def parse_thread(node: dict[str, Any]) -> Thread | None:
    roots = ((node.get("root") or {}).get("nodes") or [])
    root = roots[0] if roots and isinstance(roots[0], dict) else None
    if root is None or _int(root.get("databaseId")) is None or not node.get("id"):
        return None
    login, is_bot = rest_login(root.get("author"))
    root_id = int(root["databaseId"])
    replies: list[Note] = []
    for r in ((node.get("replies") or {}).get("nodes") or []):
        rid = _int((r or {}).get("databaseId"))
        if rid is None or rid == root_id:
            continue
        who, bot = rest_login(r.get("author"))
        replies.append(Note(rid, who, str(r.get("authorAssociation") or "NONE"), str(r.get("body") or ""),
                            str(r.get("url") or ""), str(r.get("createdAt") or ""), bot))
    return Thread(
        id=str(node["id"]), comment_id=root_id, login=login, is_bot=is_bot, body=str(root.get("body") or ""),
        url=str(root.get("url") or ""), path=str(node.get("path") or ""), line=_int(node.get("line")),
        resolved=bool(node.get("isResolved")), resolved_by=(node.get("resolvedBy") or {}).get("login"),
        outdated=bool(node.get("isOutdated")), pending=root.get("state") == "PENDING",
        thumbs_up=_logins(root.get("up")), thumbs_down=_logins(root.get("down")), replies=replies,
    )


def read_threads(client: GitHubClient, repo: str, number: int) -> PullThreads:
    """Every review thread of the pull request (GraphQL, 100 threads a page)."""
    owner, _, name = repo.partition("/")
    out = PullThreads()
    cursor: str | None = None
    for _ in range(MAX_PAGES):
        data = client.graphql(THREADS_QUERY, {"owner": owner, "name": name, "number": number, "cursor": cursor})
        pull = (data.get("repository") or {}).get("pullRequest") or {}
        out.author, _bot = rest_login(pull.get("author"))
        out.author_association = str(pull.get("authorAssociation") or "NONE")
        conn = pull.get("reviewThreads") or {}
        for node in conn.get("nodes") or []:
            thread = parse_thread(node) if isinstance(node, dict) else None
            if thread is not None:
                out.threads.append(thread)
        page = conn.get("pageInfo") or {}
        if not page.get("hasNextPage"):
            return out
        cursor = page.get("endCursor")
    log.warning("%s#%s: more than %d pages of review threads; the rest are not read", repo, number, MAX_PAGES)
    out.complete = False
    return out
