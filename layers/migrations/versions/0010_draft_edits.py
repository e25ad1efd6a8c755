"""Draft editing: the edit log with undo/redo (optimistic locking uses ``generation.version``
of migration 0009) and the old -> new grid lineage stored with a generation.

Revision ID: 0010_draft_edits
Revises: 0006_coverage_pixel
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision = "0010_draft_edits"
down_revision = "0006_coverage_pixel"
branch_labels = None
depends_on = None


def _generation_fk() -> sa.ForeignKey:
    return sa.ForeignKey("generation.id", ondelete="CASCADE")


def upgrade() -> None:
    op.create_table(
        "draft_edit",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("generation_id", sa.Integer(), _generation_fk(), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("op", sa.String(20), nullable=False),
        sa.Column("params", postgresql.JSONB(), nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("actor", sa.String(200), nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), server_default=sa.func.now(), nullable=False),
        sa.Column("before", postgresql.JSONB(), nullable=False),
        sa.Column("after", postgresql.JSONB(), nullable=False),
        sa.Column("state", sa.String(10), server_default="done", nullable=False),
        sa.Column("undone_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("undone_by", sa.String(200), nullable=True),
        sa.CheckConstraint(
            "state IN ('done', 'undone', 'discarded')", name="draft_edit_state_valid"
        ),
    )
    op.create_index("draft_edit_generation", "draft_edit", ["generation_id", "id"])
    op.create_table(
        "grid_lineage",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("new_generation_id", sa.Integer(), _generation_fk(), nullable=False),
        sa.Column("old_generation_id", sa.Integer(), _generation_fk(), nullable=False),
        sa.Column("level", sa.SmallInteger(), nullable=False),
        sa.Column("old_code", sa.String(15), nullable=True),
        sa.Column("new_code", sa.String(15), nullable=True),
        sa.Column("kind", sa.String(12), nullable=False),
        sa.Column("overlap_m2", sa.Float(), nullable=False),
        sa.Column("share_of_old", sa.Float(), nullable=False),
        sa.Column("share_of_new", sa.Float(), nullable=False),
        sa.CheckConstraint(
            "kind IN ('same', 'reshaped', 'split_from', 'merged_into', 'moved_from', "
            "'added', 'removed')",
            name="grid_lineage_kind_valid",
        ),
    )
    op.create_index(
        "grid_lineage_generations", "grid_lineage", ["new_generation_id", "old_generation_id"]
    )
    op.create_index("grid_lineage_old_code", "grid_lineage", ["old_code"])
    op.create_index("grid_lineage_new_code", "grid_lineage", ["new_code"])


def downgrade() -> None:
    op.drop_table("grid_lineage")
    op.drop_table("draft_edit")
