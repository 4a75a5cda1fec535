"""A fake GitHub (REST + a little GraphQL) on a loopback port, following GitHub's published API behaviour.

Implements the routes dbreview uses and the rules that break review bots in production:
- 422 for a review comment outside the diff, for `start_line >= line`, and for a range spanning two hunks; the whole
  review is rejected (all or nothing) and the error does not say which comment was wrong;
- one PENDING review per user per PR (422 "User can only have one pending review per pull request"); pending reviews
  and their comments are visible to their author only;
- 65,536-character body limit on comments, reviews and check-run text (65,535);
- 50 annotations per check-run request;
- `Link` header pagination (`per_page` default 30, max 100);
- faults injected per route: 403 secondary rate limit with `retry-after`, 429, 5xx;
- read-only tokens (fork PRs) get 403 "Resource not accessible by integration" on every write;
- GitHub omits `patch` for very large files (threshold configurable) and binary files;
- GraphQL (tests/fakes/github_graphql.py) executed by graphql-core against a subset of GitHub's schema: review
  threads, their comments, reactions and resolution, `resolveReviewThread`;
- reactions on review comments and issue comments, replies in threads, `author_association` of every comment and
  the collaborator permission route, from per-repository roles set by the test (`grant`).
Diffs are computed here with difflib and the hunk rules are checked by this module's own small patch reader, not by
dbreview's diff code, so the two can disagree and a test will notice.
"""

from __future__ import annotations

import base64
import difflib
import hashlib
import itertools
import re
import socket
import threading
import time
from dataclasses import dataclass, field
from typing import Any

import uvicorn
from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse, Response

from fakes.github_graphql import GraphQLApi

MAX_BODY = 65_536
READ_ONLY_MESSAGE = "Resource not accessible by integration"
SECONDARY_MESSAGE = ("You have exceeded a secondary rate limit. Please wait a few minutes before you try again. "
                     "If you reach out to GitHub Support for help, please include the request ID.")


@dataclass
class User:
    login: str
    type: str = "User"
    id: int = 0

    def api(self) -> dict[str, Any]:
        return {"login": self.login, "id": self.id, "type": self.type}


@dataclass
class Token:
    user: User
    write: bool = True


@dataclass
class Fault:
    method: str
    pattern: re.Pattern[str]
    status: int
    headers: dict[str, str]
    message: str
    times: int


@dataclass
class PullRequest:
    number: int
    title: str
    body: str
    base_ref: str
    head_ref: str
    base_sha: str
    head_sha: str
    head_repo: str
    author: User
    state: str = "open"
    draft: bool = False
    shas: list[str] = field(default_factory=list)  # every head this PR has had


@dataclass
class Repo:
    full_name: str
    commits: dict[str, dict[str, bytes]] = field(default_factory=dict)
    messages: dict[str, str] = field(default_factory=dict)  # commit sha -> message
    pulls: dict[int, PullRequest] = field(default_factory=dict)
    parents: dict[str, str] = field(default_factory=dict)  # commit sha -> parent sha (one parent: no merges)

    def ancestors(self, sha: str) -> list[str]:
        """`sha` and its ancestors, nearest first."""
        out = [sha]
        while out[-1] in self.parents and len(out) <= len(self.parents):
            out.append(self.parents[out[-1]])
        return out


def _blob_sha(data: bytes) -> str:
    return hashlib.sha1(b"blob %d\x00" % len(data) + data).hexdigest()


def _is_binary(data: bytes) -> bool:
    return b"\x00" in data[:8000]


def make_patch(old: bytes | None, new: bytes | None) -> tuple[str, int, int]:
    """GitHub-style patch (hunks only, no file headers), and the added/deleted counts."""
    old_lines = (old or b"").decode("utf-8", "replace").splitlines(keepends=True)
    new_lines = (new or b"").decode("utf-8", "replace").splitlines(keepends=True)
    out: list[str] = []
    adds = dels = 0
    for line in list(difflib.unified_diff(old_lines, new_lines, n=3))[2:]:
        if line.startswith("+"):
            adds += 1
        elif line.startswith("-"):
            dels += 1
        if line.endswith("\n"):
            out.append(line)
        else:
            out.append(line + "\n\\ No newline at end of file\n")
    return "".join(out).rstrip("\n"), adds, dels


_HUNK = re.compile(r"^@@ -(\d+)(?:,(\d+))? \+(\d+)(?:,(\d+))? @@")


def hunk_lines(patch: str) -> list[tuple[set[int], set[int]]]:
    """Per hunk: (commentable new-side lines, commentable old-side lines)."""
    hunks: list[tuple[set[int], set[int]]] = []
    old_no = new_no = 0
    for line in patch.split("\n"):
        m = _HUNK.match(line)
        if m:
            old_no, new_no = int(m.group(1)), int(m.group(3))
            hunks.append((set(), set()))
            continue
        if not hunks or line.startswith("\\"):
            continue
        right, left = hunks[-1]
        if line.startswith("+"):
            right.add(new_no)
            new_no += 1
        elif line.startswith("-"):
            left.add(old_no)
            old_no += 1
        else:
            right.add(new_no)
            left.add(old_no)
            new_no += 1
            old_no += 1
    return hunks


class FakeGitHub:
    """State plus the FastAPI app. Tests manipulate the state directly and read `requests` to assert on calls."""

    def __init__(self, *, large_patch_bytes: int = 400_000) -> None:
        self.large_patch_bytes = large_patch_bytes
        self.repos: dict[str, Repo] = {}
        self.tokens: dict[str, Token] = {}
        self.users: dict[str, User] = {}
        self.reviews: dict[int, dict[str, Any]] = {}
        self.review_comments: dict[int, dict[str, Any]] = {}
        self.issue_comments: dict[int, dict[str, Any]] = {}
        self.check_runs: dict[int, dict[str, Any]] = {}
        self.reactions: list[dict[str, Any]] = []
        self.threads: dict[str, dict[str, Any]] = {}  # thread id -> {"comments": [ids], "resolved": bool}
        self.faults: list[Fault] = []
        self.requests: list[dict[str, Any]] = []
        self.app_installations: dict[str, str] = {}  # installation id -> bot login
        # (repo, login) -> (author_association, permission); everyone else is CONTRIBUTOR / read (a public repo)
        self.roles: dict[tuple[str, str], tuple[str, str]] = {}
        self._ids = itertools.count(1000)
        self._lock = threading.RLock()
        self.graphql_api = GraphQLApi(self)
        self.graphql_rate_limited = 0  # the next N GraphQL calls answer RATE_LIMITED
        self.app = self._build_app()

    # -- setup helpers used by tests -----------------------------------------------------------------------------

    def user(self, login: str, type: str = "User") -> User:
        if login not in self.users:
            self.users[login] = User(login, type, next(self._ids))
        return self.users[login]

    def add_token(self, token: str, login: str, *, type: str = "User", write: bool = True) -> User:
        user = self.user(login, type)
        self.tokens[token] = Token(user, write)
        return user

    def repo(self, full_name: str) -> Repo:
        return self.repos.setdefault(full_name, Repo(full_name))

    def commit(self, repo: str, files: dict[str, str | bytes], message: str = "Update") -> str:
        data = {p: (v.encode() if isinstance(v, str) else v) for p, v in files.items()}
        sha = hashlib.sha1(repr(sorted(data.items())).encode() + str(next(self._ids)).encode()).hexdigest()
        self.repo(repo).commits[sha] = data
        self.repo(repo).messages[sha] = message
        return sha

    def open_pr(self, repo: str, base: dict[str, str | bytes], head: dict[str, str | bytes], *, number: int = 1,
                title: str = "Change", body: str = "", author: str = "alice", head_repo: str | None = None) -> int:
        base_sha, head_sha = self.commit(repo, base), self.commit(repo, head)
        self.repo(repo).parents[head_sha] = base_sha
        self.repo(repo).pulls[number] = PullRequest(number, title, body, "main", "feature", base_sha, head_sha,
                                                    head_repo or repo, self.user(author), shas=[head_sha])
        return number

    def push(self, repo: str, number: int, head: dict[str, str | bytes], message: str = "Update", *,
             force: bool = False, forget_old: bool = False) -> str:
        """A new head for the PR. `force`: a rewritten branch (the new commit's parent is the base, not the old
        head); `forget_old`: the old head is garbage-collected too (the compare API then answers 404 for it)."""
        sha = self.commit(repo, head, message)
        pr = self.repo(repo).pulls[number]
        self.repo(repo).parents[sha] = pr.base_sha if force else pr.head_sha
        if forget_old:
            self.repo(repo).commits.pop(pr.head_sha, None)
        pr.head_sha = sha
        pr.shas.append(sha)
        return sha

    def inject(self, method: str, path_regex: str, status: int, *, headers: dict[str, str] | None = None,
               message: str = "", times: int = 1) -> None:
        self.faults.append(Fault(method.upper(), re.compile(path_regex), status, headers or {}, message, times))

    def grant(self, repo: str, login: str, association: str = "MEMBER", permission: str = "write") -> None:
        """`login`'s role in `repo`: the `author_association` GitHub shows on their comments, and their permission."""
        self.user(login)
        self.roles[(repo, login)] = (association, permission)

    def association(self, repo: str, login: str) -> str:
        user = self.users.get(login)
        if user is not None and user.type == "Bot":
            return "NONE"
        return self.roles.get((repo, login), ("CONTRIBUTOR", "read"))[0]

    def permission(self, repo: str, login: str) -> str:
        return self.roles.get((repo, login), ("CONTRIBUTOR", "read"))[1]

    def _stamp(self) -> str:
        return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())

    def reply(self, comment_id: int, login: str, body: str) -> dict[str, Any]:
        """Someone answers in the thread of a review comment."""
        root = self.review_comments[comment_id]
        with self._lock:
            cid = next(self._ids)
            reply = {**root, "id": cid, "node_id": f"PRRC_{cid}", "body": body, "user": self.user(login).api(),
                     "in_reply_to_id": comment_id, "pull_request_review_id": None, "created_at": self._stamp(),
                     "author_association": self.association(root["_repo"], login),
                     "html_url": f"https://github.com/{root['_repo']}/pull/{root['_pr']}#discussion_r{cid}"}
            self.review_comments[cid] = reply
            self.threads[root["_thread"]]["comments"].append(cid)
        return reply

    def react(self, comment_id: int, login: str, content: str) -> dict[str, Any]:
        """`login` reacts to a review comment (`+1`, `-1`, ... as in the REST API)."""
        with self._lock:
            reaction = {"id": next(self._ids), "content": content, "review_comment_id": comment_id,
                        "user": self.user(login).api(), "created_at": self._stamp()}
            self.reactions.append(reaction)
        return reaction

    def resolve(self, thread_id: str, login: str | None) -> None:
        """`login` resolves a review thread (None: resolved by someone GitHub does not name)."""
        with self._lock:
            self.threads[thread_id]["resolved"] = True
            self.threads[thread_id]["resolved_by"] = login

    def comment(self, repo: str, number: int, login: str, body: str) -> dict[str, Any]:
        """`login` writes a comment in the pull request's conversation."""
        with self._lock:
            cid = next(self._ids)
            comment = {"id": cid, "node_id": f"IC_{cid}", "body": body, "user": self.user(login).api(),
                       "author_association": self.association(repo, login), "created_at": self._stamp(),
                       "html_url": f"https://github.com/{repo}/pull/{number}#issuecomment-{cid}",
                       "_repo": repo, "_pr": number}
            self.issue_comments[cid] = comment
        return comment

    def thread_of(self, comment_id: int) -> str:
        return self.review_comments[comment_id]["_thread"]

    def posted_comments(self, repo: str, number: int) -> list[dict[str, Any]]:
        return [c for c in self.review_comments.values()
                if c["_repo"] == repo and c["_pr"] == number and not c.get("_pending")]

    # -- diff model ----------------------------------------------------------------------------------------------

    def pr_files(self, repo: Repo, pr: PullRequest) -> list[dict[str, Any]]:
        return self.diff_files(repo, pr.base_sha, pr.head_sha)

    def diff_files(self, repo: Repo, base_sha: str, head_sha: str) -> list[dict[str, Any]]:
        base, head = repo.commits[base_sha], repo.commits[head_sha]
        files = []
        for path in sorted(set(base) | set(head)):
            old, new = base.get(path), head.get(path)
            if old == new:
                continue
            status = "added" if old is None else "removed" if new is None else "modified"
            entry: dict[str, Any] = {"sha": _blob_sha(new or b""), "filename": path, "status": status}
            if _is_binary(old or b"") or _is_binary(new or b""):
                entry.update(additions=0, deletions=0, changes=0)
            else:
                patch, adds, dels = make_patch(old, new)
                entry.update(additions=adds, deletions=dels, changes=adds + dels)
                if len(patch) <= self.large_patch_bytes:
                    entry["patch"] = patch
            files.append(entry)
        return files

    def _anchor_error(self, repo: Repo, pr: PullRequest, c: dict[str, Any]) -> str | None:
        files = {f["filename"]: f for f in self.pr_files(repo, pr)}
        f = files.get(c.get("path", ""))
        if f is None:
            return "Path could not be resolved"
        if "line" not in c:
            return "Position or line is required"  # we do not implement the deprecated `position`
        side = c.get("side", "RIGHT")
        # The diff exists even when the files API left the patch out for size: comments on it are accepted.
        base, head = repo.commits[pr.base_sha], repo.commits[pr.head_sha]
        hunks = hunk_lines(make_patch(base.get(f["filename"]), head.get(f["filename"]))[0])
        idx = 0 if side == "RIGHT" else 1
        line = int(c["line"])
        where = [i for i, h in enumerate(hunks) if line in h[idx]]
        if not where:
            return "Pull request review thread line must be part of the diff"
        if "start_line" in c and c["start_line"] is not None:
            start = int(c["start_line"])
            if start >= line:
                return "Pull request review thread start line must precede the end line"
            start_side = c.get("start_side", side)
            sidx = 0 if start_side == "RIGHT" else 1
            if not any(start in hunks[i][sidx] for i in where):
                return "Pull request review thread start line must be part of the same hunk as the line"
        return None

    # -- app -----------------------------------------------------------------------------------------------------

    def _build_app(self) -> FastAPI:
        app = FastAPI()
        gh = self

        def err(status: int, message: str, errors: list[Any] | None = None,
                headers: dict[str, str] | None = None) -> JSONResponse:
            body: dict[str, Any] = {"message": message, "documentation_url": "https://docs.github.com/rest"}
            if errors:
                body["errors"] = errors
            return JSONResponse(body, status_code=status, headers=headers)

        def paginate(request: Request, items: list[Any]) -> JSONResponse:
            per_page = min(int(request.query_params.get("per_page", 30)), 100)
            page = max(int(request.query_params.get("page", 1)), 1)
            chunk = items[(page - 1) * per_page: page * per_page]
            links = []
            last = max((len(items) + per_page - 1) // per_page, 1)
            base = str(request.url.remove_query_params(["page", "per_page"]))
            sep = "&" if "?" in base else "?"
            if page < last:
                links.append(f'<{base}{sep}per_page={per_page}&page={page + 1}>; rel="next"')
                links.append(f'<{base}{sep}per_page={per_page}&page={last}>; rel="last"')
            headers = {"link": ", ".join(links)} if links else {}
            return JSONResponse(chunk, headers=headers)

        def visible(c: dict[str, Any], user: User) -> bool:
            return not c.get("_pending") or c["user"]["login"] == user.login

        def public(obj: dict[str, Any]) -> dict[str, Any]:
            return {k: v for k, v in obj.items() if not k.startswith("_")}

        @app.middleware("http")
        async def gate(request: Request, call_next):  # type: ignore[no-untyped-def]
            path = request.url.path
            method = request.method
            raw = await request.body()
            record: dict[str, Any] = {"method": method, "path": path, "query": str(request.url.query),
                                      "time": time.time()}
            try:
                import json as _json

                record["json"] = _json.loads(raw) if raw else None
            except ValueError:
                record["json"] = None
            with gh._lock:
                gh.requests.append(record)
                for fault in gh.faults:
                    if fault.times > 0 and fault.method in (method, "*") and fault.pattern.search(path):
                        fault.times -= 1
                        record["status"] = fault.status
                        return err(fault.status, fault.message or f"injected {fault.status}", headers=fault.headers)
            if not path.startswith("/app/"):
                auth = request.headers.get("authorization", "")
                token = auth.split(" ", 1)[1] if " " in auth else ""
                tok = gh.tokens.get(token)
                if tok is None:
                    record["status"] = 401
                    return err(401, "Bad credentials")
                request.state.user = tok.user
                is_write = method in ("POST", "PATCH", "PUT", "DELETE")
                is_mutation = path == "/graphql" and b"mutation" in raw
                if not tok.write and ((is_write and path != "/graphql") or is_mutation):
                    record["status"] = 403
                    if is_mutation:
                        return JSONResponse({"data": None, "errors": [{"type": "FORBIDDEN",
                                                                        "message": READ_ONLY_MESSAGE}]})
                    return err(403, READ_ONLY_MESSAGE)
            response = await call_next(request)
            record["status"] = response.status_code
            return response

        @app.get("/user")
        async def authenticated_user(request: Request):  # type: ignore[no-untyped-def]
            # A person's token says who it is; installation and Actions tokens are refused, as on GitHub.
            user = request.state.user
            if user.type == "Bot":
                return err(403, "Resource not accessible by integration")
            return user.api()

        def repo_pr(owner: str, name: str, number: int) -> tuple[Repo, PullRequest] | JSONResponse:
            repo = gh.repos.get(f"{owner}/{name}")
            if repo is None or number not in repo.pulls:
                return err(404, "Not Found")
            return repo, repo.pulls[number]

        @app.post("/app/installations/{installation_id}/access_tokens")
        async def access_token(installation_id: str, request: Request):  # type: ignore[no-untyped-def]
            auth = request.headers.get("authorization", "")
            if not auth.startswith("Bearer ") or auth.count(".") != 2:
                return err(401, "A JSON web token could not be decoded")
            login = gh.app_installations.get(installation_id)
            if login is None:
                return err(404, "Not Found")
            token = f"ghs_{next(gh._ids)}"
            gh.add_token(token, login, type="Bot")
            expires = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(time.time() + 3600))
            return JSONResponse({"token": token, "expires_at": expires}, status_code=201)

        @app.get("/repos/{owner}/{name}/pulls/{number}")
        async def get_pull(owner: str, name: str, number: int):  # type: ignore[no-untyped-def]
            found = repo_pr(owner, name, number)
            if isinstance(found, JSONResponse):
                return found
            repo, pr = found
            files = gh.pr_files(repo, pr)
            return {
                "number": pr.number, "title": pr.title, "body": pr.body, "state": pr.state, "draft": pr.draft,
                "user": pr.author.api(), "changed_files": len(files),
                "head": {"sha": pr.head_sha, "ref": pr.head_ref, "repo": {"full_name": pr.head_repo}},
                "base": {"sha": pr.base_sha, "ref": pr.base_ref, "repo": {"full_name": repo.full_name}},
            }

        @app.get("/repos/{owner}/{name}/pulls/{number}/files")
        async def pull_files(owner: str, name: str, number: int, request: Request):  # type: ignore[no-untyped-def]
            found = repo_pr(owner, name, number)
            if isinstance(found, JSONResponse):
                return found
            return paginate(request, gh.pr_files(*found))

        @app.get("/repos/{owner}/{name}/pulls/{number}/commits")
        async def pull_commits(owner: str, name: str, number: int, request: Request):  # type: ignore[no-untyped-def]
            found = repo_pr(owner, name, number)
            if isinstance(found, JSONResponse):
                return found
            repo, pr = found
            items = [{"sha": sha, "commit": {"message": repo.messages.get(sha, "Update"),
                                             "author": {"name": pr.author.login}}, "author": pr.author.api()}
                     for sha in pr.shas]
            return paginate(request, items)

        @app.get("/repos/{owner}/{name}/compare/{basehead}")
        async def compare(owner: str, name: str, basehead: str):  # type: ignore[no-untyped-def]
            # GET /repos/{owner}/{repo}/compare/{base}...{head}: the diff from the merge base of the two commits
            # to head, with `status` ahead | behind | identical | diverged; 404 when either commit is unknown.
            repo = gh.repos.get(f"{owner}/{name}")
            base_sha, sep, head_sha = basehead.partition("...")
            if repo is None or not sep or base_sha not in repo.commits or head_sha not in repo.commits:
                return err(404, "Not Found")
            head_line, base_line = repo.ancestors(head_sha), repo.ancestors(base_sha)
            merge_base = next((s for s in head_line if s in base_line), None)
            if merge_base is None or merge_base not in repo.commits:
                return err(404, f"No common ancestor between {base_sha} and {head_sha}.")
            ahead, behind = head_line.index(merge_base), base_line.index(merge_base)
            status = ("identical" if not ahead and not behind else "ahead" if not behind
                      else "behind" if not ahead else "diverged")
            commits = [{"sha": s, "commit": {"message": repo.messages.get(s, "Update")}}
                       for s in reversed(head_line[:ahead])]
            return {"status": status, "ahead_by": ahead, "behind_by": behind, "total_commits": ahead,
                    "base_commit": {"sha": base_sha}, "merge_base_commit": {"sha": merge_base},
                    "commits": commits, "files": gh.diff_files(repo, merge_base, head_sha)}

        @app.get("/repos/{owner}/{name}/contents/{path:path}")
        async def contents(owner: str, name: str, path: str, request: Request):  # type: ignore[no-untyped-def]
            repo = gh.repos.get(f"{owner}/{name}")
            ref = request.query_params.get("ref", "")
            files = repo.commits.get(ref) if repo else None
            if files is None or path not in files:
                return err(404, "Not Found")
            data = files[path]
            if "raw" in request.headers.get("accept", ""):
                return Response(data, media_type="application/vnd.github.raw")
            return {"type": "file", "path": path, "encoding": "base64", "size": len(data),
                    "content": base64.b64encode(data).decode()}

        @app.get("/repos/{owner}/{name}/git/trees/{sha}")
        async def tree(owner: str, name: str, sha: str):  # type: ignore[no-untyped-def]
            repo = gh.repos.get(f"{owner}/{name}")
            files = repo.commits.get(sha) if repo else None
            if files is None:
                return err(404, "Not Found")
            return {"sha": sha, "truncated": False,
                    "tree": [{"path": p, "type": "blob", "sha": _blob_sha(d), "size": len(d)}
                             for p, d in sorted(files.items())]}

        @app.get("/repos/{owner}/{name}/pulls/{number}/reviews")
        async def list_reviews(owner: str, name: str, number: int, request: Request):  # type: ignore[no-untyped-def]
            user = request.state.user
            items = [public(r) for r in gh.reviews.values() if r["_repo"] == f"{owner}/{name}"
                     and r["_pr"] == number and (r["state"] != "PENDING" or r["user"]["login"] == user.login)]
            return paginate(request, items)

        @app.post("/repos/{owner}/{name}/pulls/{number}/reviews")
        async def create_review(owner: str, name: str, number: int, request: Request):  # type: ignore[no-untyped-def]
            found = repo_pr(owner, name, number)
            if isinstance(found, JSONResponse):
                return found
            repo, pr = found
            user: User = request.state.user
            payload = await request.json()
            event = payload.get("event")
            body = payload.get("body") or ""
            comments = payload.get("comments") or []
            commit_id = payload.get("commit_id") or pr.head_sha
            with gh._lock:
                if any(r["state"] == "PENDING" and r["user"]["login"] == user.login and r["_pr"] == number
                       and r["_repo"] == repo.full_name for r in gh.reviews.values()):
                    return err(422, "Unprocessable Entity",
                               ["User can only have one pending review per pull request"])
                if commit_id not in pr.shas:
                    return err(422, "Unprocessable Entity", ["commit_id is not part of the pull request"])
                if event not in (None, "APPROVE", "REQUEST_CHANGES", "COMMENT"):
                    return err(422, "Unprocessable Entity", [f"event {event} is not valid"])
                if event in ("REQUEST_CHANGES", "COMMENT") and not body and not comments:
                    return err(422, "Unprocessable Entity", [f"Body is required when using {event}"])
                if event in ("REQUEST_CHANGES", "APPROVE") and pr.author.login == user.login:
                    return err(422, "Unprocessable Entity",
                               [f"Can not {'request changes on' if event == 'REQUEST_CHANGES' else 'approve'} "
                                "your own pull request"])
                if len(body) > MAX_BODY:
                    return err(422, "Validation Failed", ["Body is too long (maximum is 65536 characters)"])
                for c in comments:
                    if len(c.get("body", "")) > MAX_BODY:
                        return err(422, "Validation Failed", ["Body is too long (maximum is 65536 characters)"])
                    if commit_id == pr.head_sha:
                        problem = gh._anchor_error(repo, pr, c)
                        if problem:
                            return err(422, "Unprocessable Entity", [problem])
                rid = next(gh._ids)
                state = {"APPROVE": "APPROVED", "REQUEST_CHANGES": "CHANGES_REQUESTED", "COMMENT": "COMMENTED",
                         None: "PENDING"}[event]
                review = {"id": rid, "node_id": f"PRR_{rid}", "user": user.api(), "body": body, "state": state,
                          "commit_id": commit_id, "_repo": repo.full_name, "_pr": number}
                gh.reviews[rid] = review
                for c in comments:
                    cid = next(gh._ids)
                    thread = f"PRRT_{cid}"
                    gh.threads[thread] = {"comments": [cid], "resolved": False, "_repo": repo.full_name,
                                          "_pr": number}
                    gh.review_comments[cid] = {
                        "id": cid, "node_id": f"PRRC_{cid}", "pull_request_review_id": rid, "path": c["path"],
                        "line": c.get("line"), "original_line": c.get("line"), "side": c.get("side", "RIGHT"),
                        "start_line": c.get("start_line"), "start_side": c.get("start_side"), "body": c["body"],
                        "user": user.api(), "commit_id": commit_id, "in_reply_to_id": None,
                        "author_association": gh.association(repo.full_name, user.login),
                        "created_at": gh._stamp(),
                        "html_url": f"https://github.com/{repo.full_name}/pull/{number}#discussion_r{cid}",
                        "_repo": repo.full_name, "_pr": number, "_thread": thread, "_pending": state == "PENDING",
                    }
            return JSONResponse(public(review), status_code=200)

        @app.delete("/repos/{owner}/{name}/pulls/{number}/reviews/{review_id}")
        async def delete_review(owner: str, name: str, number: int, review_id: int,  # type: ignore[no-untyped-def]
                                request: Request):
            user: User = request.state.user
            with gh._lock:
                review = gh.reviews.get(review_id)
                if review is None or review["user"]["login"] != user.login:
                    return err(404, "Not Found")
                if review["state"] != "PENDING":
                    return err(422, "Unprocessable Entity", ["Can not delete a non-pending pull request review"])
                del gh.reviews[review_id]
                for cid in [k for k, c in gh.review_comments.items() if c["pull_request_review_id"] == review_id]:
                    del gh.review_comments[cid]
            return public(review)

        @app.put("/repos/{owner}/{name}/pulls/{number}/reviews/{review_id}/dismissals")
        async def dismiss(owner: str, name: str, number: int, review_id: int):  # type: ignore[no-untyped-def]
            review = gh.reviews.get(review_id)
            if review is None:
                return err(404, "Not Found")
            review["state"] = "DISMISSED"
            return public(review)

        @app.get("/repos/{owner}/{name}/pulls/{number}/comments")
        async def list_comments(owner: str, name: str, number: int, request: Request):  # type: ignore[no-untyped-def]
            user = request.state.user
            items = [public(c) for c in gh.review_comments.values()
                     if c["_repo"] == f"{owner}/{name}" and c["_pr"] == number and visible(c, user)]
            return paginate(request, items)

        @app.post("/repos/{owner}/{name}/pulls/{number}/comments/{comment_id}/replies")
        async def reply(owner: str, name: str, number: int, comment_id: int,  # type: ignore[no-untyped-def]
                        request: Request):
            if comment_id not in gh.review_comments:
                return err(404, "Not Found")
            payload = await request.json()
            return JSONResponse(public(gh.reply(comment_id, request.state.user.login, payload["body"])), 201)

        @app.get("/repos/{owner}/{name}/pulls/comments/{comment_id}")
        async def get_review_comment(owner: str, name: str, comment_id: int,  # type: ignore[no-untyped-def]
                                     request: Request):
            c = gh.review_comments.get(comment_id)
            if c is None or c["_repo"] != f"{owner}/{name}" or not visible(c, request.state.user):
                return err(404, "Not Found")
            return public(c)

        @app.post("/repos/{owner}/{name}/pulls/comments/{comment_id}/reactions")
        async def react_review_comment(owner: str, name: str, comment_id: int,  # type: ignore[no-untyped-def]
                                       request: Request):
            payload = await request.json()
            if comment_id not in gh.review_comments:
                return err(404, "Not Found")
            if payload.get("content") not in ("+1", "-1", "laugh", "confused", "heart", "hooray", "rocket", "eyes"):
                return err(422, "Validation Failed")
            return JSONResponse(gh.react(comment_id, request.state.user.login, payload["content"]), status_code=201)

        @app.get("/repos/{owner}/{name}/collaborators/{username}/permission")
        async def collaborator_permission(owner: str, name: str, username: str):  # type: ignore[no-untyped-def]
            # GET /repos/{owner}/{repo}/collaborators/{username}/permission: the legacy base role
            # (admin | write | read | none) and the role name; 404 for an unknown user.
            if f"{owner}/{name}" not in gh.repos or username not in gh.users:
                return err(404, "Not Found")
            permission = gh.permission(f"{owner}/{name}", username)
            return {"permission": permission, "role_name": permission, "user": gh.users[username].api()}

        @app.delete("/repos/{owner}/{name}/pulls/comments/{comment_id}")
        async def delete_comment(owner: str, name: str, comment_id: int,  # type: ignore[no-untyped-def]
                                 request: Request):
            with gh._lock:
                c = gh.review_comments.get(comment_id)
                if c is None:
                    return err(404, "Not Found")
                if c["user"]["login"] != request.state.user.login:
                    return err(403, "Must have admin rights to Repository.")
                del gh.review_comments[comment_id]
                thread = gh.threads.get(c["_thread"])
                if thread is not None and comment_id in thread["comments"]:
                    thread["comments"].remove(comment_id)
            return Response(status_code=204)

        @app.get("/repos/{owner}/{name}/issues/{number}/comments")
        async def issue_comments(owner: str, name: str, number: int, request: Request):  # type: ignore[no-untyped-def]
            items = [public(c) for c in gh.issue_comments.values()
                     if c["_repo"] == f"{owner}/{name}" and c["_pr"] == number]
            return paginate(request, items)

        @app.post("/repos/{owner}/{name}/issues/{number}/comments")
        async def create_issue_comment(owner: str, name: str, number: int,  # type: ignore[no-untyped-def]
                                       request: Request):
            payload = await request.json()
            body = payload.get("body") or ""
            if not body:
                return err(422, "Validation Failed", ["body cannot be blank"])
            if len(body) > MAX_BODY:
                return err(422, "Validation Failed", ["Body is too long (maximum is 65536 characters)"])
            cid = next(gh._ids)
            comment = {"id": cid, "node_id": f"IC_{cid}", "body": body, "user": request.state.user.api(),
                       "author_association": gh.association(f"{owner}/{name}", request.state.user.login),
                       "created_at": gh._stamp(),
                       "html_url": f"https://github.com/{owner}/{name}/pull/{number}#issuecomment-{cid}",
                       "_repo": f"{owner}/{name}", "_pr": number}
            gh.issue_comments[cid] = comment
            return JSONResponse(public(comment), status_code=201)

        @app.get("/repos/{owner}/{name}/issues/comments/{comment_id}")
        async def get_issue_comment(owner: str, name: str, comment_id: int):  # type: ignore[no-untyped-def]
            c = gh.issue_comments.get(comment_id)
            return public(c) if c else err(404, "Not Found")

        @app.patch("/repos/{owner}/{name}/issues/comments/{comment_id}")
        async def edit_issue_comment(owner: str, name: str, comment_id: int,  # type: ignore[no-untyped-def]
                                     request: Request):
            c = gh.issue_comments.get(comment_id)
            if c is None:
                return err(404, "Not Found")
            if c["user"]["login"] != request.state.user.login:
                return err(403, "Must have admin rights to Repository.")
            body = (await request.json()).get("body") or ""
            if len(body) > MAX_BODY:
                return err(422, "Validation Failed", ["Body is too long (maximum is 65536 characters)"])
            c["body"] = body
            return public(c)

        @app.post("/repos/{owner}/{name}/issues/comments/{comment_id}/reactions")
        async def react(owner: str, name: str, comment_id: int, request: Request):  # type: ignore[no-untyped-def]
            payload = await request.json()
            if payload.get("content") not in ("+1", "-1", "laugh", "confused", "heart", "hooray", "rocket", "eyes"):
                return err(422, "Validation Failed")
            reaction = {"id": next(gh._ids), "content": payload["content"], "comment_id": comment_id,
                        "user": request.state.user.api()}
            gh.reactions.append(reaction)
            return JSONResponse(reaction, status_code=201)

        def check_output_error(output: dict[str, Any] | None) -> str | None:
            if not output:
                return None
            if len(output.get("annotations") or []) > 50:
                return "Only 50 annotations may be sent per request"
            for key in ("summary", "text"):
                if len(output.get(key) or "") > 65_535:
                    return f"output.{key} is too long (maximum is 65535 characters)"
            if not output.get("title") or "summary" not in output:
                return "output requires title and summary"
            return None

        @app.post("/repos/{owner}/{name}/check-runs")
        async def create_check(owner: str, name: str, request: Request):  # type: ignore[no-untyped-def]
            payload = await request.json()
            problem = check_output_error(payload.get("output"))
            if problem or not payload.get("name") or not payload.get("head_sha"):
                return err(422, "Invalid request", [problem or "name and head_sha are required"])
            if payload.get("conclusion") not in (None, "action_required", "cancelled", "failure", "neutral",
                                                 "success", "skipped", "stale", "timed_out"):
                return err(422, "Invalid request", ["conclusion is not valid"])
            rid = next(gh._ids)
            run = {"id": rid, **payload, "_repo": f"{owner}/{name}",
                   "_annotations": list((payload.get("output") or {}).get("annotations") or [])}
            gh.check_runs[rid] = run
            return JSONResponse({"id": rid, "name": payload["name"], "head_sha": payload["head_sha"]}, 201)

        @app.patch("/repos/{owner}/{name}/check-runs/{run_id}")
        async def update_check(owner: str, name: str, run_id: int, request: Request):  # type: ignore[no-untyped-def]
            run = gh.check_runs.get(run_id)
            if run is None:
                return err(404, "Not Found")
            payload = await request.json()
            problem = check_output_error(payload.get("output"))
            if problem:
                return err(422, "Invalid request", [problem])
            run["_annotations"].extend((payload.get("output") or {}).get("annotations") or [])
            run.update({k: v for k, v in payload.items() if k != "output"})
            return {"id": run_id}

        @app.post("/graphql")
        async def graphql(request: Request):  # type: ignore[no-untyped-def]
            payload = await request.json()
            with gh._lock:
                if gh.graphql_rate_limited > 0:
                    # GitHub's GraphQL rate limit: HTTP 200, an error of type RATE_LIMITED, the reset in headers.
                    gh.graphql_rate_limited -= 1
                    reset = str(int(time.time()) + 120)
                    return JSONResponse({"data": None, "errors": [{"type": "RATE_LIMITED", "message":
                                         "API rate limit exceeded for installation ID 42."}]},
                                        headers={"x-ratelimit-remaining": "0", "x-ratelimit-reset": reset,
                                                 "x-ratelimit-resource": "graphql"})
                return gh.graphql_api.execute(payload.get("query", ""), payload.get("variables"),
                                              request.state.user)

        return app


class RunningServer:
    """A FakeGitHub served by uvicorn on 127.0.0.1 at a free port, in a background thread."""

    def __init__(self, fake: FakeGitHub) -> None:
        self.fake = fake
        self._sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self._sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self._sock.bind(("127.0.0.1", 0))
        self.port = self._sock.getsockname()[1]
        self.url = f"http://127.0.0.1:{self.port}"
        config = uvicorn.Config(fake.app, log_level="warning", lifespan="off")
        self._server = uvicorn.Server(config)
        self._thread = threading.Thread(target=self._server.run, kwargs={"sockets": [self._sock]}, daemon=True)

    def start(self) -> RunningServer:
        self._thread.start()
        deadline = time.time() + 10
        while not self._server.started:
            if time.time() > deadline:
                raise RuntimeError("fake GitHub did not start")
            time.sleep(0.01)
        return self

    def stop(self) -> None:
        self._server.should_exit = True
        self._thread.join(timeout=5)
        self._sock.close()
