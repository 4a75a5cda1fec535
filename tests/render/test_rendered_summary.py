"""The PR summary as a reviewer sees it: rendered in headless chromium with Mermaid, screenshots kept as artifacts.

Two changes: the sample (posted through the real publisher to the fake GitHub, so the summary is the one a pull
request gets) and a large real one (langfuse's last 40 migrations from the shared corpus, with the models and
columns they created taken out of the schema to make the base). Fails on any Mermaid error; the sample's summary
must fit one screen above its collapsed parts. Screenshots: tests/render/artifacts/*.png.
"""

from __future__ import annotations

import os
import re
import sys
from pathlib import Path

import pytest

HERE = Path(__file__).resolve().parent
TESTS = HERE.parent
for folder in (HERE, TESTS, TESTS / "github"):
    if str(folder) not in sys.path:
        sys.path.insert(0, str(folder))

import render_check  # noqa: E402

REPO_ROOT = TESTS.parent
EXAMPLE = REPO_ROOT / "examples" / "marketplace"
PATCH = REPO_ROOT / "examples" / "vendor-payouts.patch"
LANGFUSE = "langfuse/packages/shared/prisma"
MIN_SCALE = 0.45  # Mermaid shrinks a wide diagram to the comment's width; below this its 14 px text is unreadable


@pytest.fixture(scope="module")
def browser() -> None:
    why = render_check.missing()
    if why:
        if os.environ.get("DBREVIEW_REQUIRE_RENDER") == "1":
            pytest.fail(f"the render check must run here: {why}")
        pytest.skip(why)


def _tree(folder: Path) -> dict[str, str]:
    return {str(p.relative_to(folder)): p.read_text(encoding="utf-8", errors="replace")
            for p in sorted(folder.rglob("*")) if p.is_file() and "node_modules" not in p.parts}


def _sample_trees() -> tuple[dict[str, str], dict[str, str]]:
    from bot.gitrepo import diff_file_change

    base = _tree(EXAMPLE)
    change = diff_file_change(EXAMPLE, PATCH.read_text(encoding="utf-8"))
    head = dict(base)
    for f in change.files:
        text = change.head_text(f.path)
        if text is None:
            head.pop(f.path, None)
        else:
            head[f.path] = text
    return base, head


def _pr_summary(base: dict[str, str], head: dict[str, str]) -> str:
    from fakes.github_server import FakeGitHub, RunningServer
    from gh_support import BOT_TOKEN

    from bot.github.auth import StaticToken
    from bot.github.client import GitHubClient
    from bot.github.comments import SUMMARY_MARKER
    from bot.github.run import review_pull_request

    fake = FakeGitHub()
    fake.add_token(BOT_TOKEN, "github-actions[bot]", type="Bot")
    server = RunningServer(fake).start()
    try:
        fake.open_pr("acme/market", base, head, title="Vendor payouts")
        with GitHubClient(StaticToken(BOT_TOKEN), server.url, sleep=lambda _s: None, write_interval=0) as client:
            review_pull_request(client, "acme/market", 1)
        return next(c["body"] for c in fake.issue_comments.values() if SUMMARY_MARKER in c["body"])
    finally:
        server.stop()


def test_sample_pr_summary_renders_and_fits_one_screen(browser: None) -> None:
    text = _pr_summary(*_sample_trees())
    shown = render_check.render(text, "sample-pr")
    assert not shown.errors, shown.errors
    assert len(shown.diagrams) == 1 and shown.diagrams[0]["scale"] >= MIN_SCALE
    assert shown.first_collapsed_top is not None
    assert shown.first_collapsed_top <= render_check.SCREEN_HEIGHT, (
        f"the summary's open part is {shown.first_collapsed_top:.0f} px tall, more than one screen "
        f"({render_check.SCREEN_HEIGHT} px): see {shown.screenshot}")
    assert shown.screenshot is not None and shown.screenshot.stat().st_size > 10_000


def test_sample_cli_markdown_renders(browser: None) -> None:
    from bot.gitrepo import diff_file_change
    from bot.pipeline import review
    from bot.report.markdown import render_markdown

    change = diff_file_change(EXAMPLE, PATCH.read_text(encoding="utf-8"))
    shown = render_check.render(render_markdown(review(change), change), "sample-cli")
    assert not shown.errors, shown.errors
    assert len(shown.diagrams) == 1


def _without_recent(schema: str, migrations: list[str]) -> str:
    """The schema before `migrations`: models whose table they create and fields whose column they add removed,
    with the relation fields that point at removed models."""
    from bot.prisma.load import load_texts

    created = {m.lower() for sql in migrations for m in re.findall(r'CREATE TABLE (?:IF NOT EXISTS )?"(\w+)"', sql)}
    added: set[tuple[str, str]] = set()
    for sql in migrations:
        for table, body in re.findall(r'ALTER TABLE "(\w+)"(.*?);', sql, re.S):
            for column in re.findall(r'ADD COLUMN (?:IF NOT EXISTS )?\s*"(\w+)"', body):
                added.add((table.lower(), column.lower()))
    parsed = load_texts({"schema.prisma": schema}).schema
    assert parsed is not None
    drop_lines: set[int] = set()
    gone = set()
    for model in parsed.models.values():
        if (model.db_name or model.name).lower() in created:
            gone.add(model.name)
            drop_lines.update(range(model.line, model.end_line + 1))
    for model in parsed.models.values():
        for f in model.fields:
            if f.type in gone or ((model.db_name or model.name).lower(), (f.db_name or f.name).lower()) in added:
                drop_lines.add(f.line)
    return "\n".join(line for no, line in enumerate(schema.splitlines(), 1) if no not in drop_lines) + "\n"


def test_large_real_change_renders_readably(browser: None, corpus_dir: Path) -> None:
    from bot.config import Config
    from bot.pipeline import review
    from bot.report.summary import SummaryContext, render_summary
    from bot.testing import change_from_trees

    root = corpus_dir / LANGFUSE
    schema = (root / "schema.prisma").read_text(encoding="utf-8")
    folders = sorted(p for p in (root / "migrations").iterdir() if p.is_dir())
    recent = folders[-40:]
    base = {f"prisma/migrations/{p.name}/migration.sql": (p / "migration.sql").read_text(encoding="utf-8")
            for p in folders[:-40]}
    head = {**base, **{f"prisma/migrations/{p.name}/migration.sql": (p / "migration.sql").read_text(encoding="utf-8")
                       for p in recent}}
    base["prisma/schema.prisma"] = _without_recent(schema, [head[f"prisma/migrations/{p.name}/migration.sql"]
                                                             for p in recent])
    head["prisma/schema.prisma"] = schema
    change = change_from_trees(base, head)
    result = review(change, Config())
    text = render_summary(result, SummaryContext(change=change, not_inlined=[(f, "") for f in result.findings],
                                                 pr_url="https://github.com/langfuse/langfuse/pull/1"))
    assert "### Models changed" in text and "(added)" in text and "(changed)" in text
    shown = render_check.render(text, "langfuse-last-40-migrations")
    assert not shown.errors, shown.errors
    assert len(shown.diagrams) == 1
    # Readable at comment width: Mermaid scales a wide diagram down to fit, so a hairball shows as a thin strip.
    diagram = shown.diagrams[0]
    assert diagram["width"] <= render_check.COMMENT_WIDTH + 1
    assert diagram["scale"] >= MIN_SCALE, f"the diagram is drawn at {diagram['scale']:.0%} of its size: too small"
