"""The town a case's rows live with: ``filed_town_code`` on the event tables (issue 12, Citus).

``event.filed_town_code`` is the town (level-1 grid code, 9 digits) of the grid the case was
filed in; it never changes (a dispatcher's reroute changes ``town_code``, not this). The
case's log, photos and Open311 request carry the same value. On Citus these four tables are
distributed by it (co-located, layers/citus.py): a case and all its rows are on one shard, and
the KPIs per town/village/grid group on the workers. Citus refuses to change a distribution
column's value, hence a column of its own instead of ``town_code``. On single-node PostGIS the
column is only stored. Existing cases get their current ``town_code``.

Revision ID: 0026_event_town
Revises: 0025_calendar_notify
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0026_event_town"
down_revision = "0025_calendar_notify"
branch_labels = None
depends_on = None

CHILDREN = ("event_log", "event_photo", "open311_request")


def upgrade() -> None:
    op.add_column("event", sa.Column("filed_town_code", sa.String(9)))
    op.execute("UPDATE event SET filed_town_code = town_code")
    op.alter_column("event", "filed_town_code", nullable=False)
    for table in CHILDREN:
        op.add_column(table, sa.Column("filed_town_code", sa.String(9)))
        # event_log refuses UPDATE (append-only trigger of 0003): lifted for this backfill only
        if table == "event_log":
            op.execute("ALTER TABLE event_log DISABLE TRIGGER event_log_no_update")
        op.execute(
            f"UPDATE {table} c SET filed_town_code = e.filed_town_code FROM event e "
            "WHERE e.id = c.event_id"
        )
        if table == "event_log":
            op.execute("ALTER TABLE event_log ENABLE TRIGGER event_log_no_update")
        op.alter_column(table, "filed_town_code", nullable=False)


def downgrade() -> None:
    for table in (*CHILDREN, "event"):
        op.drop_column(table, "filed_town_code")
