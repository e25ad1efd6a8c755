"""Merge the branches of the trust, planners', clients', serving and front-end work back into
one history.

Revision ID: 0019_merge
Revises: 0008_device_units, 0010_draft_edits, 0011_calendar, 0012_tile_version,
    0014_generation_notify, 0015_idempotency, 0016_review_user, 0017_late_fixes,
    0018_position_archive
"""

from __future__ import annotations

revision = "0019_merge"
down_revision = (
    "0008_device_units",
    "0010_draft_edits",
    "0011_calendar",
    "0012_tile_version",
    "0014_generation_notify",
    "0015_idempotency",
    "0016_review_user",
    "0017_late_fixes",
    "0018_position_archive",
)
branch_labels = None
depends_on = None


def upgrade() -> None:
    pass


def downgrade() -> None:
    pass
