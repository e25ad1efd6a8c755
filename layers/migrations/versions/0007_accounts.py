"""Accounts: users (a staff member or a system client) with a role, a scope and an argon2
password; server-side page sessions; API tokens belong to a user and record their last use.

Revision ID: 0007_accounts
Revises: 0006_coverage_pixel
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision = "0007_accounts"
down_revision = "0006_coverage_pixel"
branch_labels = None
depends_on = None

TZ = sa.DateTime(timezone=True)


def upgrade() -> None:
    role = postgresql.ENUM(name="api_role", create_type=False)  # exists since 0001
    op.create_table(
        "app_user",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("name", sa.String(100), nullable=False, unique=True),
        sa.Column("display_name", sa.String(200), nullable=False),
        sa.Column("role", role, nullable=False),
        sa.Column("scope_kind", sa.String(10), nullable=False, server_default="city"),
        sa.Column("scope_code", sa.String(15)),
        sa.Column("person_id", sa.Integer, sa.ForeignKey("person.id", ondelete="SET NULL")),
        sa.Column("password_hash", sa.String(200)),
        sa.Column("system", sa.Boolean, nullable=False, server_default="false"),
        sa.Column("created_at", TZ, nullable=False, server_default=sa.func.now()),
        sa.Column("last_login_at", TZ),
        sa.Column("disabled_at", TZ),
        sa.CheckConstraint(
            "(scope_kind IN ('city', 'grids') AND scope_code IS NULL)"
            " OR (scope_kind = 'town' AND scope_code ~ '^[0-9]{9}$')"
            " OR (scope_kind = 'village' AND scope_code ~ '^[0-9]{12}$')",
            name="app_user_scope",
        ),
    )
    op.add_column(
        "api_token",
        sa.Column("user_id", sa.Integer, sa.ForeignKey("app_user.id", ondelete="CASCADE")),
    )
    op.add_column("api_token", sa.Column("last_used_at", TZ))
    op.create_index("api_token_user", "api_token", ["user_id"])
    op.create_table(
        "user_session",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("id_hash", sa.String(64), nullable=False, unique=True),
        sa.Column("user_id", sa.Integer, sa.ForeignKey("app_user.id", ondelete="CASCADE")),
        sa.Column("token_id", sa.Integer, sa.ForeignKey("api_token.id", ondelete="CASCADE")),
        sa.Column("created_at", TZ, nullable=False, server_default=sa.func.now()),
        sa.Column("last_seen_at", TZ, nullable=False, server_default=sa.func.now()),
        sa.Column("expires_at", TZ, nullable=False),
        sa.Column("ended_at", TZ),
        sa.Column("user_agent", sa.String(300)),
        sa.CheckConstraint(
            "user_id IS NOT NULL OR token_id IS NOT NULL", name="user_session_owner"
        ),
    )
    op.create_index("user_session_user", "user_session", ["user_id"])
    op.create_index("user_session_token", "user_session", ["token_id"])


def downgrade() -> None:
    op.drop_table("user_session")
    op.drop_index("api_token_user", table_name="api_token")
    op.drop_column("api_token", "last_used_at")
    op.drop_column("api_token", "user_id")
    op.drop_table("app_user")
