"""Archived monthly position partitions (GeoParquet files; layers/archive.py).

Revision ID: 0018_position_archive
Revises: 0006_coverage_pixel
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0018_position_archive"
down_revision = "0006_coverage_pixel"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "position_archive",
        sa.Column("partition", sa.String(40), primary_key=True),
        sa.Column("month_start", sa.DateTime(timezone=True), nullable=False),
        sa.Column("month_end", sa.DateTime(timezone=True), nullable=False),
        sa.Column("path", sa.String(500), nullable=False),
        sa.Column("rows", sa.Integer(), nullable=False),
        sa.Column("sha256", sa.String(64), nullable=False),
        sa.Column("archived_at", sa.DateTime(timezone=True), nullable=False),
    )


def downgrade() -> None:
    op.drop_table("position_archive")
