"""Merge the three feature branches (people, tracks, events) back into one history.

Revision ID: 0004_merge
Revises: 0003_people, 0003_tracks, 0003_events
"""

from __future__ import annotations

revision = "0004_merge"
down_revision = ("0003_people", "0003_tracks", "0003_events")
branch_labels = None
depends_on = None


def upgrade() -> None:
    pass


def downgrade() -> None:
    pass
