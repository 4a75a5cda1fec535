"""Initial state store: deliveries, reviews, posted comments, PR state, command denials, installations, kv.

Follows the rules dbreview enforces on migrations: every foreign key column is the leading column of an index,
new tables only (nothing rewritten or locked on an existing table), explicit constraint and index names.

Revision ID: 0001_initial
Revises:
Create Date: 2026-11-24
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0001_initial"
down_revision = None
branch_labels = None
depends_on = None

BigId = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
Ts = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "deliveries",
        sa.Column("id", sa.String(64), nullable=False),
        sa.Column("event", sa.String(64), nullable=False),
        sa.Column("action", sa.String(64), nullable=False),
        sa.Column("repo", sa.String(200), nullable=False),
        sa.Column("pr_number", sa.Integer(), nullable=True),
        sa.Column("installation_id", sa.BigInteger(), nullable=True),
        sa.Column("result", sa.String(32), nullable=False),
        sa.Column("review_id", BigId, nullable=True),
        sa.Column("received_at", Ts, nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_deliveries"),
    )
    op.create_index("ix_deliveries_received_at", "deliveries", ["received_at"])

    op.create_table(
        "reviews",
        sa.Column("id", BigId, autoincrement=True, nullable=False),
        sa.Column("repo", sa.String(200), nullable=False),
        sa.Column("pr_number", sa.Integer(), nullable=False),
        sa.Column("installation_id", sa.BigInteger(), nullable=True),
        sa.Column("head_sha", sa.String(64), nullable=True),
        sa.Column("trigger", sa.String(32), nullable=False),
        sa.Column("full", sa.Boolean(), nullable=False),
        sa.Column("requested_by", sa.String(100), nullable=True),
        sa.Column("delivery_id", sa.String(64), nullable=True),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("worker", sa.String(200), nullable=True),
        sa.Column("lease_until", Ts, nullable=True),
        sa.Column("created_at", Ts, nullable=False),
        sa.Column("enqueued_at", Ts, nullable=False),
        sa.Column("started_at", Ts, nullable=True),
        sa.Column("finished_at", Ts, nullable=True),
        sa.Column("findings_total", sa.Integer(), nullable=True),
        sa.Column("counts", sa.JSON(), nullable=True),
        sa.Column("comments_posted", sa.Integer(), nullable=True),
        sa.Column("llm_model", sa.String(100), nullable=True),
        sa.Column("llm_input_tokens", sa.Integer(), nullable=False),
        sa.Column("llm_output_tokens", sa.Integer(), nullable=False),
        sa.Column("llm_cost_usd", sa.Float(), nullable=False),
        sa.Column("error", sa.Text(), nullable=True),
        sa.PrimaryKeyConstraint("id", name="pk_reviews"),
    )
    op.create_index("ix_reviews_repo_pr_status", "reviews", ["repo", "pr_number", "status"])
    op.create_index("ix_reviews_status_lease", "reviews", ["status", "lease_until"])

    op.create_table(
        "posted_comments",
        sa.Column("id", BigId, autoincrement=True, nullable=False),
        sa.Column("repo", sa.String(200), nullable=False),
        sa.Column("pr_number", sa.Integer(), nullable=False),
        sa.Column("fingerprint", sa.String(128), nullable=False),
        sa.Column("comment_id", sa.BigInteger(), nullable=True),
        sa.Column("thread_id", sa.String(200), nullable=True),
        sa.Column("review_id", BigId, nullable=True),
        sa.Column("created_at", Ts, nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_posted_comments"),
        sa.ForeignKeyConstraint(
            ["review_id"], ["reviews.id"], name="fk_posted_comments_review_id", ondelete="SET NULL"
        ),
        sa.UniqueConstraint("repo", "pr_number", "fingerprint", name="uq_posted_comments_fingerprint"),
    )
    op.create_index("ix_posted_comments_review_id", "posted_comments", ["review_id"])

    op.create_table(
        "pr_states",
        sa.Column("repo", sa.String(200), nullable=False),
        sa.Column("pr_number", sa.Integer(), nullable=False),
        sa.Column("paused", sa.Boolean(), nullable=False),
        sa.Column("head_sha", sa.String(64), nullable=True),
        sa.Column("last_reviewed_sha", sa.String(64), nullable=True),
        sa.Column("latest_review_id", BigId, nullable=True),
        sa.Column("command_window_start", Ts, nullable=True),
        sa.Column("command_count", sa.Integer(), nullable=False),
        sa.Column("updated_at", Ts, nullable=False),
        sa.PrimaryKeyConstraint("repo", "pr_number", name="pk_pr_states"),
    )

    op.create_table(
        "command_denials",
        sa.Column("repo", sa.String(200), nullable=False),
        sa.Column("pr_number", sa.Integer(), nullable=False),
        sa.Column("login", sa.String(100), nullable=False),
        sa.Column("created_at", Ts, nullable=False),
        sa.PrimaryKeyConstraint("repo", "pr_number", "login", name="pk_command_denials"),
    )

    op.create_table(
        "installations",
        sa.Column("id", sa.BigInteger(), autoincrement=False, nullable=False),
        sa.Column("account", sa.String(200), nullable=False),
        sa.Column("account_type", sa.String(32), nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("repository_selection", sa.String(16), nullable=False),
        sa.Column("created_at", Ts, nullable=False),
        sa.Column("updated_at", Ts, nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_installations"),
    )

    # The composite primary key starts with installation_id, so it doubles as the foreign key's index.
    op.create_table(
        "installation_repos",
        sa.Column("installation_id", sa.BigInteger(), nullable=False),
        sa.Column("repo", sa.String(200), nullable=False),
        sa.PrimaryKeyConstraint("installation_id", "repo", name="pk_installation_repos"),
        sa.ForeignKeyConstraint(
            ["installation_id"], ["installations.id"], name="fk_installation_repos_installation_id",
            ondelete="CASCADE",
        ),
    )


    op.create_table(
        "app_kv",
        sa.Column("key", sa.String(300), nullable=False),
        sa.Column("value", sa.JSON(), nullable=False),
        sa.Column("updated_at", Ts, nullable=False),
        sa.PrimaryKeyConstraint("key", name="pk_app_kv"),
    )


def downgrade() -> None:
    for table in ("app_kv", "installation_repos", "installations", "command_denials", "pr_states", "posted_comments",
                  "reviews", "deliveries"):
        op.drop_table(table)
