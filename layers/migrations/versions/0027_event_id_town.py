"""``event_town``: case id → the town whose shard holds the case (issue 12, Citus).

Reads of one case by id (``/api/v1/events/{id}``, its timeline, photos, workflow steps) look
its filed town up here first and then name it, so that on Citus every query is routed to one
shard (the lookup is distributed by ``event_id``, layers/citus.py; the event tables by
``filed_town_code``). Filled from the existing cases; the app writes a row with every new case
(layers/events/models.py). See layers/events/event_town.py.

Revision ID: 0027_event_id_town
Revises: 0026_event_town
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0027_event_id_town"
down_revision = "0026_event_town"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "event_town",
        sa.Column("event_id", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("filed_town_code", sa.String(9), nullable=False),
        sa.PrimaryKeyConstraint("event_id"),
    )
    op.execute(
        "INSERT INTO event_town (event_id, filed_town_code) SELECT id, filed_town_code FROM event"
    )


def downgrade() -> None:
    op.drop_table("event_town")
