"""Patrol coverage runs: per window and parameters, per L3 grid, per visit and per device.

Revision ID: 0005_coverage
Revises: 0004_merge
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0005_coverage"
down_revision = "0004_merge"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "coverage_run",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("day", sa.Date(), nullable=False),
        sa.Column("shift", sa.String(11), server_default="", nullable=False),
        sa.Column("window_start", sa.DateTime(timezone=True), nullable=False),
        sa.Column("window_end", sa.DateTime(timezone=True), nullable=False),
        sa.Column(
            "generation_id",
            sa.Integer(),
            sa.ForeignKey("generation.id", ondelete="CASCADE"),
            nullable=False,
        ),
        sa.Column("resolution", sa.Integer(), nullable=False),
        sa.Column("distance_m", sa.Float(), nullable=False),
        sa.Column("max_gap_s", sa.Float(), nullable=False),
        sa.Column("metric_srid", sa.Integer(), nullable=False),
        sa.Column(
            "computed_at", sa.DateTime(timezone=True), server_default=sa.func.now(), nullable=False
        ),
        sa.UniqueConstraint(
            "day",
            "shift",
            "generation_id",
            "resolution",
            "distance_m",
            "max_gap_s",
            name="coverage_run_unique",
        ),
    )
    # Runs are looked up by window (day, shift); the unique index above serves that prefix.
    run_fk = sa.ForeignKey("coverage_run.id", ondelete="CASCADE")
    op.create_table(
        "coverage_grid",
        sa.Column("run_id", sa.Integer(), run_fk, primary_key=True),
        sa.Column("grid_code", sa.String(15), primary_key=True),
        sa.Column("cells", sa.Integer(), nullable=False),
        sa.Column("covered_cells", sa.Integer(), nullable=False),
        sa.Column("area_m2", sa.Float(), nullable=False),
        sa.Column("covered_area_m2", sa.Float(), nullable=False),
        sa.Column("blind_cells", sa.ARRAY(sa.String(16)), nullable=False),
    )
    op.create_table(
        "coverage_visit",
        sa.Column(
            "run_id",
            sa.Integer(),
            sa.ForeignKey("coverage_run.id", ondelete="CASCADE"),
            primary_key=True,
        ),
        sa.Column("grid_code", sa.String(15), primary_key=True),
        sa.Column("device_id", sa.Integer(), primary_key=True),
        sa.Column("metres", sa.Float(), nullable=False),
        sa.Column("minutes", sa.Float(), nullable=False),
        sa.Column("cells", sa.Integer(), nullable=False),
    )
    op.create_table(
        "coverage_device",
        sa.Column(
            "run_id",
            sa.Integer(),
            sa.ForeignKey("coverage_run.id", ondelete="CASCADE"),
            primary_key=True,
        ),
        sa.Column("device_id", sa.Integer(), primary_key=True),
        sa.Column("fixes", sa.Integer(), nullable=False),
        sa.Column("tracked_s", sa.Float(), nullable=False),
        sa.Column("silences", sa.Integer(), nullable=False),
        sa.Column("first_fix", sa.DateTime(timezone=True)),
        sa.Column("last_fix", sa.DateTime(timezone=True)),
    )


def downgrade() -> None:
    for name in ("coverage_device", "coverage_visit", "coverage_grid", "coverage_run"):
        op.drop_table(name)
