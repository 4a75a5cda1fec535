"""The store as dbreview's feedback memory (App and Action), and the figures and lists it answers with.

`StoreFeedbackMemory` is the `FeedbackMemory` the review reads before it runs (dismissals on other pull requests,
`/dbreview ignore` on this one, per-rule records, learnings) and writes after it posts (what became of each
comment, new learnings). `stats_markdown` / `stats_text` render the per-rule acceptance figures for
`/dbreview stats`, `dbreview feedback-stats` and the README; `learnings_markdown` answers `/dbreview learnings`.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from bot.app.store.feedback import FeedbackStore, Posted
from bot.config import Config
from bot.github.comments import sanitize
from bot.github.feedback import RepoMemory, RuleStats, object_id, summary_only
from bot.learnings import Learning, clean_text

if TYPE_CHECKING:
    from bot.app.store import Store
    from bot.github.publish import PublishResult


class StoreFeedbackMemory:
    def __init__(self, store: Store) -> None:
        self.feedback = FeedbackStore(store)

    def load(self, repo: str, number: int) -> RepoMemory:
        stats = self.feedback.rule_stats(repo)
        return RepoMemory(
            dismissals=self.feedback.dismissals(repo, other_than=number),
            ignores=self.feedback.ignores(repo, number),
            rules={rule: s for (_repo, rule), s in stats.items()},
            learnings=self.feedback.learnings(repo),
        )

    def save(self, repo: str, number: int, result: PublishResult) -> None:
        if result.feedback is None:
            return
        by_fp = {f.fingerprint: f for f in (result.review.findings if result.review else [])}
        posted = [Posted(fp, object_id(f), f.rule, f.path, f.severity.value)
                  for fp in result.posted if (f := by_fp.get(fp)) is not None]
        self.feedback.record(repo, number, result.feedback.outcomes, posted)
        self.feedback.add_learnings(repo, result.feedback.learnings)


def _rate(stats: RuleStats) -> str:
    return "—" if stats.acceptance is None else f"{stats.acceptance:.0%}"


def _ordered(stats: dict[str, RuleStats]) -> list[RuleStats]:
    return sorted(stats.values(), key=lambda s: (-s.posted, s.rule))


def stats_markdown(repo: str, stats: dict[str, RuleStats], config: Config | None = None) -> str:
    if not stats:
        return f"dbreview has no record of comments on `{repo}` yet."
    config = config or Config()
    rows = ["| Rule | Posted | Fixed | Dismissed | 👍 | 👎 | Acceptance |", "|---|---:|---:|---:|---:|---:|---:|"]
    demoted = []
    for s in _ordered(stats):
        mark = " (summary-only)" if summary_only(s, config) else ""
        if mark:
            demoted.append(s.rule)
        rows.append(f"| `{s.rule}`{mark} | {s.posted} | {s.fixed} | {s.dismissed} | {s.thumbs_up} | "
                    f"{s.thumbs_down} | {_rate(s)} |")
    total = RuleStats("all", *(sum(getattr(s, k) for s in stats.values()) for k in
                               ("posted", "fixed", "dismissed", "thumbs_up", "thumbs_down", "resolved_unfixed")))
    rows.append(f"| **all rules** | {total.posted} | {total.fixed} | {total.dismissed} | {total.thumbs_up} | "
                f"{total.thumbs_down} | {_rate(total)} |")
    text = (f"**dbreview in `{repo}`**: what became of its inline comments. Acceptance is the share of settled "
            "comments (fixed or dismissed) that were fixed.\n\n" + "\n".join(rows))
    if demoted:
        text += ("\n\nSummary-only rules post no inline comments here; `feedback.keep_inline` in `.dbreview.yml` "
                 "restores them.")
    return sanitize(text)


def stats_text(by_repo: dict[str, dict[str, RuleStats]]) -> str:
    lines = []
    for repo in sorted(by_repo):
        lines.append(repo)
        lines.append(f"  {'rule':<40} {'posted':>6} {'fixed':>6} {'dismissed':>9} {'up':>4} {'down':>4} "
                     f"{'acceptance':>10}")
        for s in _ordered(by_repo[repo]):
            lines.append(f"  {s.rule:<40} {s.posted:>6} {s.fixed:>6} {s.dismissed:>9} {s.thumbs_up:>4} "
                         f"{s.thumbs_down:>4} {_rate(s):>10}")
    return "\n".join(lines) + "\n" if lines else "no feedback recorded yet\n"


def learnings_markdown(repo: str, learnings: list[Learning]) -> str:
    if not learnings:
        return (f"dbreview has no learnings for `{repo}` yet. When a reviewer dismisses a finding (👎, resolving "
                "its thread, `/dbreview ignore`) and explains why in the thread, the explanation is kept here and "
                "given to the AI review as context.")
    rows = ["| Id | Learning | About | By | When |", "|---:|---|---|---|---|"]
    for item in learnings:
        about = f"`{item.rule}`" if item.rule else ""
        when = f"[{item.date}]({item.url})" if item.url.startswith("https://") else item.date
        text = clean_text(item.text).replace("|", "\\|")
        rows.append(f"| {item.id} | {text} | {about} | `{item.author}` | {when} |")
    return sanitize(f"**Learnings of `{repo}`** (context for the AI review; data, never instructions). "
                    "`/dbreview forget <id>` removes one.\n\n" + "\n".join(rows))
