"""Feedback in the state store: the fate of every posted finding comment, `/dbreview ignore`, learnings.

One row per (repository, pull request, fingerprint) in `feedback_comments`, overwritten by each review with what
the pull request shows now, so figures are counts of rows, never of events, and a re-run never counts twice.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from dataclasses import dataclass

from sqlalchemy import case, func, select
from sqlalchemy.orm import Session

from bot.app.store.models import FeedbackComment, FeedbackIgnore, LearningRow, utcnow
from bot.app.store.store import Store
from bot.findings import Severity
from bot.github.feedback import Dismissal, How, Ignore, Outcome, RuleStats, State
from bot.learnings import Learning, clean_text


@dataclass(frozen=True)
class Posted:
    """A comment this run posted (its thread is read on the next run)."""

    fingerprint: str
    object_id: str
    rule: str
    path: str
    severity: str


def _parse_time(value: str) -> dt.datetime | None:
    if not value:
        return None
    try:
        parsed = dt.datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=dt.UTC)


class FeedbackStore:
    def __init__(self, store: Store) -> None:
        self.store = store

    # -- comments --------------------------------------------------------------------------------------------

    def record(self, repo: str, number: int, outcomes: Iterable[Outcome], posted: Iterable[Posted] = ()) -> None:
        outcomes, posted = list(outcomes), list(posted)

        def run(session: Session) -> None:
            now = utcnow()
            fps = {o.fingerprint for o in outcomes} | {p.fingerprint for p in posted}
            rows = {r.fingerprint: r for r in session.scalars(select(FeedbackComment).where(
                FeedbackComment.repo == repo, FeedbackComment.pr_number == number,
                FeedbackComment.fingerprint.in_(fps))).all()} if fps else {}

            def row_for(fp: str, obj: str, rule: str, path: str, severity: str) -> FeedbackComment:
                row = rows.get(fp)
                if row is None:
                    row = FeedbackComment(repo=repo, pr_number=number, fingerprint=fp, object_id=obj[:128],
                                          rule=rule[:200], path=path[:1000], severity=severity[:16],
                                          state=State.OPEN.value, resolved=False, thumbs_up=0, thumbs_down=0,
                                          thumbs_down_trusted=0, replies=0, posted_at=now, updated_at=now)
                    session.add(row)
                    rows[fp] = row
                return row

            for p in posted:
                row = row_for(p.fingerprint, p.object_id, p.rule, p.path, p.severity)
                if row.state != State.OPEN.value:  # posted again: a finding that came back is open again
                    row.state, row.how, row.dismissed_by, row.reason = State.OPEN.value, None, None, None
                row.updated_at = now
            for o in outcomes:
                row = row_for(o.fingerprint, o.object_id, o.rule, o.path, o.severity)
                row.state = o.state.value
                d = o.dismissal
                row.how = d.how.value if d else None
                row.dismissed_by = (d.by or None) if d else None
                row.reason = (clean_text(d.reason) or None) if d else None
                row.comment_id = o.comment_id if o.comment_id is not None else row.comment_id
                row.thread_id = o.thread_id or row.thread_id
                row.url = (o.url or row.url or "")[:500] or None
                row.resolved = o.resolved
                row.thumbs_up, row.thumbs_down = o.thumbs_up, o.thumbs_down
                row.thumbs_down_trusted, row.replies = o.thumbs_down_trusted, o.replies
                row.updated_at = now

        self.store._tx(run)

    def dismissals(self, repo: str, *, other_than: int | None = None) -> dict[str, Dismissal]:
        """Object id -> how it was dismissed, on the repository's pull requests (but `other_than`)."""
        with self.store._read() as session:
            query = select(FeedbackComment).where(FeedbackComment.repo == repo,
                                                  FeedbackComment.state == State.DISMISSED.value)
            if other_than is not None:
                query = query.where(FeedbackComment.pr_number != other_than)
            rows = session.scalars(query.order_by(FeedbackComment.updated_at)).all()
        out: dict[str, Dismissal] = {}
        for r in rows:
            try:
                how, severity = How(r.how or How.THUMBS_DOWN.value), Severity(r.severity)
            except ValueError:
                continue
            out[r.object_id] = Dismissal(how, r.dismissed_by or "", r.reason or "", r.url or "", r.pr_number,
                                         severity)
        return out

    def rule_stats(self, repo: str | None = None) -> dict[tuple[str, str], RuleStats]:
        """(repository, rule) -> figures; every repository when `repo` is None."""
        c = FeedbackComment
        with self.store._read() as session:
            query = select(
                c.repo, c.rule, func.count(),
                func.sum(case((c.state == State.FIXED.value, 1), else_=0)),
                func.sum(case((c.state == State.DISMISSED.value, 1), else_=0)),
                func.sum(c.thumbs_up), func.sum(c.thumbs_down),
                func.sum(case(((c.resolved.is_(True)) & (c.state != State.FIXED.value), 1), else_=0)),
            ).group_by(c.repo, c.rule)
            if repo is not None:
                query = query.where(c.repo == repo)
            rows = session.execute(query).all()
        return {(r[0], r[1]): RuleStats(r[1], int(r[2] or 0), int(r[3] or 0), int(r[4] or 0), int(r[5] or 0),
                                        int(r[6] or 0), int(r[7] or 0)) for r in rows}

    def comments(self, repo: str, number: int) -> list[FeedbackComment]:
        with self.store._read() as session:
            return list(session.scalars(select(FeedbackComment).where(
                FeedbackComment.repo == repo, FeedbackComment.pr_number == number).order_by(FeedbackComment.id)))

    # -- /dbreview ignore ------------------------------------------------------------------------------------

    def add_ignore(self, repo: str, number: int, ignore: Ignore) -> None:
        def run(session: Session) -> None:
            session.add(FeedbackIgnore(repo=repo, pr_number=number, rule=ignore.rule, fingerprint=ignore.fingerprint,
                                       object_id=ignore.object_id, reason=clean_text(ignore.reason),
                                       login=ignore.by[:100], url=ignore.url[:500], created_at=utcnow()))

        self.store._tx(run)

    def ignores(self, repo: str, number: int) -> list[Ignore]:
        with self.store._read() as session:
            rows = session.scalars(select(FeedbackIgnore).where(
                FeedbackIgnore.repo == repo, FeedbackIgnore.pr_number == number).order_by(FeedbackIgnore.id)).all()
        return [Ignore(r.reason, r.login, r.rule, r.fingerprint, r.object_id, r.url) for r in rows]

    # -- learnings -------------------------------------------------------------------------------------------

    def add_learnings(self, repo: str, learnings: Iterable[Learning]) -> int:
        """Keep new learnings (one per source comment; a removed one does not come back). Returns how many."""
        items = [item for item in learnings if item.url and item.text]

        def run(session: Session) -> int:
            if not items:
                return 0
            seen = set(session.scalars(select(LearningRow.url).where(
                LearningRow.repo == repo, LearningRow.url.in_({i.url[:500] for i in items}))).all())
            added = 0
            for item in items:
                url = item.url[:500]
                if url in seen:
                    continue
                seen.add(url)
                session.add(LearningRow(repo=repo, text=clean_text(item.text), author=item.author[:100], url=url,
                                        rule=item.rule[:200], path=item.path[:1000],
                                        created_at=_parse_time(item.created_at) or utcnow()))
                added += 1
            return added

        return self.store._tx(run)

    def learnings(self, repo: str) -> list[Learning]:
        with self.store._read() as session:
            rows = session.scalars(select(LearningRow).where(
                LearningRow.repo == repo, LearningRow.removed_at.is_(None)).order_by(LearningRow.id)).all()
        return [Learning(r.text, r.author, r.created_at.isoformat(timespec="seconds"), r.url, r.rule, r.path, r.id)
                for r in rows]

    def remove_learning(self, repo: str, learning_id: int, by: str) -> bool:
        def run(session: Session) -> bool:
            row = session.get(LearningRow, learning_id, with_for_update=True)
            if row is None or row.repo != repo or row.removed_at is not None:
                return False
            row.removed_at, row.removed_by = utcnow(), by[:100]
            return True

        return self.store._tx(run)
