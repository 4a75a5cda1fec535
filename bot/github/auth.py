"""Credentials for the GitHub API: a static token, or a GitHub App installation token minted from a JWT.

Tokens are never logged or put in exception messages; `key` identifies the credential for per-installation write
serialisation without revealing it.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import threading
import time
from collections.abc import Callable
from datetime import datetime
from typing import Protocol

import httpx
import jwt

from bot import redact

DEFAULT_API_URL = "https://api.github.com"
# Refresh an installation token this long before GitHub's expiry (tokens live 1 h).
REFRESH_MARGIN_S = 300


class AuthError(Exception):
    """The credentials were refused or could not be exchanged; the message never contains a secret."""


class TokenProvider(Protocol):
    key: str

    def token(self) -> str: ...


class StaticToken:
    """A personal access token or the Actions `GITHUB_TOKEN`."""

    def __init__(self, token: str) -> None:
        if not token:
            raise AuthError("empty GitHub token")
        self._token = token
        redact.register(token)
        self.key = "token-" + hashlib.sha256(token.encode()).hexdigest()[:12]

    def token(self) -> str:
        return self._token

    def __repr__(self) -> str:  # keeps the token out of reprs in tracebacks and logs
        return f"StaticToken(key={self.key})"


class AppAuth:
    """GitHub App installation auth: JWT (RS256, iss = app id) -> installation token, cached until near expiry."""

    def __init__(
        self,
        app_id: int | str,
        private_key_pem: str,
        installation_id: int | str,
        base_url: str | None = None,
        *,
        clock: Callable[[], float] = time.time,
        http: httpx.Client | None = None,
    ) -> None:
        self.app_id = str(app_id)
        self.installation_id = str(installation_id)
        self._key_pem = private_key_pem
        self.base_url = (base_url or os.environ.get("GITHUB_API_URL") or DEFAULT_API_URL).rstrip("/")
        self._clock = clock
        self._http = http
        self._lock = threading.Lock()
        self._token: str | None = None
        self._expires_at = 0.0
        self.key = f"installation-{self.installation_id}"

    def __repr__(self) -> str:
        return f"AppAuth(app_id={self.app_id}, installation_id={self.installation_id})"

    def app_jwt(self) -> str:
        now = int(self._clock())
        # iat 60 s in the past absorbs clock drift; exp must be at most 10 minutes ahead.
        payload = {"iat": now - 60, "exp": now + 540, "iss": self.app_id}
        try:
            return jwt.encode(payload, self._key_pem, algorithm="RS256")
        except Exception as exc:  # a malformed key: say so without echoing it
            raise AuthError(f"cannot sign the GitHub App JWT: {type(exc).__name__}") from None

    def token(self) -> str:
        with self._lock:
            if self._token is None or self._clock() >= self._expires_at - REFRESH_MARGIN_S:
                self._token, self._expires_at = self._exchange()
            return self._token

    def invalidate(self) -> None:
        """Forget the cached token (after a 401) so the next call mints a new one."""
        with self._lock:
            self._token = None

    def _exchange(self) -> tuple[str, float]:
        url = f"{self.base_url}/app/installations/{self.installation_id}/access_tokens"
        headers = {
            "Authorization": f"Bearer {self.app_jwt()}",
            "Accept": "application/vnd.github+json",
            "X-GitHub-Api-Version": "2022-11-28",
            "User-Agent": "dbreview",
        }
        try:
            if self._http is not None:
                resp = self._http.post(url, headers=headers)
            else:
                with httpx.Client(timeout=30) as http:
                    resp = http.post(url, headers=headers)
        except httpx.HTTPError as exc:
            raise AuthError(f"installation token request failed: {type(exc).__name__}") from None
        if resp.status_code != 201 and resp.status_code != 200:
            raise AuthError(f"installation token request for installation {self.installation_id} "
                            f"answered {resp.status_code}")
        try:
            data = resp.json()
            token = str(data["token"])
        except (ValueError, KeyError, TypeError):
            raise AuthError(f"installation token response for installation {self.installation_id} "
                            "has no token") from None
        expires_at = self._clock() + 3600
        raw_expiry = data.get("expires_at")
        if isinstance(raw_expiry, str):
            with contextlib.suppress(ValueError):
                expires_at = datetime.fromisoformat(raw_expiry.replace("Z", "+00:00")).timestamp()
        redact.register(token)  # a minted token is a secret nobody put in the environment
        return token, expires_at
