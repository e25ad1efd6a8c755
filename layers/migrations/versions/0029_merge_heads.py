"""Merge of two migrations made side by side on 0026: the case lookup by id
(0027_event_id_town) and the lineage kind ``recoded_from`` (0028_lineage_recoded). No change
of its own.

Revision ID: 0029_merge_heads
Revises: 0027_event_id_town, 0028_lineage_recoded
"""

from __future__ import annotations

revision = "0029_merge_heads"
down_revision = ("0027_event_id_town", "0028_lineage_recoded")
branch_labels = None
depends_on = None


def upgrade() -> None:
    pass


def downgrade() -> None:
    pass
