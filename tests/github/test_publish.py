"""Publishing a review to the fake GitHub over HTTP: the scenarios that break review bots in production."""

from __future__ import annotations

import difflib

import gh_trees as trees
import pytest
from gh_support import BOT_TOKEN, Env

from bot.change import Change, MemorySnapshot, parse_diff
from bot.config import Config
from bot.findings import Finding, Severity, Side
from bot.github.comments import SUMMARY_MARKER, fingerprint_of
from bot.github.pr import load_pull_request
from bot.github.publish import publish_review
from bot.github.run import review_pull_request
from bot.review import LlmUsage, Review

REPO = "acme/shop"
SCHEMA = "prisma/schema.prisma"


def _writes(env: Env) -> list[dict]:
    """Calls that change something (a GraphQL query is a POST that only reads)."""
    return [r for r in env.fake.requests if r["method"] in ("POST", "PATCH", "PUT", "DELETE")
            and not (r["path"] == "/graphql" and "mutation" not in str((r["json"] or {}).get("query", "")))]


def _summary_comments(env: Env) -> list[dict]:
    return [c for c in env.fake.issue_comments.values() if SUMMARY_MARKER in c["body"]]


@pytest.mark.usefixtures("fake_rules")
def test_first_review_posts_one_review_summary_and_check(gh: Env) -> None:
    gh.fake.open_pr(REPO, trees.BASE, trees.PUSH1)
    result = review_pull_request(gh.client(), REPO, 1)

    reviews = [r for r in gh.fake.requests if r["method"] == "POST" and r["path"].endswith("/pulls/1/reviews")]
    assert len(reviews) == 1
    payload = reviews[0]["json"]
    assert payload["event"] == "COMMENT"
    assert payload["commit_id"] == gh.fake.repos[REPO].pulls[1].head_sha
    by_rule = {fingerprint_of(c["body"]): c for c in payload["comments"]}
    assert len(by_rule) == 4 == len(result.posted)
    anchors = {(c["path"], c["line"], c["side"]) for c in payload["comments"]}
    schema_lines = trees.SCHEMA_PUSH1.splitlines()
    discount = schema_lines.index("  discount   Float") + 1
    assert (SCHEMA, discount, "RIGHT") in anchors
    # The removed field is commented on the deleted line of the old file.
    legacy_old = trees.SCHEMA_BASE.splitlines().index("  legacyCode String") + 1
    assert (SCHEMA, legacy_old, "LEFT") in anchors
    assert all("start_line" not in c for c in payload["comments"])
    assert all("<!-- dbreview:fp=" in c["body"] for c in payload["comments"])

    summaries = _summary_comments(gh)
    assert len(summaries) == 1
    assert "1 error to fix" in summaries[0]["body"]
    assert "erDiagram" in summaries[0]["body"] and "User ||--o{ Order" in summaries[0]["body"]
    runs = list(gh.fake.check_runs.values())
    assert len(runs) == 1 and runs[0]["name"] == "dbreview" and runs[0]["conclusion"] == "failure"
    # The old-side finding has no head line to annotate; the three others are annotations.
    assert len(runs[0]["_annotations"]) == 3
    assert result.conclusion == "failure" and not result.errors


@pytest.mark.usefixtures("fake_rules")
def test_second_push_posts_only_new_findings_and_retires_fixed_ones(gh: Env) -> None:
    gh.fake.open_pr(REPO, trees.BASE, trees.PUSH1)
    first = review_pull_request(gh.client(), REPO, 1)
    posted = {fingerprint_of(c["body"]): c for c in gh.fake.posted_comments(REPO, 1)}
    tax_fp = next(fp for fp, c in posted.items() if "Order.tax" in c["body"])
    drop_fp = next(fp for fp, c in posted.items() if "legacyCode" in c["body"] and "Dropping" in c["body"])
    discount_fp = next(fp for fp, c in posted.items() if "Order.discount" in c["body"])
    # A human answers the `tax` comment: that thread must be resolved, not deleted.
    gh.fake.reply(posted[tax_fp]["id"], "bob", "Good catch, switching to Decimal.")
    summary_id = first.summary_comment_id

    gh.fake.push(REPO, 1, trees.PUSH2)
    before = len(gh.fake.requests)
    second = review_pull_request(gh.client(), REPO, 1)

    new_reviews = [r for r in gh.fake.requests[before:] if r["method"] == "POST" and r["path"].endswith("/reviews")]
    assert len(new_reviews) == 1
    new_bodies = [c["body"] for c in new_reviews[0]["json"]["comments"]]
    assert len(new_bodies) == 1 and "Order.shipping" in new_bodies[0]
    assert discount_fp in second.already_posted
    # No finding has two comments.
    fps = [fingerprint_of(c["body"]) for c in gh.fake.posted_comments(REPO, 1) if not c["in_reply_to_id"]]
    assert len(fps) == len(set(fps))
    # Fixed without replies: deleted. Fixed with a reply: thread resolved, comments kept.
    assert posted[drop_fp]["id"] in second.deleted_comments
    assert posted[drop_fp]["id"] not in gh.fake.review_comments
    tax_thread = gh.fake.review_comments[posted[tax_fp]["id"]]["_thread"]
    assert gh.fake.threads[tax_thread]["resolved"] is True
    assert second.resolved_threads == [tax_thread]
    # The summary is edited in place.
    assert second.summary_comment_id == summary_id and len(_summary_comments(gh)) == 1
    assert "Order.shipping" not in _summary_comments(gh)[0]["body"] or "2 fixed" in _summary_comments(gh)[0]["body"]
    assert "2 fixed since the last review" in _summary_comments(gh)[0]["body"]
    assert second.conclusion == "success"  # the drop-column error is gone


@pytest.mark.usefixtures("fake_rules")
def test_rerun_on_same_head_posts_nothing_new(gh: Env) -> None:
    gh.fake.open_pr(REPO, trees.BASE, trees.PUSH1)
    review_pull_request(gh.client(), REPO, 1)
    before = len(gh.fake.requests)
    again = review_pull_request(gh.client(), REPO, 1)
    writes = [r for r in gh.fake.requests[before:] if r["method"] in ("POST", "PATCH", "DELETE")]
    assert not any(r["path"].endswith("/reviews") for r in writes)
    assert not any(r["method"] == "DELETE" for r in writes)
    assert len(again.already_posted) == 4 and not again.posted
    assert len(_summary_comments(gh)) == 1


@pytest.mark.usefixtures("fake_rules")
def test_pr_without_database_change_gets_nothing(gh: Env) -> None:
    gh.fake.open_pr(REPO, trees.BASE, trees.DOCS_ONLY)
    result = review_pull_request(gh.client(), REPO, 1)
    assert result.skipped
    assert _writes(gh) == []
    assert not gh.fake.issue_comments and not gh.fake.check_runs


def _wide_context_change(base: dict[str, str], head: dict[str, str], context: int) -> Change:
    """A Change whose diff has more context lines than GitHub's (like `git diff -U8`): its anchors can be wrong."""
    chunks = []
    for path in sorted(set(base) | set(head)):
        old, new = base.get(path), head.get(path)
        if old == new:
            continue
        chunks.append(f"diff --git a/{path} b/{path}\n")
        body = list(difflib.unified_diff((old or "").splitlines(True), (new or "").splitlines(True),
                                         "/dev/null" if old is None else f"a/{path}",
                                         "/dev/null" if new is None else f"b/{path}", n=context))
        chunks.extend(body)
    return Change(files=parse_diff("".join(chunks)), base=MemorySnapshot(base), head=MemorySnapshot(head))


def _finding(line: int, key: str, severity: Severity = Severity.WARNING, side: Side = Side.NEW,
             path: str = SCHEMA, end_line: int | None = None) -> Finding:
    return Finding("test/rule", severity, path, line, f"problem with {key}", key=key, side=side,
                   end_line=end_line, fingerprint=f"fp{abs(hash(key)) % 10**10:010d}")


def test_one_bad_anchor_does_not_lose_the_others(gh: Env) -> None:
    gh.fake.open_pr(REPO, trees.BASE, trees.PUSH1)
    client = gh.client()
    pr = load_pull_request(client, REPO, 1)
    change = _wide_context_change(trees.BASE, trees.PUSH1, context=8)
    lines = trees.SCHEMA_PUSH1.splitlines()
    discount = lines.index("  discount   Float") + 1
    tax = discount + 1
    far = discount - 7  # in the local -U8 hunk, outside GitHub's -U3 hunk
    findings = [_finding(discount, "Order.discount"), _finding(tax, "Order.tax"), _finding(far, "User.orders"),
                _finding(discount - 1, "Order.total", end_line=tax)]
    review = Review(findings=findings, has_database_surface=True, files={"schema": [SCHEMA]})
    result = publish_review(client, pr, review, Config(), change=change)

    posted = {fingerprint_of(c["body"]) for c in gh.fake.posted_comments(REPO, 1)}
    assert posted == {f.fingerprint for f in findings if f.key != "User.orders"}
    assert [(f.key, reason.startswith("GitHub rejected")) for f, reason in result.not_inlined] == \
        [("User.orders", True)]
    multi = next(c for c in gh.fake.posted_comments(REPO, 1) if "Order.total" in c["body"])
    assert (multi["start_line"], multi["line"]) == (discount - 1, tax)
    summary = _summary_comments(gh)[0]["body"]
    assert "Full text of the 1 finding without an inline comment" in summary
    assert "not inline: GitHub rejected the anchor" in summary


def test_findings_outside_the_diff_go_to_the_summary_without_a_422(gh: Env) -> None:
    gh.fake.open_pr(REPO, trees.BASE, trees.PUSH1)
    client = gh.client()
    pr = load_pull_request(client, REPO, 1)
    from bot.testing import change_from_trees

    change = change_from_trees(trees.BASE, trees.PUSH1)
    findings = [_finding(2, "datasource"), _finding(1, "service", path="src/orders.ts"),
                _finding(trees.SCHEMA_PUSH1.splitlines().index("  tax        Float") + 1, "Order.tax")]
    review = Review(findings=findings, has_database_surface=True, files={"schema": [SCHEMA]})
    result = publish_review(client, pr, review, Config(), change=change)
    assert not any(r.get("status") == 422 for r in gh.fake.requests)
    reasons = {f.key: reason for f, reason in result.not_inlined}
    assert reasons == {"datasource": "line 2 (new side) is outside the diff", "service": "file not changed in this PR"}
    assert len(result.posted) == 1


def test_stale_pending_review_of_ours_is_cleared_first(gh: Env) -> None:
    gh.fake.open_pr(REPO, trees.BASE, trees.PUSH1)
    client = gh.client()
    # A crashed earlier run left a PENDING review (no event): GitHub would now refuse any new review with 422.
    client.create_review(REPO, 1, {"body": "", "comments": []})
    pr = load_pull_request(client, REPO, 1)
    from bot.testing import change_from_trees

    change = change_from_trees(trees.BASE, trees.PUSH1)
    line = trees.SCHEMA_PUSH1.splitlines().index("  tax        Float") + 1
    result = publish_review(client, pr, Review(findings=[_finding(line, "Order.tax")], has_database_surface=True),
                            Config(), change=change)
    assert result.posted and not result.errors
    assert not any(r["state"] == "PENDING" for r in gh.fake.reviews.values())


def test_inline_limit_and_annotation_batches(gh: Env) -> None:
    gh.fake.open_pr(REPO, trees.BASE, trees.PUSH1)
    client = gh.client()
    pr = load_pull_request(client, REPO, 1)
    from bot.testing import change_from_trees

    change = change_from_trees(trees.BASE, trees.PUSH1)
    line = trees.SCHEMA_PUSH1.splitlines().index("  tax        Float") + 1
    findings = [_finding(line, f"k{i}", Severity.INFO) for i in range(120)]
    config = Config.model_validate({"review": {"max_inline_comments": 25, "inline_info": True}})
    result = publish_review(client, pr, Review(findings=findings, has_database_surface=True), config, change=change)
    assert len(result.posted) == 25
    assert sum(1 for _, reason in result.not_inlined if "over the limit of 25" in reason) == 95
    run = next(iter(gh.fake.check_runs.values()))
    assert len(run["_annotations"]) == 120
    patches = [r for r in gh.fake.requests if r["method"] == "PATCH" and "/check-runs/" in r["path"]]
    assert len(patches) == 2  # 50 on create, then 50 + 20
    assert run["conclusion"] == "success"


def test_huge_review_summary_stays_under_githubs_limit(gh: Env) -> None:
    gh.fake.open_pr(REPO, trees.BASE, trees.PUSH1)
    client = gh.client()
    pr = load_pull_request(client, REPO, 1)
    findings = [Finding("test/rule", Severity.WARNING, "src/orders.ts", 1, "x" * 380 + str(i), key=str(i),
                        fingerprint=f"f{i:08d}") for i in range(400)]
    result = publish_review(client, pr, Review(findings=findings, has_database_surface=True), Config(),
                            change=None)
    body = gh.fake.issue_comments[result.summary_comment_id]["body"]
    assert len(body) <= 65_000
    assert "more (every finding is in the `dbreview` check run)" in body


def test_request_changes_only_when_opted_in_and_dismissed_once_fixed(gh: Env) -> None:
    gh.fake.open_pr(REPO, trees.BASE, trees.PUSH1)
    client = gh.client()
    pr = load_pull_request(client, REPO, 1)
    from bot.testing import change_from_trees

    change = change_from_trees(trees.BASE, trees.PUSH1)
    line = trees.SCHEMA_PUSH1.splitlines().index("  tax        Float") + 1
    opted = Config.model_validate({"review": {"request_changes": True}})
    error = _finding(line, "Order.tax", Severity.ERROR)
    publish_review(client, pr, Review(findings=[error], has_database_surface=True), Config(), change=change)
    assert next(iter(gh.fake.reviews.values()))["state"] == "COMMENTED"  # not opted in
    gh.fake.reviews.clear()
    gh.fake.review_comments.clear()
    publish_review(client, pr, Review(findings=[error], has_database_surface=True), opted, change=change)
    assert [r["state"] for r in gh.fake.reviews.values()] == ["CHANGES_REQUESTED"]
    # An LLM "error" never requests changes.
    from bot.findings import Source

    llm_error = error.with_(source=Source.LLM, fingerprint="llm0000001", key="llm")
    publish_review(client, pr, Review(findings=[llm_error], has_database_surface=True), opted, change=change)
    states = [r["state"] for r in gh.fake.reviews.values()]
    assert "CHANGES_REQUESTED" not in states[1:] and "DISMISSED" in states  # the earlier one is dismissed


def test_llm_failure_gives_neutral_check_not_red(gh: Env) -> None:
    gh.fake.open_pr(REPO, trees.BASE, trees.PUSH1)
    client = gh.client()
    pr = load_pull_request(client, REPO, 1)
    review = Review(findings=[], has_database_surface=True, llm=LlmUsage(error="OverloadedError: 529"))
    result = publish_review(client, pr, review, Config(), change=None)
    run = gh.fake.check_runs[result.check_run_id]
    assert run["conclusion"] == "neutral"
    assert "could not finish" in run["output"]["title"] and "AI review failed" in run["output"]["title"]


def test_config_comes_from_the_base_branch(gh: Env, fake_rules: None) -> None:
    base = {**trees.BASE, ".dbreview.yml": "review:\n  max_inline_comments: 1\n"}
    head = {**trees.PUSH1, ".dbreview.yml": "review:\n  max_inline_comments: 50\nfail_on: never\n"}
    gh.fake.open_pr(REPO, base, head)
    result = review_pull_request(gh.client(BOT_TOKEN), REPO, 1)
    assert len(result.posted) == 1
    body = _summary_comments(gh)[0]["body"]
    assert "this PR changes .dbreview.yml; the review used the base branch's config" in body
    assert result.conclusion == "failure"  # the head's `fail_on: never` is not applied


def test_large_file_without_patch_is_diffed_from_contents(gh: Env, fake_rules: None) -> None:
    gh.fake.large_patch_bytes = 200  # GitHub omits `patch` for very large diffs
    gh.fake.open_pr(REPO, trees.BASE, trees.PUSH1)
    files = gh.client().list_pull_files(REPO, 1)
    assert any("patch" not in f for f in files if f["filename"] == SCHEMA)
    result = review_pull_request(gh.client(), REPO, 1)
    assert len(result.posted) == 4 and not result.not_inlined
    assert not any(r.get("status") == 422 for r in gh.fake.requests)


def test_many_files_are_read_across_pages(gh: Env, fake_rules: None) -> None:
    head = {**trees.PUSH1, **{f"docs/page{i:03}.md": f"page {i}\n" for i in range(230)}}
    gh.fake.open_pr(REPO, trees.BASE, head)
    result = review_pull_request(gh.client(), REPO, 1)
    pages = [r for r in gh.fake.requests if r["path"].endswith("/pulls/1/files")]
    assert len(pages) == 3  # 233 files at 100 per page, following Link rel="next"
    assert len(result.posted) == 4


def test_real_rule_findings_publish_without_a_single_422(gh: Env) -> None:
    """The real rule packs on a realistic change: every finding is inline or explained, GitHub accepts every anchor."""
    gh.fake.open_pr(REPO, trees.BASE, trees.PUSH1)
    result = review_pull_request(gh.client(), REPO, 1)
    review = result.review
    assert review is not None and review.findings
    assert not any(r.get("status") == 422 for r in gh.fake.requests)
    assert len(result.posted) + len(result.not_inlined) == len(review.findings)
    assert all(reason for _, reason in result.not_inlined)
    rules = {f.rule for f in review.findings}
    assert "migration/drop-column" in rules  # stable anchor points of the real rule packs
    summary = _summary_comments(gh)[0]["body"]
    assert "### Migration lock impact" in summary


@pytest.mark.usefixtures("fake_rules")
def test_superseded_run_posts_nothing(gh: Env) -> None:
    gh.fake.open_pr(REPO, trees.BASE, trees.PUSH1)
    result = review_pull_request(gh.client(), REPO, 1, should_continue=lambda: False)
    assert result.superseded and _writes(gh) == []
    assert result.review is not None and result.review.findings


@pytest.mark.usefixtures("fake_rules")
def test_comment_store_remembers_the_summary_comment(gh: Env) -> None:
    class Store:
        def __init__(self) -> None:
            self.data: dict[str, dict] = {}

        def get(self, key: str) -> dict | None:
            return self.data.get(key)

        def set(self, key: str, value: dict) -> None:
            self.data[key] = value

    store = Store()
    gh.fake.open_pr(REPO, trees.BASE, trees.PUSH1)
    first = review_pull_request(gh.client(), REPO, 1, comment_store=store)
    assert store.data[f"{REPO}#1"]["summary_comment_id"] == first.summary_comment_id
    gh.fake.push(REPO, 1, trees.PUSH2)
    before = len(gh.fake.requests)
    second = review_pull_request(gh.client(), REPO, 1, comment_store=store)
    assert second.summary_comment_id == first.summary_comment_id
    assert not any(r["path"].endswith("/issues/1/comments") for r in gh.fake.requests[before:])  # no listing


@pytest.mark.usefixtures("fake_rules")
def test_pr_that_no_longer_touches_the_database_retires_its_comments(gh: Env) -> None:
    gh.fake.open_pr(REPO, trees.BASE, trees.PUSH1)
    first = review_pull_request(gh.client(), REPO, 1)
    gh.fake.push(REPO, 1, trees.DOCS_ONLY)
    second = review_pull_request(gh.client(), REPO, 1)
    assert not second.skipped and len(second.deleted_comments) == 4
    assert gh.fake.posted_comments(REPO, 1) == []
    body = gh.fake.issue_comments[first.summary_comment_id]["body"]
    assert "no longer changes the Prisma schema" in body
    assert len(gh.fake.check_runs) == 1  # no check run for a change without database surface


@pytest.mark.usefixtures("fake_rules")
def test_unreadable_earlier_state_never_duplicates(gh: Env) -> None:
    gh.fake.open_pr(REPO, trees.BASE, trees.PUSH1)
    review_pull_request(gh.client(), REPO, 1)
    gh.fake.inject("POST", r"^/graphql$", 502, times=10)  # the review threads cannot be read
    again = review_pull_request(gh.client(), REPO, 1)
    assert len(gh.fake.posted_comments(REPO, 1)) == 4 and len(_summary_comments(gh)) == 1
    assert again.errors and "502" in again.errors[0]
    assert gh.fake.check_runs[again.check_run_id]["conclusion"] == "failure"  # the rule error still stands


@pytest.mark.usefixtures("fake_rules")
def test_missing_checks_permission_keeps_the_review(gh: Env) -> None:
    gh.fake.open_pr(REPO, trees.BASE, trees.PUSH1)
    gh.fake.inject("POST", r"/check-runs$", 403, message="Resource not accessible by integration")
    result = review_pull_request(gh.client(), REPO, 1)
    assert not result.read_only and len(result.posted) == 4 and result.summary_comment_id
    assert result.errors == ["this token may not create the check run (the workflow needs `checks: write`)"]


def test_oversized_finding_text_is_truncated_under_the_body_limit(gh: Env) -> None:
    gh.fake.open_pr(REPO, trees.BASE, trees.PUSH1)
    client = gh.client()
    pr = load_pull_request(client, REPO, 1)
    from bot.testing import change_from_trees

    line = trees.SCHEMA_PUSH1.splitlines().index("  tax        Float") + 1
    huge = _finding(line, "Order.tax").with_(message="Use Decimal. " + "x" * 80_000)
    result = publish_review(client, pr, Review(findings=[huge], has_database_surface=True), Config(),
                            change=change_from_trees(trees.BASE, trees.PUSH1))
    assert result.posted == [huge.fingerprint] and not result.errors
    body = gh.fake.posted_comments(REPO, 1)[0]["body"]
    assert len(body) <= 65_536 and body.rstrip().endswith(f"<!-- dbreview:fp={huge.fingerprint} -->")
    run = gh.fake.check_runs[result.check_run_id]
    assert len(run["output"]["summary"]) <= 65_535


def test_pending_review_that_cannot_be_cleared_does_not_loop(gh: Env) -> None:
    gh.fake.open_pr(REPO, trees.BASE, trees.PUSH1)
    client = gh.client()
    pr = load_pull_request(client, REPO, 1)
    from bot.testing import change_from_trees

    # GitHub keeps answering "one pending review" and the pending review cannot be deleted.
    gh.fake.inject("POST", r"/pulls/1/reviews$", 422, message="User can only have one pending review per pull request",
                   times=99)
    gh.fake.reviews[1] = {"id": 1, "user": {"login": "github-actions[bot]"}, "state": "PENDING", "body": "",
                          "_repo": REPO, "_pr": 1}
    gh.fake.inject("DELETE", r"/pulls/1/reviews/1$", 422, message="cannot delete", times=99)
    line = trees.SCHEMA_PUSH1.splitlines().index("  tax        Float") + 1
    result = publish_review(client, pr, Review(findings=[_finding(line, "Order.tax")], has_database_surface=True),
                            Config(), change=change_from_trees(trees.BASE, trees.PUSH1))
    posts = [r for r in gh.fake.requests if r["method"] == "POST" and r["path"].endswith("/pulls/1/reviews")]
    assert len(posts) == 2  # the first try, one retry after clearing again; then the finding goes to the summary
    assert [reason.startswith("GitHub rejected") for _, reason in result.not_inlined] == [True]


def test_info_and_preexisting_findings_stay_in_the_summary_by_default(gh: Env) -> None:
    gh.fake.open_pr(REPO, trees.BASE, trees.PUSH1)
    client = gh.client()
    pr = load_pull_request(client, REPO, 1)
    from bot.testing import change_from_trees

    change = change_from_trees(trees.BASE, trees.PUSH1)
    line = trees.SCHEMA_PUSH1.splitlines().index("  tax        Float") + 1
    info = _finding(line, "advice", Severity.INFO)
    warning = _finding(line, "risk", Severity.WARNING)
    old = _finding(line, "old", Severity.ERROR).with_(preexisting=True)
    review = Review(findings=[info, warning, old], has_database_surface=True)
    result = publish_review(client, pr, review, Config(), change=change)
    assert result.posted == [warning.fingerprint]
    reasons = {f.fingerprint: reason for f, reason in result.not_inlined}
    assert reasons == {info.fingerprint: "info: summary only", old.fingerprint: "already there before this change"}

    gh.fake.open_pr(REPO, trees.BASE, trees.PUSH1, number=2)
    pr2 = load_pull_request(client, REPO, 2)
    result = publish_review(client, pr2, review, Config.model_validate({"review": {"inline_info": True}}),
                            change=change)
    assert sorted(result.posted) == sorted([warning.fingerprint, info.fingerprint])
