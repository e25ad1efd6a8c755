"""The accuracy of the phone's position an event was reported at (issue 13).

``event.location_accuracy_m``: the radius in metres (68 %, the Geolocation API's ``accuracy``)
of the GPS fix the reporter's phone placed the event with; NULL when the point was picked on a
map, placed by an address, or sent without it. The dispatcher sees it in the event's popup
(a point ±150 m away may be in the next grid).

Revision ID: 0021_event_accuracy
Revises: 0019_merge
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0021_event_accuracy"
down_revision = "0019_merge"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("event", sa.Column("location_accuracy_m", sa.Double(), nullable=True))
    op.create_check_constraint(
        "event_location_accuracy_m_positive",
        "event",
        "location_accuracy_m IS NULL OR location_accuracy_m >= 0",
    )


def downgrade() -> None:
    op.drop_constraint("event_location_accuracy_m_positive", "event", type_="check")
    op.drop_column("event", "location_accuracy_m")
