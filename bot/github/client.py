"""A small GitHub REST + GraphQL client with the retry and write discipline GitHub's docs ask of integrations.

Why not PyGithub for the transport: its urllib3 retry sleeps inside the library (tests cannot inject the wait), it
ignores `x-ratelimit-reset` on secondary limits, it cannot serialise writes across clients of one installation, and
it has no GraphQL. PyGithub stays available for callers that want its object model: `client.pygithub()` returns a
`github.Github` on the same base URL and credentials.

Rate limits (docs "rate-limits-for-the-rest-api"): on 403/429 wait `retry-after` seconds if given, else until
`x-ratelimit-reset` when `x-ratelimit-remaining` is 0, else at least a minute with exponential backoff and jitter;
give up after `max_rate_limit_retries` with one clear log line. 5xx and network errors back off from 1 s.
Content-creating calls are serialised per installation and spaced by `write_interval` seconds.
"""

from __future__ import annotations

import logging
import os
import random
import threading
import time
from collections.abc import Callable, Iterator, Mapping
from typing import Any
from urllib.parse import quote

import httpx

from bot.github.auth import DEFAULT_API_URL, TokenProvider
from bot.redact import scrub_json

log = logging.getLogger("dbreview.github")

_WRITE_METHODS = {"POST", "PATCH", "PUT", "DELETE"}
_WRITE_LOCKS: dict[str, threading.Lock] = {}
_LAST_WRITE: dict[str, float] = {}
_LOCKS_GUARD = threading.Lock()
_RATE_LIMIT_WORDS = ("rate limit", "abuse", "secondary")


class GitHubError(Exception):
    """A GitHub API call that failed for good; carries the status and GitHub's message (never a token)."""

    def __init__(self, status: int, message: str, method: str = "", path: str = "",
                 errors: list[Any] | None = None) -> None:
        self.status = status
        self.message = message
        self.method = method
        self.path = path
        self.errors = errors or []
        super().__init__(f"GitHub {method} {path} -> {status}: {message}".strip())


class GitHubRateLimited(GitHubError):
    """Still rate limited after the allowed waits: the bot's own failure, never the author's."""


def is_permission_error(exc: BaseException) -> bool:
    """A read-only token (fork PR) or a missing permission: 403 that is not a rate limit, or 404 on a write."""
    return isinstance(exc, GitHubError) and not isinstance(exc, GitHubRateLimited) and exc.status in (401, 403, 404)


def graphql_url_for(base_url: str) -> str:
    base = base_url.rstrip("/")
    if base.endswith("/api/v3"):  # GitHub Enterprise Server
        return base[: -len("/v3")] + "/graphql"
    return base + "/graphql"


def _is_rate_limited(resp: httpx.Response) -> bool:
    if resp.status_code == 429:
        return True
    if resp.status_code != 403:
        return False
    if "retry-after" in resp.headers or resp.headers.get("x-ratelimit-remaining") == "0":
        return True
    return any(w in resp.text[:2000].lower() for w in _RATE_LIMIT_WORDS)


def rate_limit_delay(resp: httpx.Response, attempt: int, now: float, rng: random.Random) -> float:
    """Seconds to wait before retry `attempt` (1-based) of a rate-limited call, per GitHub's documented order."""
    retry_after = resp.headers.get("retry-after")
    if retry_after is not None:
        try:
            return max(float(retry_after), 0.0)
        except ValueError:
            pass
    if resp.headers.get("x-ratelimit-remaining") == "0" and resp.headers.get("x-ratelimit-reset"):
        try:
            return max(float(resp.headers["x-ratelimit-reset"]) - now, 0.0) + 1.0
        except ValueError:
            pass
    base = 60.0 * (2 ** (attempt - 1))
    return base + rng.uniform(0, base * 0.25)


def server_error_delay(attempt: int, rng: random.Random) -> float:
    base = float(2 ** (attempt - 1))
    return base + rng.uniform(0, base * 0.5)


def _message_of(resp: httpx.Response) -> tuple[str, list[Any]]:
    try:
        data = resp.json()
    except ValueError:
        return resp.text[:300], []
    if isinstance(data, dict):
        return str(data.get("message", ""))[:500], list(data.get("errors") or [])
    return resp.text[:300], []


def _next_link(resp: httpx.Response) -> str | None:
    link = resp.headers.get("link")
    if not link:
        return None
    for part in link.split(","):
        section = part.split(";")
        if len(section) < 2:
            continue
        url = section[0].strip().strip("<>")
        if any(s.strip() == 'rel="next"' for s in section[1:]):
            return url
    return None


def is_safe_repo_path(path: str) -> bool:
    """A relative path inside a repository: no `..` or `.` segment, no leading `/`, no empty segment, no control
    character. Paths come from the PR (file names, schema paths named in package.json or prisma.config.ts)."""
    if not path or path.startswith("/") or any(ord(c) < 32 for c in path):
        return False
    return all(part not in ("", ".", "..") for part in path.split("/"))


class GitHubClient:
    def __init__(
        self,
        token_provider: TokenProvider,
        base_url: str | None = None,
        *,
        sleep: Callable[[float], None] = time.sleep,
        clock: Callable[[], float] = time.time,
        write_interval: float = 1.0,
        max_rate_limit_retries: int = 4,
        max_server_retries: int = 4,
        max_total_wait_s: float = 900.0,
        timeout: float = 30.0,
        transport: httpx.BaseTransport | None = None,
        seed: int | None = None,
    ) -> None:
        self.auth = token_provider
        self.base_url = (base_url or os.environ.get("GITHUB_API_URL") or DEFAULT_API_URL).rstrip("/")
        self.graphql_url = graphql_url_for(self.base_url)
        self._sleep = sleep
        self._clock = clock
        self.write_interval = write_interval
        self.max_rate_limit_retries = max_rate_limit_retries
        self.max_server_retries = max_server_retries
        self.max_total_wait_s = max_total_wait_s
        self._rng = random.Random(seed)
        self._http = httpx.Client(timeout=timeout, transport=transport,
                                  headers={"User-Agent": "dbreview", "X-GitHub-Api-Version": "2022-11-28"})
        self.waited_s = 0.0  # total time spent waiting on rate limits and 5xx backoff (for the summary)
        self.rate_limited = False  # at least one rate-limit wait happened

    def close(self) -> None:
        self._http.close()

    def __enter__(self) -> GitHubClient:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- transport ----------------------------------------------------------------------------------------------

    def _url(self, path: str) -> str:
        if path.startswith(("http://", "https://")):
            return path
        return self.base_url + (path if path.startswith("/") else "/" + path)

    def _write_lock(self) -> threading.Lock:
        with _LOCKS_GUARD:
            return _WRITE_LOCKS.setdefault(self.auth.key, threading.Lock())

    def request(
        self,
        method: str,
        path: str,
        *,
        json: Any = None,
        params: Mapping[str, Any] | None = None,
        headers: Mapping[str, str] | None = None,
        allow: tuple[int, ...] = (),
        creates_content: bool | None = None,
    ) -> httpx.Response:
        """One API call with retries. Statuses in `allow` are returned instead of raised (e.g. 404 on a read).
        `creates_content` (default: any POST, PATCH, PUT or DELETE) serialises and spaces the call with the
        other writes of the installation; a GraphQL query is a POST that writes nothing."""
        method = method.upper()
        if creates_content is None:
            creates_content = method in _WRITE_METHODS
        if creates_content:
            with self._write_lock():
                last = _LAST_WRITE.get(self.auth.key)
                if last is not None and self.write_interval > 0:
                    # min(): a clock that went backwards must not turn into a long sleep.
                    gap = min(self.write_interval - (self._clock() - last), self.write_interval)
                    if gap > 0:
                        self._sleep(gap)
                try:
                    return self._send(method, path, json=json, params=params, headers=headers, allow=allow)
                finally:
                    _LAST_WRITE[self.auth.key] = self._clock()
        return self._send(method, path, json=json, params=params, headers=headers, allow=allow)

    def _send(self, method: str, path: str, *, json: Any, params: Mapping[str, Any] | None,
              headers: Mapping[str, str] | None, allow: tuple[int, ...]) -> httpx.Response:
        url = self._url(path)
        shown = path.split("?")[0] if not path.startswith("http") else httpx.URL(path).path
        # The token goes only to the API host (a `Link: rel="next"` could name any URL).
        same_host = httpx.URL(url).netloc == httpx.URL(self.base_url).netloc
        if json is not None and method in _WRITE_METHODS:
            # Last net before anything reaches GitHub (comments, summaries, check runs): no secret in a body.
            json = scrub_json(json)
        rate_attempts = 0
        server_attempts = 0
        auth_retried = False
        waited = 0.0
        while True:
            hdrs = {"Accept": "application/vnd.github+json"}
            if same_host:
                hdrs["Authorization"] = f"Bearer {self.auth.token()}"
            if headers:
                hdrs.update(headers)
            try:
                resp = self._http.request(method, url, json=json, params=params, headers=hdrs)
            except httpx.TransportError as exc:
                server_attempts += 1
                if server_attempts > self.max_server_retries:
                    log.error("GitHub %s %s: giving up after %d network errors (%s)", method, shown,
                              server_attempts, type(exc).__name__)
                    raise GitHubError(0, f"network error: {type(exc).__name__}", method, shown) from None
                delay = server_error_delay(server_attempts, self._rng)
                waited += self._wait(delay, method, shown, f"network error {type(exc).__name__}")
                continue
            status = resp.status_code
            if status < 400 or status in allow:
                return resp
            if status == 401 and not auth_retried and hasattr(self.auth, "invalidate"):
                auth_retried = True
                self.auth.invalidate()  # an installation token revoked or expired early
                continue
            if status in (403, 429) and _is_rate_limited(resp):
                self.rate_limited = True
                rate_attempts += 1
                delay = rate_limit_delay(resp, rate_attempts, self._clock(), self._rng)
                if rate_attempts > self.max_rate_limit_retries or waited + delay > self.max_total_wait_s:
                    log.error("GitHub %s %s: still rate limited after %d retries and %.0f s of waiting; giving up",
                              method, shown, rate_attempts - 1, waited)
                    message, errors = _message_of(resp)
                    raise GitHubRateLimited(status, message or "rate limited", method, shown, errors)
                waited += self._wait(delay, method, shown, f"rate limited ({status})")
                continue
            if status >= 500:
                server_attempts += 1
                if server_attempts <= self.max_server_retries:
                    waited += self._wait(server_error_delay(server_attempts, self._rng), method, shown,
                                         f"server error {status}")
                    continue
                log.error("GitHub %s %s: giving up after %d server errors", method, shown, server_attempts)
            message, errors = _message_of(resp)
            raise GitHubError(status, message, method, shown, errors)

    def _wait(self, delay: float, method: str, shown: str, why: str) -> float:
        log.warning("GitHub %s %s: %s; retrying in %.1f s", method, shown, why, delay)
        self.waited_s += delay
        self._sleep(delay)
        return delay

    def json(self, method: str, path: str, **kwargs: Any) -> Any:
        resp = self.request(method, path, **kwargs)
        if resp.status_code == 204 or not resp.content:
            return None
        return resp.json()

    def paginate(self, path: str, params: Mapping[str, Any] | None = None, *, item_key: str | None = None,
                 max_pages: int = 100) -> Iterator[Any]:
        """Every item of a list endpoint, following `Link: rel="next"` (100 per page)."""
        query = {"per_page": 100, **(params or {})}
        url: str | None = path
        first = True
        pages = 0
        while url is not None and pages < max_pages:
            resp = self.request("GET", url, params=query if first else None)
            first = False
            pages += 1
            data = resp.json()
            items = data.get(item_key, []) if item_key and isinstance(data, dict) else data
            yield from items
            url = _next_link(resp)

    def graphql(self, query: str, variables: Mapping[str, Any] | None = None) -> dict[str, Any]:
        """One GraphQL call. GitHub reports its GraphQL rate limit as a 200 whose error type is RATE_LIMITED
        (docs "rate-limits-and-node-limits-for-the-graphql-api"): that is waited out like a REST rate limit."""
        mutation = query.lstrip().startswith("mutation")
        waited = 0.0
        for attempt in range(1, self.max_rate_limit_retries + 2):
            resp = self.request("POST", self.graphql_url, json={"query": query, "variables": dict(variables or {})},
                                creates_content=mutation)
            data = resp.json()
            errors = data.get("errors") if isinstance(data, dict) else None
            if not errors:
                return (data.get("data") if isinstance(data, dict) else None) or {}
            first = errors[0] if isinstance(errors[0], dict) else {"message": str(errors[0])}
            if first.get("type") != "RATE_LIMITED":
                raise GitHubError(200, f"GraphQL: {first.get('message', first)}", "POST", "/graphql", errors)
            self.rate_limited = True
            delay = rate_limit_delay(resp, attempt, self._clock(), self._rng)
            if attempt > self.max_rate_limit_retries or waited + delay > self.max_total_wait_s:
                break
            waited += self._wait(delay, "POST", "/graphql", "GraphQL rate limited")
        log.error("GitHub POST /graphql: still rate limited after %.0f s of waiting; giving up", waited)
        raise GitHubRateLimited(200, "GraphQL: rate limited", "POST", "/graphql", errors)

    def pygithub(self) -> Any:
        """A PyGithub `Github` on the same base URL and credentials (no library-side throttling or retries)."""
        from github import Auth, Github

        return Github(base_url=self.base_url, auth=Auth.Token(self.auth.token()), retry=None,
                      seconds_between_requests=None, seconds_between_writes=None)

    # -- the routes dbreview uses -------------------------------------------------------------------------------

    @staticmethod
    def repo_path(repo: str) -> str:
        owner, _, name = repo.partition("/")
        return f"/repos/{quote(owner, safe='')}/{quote(name, safe='')}"

    def get_pull(self, repo: str, number: int) -> dict[str, Any]:
        return self.json("GET", f"{self.repo_path(repo)}/pulls/{number}")

    def list_pull_files(self, repo: str, number: int) -> list[dict[str, Any]]:
        # GitHub serves at most 3000 files per PR through this endpoint.
        return list(self.paginate(f"{self.repo_path(repo)}/pulls/{number}/files", max_pages=30))

    def get_file_bytes(self, repo: str, path: str, ref: str) -> bytes | None:
        if not is_safe_repo_path(path):
            # `..` would climb out of /contents/ (the URL is normalised) and read other API routes with our token.
            log.warning("not reading %r: not a plain path inside the repository", path[:200])
            return None
        resp = self.request("GET", f"{self.repo_path(repo)}/contents/{quote(path)}", params={"ref": ref},
                            headers={"Accept": "application/vnd.github.raw+json"}, allow=(404,))
        if resp.status_code == 404:
            return None
        ctype = resp.headers.get("content-type", "")
        if "json" in ctype and resp.content.lstrip().startswith(b"{"):
            # A server that ignored the raw media type: decode the contents object.
            import base64

            data = resp.json()
            if isinstance(data, dict) and data.get("type") == "file" and data.get("encoding") == "base64":
                return base64.b64decode(data.get("content", ""))
            if isinstance(data, dict) and data.get("type") in ("dir", "symlink", "submodule"):
                return None
        return resp.content

    def list_tree(self, repo: str, sha: str) -> tuple[list[str], bool]:
        """Every blob path at a commit, and whether GitHub truncated the listing."""
        blobs, truncated = self.list_tree_blobs(repo, sha)
        return list(blobs), truncated

    def list_tree_blobs(self, repo: str, sha: str) -> tuple[dict[str, str], bool]:
        """Every blob at a commit as path -> blob sha, and whether GitHub truncated the listing."""
        entries, truncated = self.list_tree_entries(repo, sha)
        return {path: blob for path, (blob, _size) in entries.items()}, truncated

    def list_tree_entries(self, repo: str, sha: str) -> tuple[dict[str, tuple[str, int]], bool]:
        """Every blob at a commit as path -> (blob sha, size in bytes; -1 unknown), and whether GitHub truncated
        the listing."""
        resp = self.request("GET", f"{self.repo_path(repo)}/git/trees/{quote(sha, safe='')}",
                            params={"recursive": "1"}, allow=(404, 409, 422))
        if resp.status_code in (404, 409, 422):
            return {}, False
        data = resp.json()
        entries = {str(e["path"]): (str(e.get("sha") or ""), int(e["size"]) if isinstance(e.get("size"), int) else -1)
                   for e in data.get("tree", [])
                   if isinstance(e, dict) and e.get("type") == "blob" and e.get("path")}
        return entries, bool(data.get("truncated"))

    def list_pull_commits(self, repo: str, number: int) -> list[dict[str, Any]]:
        # GitHub lists at most 250 commits per PR here.
        return list(self.paginate(f"{self.repo_path(repo)}/pulls/{number}/commits", max_pages=3))

    def list_reviews(self, repo: str, number: int) -> list[dict[str, Any]]:
        return list(self.paginate(f"{self.repo_path(repo)}/pulls/{number}/reviews"))

    def delete_pending_review(self, repo: str, number: int, review_id: int) -> None:
        self.request("DELETE", f"{self.repo_path(repo)}/pulls/{number}/reviews/{review_id}", allow=(404, 422))

    def create_review(self, repo: str, number: int, payload: dict[str, Any]) -> dict[str, Any]:
        return self.json("POST", f"{self.repo_path(repo)}/pulls/{number}/reviews", json=payload)

    def dismiss_review(self, repo: str, number: int, review_id: int, message: str) -> None:
        self.request("PUT", f"{self.repo_path(repo)}/pulls/{number}/reviews/{review_id}/dismissals",
                     json={"message": message, "event": "DISMISS"}, allow=(404, 422))

    def list_review_comments(self, repo: str, number: int) -> list[dict[str, Any]]:
        return list(self.paginate(f"{self.repo_path(repo)}/pulls/{number}/comments"))

    def get_review_comment(self, repo: str, comment_id: int) -> dict[str, Any] | None:
        resp = self.request("GET", f"{self.repo_path(repo)}/pulls/comments/{comment_id}", allow=(404,))
        return None if resp.status_code == 404 else resp.json()

    def reply_to_review_comment(self, repo: str, number: int, comment_id: int, body: str) -> dict[str, Any]:
        """A reply in the thread of review comment `comment_id` (the thread's first comment)."""
        return self.json("POST", f"{self.repo_path(repo)}/pulls/{number}/comments/{comment_id}/replies",
                         json={"body": body})

    def delete_review_comment(self, repo: str, comment_id: int) -> None:
        self.request("DELETE", f"{self.repo_path(repo)}/pulls/comments/{comment_id}", allow=(404,))

    def list_issue_comments(self, repo: str, number: int) -> list[dict[str, Any]]:
        return list(self.paginate(f"{self.repo_path(repo)}/issues/{number}/comments"))

    def get_issue_comment(self, repo: str, comment_id: int) -> dict[str, Any] | None:
        resp = self.request("GET", f"{self.repo_path(repo)}/issues/comments/{comment_id}", allow=(404,))
        return None if resp.status_code == 404 else resp.json()

    def create_issue_comment(self, repo: str, number: int, body: str) -> dict[str, Any]:
        return self.json("POST", f"{self.repo_path(repo)}/issues/{number}/comments", json={"body": body})

    def update_issue_comment(self, repo: str, comment_id: int, body: str) -> dict[str, Any]:
        return self.json("PATCH", f"{self.repo_path(repo)}/issues/comments/{comment_id}", json={"body": body})

    def add_reaction(self, repo: str, comment_id: int, content: str = "eyes") -> None:
        self.request("POST", f"{self.repo_path(repo)}/issues/comments/{comment_id}/reactions",
                     json={"content": content})

    def create_check_run(self, repo: str, payload: dict[str, Any]) -> dict[str, Any]:
        return self.json("POST", f"{self.repo_path(repo)}/check-runs", json=payload)

    def update_check_run(self, repo: str, check_run_id: int, payload: dict[str, Any]) -> dict[str, Any]:
        return self.json("PATCH", f"{self.repo_path(repo)}/check-runs/{check_run_id}", json=payload)

    def resolve_review_thread(self, thread_id: str) -> None:
        self.graphql(_RESOLVE_MUTATION, {"threadId": thread_id})


_RESOLVE_MUTATION = """
mutation($threadId: ID!) {
  resolveReviewThread(input: {threadId: $threadId}) { thread { id isResolved } }
}
"""
