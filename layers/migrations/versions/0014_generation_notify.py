"""Tell every server process at once when the generation in force changes (NOTIFY).

Server processes keep the active generation between publications (layers.grids.ACTIVE_CACHE).
This statement-level trigger sends ``NOTIFY gridgis_generation`` (delivered on commit) when a
generation is created, deleted, or its status, activation, retirement or scheduled effective
time changes, from any client, so no process answers with a generation that is no longer in
force.

Revision ID: 0014_generation_notify
Revises: 0013_auth_notify, 0009_planning_review
"""

from __future__ import annotations

from alembic import op

revision = "0014_generation_notify"
down_revision = ("0013_auth_notify", "0009_planning_review")
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.execute(
        """
        CREATE FUNCTION gridgis_notify_generation() RETURNS trigger LANGUAGE plpgsql AS $$
        BEGIN
          PERFORM pg_notify('gridgis_generation', TG_OP);
          RETURN NULL;
        END $$
        """
    )
    op.execute(
        "CREATE TRIGGER generation_notify AFTER INSERT OR DELETE OR UPDATE OF status, "
        "activated_at, retired_at, effective_at ON generation "
        "FOR EACH STATEMENT EXECUTE FUNCTION gridgis_notify_generation()"
    )


def downgrade() -> None:
    op.execute("DROP TRIGGER IF EXISTS generation_notify ON generation")
    op.execute("DROP FUNCTION IF EXISTS gridgis_notify_generation()")
