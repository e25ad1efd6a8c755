"""Planners' review of generations: submitted/approved states, effective time, who made a
draft from what, a version for optimistic locking, and the review log (generation_review).

Revision ID: 0009_planning_review
Revises: 0006_coverage_pixel
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0009_planning_review"
down_revision = "0006_coverage_pixel"
branch_labels = None
depends_on = None


def upgrade() -> None:
    # New enum values may not be used in the transaction that adds them, so the constraint
    # below is written with the old values only.
    op.execute("ALTER TYPE generation_status ADD VALUE IF NOT EXISTS 'submitted'")
    op.execute("ALTER TYPE generation_status ADD VALUE IF NOT EXISTS 'approved'")
    op.drop_constraint("generation_activated_iff_published", "generation", type_="check")
    op.create_check_constraint(
        "generation_activated_iff_published",
        "generation",
        "(status IN ('active', 'retired')) = (activated_at IS NOT NULL)",
    )
    op.add_column("generation", sa.Column("effective_at", sa.DateTime(timezone=True)))
    op.add_column(
        "generation",
        sa.Column(
            "created_from",
            sa.Integer(),
            sa.ForeignKey("generation.id", ondelete="SET NULL", name="generation_created_from_fk"),
        ),
    )
    op.add_column("generation", sa.Column("created_by", sa.String(200)))
    op.add_column(
        "generation", sa.Column("version", sa.Integer(), server_default="1", nullable=False)
    )
    op.create_table(
        "generation_review",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column(
            "generation_id",
            sa.Integer(),
            sa.ForeignKey("generation.id", ondelete="CASCADE"),
            nullable=False,
            index=True,
        ),
        sa.Column("action", sa.String(20), nullable=False),
        sa.Column("from_status", sa.String(20)),
        sa.Column("to_status", sa.String(20)),
        sa.Column("actor", sa.String(200), nullable=False),
        sa.Column("actor_token_id", sa.Integer()),
        sa.Column("actor_role", sa.String(20), nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column(
            "at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False
        ),
        sa.Column("effective_at", sa.DateTime(timezone=True)),
        sa.Column("details", sa.dialects.postgresql.JSONB()),
        sa.CheckConstraint(
            "action IN ('create', 'edit', 'submit', 'approve', 'reject', 'withdraw', "
            "'schedule', 'publish', 'rollback')",
            name="generation_review_action_known",
        ),
    )


def downgrade() -> None:
    op.drop_table("generation_review")
    op.drop_column("generation", "version")
    op.drop_column("generation", "created_by")
    op.drop_column("generation", "created_from")
    op.drop_column("generation", "effective_at")
    op.drop_constraint("generation_activated_iff_published", "generation", type_="check")
    op.create_check_constraint(
        "generation_activated_iff_published",
        "generation",
        "(status = 'draft') = (activated_at IS NULL)",
    )
    # Enum values cannot be dropped in PostgreSQL; submitted/approved rows must be gone first.
