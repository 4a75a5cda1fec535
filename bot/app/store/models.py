"""Tables of the state store. The schema is created and changed only by the Alembic migrations in bot/app/migrations;
these models describe it for queries (a test checks both agree)."""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    DateTime,
    Float,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    TypeDecorator,
    UniqueConstraint,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

UTC = dt.UTC

# SQLite only autoincrements INTEGER PRIMARY KEY; PostgreSQL gets bigint identities.
BigId = BigInteger().with_variant(Integer(), "sqlite")


class UtcDateTime(TypeDecorator[dt.datetime]):
    """Aware UTC datetimes in Python on every backend (SQLite stores them naive, in UTC)."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: dt.datetime | None, dialect: Any) -> dt.datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            value = value.replace(tzinfo=UTC)
        value = value.astimezone(UTC)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: dt.datetime | None, dialect: Any) -> dt.datetime | None:
        if value is not None and value.tzinfo is None:
            value = value.replace(tzinfo=UTC)
        return value


def utcnow() -> dt.datetime:
    return dt.datetime.now(UTC)


class Base(DeclarativeBase):
    pass


class Delivery(Base):
    """One row per `X-GitHub-Delivery`: a redelivery finds its row and does nothing."""

    __tablename__ = "deliveries"
    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    event: Mapped[str] = mapped_column(String(64))
    action: Mapped[str] = mapped_column(String(64), default="")
    repo: Mapped[str] = mapped_column(String(200), default="")
    pr_number: Mapped[int | None] = mapped_column(Integer)
    installation_id: Mapped[int | None] = mapped_column(BigInteger)
    result: Mapped[str] = mapped_column(String(32))
    review_id: Mapped[int | None] = mapped_column(BigId)
    received_at: Mapped[dt.datetime] = mapped_column(UtcDateTime, default=utcnow)

    __table_args__ = (Index("ix_deliveries_received_at", "received_at"),)


class Review(Base):
    __tablename__ = "reviews"
    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    repo: Mapped[str] = mapped_column(String(200))
    pr_number: Mapped[int] = mapped_column(Integer)
    installation_id: Mapped[int | None] = mapped_column(BigInteger)
    head_sha: Mapped[str | None] = mapped_column(String(64))
    trigger: Mapped[str] = mapped_column(String(32))
    full: Mapped[bool] = mapped_column(Boolean, default=False)
    requested_by: Mapped[str | None] = mapped_column(String(100))
    delivery_id: Mapped[str | None] = mapped_column(String(64))
    # queued -> running -> done | superseded | failed (and back to queued for a retry)
    status: Mapped[str] = mapped_column(String(16))
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    worker: Mapped[str | None] = mapped_column(String(200))
    lease_until: Mapped[dt.datetime | None] = mapped_column(UtcDateTime)
    created_at: Mapped[dt.datetime] = mapped_column(UtcDateTime, default=utcnow)
    enqueued_at: Mapped[dt.datetime] = mapped_column(UtcDateTime, default=utcnow)
    started_at: Mapped[dt.datetime | None] = mapped_column(UtcDateTime)
    finished_at: Mapped[dt.datetime | None] = mapped_column(UtcDateTime)
    findings_total: Mapped[int | None] = mapped_column(Integer)
    counts: Mapped[dict[str, int] | None] = mapped_column(JSON)
    comments_posted: Mapped[int | None] = mapped_column(Integer)
    llm_model: Mapped[str | None] = mapped_column(String(100))
    llm_input_tokens: Mapped[int] = mapped_column(Integer, default=0)
    llm_output_tokens: Mapped[int] = mapped_column(Integer, default=0)
    llm_cost_usd: Mapped[float] = mapped_column(Float, default=0.0)
    error: Mapped[str | None] = mapped_column(Text)

    __table_args__ = (
        Index("ix_reviews_repo_pr_status", "repo", "pr_number", "status"),
        Index("ix_reviews_status_lease", "status", "lease_until"),
    )


class PostedComment(Base):
    """A comment we posted, by finding fingerprint, so a retried or later review never posts it twice."""

    __tablename__ = "posted_comments"
    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    repo: Mapped[str] = mapped_column(String(200))
    pr_number: Mapped[int] = mapped_column(Integer)
    fingerprint: Mapped[str] = mapped_column(String(128))
    comment_id: Mapped[int | None] = mapped_column(BigInteger)
    thread_id: Mapped[str | None] = mapped_column(String(200))
    review_id: Mapped[int | None] = mapped_column(BigId, ForeignKey("reviews.id", ondelete="SET NULL"))
    created_at: Mapped[dt.datetime] = mapped_column(UtcDateTime, default=utcnow)

    __table_args__ = (
        UniqueConstraint("repo", "pr_number", "fingerprint", name="uq_posted_comments_fingerprint"),
        Index("ix_posted_comments_review_id", "review_id"),
    )


class PrState(Base):
    __tablename__ = "pr_states"
    repo: Mapped[str] = mapped_column(String(200), primary_key=True)
    pr_number: Mapped[int] = mapped_column(Integer, primary_key=True)
    paused: Mapped[bool] = mapped_column(Boolean, default=False)
    head_sha: Mapped[str | None] = mapped_column(String(64))
    last_reviewed_sha: Mapped[str | None] = mapped_column(String(64))
    # The newest review asked for; any other running review of this PR is stale and must not post.
    latest_review_id: Mapped[int | None] = mapped_column(BigId)
    command_window_start: Mapped[dt.datetime | None] = mapped_column(UtcDateTime)
    command_count: Mapped[int] = mapped_column(Integer, default=0)
    updated_at: Mapped[dt.datetime] = mapped_column(UtcDateTime, default=utcnow)


class CommandDenial(Base):
    """Someone not allowed to run commands was told so once on this PR; later attempts get no reply."""

    __tablename__ = "command_denials"
    repo: Mapped[str] = mapped_column(String(200), primary_key=True)
    pr_number: Mapped[int] = mapped_column(Integer, primary_key=True)
    login: Mapped[str] = mapped_column(String(100), primary_key=True)
    created_at: Mapped[dt.datetime] = mapped_column(UtcDateTime, default=utcnow)


class Installation(Base):
    __tablename__ = "installations"
    id: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=False)
    account: Mapped[str] = mapped_column(String(200), default="")
    account_type: Mapped[str] = mapped_column(String(32), default="")
    # active | suspended | deleted
    status: Mapped[str] = mapped_column(String(16), default="active")
    repository_selection: Mapped[str] = mapped_column(String(16), default="")
    created_at: Mapped[dt.datetime] = mapped_column(UtcDateTime, default=utcnow)
    updated_at: Mapped[dt.datetime] = mapped_column(UtcDateTime, default=utcnow)


class InstallationRepo(Base):
    __tablename__ = "installation_repos"
    installation_id: Mapped[int] = mapped_column(
        BigInteger, ForeignKey("installations.id", ondelete="CASCADE"), primary_key=True
    )
    repo: Mapped[str] = mapped_column(String(200), primary_key=True)


class KeyValue(Base):
    """Small per-PR memory the publisher keeps between runs (summary comment id, check run id, last head)."""

    __tablename__ = "app_kv"
    key: Mapped[str] = mapped_column(String(300), primary_key=True)
    value: Mapped[dict[str, Any]] = mapped_column(JSON)
    updated_at: Mapped[dt.datetime] = mapped_column(UtcDateTime, default=utcnow)


class FeedbackComment(Base):
    """What became of one posted finding comment: open, fixed, or dismissed (how, by whom), with its reactions."""

    __tablename__ = "feedback_comments"
    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    repo: Mapped[str] = mapped_column(Text)
    pr_number: Mapped[int] = mapped_column(Integer)
    fingerprint: Mapped[str] = mapped_column(Text)
    # The finding's object (rule, file, key): the same code on another pull request has the same object id.
    object_id: Mapped[str] = mapped_column(Text)
    rule: Mapped[str] = mapped_column(Text)
    path: Mapped[str] = mapped_column(Text)
    severity: Mapped[str] = mapped_column(Text)
    # open | fixed | dismissed
    state: Mapped[str] = mapped_column(Text)
    # thumbs-down | resolved | ignore | suppressed
    how: Mapped[str | None] = mapped_column(Text)
    dismissed_by: Mapped[str | None] = mapped_column(Text)
    reason: Mapped[str | None] = mapped_column(Text)
    comment_id: Mapped[int | None] = mapped_column(BigInteger)
    thread_id: Mapped[str | None] = mapped_column(Text)
    url: Mapped[str | None] = mapped_column(Text)
    resolved: Mapped[bool] = mapped_column(Boolean, default=False)
    thumbs_up: Mapped[int] = mapped_column(Integer, default=0)
    thumbs_down: Mapped[int] = mapped_column(Integer, default=0)
    thumbs_down_trusted: Mapped[int] = mapped_column(Integer, default=0)
    replies: Mapped[int] = mapped_column(Integer, default=0)
    posted_at: Mapped[dt.datetime] = mapped_column(UtcDateTime, default=utcnow)
    updated_at: Mapped[dt.datetime] = mapped_column(UtcDateTime, default=utcnow)

    __table_args__ = (
        UniqueConstraint("repo", "pr_number", "fingerprint", name="uq_feedback_comments_finding"),
        Index("ix_feedback_comments_repo_rule", "repo", "rule"),
        Index("ix_feedback_comments_repo_object", "repo", "object_id"),
    )


class FeedbackIgnore(Base):
    """`/dbreview ignore` on a pull request: one finding (a thread reply) or a rule (a conversation comment)."""

    __tablename__ = "feedback_ignores"
    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    repo: Mapped[str] = mapped_column(Text)
    pr_number: Mapped[int] = mapped_column(Integer)
    rule: Mapped[str | None] = mapped_column(Text)
    fingerprint: Mapped[str | None] = mapped_column(Text)
    object_id: Mapped[str | None] = mapped_column(Text)
    reason: Mapped[str] = mapped_column(Text)
    login: Mapped[str] = mapped_column(Text)
    url: Mapped[str] = mapped_column(Text, default="")
    created_at: Mapped[dt.datetime] = mapped_column(UtcDateTime, default=utcnow)

    __table_args__ = (Index("ix_feedback_ignores_repo_pr", "repo", "pr_number"),)


class LearningRow(Base):
    """A convention a reviewer explained; `removed_at` keeps a removed one from coming back from its thread."""

    __tablename__ = "learnings"
    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    repo: Mapped[str] = mapped_column(Text)
    text: Mapped[str] = mapped_column(Text)
    author: Mapped[str] = mapped_column(Text)
    url: Mapped[str] = mapped_column(Text)
    rule: Mapped[str] = mapped_column(Text, default="")
    path: Mapped[str] = mapped_column(Text, default="")
    created_at: Mapped[dt.datetime] = mapped_column(UtcDateTime, default=utcnow)
    removed_at: Mapped[dt.datetime | None] = mapped_column(UtcDateTime)
    removed_by: Mapped[str | None] = mapped_column(Text)

    # The unique key starts with repo, so it also serves the per-repository listing.
    __table_args__ = (UniqueConstraint("repo", "url", name="uq_learnings_repo_url"),)
