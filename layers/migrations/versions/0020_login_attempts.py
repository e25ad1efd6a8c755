"""Login throttling (issue 11): failed sign-ins per user name and client address, and the
audit of locks (layers/login_throttle.py).

Revision ID: 0020_login_attempts
Revises: 0019_merge
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0020_login_attempts"
down_revision = "0019_merge"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "login_attempt",
        sa.Column("key_kind", sa.String(10), primary_key=True),
        sa.Column("key", sa.String(100), primary_key=True),
        sa.Column("failures", sa.Integer(), nullable=False),
        sa.Column("last_failed_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("locked_until", sa.DateTime(timezone=True), nullable=True),
    )
    op.create_table(
        "auth_audit",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False, server_default=sa.func.now()),
        sa.Column("event", sa.String(20), nullable=False),
        sa.Column("key_kind", sa.String(10), nullable=False),
        sa.Column("key", sa.String(100), nullable=False),
        sa.Column("failures", sa.Integer(), nullable=False),
        sa.Column("locked_until", sa.DateTime(timezone=True), nullable=True),
        sa.Column("detail", sa.Text(), nullable=True),
    )


def downgrade() -> None:
    op.drop_table("auth_audit")
    op.drop_table("login_attempt")
