"""Late fixes mark the past day they belong to, so its coverage is recomputed.

A phone that uploads yesterday's backlog today changes yesterday's coverage and duty
compliance. A statement-level trigger on ``position`` (with the statement's inserted rows as a
transition table, so every ingest path is covered: batch, Traccar/OsmAnd, OwnTracks, GPX, COPY
through the staging table) notes each (Asia/Shanghai day, device) of fixes older than today in
``coverage_stale``; ``layers.coverage.recompute_late`` recomputes the stored runs of those days
for the affected devices and grids only, then clears the notes. A duplicate that inserts nothing
notes nothing.

Revision ID: 0017_late_fixes
Revises: 0006_coverage_pixel
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0017_late_fixes"
down_revision = "0006_coverage_pixel"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "coverage_stale",
        sa.Column("day", sa.Date(), primary_key=True),
        sa.Column("device_id", sa.Integer(), primary_key=True),
        sa.Column("noted_at", sa.DateTime(timezone=True), server_default=sa.func.now()),
    )
    op.execute(
        """
        CREATE FUNCTION position_note_late() RETURNS trigger LANGUAGE plpgsql AS $$
        BEGIN
          INSERT INTO coverage_stale (day, device_id)
          SELECT DISTINCT (fix_time AT TIME ZONE 'Asia/Shanghai')::date, device_id
          FROM new_rows
          WHERE fix_time < (date_trunc('day', now() AT TIME ZONE 'Asia/Shanghai')
                            AT TIME ZONE 'Asia/Shanghai')
          ON CONFLICT DO NOTHING;
          RETURN NULL;
        END $$
        """
    )
    op.execute(
        "CREATE TRIGGER position_note_late AFTER INSERT ON position "
        "REFERENCING NEW TABLE AS new_rows FOR EACH STATEMENT "
        "EXECUTE FUNCTION position_note_late()"
    )


def downgrade() -> None:
    op.execute("DROP TRIGGER IF EXISTS position_note_late ON position")
    op.execute("DROP FUNCTION IF EXISTS position_note_late()")
    op.drop_table("coverage_stale")
