"""Tell every server process at once when the holiday tables change (NOTIFY).

Server processes keep the working calendar in memory (layers.calendar_tables). These
statement-level triggers send ``NOTIFY gridgis_calendar`` (delivered on commit) on any insert,
update, delete or truncate of ``calendar_year`` or ``calendar_day``, from any client (the API,
``gridgis calendar import``, psql), so that no process computes deadlines, the
``calendar_unconfirmed`` flags or ``/health`` from a table that is no longer stored.

Revision ID: 0025_calendar_notify
Revises: 0024_merge
"""

from __future__ import annotations

from alembic import op

revision = "0025_calendar_notify"
down_revision = "0024_merge"
branch_labels = None
depends_on = None

TABLES = ("calendar_year", "calendar_day")


def upgrade() -> None:
    op.execute(
        """
        CREATE FUNCTION gridgis_notify_calendar() RETURNS trigger LANGUAGE plpgsql AS $$
        BEGIN
          PERFORM pg_notify('gridgis_calendar', TG_TABLE_NAME);
          RETURN NULL;
        END $$
        """
    )
    for table in TABLES:
        op.execute(
            f"CREATE TRIGGER {table}_notify AFTER INSERT OR UPDATE OR DELETE ON {table} "
            "FOR EACH STATEMENT EXECUTE FUNCTION gridgis_notify_calendar()"
        )
        op.execute(
            f"CREATE TRIGGER {table}_notify_truncate AFTER TRUNCATE ON {table} "
            "FOR EACH STATEMENT EXECUTE FUNCTION gridgis_notify_calendar()"
        )


def downgrade() -> None:
    for table in TABLES:
        op.execute(f"DROP TRIGGER IF EXISTS {table}_notify_truncate ON {table}")
        op.execute(f"DROP TRIGGER IF EXISTS {table}_notify ON {table}")
    op.execute("DROP FUNCTION IF EXISTS gridgis_notify_calendar()")
