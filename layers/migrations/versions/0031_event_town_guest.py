"""``event_town_guest``: per town, the other filed towns that had a case in it (issue 12).

A town's KPI panel names its filed towns so that on Citus it reaches only their shards (one
for a town no case was rerouted into); see layers/events/town_guests.py. Filled from the
existing cases; the app writes a row when a case is filed in or rerouted into another town.

Revision ID: 0031_event_town_guest
Revises: 0030_draft_scope
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0031_event_town_guest"
down_revision = "0030_draft_scope"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "event_town_guest",
        sa.Column("town_code", sa.String(9), nullable=False),
        sa.Column("filed_town_code", sa.String(9), nullable=False),
        sa.PrimaryKeyConstraint("town_code", "filed_town_code"),
    )
    op.execute(
        "INSERT INTO event_town_guest (town_code, filed_town_code) "
        "SELECT DISTINCT town_code, filed_town_code FROM event "
        "WHERE town_code <> filed_town_code"
    )


def downgrade() -> None:
    op.drop_table("event_town_guest")
