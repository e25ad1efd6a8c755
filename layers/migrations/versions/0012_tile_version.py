"""Vector tiles: ``generation.content_version``, raised by the database on every write to the
generation's grids, so cached tiles of a draft are never served after an edit.

Every way of changing grid rows (the planners' edit API, a draft copied or imported, a COPY,
plain SQL in psql) runs the same statement-level triggers on ``grid``; they add one to the
``content_version`` of every generation whose rows the statement inserted, updated or deleted
(transition tables list those rows). The tile cache (layers/tiles.py) keys tiles by
(generation id, content_version), so the first tile request after the commit of an edit
computes the tile again. ``draft_version.edit_version`` (migration 0010) is the planners'
optimistic lock and moves only through their API; this counter moves with the data itself.

Statement-level (not row-level) triggers: a COPY of 1,846 grids raises the version once, not
1,846 times. PostgreSQL allows transition tables only on single-event triggers, hence three.

Revision ID: 0012_tile_version
Revises: 0006_coverage_pixel
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0012_tile_version"
down_revision = "0006_coverage_pixel"
branch_labels = None
depends_on = None

_FUNCTION = """
CREATE FUNCTION grid_bump_content_version() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    -- The generations touched by this statement; a generation deleted by the same statement
    -- (ON DELETE CASCADE from generation) is simply not found any more.
    IF TG_OP = 'INSERT' THEN
        UPDATE generation SET content_version = content_version + 1
        WHERE id IN (SELECT DISTINCT generation_id FROM new_rows);
    ELSIF TG_OP = 'DELETE' THEN
        UPDATE generation SET content_version = content_version + 1
        WHERE id IN (SELECT DISTINCT generation_id FROM old_rows);
    ELSE
        UPDATE generation SET content_version = content_version + 1
        WHERE id IN (SELECT generation_id FROM new_rows UNION SELECT generation_id FROM old_rows);
    END IF;
    RETURN NULL;
END
$$
"""


def upgrade() -> None:
    op.add_column(
        "generation",
        sa.Column("content_version", sa.BigInteger(), server_default="0", nullable=False),
    )
    op.execute(_FUNCTION)
    for event, tables in (
        ("INSERT", "NEW TABLE AS new_rows"),
        ("UPDATE", "OLD TABLE AS old_rows NEW TABLE AS new_rows"),
        ("DELETE", "OLD TABLE AS old_rows"),
    ):
        op.execute(
            f"CREATE TRIGGER grid_content_version_{event.lower()} AFTER {event} ON grid "
            f"REFERENCING {tables} FOR EACH STATEMENT "
            "EXECUTE FUNCTION grid_bump_content_version()"
        )


def downgrade() -> None:
    for event in ("insert", "update", "delete"):
        op.execute(f"DROP TRIGGER IF EXISTS grid_content_version_{event} ON grid")
    op.execute("DROP FUNCTION IF EXISTS grid_bump_content_version()")
    op.drop_column("generation", "content_version")
