"""Reviewers' feedback: what became of each posted comment, `/dbreview ignore` per pull request, learnings.

Follows the rules dbreview enforces on migrations (checked by tests/app/test_feedback_store.py, which runs dbreview
on this migration's PostgreSQL SQL): three new tables and their indexes, nothing rewritten or locked on an
existing table, no foreign keys (rows are keyed by repository name), explicit constraint and index names, `text`
rather than `varchar(n)` (migration/new-table-types: a length is a rewrite to change; the code bounds lengths).

Revision ID: 0002_feedback
Revises: 0001_initial
Create Date: 2026-12-07
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0002_feedback"
down_revision = "0001_initial"
branch_labels = None
depends_on = None

BigId = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
Ts = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "feedback_comments",
        sa.Column("id", BigId, autoincrement=True, nullable=False),
        sa.Column("repo", sa.Text(), nullable=False),
        sa.Column("pr_number", sa.Integer(), nullable=False),
        sa.Column("fingerprint", sa.Text(), nullable=False),
        sa.Column("object_id", sa.Text(), nullable=False),
        sa.Column("rule", sa.Text(), nullable=False),
        sa.Column("path", sa.Text(), nullable=False),
        sa.Column("severity", sa.Text(), nullable=False),
        sa.Column("state", sa.Text(), nullable=False),
        sa.Column("how", sa.Text(), nullable=True),
        sa.Column("dismissed_by", sa.Text(), nullable=True),
        sa.Column("reason", sa.Text(), nullable=True),
        sa.Column("comment_id", sa.BigInteger(), nullable=True),
        sa.Column("thread_id", sa.Text(), nullable=True),
        sa.Column("url", sa.Text(), nullable=True),
        sa.Column("resolved", sa.Boolean(), nullable=False),
        sa.Column("thumbs_up", sa.Integer(), nullable=False),
        sa.Column("thumbs_down", sa.Integer(), nullable=False),
        sa.Column("thumbs_down_trusted", sa.Integer(), nullable=False),
        sa.Column("replies", sa.Integer(), nullable=False),
        sa.Column("posted_at", Ts, nullable=False),
        sa.Column("updated_at", Ts, nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_feedback_comments"),
        sa.UniqueConstraint("repo", "pr_number", "fingerprint", name="uq_feedback_comments_finding"),
    )
    op.create_index("ix_feedback_comments_repo_rule", "feedback_comments", ["repo", "rule"])
    op.create_index("ix_feedback_comments_repo_object", "feedback_comments", ["repo", "object_id"])

    op.create_table(
        "feedback_ignores",
        sa.Column("id", BigId, autoincrement=True, nullable=False),
        sa.Column("repo", sa.Text(), nullable=False),
        sa.Column("pr_number", sa.Integer(), nullable=False),
        sa.Column("rule", sa.Text(), nullable=True),
        sa.Column("fingerprint", sa.Text(), nullable=True),
        sa.Column("object_id", sa.Text(), nullable=True),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("login", sa.Text(), nullable=False),
        sa.Column("url", sa.Text(), nullable=False),
        sa.Column("created_at", Ts, nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_feedback_ignores"),
    )
    op.create_index("ix_feedback_ignores_repo_pr", "feedback_ignores", ["repo", "pr_number"])

    op.create_table(
        "learnings",
        sa.Column("id", BigId, autoincrement=True, nullable=False),
        sa.Column("repo", sa.Text(), nullable=False),
        sa.Column("text", sa.Text(), nullable=False),
        sa.Column("author", sa.Text(), nullable=False),
        sa.Column("url", sa.Text(), nullable=False),
        sa.Column("rule", sa.Text(), nullable=False),
        sa.Column("path", sa.Text(), nullable=False),
        sa.Column("created_at", Ts, nullable=False),
        sa.Column("removed_at", Ts, nullable=True),
        sa.Column("removed_by", sa.Text(), nullable=True),
        sa.PrimaryKeyConstraint("id", name="pk_learnings"),
        sa.UniqueConstraint("repo", "url", name="uq_learnings_repo_url"),
    )


def downgrade() -> None:
    for table in ("learnings", "feedback_ignores", "feedback_comments"):
        op.drop_table(table)
