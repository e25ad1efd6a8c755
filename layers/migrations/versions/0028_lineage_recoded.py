"""``grid_lineage.kind`` may be ``recoded_from`` (issue 10: a recode, same outline, new code,
was labelled ``moved_from``; gis/lineage.py).

Revision ID: 0028_lineage_recoded
Revises: 0026_event_town
"""

from __future__ import annotations

from alembic import op

revision = "0028_lineage_recoded"
down_revision = "0026_event_town"
branch_labels = None
depends_on = None

_OLD = "'same', 'reshaped', 'split_from', 'merged_into', 'moved_from', 'added', 'removed'"
_NEW = (
    "'same', 'reshaped', 'split_from', 'merged_into', 'moved_from', 'recoded_from', "
    "'added', 'removed'"
)


def upgrade() -> None:
    op.drop_constraint("grid_lineage_kind_valid", "grid_lineage", type_="check")
    op.create_check_constraint("grid_lineage_kind_valid", "grid_lineage", f"kind IN ({_NEW})")


def downgrade() -> None:
    op.execute("UPDATE grid_lineage SET kind = 'moved_from' WHERE kind = 'recoded_from'")
    op.drop_constraint("grid_lineage_kind_valid", "grid_lineage", type_="check")
    op.create_check_constraint("grid_lineage_kind_valid", "grid_lineage", f"kind IN ({_OLD})")
