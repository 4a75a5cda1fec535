"""The part of GitHub's GraphQL API (https://docs.github.com/graphql) dbreview uses, served by graphql-core over the
fake's state, so a query asking for a field or argument GitHub does not have fails here as it would there.

The schema below is a subset of GitHub's public schema, with its names and types: review threads with their
comments, reactions, resolution and outdated state; the pull request's author and association; the
`resolveReviewThread` mutation. GitHub's connection rules apply: `first` or `last` is required and at most 100
(errors worded as GitHub words them); a bot's `login` has no `[bot]` suffix (REST adds it), and its `__typename` is
`Bot`. Reactions from the REST API's `+1` / `-1` are the enum values `THUMBS_UP` / `THUMBS_DOWN`.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from graphql import GraphQLError, build_schema, graphql_sync

if TYPE_CHECKING:
    from fakes.github_server import FakeGitHub

SDL = """
scalar URI
scalar DateTime

enum CommentAuthorAssociation {
  COLLABORATOR CONTRIBUTOR FIRST_TIMER FIRST_TIME_CONTRIBUTOR MANNEQUIN MEMBER NONE OWNER
}
enum DiffSide { LEFT RIGHT }
enum PullRequestReviewCommentState { PENDING SUBMITTED }
enum ReactionContent { THUMBS_UP THUMBS_DOWN LAUGH HOORAY CONFUSED HEART ROCKET EYES }

interface Actor { login: String! url: URI! }
type User implements Actor { login: String! url: URI! databaseId: Int }
type Bot implements Actor { login: String! url: URI! databaseId: Int }

type PageInfo { hasNextPage: Boolean! hasPreviousPage: Boolean! startCursor: String endCursor: String }

type Query {
  repository(owner: String!, name: String!, followRenames: Boolean): Repository
}

type Repository {
  nameWithOwner: String!
  pullRequest(number: Int!): PullRequest
}

type PullRequest {
  number: Int!
  author: Actor
  authorAssociation: CommentAuthorAssociation!
  reviewThreads(first: Int, after: String, last: Int, before: String): PullRequestReviewThreadConnection!
}

type PullRequestReviewThreadConnection {
  nodes: [PullRequestReviewThread]
  pageInfo: PageInfo!
  totalCount: Int!
}

type PullRequestReviewThread {
  id: ID!
  isResolved: Boolean!
  isOutdated: Boolean!
  isCollapsed: Boolean!
  resolvedBy: User
  path: String!
  line: Int
  startLine: Int
  diffSide: DiffSide!
  comments(first: Int, after: String, last: Int, before: String, skip: Int): PullRequestReviewCommentConnection!
}

type PullRequestReviewCommentConnection {
  nodes: [PullRequestReviewComment]
  pageInfo: PageInfo!
  totalCount: Int!
}

type PullRequestReviewComment {
  id: ID!
  databaseId: Int
  body: String!
  url: URI!
  createdAt: DateTime!
  author: Actor
  authorAssociation: CommentAuthorAssociation!
  state: PullRequestReviewCommentState!
  path: String!
  line: Int
  replyTo: PullRequestReviewComment
  reactions(first: Int, after: String, last: Int, before: String, content: ReactionContent): ReactionConnection!
}

type ReactionConnection {
  nodes: [Reaction]
  pageInfo: PageInfo!
  totalCount: Int!
}

type Reaction {
  id: ID!
  databaseId: Int
  content: ReactionContent!
  createdAt: DateTime
  user: User
}

input ResolveReviewThreadInput { threadId: ID! clientMutationId: String }
type ResolveReviewThreadPayload { clientMutationId: String thread: PullRequestReviewThread }

type Mutation {
  resolveReviewThread(input: ResolveReviewThreadInput!): ResolveReviewThreadPayload
}
"""

SCHEMA = build_schema(SDL)
REST_TO_ENUM = {"+1": "THUMBS_UP", "-1": "THUMBS_DOWN", "laugh": "LAUGH", "hooray": "HOORAY",
                "confused": "CONFUSED", "heart": "HEART", "rocket": "ROCKET", "eyes": "EYES"}


def _actor_type(value: Any, *_: Any) -> str:
    return value["__typename"]


SCHEMA.type_map["Actor"].resolve_type = _actor_type  # type: ignore[attr-defined]


def _page(items: list[Any], args: dict[str, Any], what: str) -> dict[str, Any]:
    """GitHub's cursor pagination over a list: `first`/`after` or `last`/`before`, at most 100, one required."""
    first, last = args.get("first"), args.get("last")
    if first is None and last is None:
        raise GraphQLError(f"You must provide a `first` or `last` value to properly paginate the `{what}` "
                           "connection.")
    for name, value in (("first", first), ("last", last)):
        if value is not None and value > 100:
            raise GraphQLError(f"Requesting {value} records on the `{what}` connection exceeds the `{name}` limit "
                               "of 100 records.")
    start = int(args["after"]) + 1 if args.get("after") is not None else 0
    end = int(args["before"]) if args.get("before") is not None else len(items)
    window = list(enumerate(items))[start:end]
    has_next = has_prev = False
    if first is not None:
        has_next = len(window) > first
        window = window[:first]
    if last is not None:
        has_prev = len(window) > last
        window = window[-last:] if last else []
    return {
        "nodes": [item for _, item in window],
        "totalCount": len(items),
        "pageInfo": {"hasNextPage": has_next, "hasPreviousPage": has_prev or start > 0,
                     "startCursor": str(window[0][0]) if window else None,
                     "endCursor": str(window[-1][0]) if window else None},
    }


class GraphQLApi:
    """Resolvers over a FakeGitHub's state, for the user whose token made the request."""

    def __init__(self, gh: FakeGitHub) -> None:
        self.gh = gh

    def execute(self, query: str, variables: dict[str, Any] | None, viewer: Any) -> dict[str, Any]:
        result = graphql_sync(SCHEMA, query, root_value=self._root(viewer), variable_values=variables or {})
        out: dict[str, Any] = {"data": result.data}
        if result.errors:
            out["errors"] = [{"message": e.message, "path": e.path, "type": "INVALID" if e.path is None else None}
                             for e in result.errors]
        return out

    # -- objects ---------------------------------------------------------------------------------------------

    def actor(self, login: str | None) -> dict[str, Any] | None:
        if not login:
            return None
        user = self.gh.users.get(login)
        is_bot = user is not None and user.type == "Bot"
        shown = login[: -len("[bot]")] if is_bot and login.endswith("[bot]") else login
        return {"__typename": "Bot" if is_bot else "User", "login": shown,
                "url": f"https://github.com/{'apps/' if is_bot else ''}{shown}",
                "databaseId": user.id if user else None}

    def _comment(self, cid: int) -> dict[str, Any]:
        gh = self.gh
        c = gh.review_comments[cid]

        def reactions(_info: Any, **args: Any) -> dict[str, Any]:
            items = [r for r in gh.reactions if r.get("review_comment_id") == cid
                     and (args.get("content") is None or REST_TO_ENUM[r["content"]] == args["content"])]
            nodes = [{"id": f"REA_{r['id']}", "databaseId": r["id"], "content": REST_TO_ENUM[r["content"]],
                      "createdAt": r.get("created_at"), "user": {**self.actor(r["user"]["login"]),
                                                                "__typename": "User"}}
                     for r in items]
            return _page(nodes, args, "reactions")

        return {
            "id": c["node_id"], "databaseId": cid, "body": c["body"], "url": c.get("html_url", ""),
            "createdAt": c.get("created_at", ""), "author": self.actor(c["user"]["login"]),
            "authorAssociation": c.get("author_association", "NONE"),
            "state": "PENDING" if c.get("_pending") else "SUBMITTED", "path": c["path"], "line": c.get("line"),
            "replyTo": None, "reactions": reactions,
        }

    def _thread(self, tid: str, viewer: Any) -> dict[str, Any]:
        gh = self.gh
        t = gh.threads[tid]
        ids = [cid for cid in t["comments"] if cid in gh.review_comments
               and (not gh.review_comments[cid].get("_pending")
                    or gh.review_comments[cid]["user"]["login"] == viewer.login)]
        root = gh.review_comments[ids[0]] if ids else {}

        def comments(_info: Any, **args: Any) -> dict[str, Any]:
            nodes = [self._comment(cid) for cid in ids]
            if args.get("skip"):
                nodes = nodes[args["skip"]:]
            return _page(nodes, args, "comments")

        resolver = t.get("resolved_by")
        return {
            "id": tid, "isResolved": t["resolved"], "isOutdated": bool(t.get("outdated")), "isCollapsed": t["resolved"],
            "resolvedBy": ({**self.actor(resolver), "__typename": "User"} if resolver and t["resolved"] else None),
            "path": root.get("path", ""), "line": root.get("line"), "startLine": root.get("start_line"),
            "diffSide": root.get("side", "RIGHT"), "comments": comments, "_ids": ids,
        }

    def _pull(self, repo: str, number: int, viewer: Any) -> dict[str, Any] | None:
        gh = self.gh
        r = gh.repos.get(repo)
        if r is None or number not in r.pulls:
            return None
        pr = r.pulls[number]

        def review_threads(_info: Any, **args: Any) -> dict[str, Any]:
            nodes = [self._thread(tid, viewer) for tid, t in gh.threads.items()
                     if t["_repo"] == repo and t["_pr"] == number]
            return _page([n for n in nodes if n["_ids"]], args, "reviewThreads")

        return {"number": number, "author": self.actor(pr.author.login),
                "authorAssociation": gh.association(repo, pr.author.login), "reviewThreads": review_threads}

    def _root(self, viewer: Any) -> dict[str, Any]:
        gh = self.gh

        def repository(_info: Any, owner: str, name: str, **_: Any) -> dict[str, Any] | None:
            full = f"{owner}/{name}"
            if full not in gh.repos:
                raise GraphQLError(f"Could not resolve to a Repository with the name '{full}'.")
            return {"nameWithOwner": full,
                    "pullRequest": lambda _info, number: self._pull(full, number, viewer)}

        def resolve_review_thread(_info: Any, input: dict[str, Any]) -> dict[str, Any]:
            tid = input["threadId"]
            if tid not in gh.threads:
                raise GraphQLError(f"Could not resolve to a node with the global id of '{tid}'")
            gh.resolve(tid, viewer.login)
            return {"clientMutationId": input.get("clientMutationId"), "thread": self._thread(tid, viewer)}

        return {"repository": repository, "resolveReviewThread": resolve_review_thread}
