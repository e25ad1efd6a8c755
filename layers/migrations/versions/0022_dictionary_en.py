"""English names in the event dictionary (``name_en`` of classes and subclasses), filled for
the seed's codes where still empty, so English pages and ``lang=en`` API answers never show
Chinese class or subclass names.

Revision ID: 0022_dictionary_en
Revises: 0019_merge
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0022_dictionary_en"
down_revision = "0019_merge"
branch_labels = None
depends_on = None


def upgrade() -> None:
    from layers.events.dictionary import CLASS_NAMES_EN, SUBCLASS_NAMES_EN

    for table, names in (("event_class", CLASS_NAMES_EN), ("event_subclass", SUBCLASS_NAMES_EN)):
        op.add_column(table, sa.Column("name_en", sa.String(100)))
        # Bound parameters; a name a dispatcher already set is kept.
        op.get_bind().execute(
            sa.text(f"UPDATE {table} SET name_en = :en WHERE code = :code AND name_en IS NULL"),
            [{"code": code, "en": en} for code, en in names.items()],
        )


def downgrade() -> None:
    op.drop_column("event_subclass", "name_en")
    op.drop_column("event_class", "name_en")
