"""Coverage runs record the raster pixel of the buffer method.

Revision ID: 0006_coverage_pixel
Revises: 0005_coverage
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0006_coverage_pixel"
down_revision = "0005_coverage"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column(
        "coverage_run", sa.Column("pixel_m", sa.Float(), server_default="5", nullable=False)
    )


def downgrade() -> None:
    op.drop_column("coverage_run", "pixel_m")
