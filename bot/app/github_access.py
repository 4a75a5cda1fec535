"""Everything the App itself does on GitHub (outside publishing a review), behind one small interface so tests
can swap it: per-installation clients, the eyes reaction, short replies, the neutral check run on failure, and
whether a PR author may run commands (repo config from the base branch)."""

from __future__ import annotations

import logging
import threading
from typing import Any, Protocol

from bot.app.metrics import CountingTransport
from bot.app.settings import Settings

log = logging.getLogger("dbreview.app.github")


class GitHubOps(Protocol):
    def react(self, installation_id: int | None, repo: str, comment_id: int, *, review_comment: bool = False) -> None:
        ...

    def reply(self, installation_id: int | None, repo: str, number: int, body: str) -> None: ...

    def reply_in_thread(self, installation_id: int | None, repo: str, number: int, comment_id: int,
                        body: str) -> None: ...

    def review_comment(self, installation_id: int | None, repo: str, comment_id: int) -> dict[str, Any] | None: ...

    def repo_config(self, installation_id: int | None, repo: str, number: int) -> Any: ...

    def author_may_command(self, installation_id: int | None, repo: str, number: int) -> bool: ...

    def report_failure(
        self, installation_id: int | None, repo: str, number: int, head_sha: str | None, reason: str
    ) -> None: ...


class GitHubAccess:
    """Clients per installation (GitHub App) or one static token (single-account deployment)."""

    def __init__(self, settings: Settings, write_interval: float | None = None) -> None:
        self.settings = settings
        self.write_interval = write_interval
        self._providers: dict[Any, Any] = {}
        self._lock = threading.Lock()

    def _provider(self, installation_id: int | None) -> Any:
        from bot.github.auth import AppAuth, StaticToken

        s = self.settings
        if s.github_app_id and installation_id is not None:
            key: Any = installation_id
            factory: Any = lambda: AppAuth(s.github_app_id, s.github_private_key, installation_id, s.github_api_url)  # noqa: E731
        elif s.github_token:
            key, factory = "token", lambda: StaticToken(s.github_token)
        else:
            raise RuntimeError(
                "no GitHub credentials: set GITHUB_APP_ID and GITHUB_APP_PRIVATE_KEY (App) or GITHUB_TOKEN"
            )
        with self._lock:
            # One provider per installation keeps its cached installation token across jobs.
            if key not in self._providers:
                self._providers[key] = factory()
            return self._providers[key]

    def client(self, installation_id: int | None) -> Any:
        from bot.github.client import GitHubClient

        kwargs: dict[str, Any] = {"transport": CountingTransport()}
        if self.write_interval is not None:
            kwargs["write_interval"] = self.write_interval
        return GitHubClient(self._provider(installation_id), self.settings.github_api_url, **kwargs)

    # -- GitHubOps ------------------------------------------------------------------------------------------

    def react(self, installation_id: int | None, repo: str, comment_id: int, *, review_comment: bool = False) -> None:
        with self.client(installation_id) as gh:
            if review_comment:
                gh.request("POST", f"{gh.repo_path(repo)}/pulls/comments/{comment_id}/reactions",
                           json={"content": "eyes"})
            else:
                gh.add_reaction(repo, comment_id, "eyes")

    def reply(self, installation_id: int | None, repo: str, number: int, body: str) -> None:
        with self.client(installation_id) as gh:
            gh.create_issue_comment(repo, number, body)

    def reply_in_thread(self, installation_id: int | None, repo: str, number: int, comment_id: int,
                        body: str) -> None:
        with self.client(installation_id) as gh:
            gh.reply_to_review_comment(repo, number, comment_id, body)

    def review_comment(self, installation_id: int | None, repo: str, comment_id: int) -> dict[str, Any] | None:
        with self.client(installation_id) as gh:
            return gh.get_review_comment(repo, comment_id)

    def repo_config(self, installation_id: int | None, repo: str, number: int) -> Any:
        """The repo config on the PR's base branch (a PR cannot change its own rules); defaults when unreadable."""
        from bot.change import decode_text
        from bot.config import CONFIG_PATHS, Config, ConfigError, parse_config

        with self.client(installation_id) as gh:
            pr = gh.get_pull(repo, number)
            base_sha = (pr.get("base") or {}).get("sha") or (pr.get("base") or {}).get("ref")
            if not base_sha:
                return Config()
            for path in CONFIG_PATHS:
                raw = gh.get_file_bytes(repo, path, base_sha)
                if raw is None:
                    continue
                try:
                    return parse_config(decode_text(raw) or "", path)
                except (ConfigError, RecursionError, ValueError, TypeError) as exc:
                    log.warning("repo config unreadable, defaults apply: %s", exc)
                    return Config()
        return Config()

    def author_may_command(self, installation_id: int | None, repo: str, number: int) -> bool:
        """`review.allow_pr_author_commands` from the repo config on the PR's base branch (a PR cannot grant
        itself the right)."""
        return bool(self.repo_config(installation_id, repo, number).review.allow_pr_author_commands)

    def report_failure(
        self, installation_id: int | None, repo: str, number: int, head_sha: str | None, reason: str
    ) -> None:
        """A neutral `dbreview` check run: the bot's own failure never turns a PR red."""
        with self.client(installation_id) as gh:
            if not head_sha:
                head_sha = ((gh.get_pull(repo, number).get("head")) or {}).get("sha")
            if not head_sha:
                return
            gh.create_check_run(repo, {
                "name": "dbreview",
                "head_sha": head_sha,
                "status": "completed",
                "conclusion": "neutral",
                "output": {
                    "title": "dbreview could not complete this review",
                    "summary": (
                        "The review failed for a reason on dbreview's side, not in this pull request:\n\n"
                        f"> {reason[:2000]}\n\nComment `/dbreview` to try again."
                    ),
                },
            })
