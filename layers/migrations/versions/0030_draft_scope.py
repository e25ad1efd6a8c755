"""``generation.owner_scope``: the scope of the planner who made a draft (issue 11: a town's
planner renamed, submitted, approved and published another town's unedited draft). Written when
a draft is copied or imported (layers/planning/scope.py :func:`claim_draft`): ``city``,
``town:CODE``, ``village:CODE`` or ``user:ID`` (a planner scoped to their own grids). NULL (drafts
made before, or by the OS user on the command line) is the city's: only city-wide planners and
admins change it.

Revision ID: 0030_draft_scope
Revises: 0029_merge_heads
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0030_draft_scope"
down_revision = "0029_merge_heads"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("generation", sa.Column("owner_scope", sa.String(40), nullable=True))


def downgrade() -> None:
    op.drop_column("generation", "owner_scope")
