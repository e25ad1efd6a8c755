"""Idempotency keys: a report or workflow action resent with the same key acts once.

One row per (caller, key) with the answer given the first time (layers/idempotency.py).

Revision ID: 0015_idempotency
Revises: 0006_coverage_pixel
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects.postgresql import JSONB

revision = "0015_idempotency"
down_revision = "0006_coverage_pixel"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "idempotency_key",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("owner", sa.String(40), nullable=False),
        sa.Column("key", sa.String(100), nullable=False),
        sa.Column("request", sa.String(300), nullable=False),
        sa.Column("status_code", sa.SmallInteger(), server_default="200", nullable=False),
        sa.Column("response", JSONB(), nullable=True),
        sa.Column(
            "created_at", sa.DateTime(timezone=True), server_default=sa.func.now(), nullable=False
        ),
        sa.UniqueConstraint("owner", "key", name="idempotency_key_owner_key"),
    )
    op.create_index("idempotency_key_created_at", "idempotency_key", ["created_at"])


def downgrade() -> None:
    op.drop_index("idempotency_key_created_at", table_name="idempotency_key")
    op.drop_table("idempotency_key")
