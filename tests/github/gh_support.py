"""Helpers for the GitHub tests: the fake-server environment, a recording sleep, a stand-in analyzer."""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from fakes.github_server import FakeGitHub, RunningServer

from bot.change import ChangedFile
from bot.context import ReviewContext
from bot.findings import Finding, Severity, Side
from bot.github.auth import StaticToken
from bot.github.client import GitHubClient

BOT_TOKEN = "ghs_bot_token"
READ_ONLY_TOKEN = "ghs_read_only"
HUMAN_TOKEN = "ghp_human"


@dataclass
class Sleeps:
    """Stands in for time.sleep: records each wait so tests can assert on what the client obeyed."""

    waits: list[float] = field(default_factory=list)

    def __call__(self, seconds: float) -> None:
        self.waits.append(seconds)


@dataclass
class Env:
    fake: FakeGitHub
    server: RunningServer
    sleeps: Sleeps

    @property
    def url(self) -> str:
        return self.server.url

    def client(self, token: str = BOT_TOKEN) -> GitHubClient:
        return GitHubClient(StaticToken(token), self.server.url, sleep=self.sleeps, write_interval=0, seed=1)


# -- a small deterministic analyzer standing in for the real rule packs (so these tests do not depend on them) ----

_MODEL = re.compile(r"^\s*model\s+(\w+)\s*\{")
_FLOAT = re.compile(r"^\s*(\w+)\s+Float\??")
_DROP = re.compile(r'DROP COLUMN\s+"(\w+)"', re.I)


def _model_blocks(text: str) -> list[tuple[str, int, int]]:
    blocks, name, start = [], None, 0
    for no, line in enumerate(text.splitlines(), 1):
        m = _MODEL.match(line)
        if m:
            name, start = m.group(1), no
        elif name and line.strip() == "}":
            blocks.append((name, start, no))
            name = None
    return blocks


def fake_analyze(ctx: ReviewContext) -> list[Finding]:
    out: list[Finding] = []
    for changed in ctx.surfaces.schema:
        text = ctx.head_text(changed.path) or ""
        lines = text.splitlines()
        for model, start, end in _model_blocks(text):
            for no in range(start, end + 1):
                m = _FLOAT.match(lines[no - 1])
                if m:
                    out.append(Finding("test/float-money", Severity.WARNING, changed.path, no,
                                       f"`{model}.{m.group(1)}` is a Float: money needs exact decimals. Use "
                                       f"`{m.group(1)} Decimal @db.Decimal(12, 2)`.",
                                       key=f"{model}.{m.group(1)}", scope=(start, end)))
        out.extend(_removed_fields(ctx, changed))
    for changed in ctx.surfaces.migrations:
        text = ctx.head_text(changed.path) or ""
        for no, line in enumerate(text.splitlines(), 1):
            m = _DROP.search(line)
            if m:
                out.append(Finding("test/drop-column", Severity.ERROR, changed.path, no,
                                   f"Dropping `{m.group(1)}` breaks the running app during deploy: stop reading it "
                                   "first, drop it in a later release.", key=f"drop {m.group(1)}"))
    return out


def _removed_fields(ctx: ReviewContext, changed: ChangedFile) -> list[Finding]:
    base = (ctx.base_text(changed.base_path or changed.path) or "").splitlines()
    out = []
    for no in sorted(changed.deleted_lines):
        line = base[no - 1] if no <= len(base) else ""
        fm = re.match(r"^\s*(\w+)\s+String", line)
        if fm:
            out.append(Finding("test/field-removed", Severity.WARNING, changed.path, no,
                               f"Field `{fm.group(1)}` removed; make sure no code still selects it.",
                               side=Side.OLD, key=f"removed {fm.group(1)}"))
    return out

