"""Merge the branches of sign-in throttling, event position accuracy, the dictionary's English
names and the stored daily statistics back into one history.

Revision ID: 0024_merge
Revises: 0020_login_attempts, 0021_event_accuracy, 0022_dictionary_en, 0023_device_daily
"""

from __future__ import annotations

revision = "0024_merge"
down_revision = (
    "0020_login_attempts",
    "0021_event_accuracy",
    "0022_dictionary_en",
    "0023_device_daily",
)
branch_labels = None
depends_on = None


def upgrade() -> None:
    pass


def downgrade() -> None:
    pass
