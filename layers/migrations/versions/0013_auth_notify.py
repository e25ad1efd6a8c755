"""Tell every server process at once when who-may-do-what changes (PostgreSQL NOTIFY).

Server processes cache tokens and page sessions for up to a minute (api/authcache.py). These
statement-level triggers send ``NOTIFY gridgis_auth`` (delivered on commit) whenever a token is
revoked or re-assigned, a user's role, scope, person, password or state changes, or a session
ends, from any client (API, CLI or SQL), so every process drops its cache before the next
request. Timestamps written on use (``last_used_at``, ``last_seen_at``, ``last_login_at``) are
not listed: they do not change what a caller may do.

Revision ID: 0013_auth_notify
Revises: 0007_accounts
"""

from __future__ import annotations

from alembic import op

revision = "0013_auth_notify"
down_revision = "0007_accounts"
branch_labels = None
depends_on = None

TRIGGERS = {
    "api_token": "revoked_at, role, user_id, person_id, token_hash",
    "app_user": "name, role, scope_kind, scope_code, person_id, password_hash, disabled_at",
    "user_session": "ended_at, expires_at, user_id, token_id",
}


def upgrade() -> None:
    op.execute(
        """
        CREATE FUNCTION gridgis_notify_auth() RETURNS trigger LANGUAGE plpgsql AS $$
        BEGIN
          PERFORM pg_notify('gridgis_auth', TG_TABLE_NAME);
          RETURN NULL;
        END $$
        """
    )
    for table, columns in TRIGGERS.items():
        op.execute(
            f"CREATE TRIGGER {table}_notify_auth AFTER UPDATE OF {columns} OR DELETE "
            f"ON {table} FOR EACH STATEMENT EXECUTE FUNCTION gridgis_notify_auth()"
        )


def downgrade() -> None:
    for table in TRIGGERS:
        op.execute(f"DROP TRIGGER IF EXISTS {table}_notify_auth ON {table}")
    op.execute("DROP FUNCTION IF EXISTS gridgis_notify_auth()")
