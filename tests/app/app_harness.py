"""Start the real App (uvicorn subprocess on a loopback port) and send it signed GitHub deliveries."""

from __future__ import annotations

import itertools
import json
import os
import signal
import socket
import subprocess
import sys
import time
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx

from bot.app.signature import sign

SECRET = "It's a Secret to Everybody"
SERVER = Path(__file__).resolve().parent / "app_server.py"
REPO_ROOT = Path(__file__).resolve().parents[2]
_sha = itertools.count(1)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def new_sha() -> str:
    return f"{next(_sha):040x}"


class AppProcess:
    def __init__(self, data_dir: Path, *, workers: int = 2, job: str = "fake", env: dict[str, str] | None = None,
                 worker_only: bool = False) -> None:
        self.data_dir = data_dir
        self.workers = workers
        self.job = job
        self.worker_only = worker_only
        self.port = free_port()
        self.env = {
            **os.environ,
            "DBREVIEW_WEBHOOK_SECRET": SECRET,
            "DBREVIEW_DATA_DIR": str(data_dir),
            "DBREVIEW_POLL_MAX_DELAY": "0.1",
            "DBREVIEW_LEASE_SECONDS": "3",
            "DBREVIEW_RETRY_DELAY_SECONDS": "0.1",
            "PYTHONUNBUFFERED": "1",
            **(env or {}),
        }
        self.proc: subprocess.Popen[bytes] | None = None
        self.log_path = data_dir / f"server-{self.port}.log"
        self.url = f"http://127.0.0.1:{self.port}"

    def start(self, timeout: float = 60.0) -> AppProcess:  # a loaded 2-core machine needs ~10 s to import
        self.data_dir.mkdir(parents=True, exist_ok=True)
        args = [sys.executable, str(SERVER), "--port", str(self.port), "--workers", str(self.workers),
                "--job", self.job]
        if self.worker_only:
            args.append("--worker-only")
        log = self.log_path.open("ab")
        self.proc = subprocess.Popen(args, env=self.env, stdout=log, stderr=subprocess.STDOUT, cwd=REPO_ROOT)
        if self.worker_only:
            return self
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"app exited early ({self.proc.returncode}):\n{self.log_path.read_text()}")
            try:
                if httpx.get(self.url + "/healthz", timeout=0.5).status_code == 200:
                    return self
            except httpx.HTTPError:
                pass
            time.sleep(0.1)
        raise RuntimeError(f"app did not start:\n{self.log_path.read_text()}")

    def kill(self, sig: int = signal.SIGKILL) -> int:
        assert self.proc is not None
        self.proc.send_signal(sig)
        return self.proc.wait(timeout=20)

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()

    def __enter__(self) -> AppProcess:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    # -- deliveries -----------------------------------------------------------------------------------------

    def deliver(self, event: str, payload: dict[str, Any], *, delivery: str | None = None,
                secret: str | None = SECRET, signature: str | None = None,
                client: httpx.Client | None = None) -> httpx.Response:
        body = json.dumps(payload).encode()
        return self.post_raw(event, body, delivery=delivery, secret=secret, signature=signature, client=client)

    def post_raw(self, event: str, body: bytes, *, delivery: str | None = None, secret: str | None = SECRET,
                 signature: str | None = None, client: httpx.Client | None = None) -> httpx.Response:
        headers = {"X-GitHub-Event": event, "X-GitHub-Delivery": delivery or str(uuid.uuid4()),
                   "Content-Type": "application/json"}
        if signature is not None:
            headers["X-Hub-Signature-256"] = signature
        elif secret is not None:
            headers["X-Hub-Signature-256"] = sign(secret, body)
        if client is not None:
            return client.post(self.url + "/webhook", content=body, headers=headers)
        return httpx.post(self.url + "/webhook", content=body, headers=headers, timeout=10)

    # -- what happened --------------------------------------------------------------------------------------

    def records(self, name: str) -> list[dict[str, Any]]:
        path = self.data_dir / name
        if not path.exists():
            return []
        return [json.loads(line) for line in path.read_text().splitlines() if line.strip()]

    def logs(self) -> str:
        return self.log_path.read_text(errors="replace") if self.log_path.exists() else ""


def wait_for(predicate: Callable[[], Any], timeout: float = 15.0, interval: float = 0.1) -> Any:
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError("condition not met in time")
        time.sleep(interval)


# -- payloads (shapes as GitHub sends them, trimmed to the fields dbreview reads) -----------------------------


def repo_payload(repo: str) -> dict[str, Any]:
    owner = repo.split("/")[0]
    return {"id": abs(hash(repo)) % 10**8, "full_name": repo, "name": repo.split("/")[1],
            "owner": {"login": owner, "type": "Organization"}}


def pull_request_event(repo: str, number: int, action: str = "opened", *, head: str | None = None,
                       draft: bool = False, state: str = "open", sender_type: str = "User",
                       sender: str = "alice", installation: int = 42) -> dict[str, Any]:
    return {
        "action": action,
        "number": number,
        "pull_request": {
            "number": number, "state": state, "draft": draft, "title": "Add orders",
            "user": {"login": "alice", "type": "User"},
            "head": {"sha": head or new_sha(), "ref": "feature", "repo": repo_payload(repo)},
            "base": {"sha": "b" * 40, "ref": "main", "repo": repo_payload(repo)},
        },
        "repository": repo_payload(repo),
        "installation": {"id": installation},
        "sender": {"login": sender, "type": sender_type},
    }


def comment_event(repo: str, number: int, body: str, *, login: str = "carol", association: str = "MEMBER",
                  user_type: str = "User", comment_id: int | None = None, pr_author: str = "alice",
                  installation: int = 42) -> dict[str, Any]:
    user = {"login": login, "type": user_type}
    return {
        "action": "created",
        "issue": {"number": number, "state": "open", "user": {"login": pr_author, "type": "User"},
                  "pull_request": {"url": f"https://api.github.com/repos/{repo}/pulls/{number}"}},
        "comment": {"id": comment_id or int(uuid.uuid4().int % 10**9), "body": body, "user": user,
                    "author_association": association},
        "repository": repo_payload(repo),
        "installation": {"id": installation},
        "sender": user,
    }
