"""`--format markdown`: the same summary the PR gets, for CI logs and job summaries."""

from __future__ import annotations

from bot.change import Change
from bot.review import Review


def render_markdown(review: Review, change: Change | None, fail_on: str = "error") -> str:
    from bot.report.summary import SummaryContext, render_summary

    # Outside a PR nothing is inlined: every finding belongs in the document.
    context = SummaryContext(
        not_inlined=[(f, "") for f in review.findings],
        fail_on=fail_on,
        base=review.base_label,
        head=review.head_label,
        change=change,
        marker=False,
    )
    return render_summary(review, context) + "\n"
