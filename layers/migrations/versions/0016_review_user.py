"""Review steps record the account that made them (the four-eyes rule compares accounts, not
tokens: one planner may hold several tokens).

Revision ID: 0016_review_user
Revises: 0009_planning_review
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0016_review_user"
down_revision = "0009_planning_review"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("generation_review", sa.Column("actor_user_id", sa.Integer()))


def downgrade() -> None:
    op.drop_column("generation_review", "actor_user_id")
