"""`dbreview feedback-stats` and `dbreview learnings`: read (and prune) the feedback the App or the Action keeps.

The store is the App's (DATABASE_URL, else $DBREVIEW_DATA_DIR/state.db) unless `--database-url` names one. It is
opened without migrating: a typo in the URL must not create dbreview's tables in some other database.
"""

from __future__ import annotations

import json
import sys
from dataclasses import asdict

from sqlalchemy import inspect

from bot.app.feedback import stats_text
from bot.app.settings import load_settings, sqlalchemy_url
from bot.app.store import Store
from bot.app.store.feedback import FeedbackStore
from bot.learnings import clean_text


class StoreError(Exception):
    """No dbreview store at the URL (the CLI prints it on one line, exit code 2)."""


def _open(database_url: str | None) -> Store:
    url = sqlalchemy_url(database_url) if database_url else load_settings(require_secret=False).store_url
    if url.startswith("sqlite:///") and not url.endswith(":memory:"):
        from pathlib import Path

        if not Path(url[len("sqlite:///"):]).is_file():
            raise StoreError(f"no dbreview store at {url.split('///', 1)[1]} (no such file)")
    store = Store(url, migrate=False)
    try:
        tables = set(inspect(store.engine).get_table_names())
    except Exception as exc:
        store.close()
        raise StoreError(f"cannot open the store: {type(exc).__name__}") from None
    if "feedback_comments" not in tables:
        store.close()
        raise StoreError("this database has no dbreview feedback tables (start `dbreview serve` once on it, or check "
                         "the URL)")
    return store


def feedback_stats(database_url: str | None, repo: str | None, fmt: str) -> int:
    store = _open(database_url)
    try:
        stats = FeedbackStore(store).rule_stats(repo)
    finally:
        store.close()
    by_repo: dict[str, dict] = {}
    for (name, rule), figures in stats.items():
        by_repo.setdefault(name, {})[rule] = figures
    if fmt == "json":
        out = {name: {rule: {**asdict(s), "acceptance": s.acceptance} for rule, s in sorted(rules.items())}
               for name, rules in sorted(by_repo.items())}
        sys.stdout.write(json.dumps({"repositories": out}, indent=2) + "\n")
    else:
        sys.stdout.write(stats_text(by_repo))
    return 0


def learnings(database_url: str | None, repo: str, remove: int | None, by: str) -> int:
    store = _open(database_url)
    try:
        feedback = FeedbackStore(store)
        if remove is not None:
            if not feedback.remove_learning(repo, remove, by):
                raise StoreError(f"no learning {remove} in {repo}")
            print(f"learning {remove} removed from {repo}")
            return 0
        items = feedback.learnings(repo)
    finally:
        store.close()
    for item in items:
        about = f" [{item.rule}]" if item.rule else ""
        print(f"{item.id:>5}  {item.date}  {item.author}{about}: {clean_text(item.text)}  {item.url}")
    if not items:
        print(f"no learnings for {repo}")
    return 0
