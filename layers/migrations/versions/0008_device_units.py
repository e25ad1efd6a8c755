"""Devices record the unit of the speed their client sends (OsmAnd protocol ``speed``).

``kn`` (knots, Traccar Client; the default), ``mps`` (the OsmAnd app) or ``kmh``.

Revision ID: 0008_device_units
Revises: 0006_coverage_pixel
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0008_device_units"
down_revision = "0006_coverage_pixel"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column(
        "device", sa.Column("speed_unit", sa.String(4), server_default="kn", nullable=False)
    )
    op.create_check_constraint("device_speed_unit", "device", "speed_unit IN ('kn', 'mps', 'kmh')")


def downgrade() -> None:
    op.drop_constraint("device_speed_unit", "device", type_="check")
    op.drop_column("device", "speed_unit")
