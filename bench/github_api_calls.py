"""How many GitHub API calls one review costs: first push, second push, re-run, a PR without database change, and
a re-run after reviewers answered (👎 from a maintainer and from an outsider, a reply, a resolved thread).

    python bench/github_api_calls.py

Runs the real publishing code against the fake GitHub (tests/fakes/github_server.py) on a loopback port with the
real rule packs, on the sample change in tests/github/gh_trees.py. Prints reads and writes per run; writes are what
GitHub's secondary rate limits count (80 content-creating requests per minute). A GraphQL query (review threads with
their replies and reactions) is a read; a GraphQL mutation (resolve a thread) is a write.
"""

from __future__ import annotations

import sys
import time
from collections import Counter
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT), str(ROOT / "tests"), str(ROOT / "tests" / "github")]

import gh_trees as trees  # noqa: E402
from fakes.github_server import FakeGitHub, RunningServer  # noqa: E402

from bot.github.auth import StaticToken  # noqa: E402
from bot.github.client import GitHubClient  # noqa: E402
from bot.github.run import review_pull_request  # noqa: E402

REPO = "acme/shop"


def _graphql_query(request: dict) -> bool:
    query = str((request.get("json") or {}).get("query", ""))
    return request["path"] == "/graphql" and not query.lstrip().startswith("mutation")


def main() -> None:
    fake = FakeGitHub()
    fake.add_token("ghs_bench", "github-actions[bot]", type="Bot")
    server = RunningServer(fake).start()
    client = GitHubClient(StaticToken("ghs_bench"), server.url, write_interval=0)
    fake.open_pr(REPO, trees.BASE, trees.PUSH1)
    fake.open_pr(REPO, trees.BASE, trees.DOCS_ONLY, number=2)
    fake.grant(REPO, "maya", "MEMBER", "write")
    runs = [("first review", 1, None), ("second push", 1, trees.PUSH2), ("re-run, same head", 1, None),
            ("PR without database change", 2, None), ("re-run after 👎, reply, resolve", 1, "feedback")]
    print(f"{'run':<32} {'reads':>5} {'writes':>6} {'posted':>6} {'kept':>4} {'retired':>7} {'seconds':>7}")
    try:
        for label, number, push in runs:
            if push == "feedback":
                roots = [c for c in fake.posted_comments(REPO, number) if not c["in_reply_to_id"]]
                fake.react(roots[0]["id"], "maya", "-1")  # a maintainer whose role no comment shows
                fake.react(roots[0]["id"], "otto", "-1")  # an outsider
                fake.reply(roots[-1]["id"], "maya", "Kept on purpose: this table stays under 1,000 rows.")
                fake.resolve(fake.thread_of(roots[-1]["id"]), "maya")
            elif push is not None:
                fake.push(REPO, number, push)
            start = len(fake.requests)
            t0 = time.perf_counter()
            result = review_pull_request(client, REPO, number)
            elapsed = time.perf_counter() - t0
            kinds = Counter("read" if r["method"] == "GET" or _graphql_query(r) else "write"
                            for r in fake.requests[start:])
            retired = len(result.resolved_threads) + len(result.deleted_comments)
            print(f"{label:<32} {kinds['read']:>5} {kinds['write']:>6} {len(result.posted):>6} "
                  f"{len(result.already_posted):>4} {retired:>7} {elapsed:>7.2f}")
    finally:
        server.stop()


if __name__ == "__main__":
    main()
