"""Enforcement zones, households with access audit, market entities and immutable draws.

Revision ID: 0003_people
Revises: 0002
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from geoalchemy2 import Geometry
from sqlalchemy.dialects import postgresql

revision = "0003_people"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "enforcement_zone",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("code", sa.String(length=20), nullable=False),
        sa.Column("name", sa.String(length=100), nullable=False),
        sa.Column("town_code", sa.String(length=9), nullable=False),
        sa.Column("squad_id", sa.Integer(), nullable=True),
        sa.ForeignKeyConstraint(["squad_id"], ["team.id"], ondelete="SET NULL"),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("code"),
    )
    op.create_index(
        op.f("ix_enforcement_zone_town_code"), "enforcement_zone", ["town_code"], unique=False
    )
    op.create_table(
        "zone_member",
        sa.Column("zone_id", sa.Integer(), nullable=False),
        sa.Column("grid_code", sa.String(length=15), nullable=False),
        sa.CheckConstraint("grid_code ~ '^[0-9]{9}([0-9]{3}){0,2}$'", name="zone_member_code_form"),
        sa.ForeignKeyConstraint(["zone_id"], ["enforcement_zone.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("zone_id", "grid_code"),
    )
    op.create_table(
        "household",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("code", sa.String(length=32), nullable=False),
        sa.Column("address", sa.String(length=300), nullable=False),
        sa.Column(
            "geom",
            Geometry(geometry_type="POINT", srid=4490, spatial_index=False),
            nullable=False,
        ),
        sa.Column("grid_code", sa.String(length=15), nullable=False),
        sa.Column("generation_id", sa.Integer(), nullable=False),
        sa.Column("h3_cell", sa.BigInteger(), nullable=False),
        sa.Column("head_name", sa.String(length=100), nullable=False),
        sa.Column("head_id_number", sa.String(length=18), nullable=True),
        sa.Column("phone", sa.String(length=20), nullable=True),
        sa.Column("members_count", sa.SmallInteger(), nullable=False),
        sa.Column("members", postgresql.JSONB(astext_type=sa.Text()), nullable=True),
        sa.Column("low_income", sa.Boolean(), server_default="false", nullable=False),
        sa.Column("extreme_poverty", sa.Boolean(), server_default="false", nullable=False),
        sa.Column("disability", sa.Boolean(), server_default="false", nullable=False),
        sa.Column("elderly_alone", sa.Boolean(), server_default="false", nullable=False),
        sa.Column("last_visit", sa.Date(), nullable=True),
        sa.CheckConstraint("members_count >= 1", name="household_members_count"),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("code"),
    )
    op.create_index("household_geom_gist", "household", ["geom"], postgresql_using="gist")
    op.create_index(op.f("ix_household_grid_code"), "household", ["grid_code"], unique=False)
    op.create_index(op.f("ix_household_h3_cell"), "household", ["h3_cell"], unique=False)
    op.create_table(
        "household_access",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column(
            "at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False
        ),
        sa.Column("token_id", sa.Integer(), nullable=True),
        sa.Column("person_id", sa.Integer(), nullable=True),
        sa.Column("household_id", sa.Integer(), nullable=False),
        sa.Column("grid_code", sa.String(length=15), nullable=False),
        sa.Column("purpose", sa.String(length=100), nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index(op.f("ix_household_access_household_id"), "household_access", ["household_id"])
    op.create_index(op.f("ix_household_access_person_id"), "household_access", ["person_id"])
    op.create_table(
        "market_entity",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("credit_code", sa.String(length=18), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("category", sa.String(length=40), nullable=False),
        sa.Column("address", sa.String(length=300), nullable=True),
        sa.Column(
            "geom",
            Geometry(geometry_type="POINT", srid=4490, spatial_index=False),
            nullable=False,
        ),
        sa.Column("grid_code", sa.String(length=15), nullable=False),
        sa.Column("active", sa.Boolean(), server_default="true", nullable=False),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("credit_code"),
    )
    op.create_index(op.f("ix_market_entity_category"), "market_entity", ["category"])
    op.create_index(op.f("ix_market_entity_grid_code"), "market_entity", ["grid_code"])
    op.create_table(
        "inspection_draw",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column(
            "created_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.Column("created_by", sa.String(length=200), nullable=False),
        sa.Column("title", sa.String(length=200), nullable=False),
        sa.Column("seed", sa.Text(), nullable=False),
        sa.Column("inputs", postgresql.JSONB(astext_type=sa.Text()), nullable=False),
        sa.Column("result", postgresql.JSONB(astext_type=sa.Text()), nullable=False),
        sa.Column("digest", sa.String(length=64), nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )
    # A recorded draw is evidence: the database itself refuses to change or remove it.
    op.execute(
        """
        CREATE FUNCTION inspection_draw_immutable() RETURNS trigger LANGUAGE plpgsql AS $$
        BEGIN
          RAISE EXCEPTION 'inspection draws are immutable; record a new draw instead'
            USING ERRCODE = 'integrity_constraint_violation';
        END $$;
        CREATE TRIGGER inspection_draw_immutable BEFORE UPDATE OR DELETE ON inspection_draw
          FOR EACH ROW EXECUTE FUNCTION inspection_draw_immutable();
        """
    )


def downgrade() -> None:
    op.execute("DROP TRIGGER IF EXISTS inspection_draw_immutable ON inspection_draw")
    op.execute("DROP FUNCTION IF EXISTS inspection_draw_immutable()")
    op.drop_table("inspection_draw")
    op.drop_table("market_entity")
    op.drop_table("household_access")
    op.drop_table("household")
    op.drop_table("zone_member")
    op.drop_table("enforcement_zone")
