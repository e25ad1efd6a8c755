"""The working calendar as data (holidays and make-up working days per year), and what an
Open311 request carried besides the case (media_url, attribute[...], address and placement).

Revision ID: 0011_calendar
Revises: 0006_coverage_pixel

The tables start empty; :func:`layers.calendar_tables.seed_from_package` fills the years the
``chinese_calendar`` package knows at start-up (idempotent: a year already stored is kept).
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects.postgresql import JSONB

revision = "0011_calendar"
down_revision = "0006_coverage_pixel"
branch_labels = None
depends_on = None

TZ = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "calendar_year",
        sa.Column("year", sa.SmallInteger, primary_key=True),
        sa.Column("source", sa.String(200), nullable=False),
        sa.Column("loaded_at", TZ, server_default=sa.func.now(), nullable=False),
        sa.Column("loaded_by", sa.String(200)),
        sa.CheckConstraint("year BETWEEN 1949 AND 2200", name="calendar_year_range"),
    )
    op.create_table(
        "calendar_day",
        sa.Column("day", sa.Date, primary_key=True),
        sa.Column(
            "year",
            sa.SmallInteger,
            sa.ForeignKey("calendar_year.year", ondelete="CASCADE"),
            nullable=False,
            index=True,
        ),
        sa.Column("kind", sa.String(10), nullable=False),
        sa.Column("name", sa.String(100), nullable=False, server_default=""),
        sa.CheckConstraint("kind IN ('holiday', 'workday')", name="calendar_day_kind"),
        sa.CheckConstraint("extract(year FROM day) = year", name="calendar_day_in_year"),
    )
    op.create_table(
        "open311_request",
        sa.Column(
            "event_id",
            sa.Integer,
            sa.ForeignKey("event.id", ondelete="CASCADE"),
            primary_key=True,
        ),
        sa.Column("jurisdiction_id", sa.String(100)),
        sa.Column("media_url", sa.Text),
        sa.Column("attributes", JSONB, server_default="{}", nullable=False),
        sa.Column("address_id", sa.String(100)),
        sa.Column("placement", JSONB),
        sa.Column("email", sa.String(200)),
        sa.Column("phone", sa.String(50)),
        sa.Column("device_id", sa.String(100)),
        sa.Column("account_id", sa.String(100)),
    )


def downgrade() -> None:
    op.drop_table("open311_request")
    op.drop_table("calendar_day")
    op.drop_table("calendar_year")
