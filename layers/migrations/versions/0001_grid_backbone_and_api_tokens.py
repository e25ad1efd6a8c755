"""Grid backbone (generations, grids, subdivided parts) and API tokens.

Revision ID: 0001
Revises:
Create Date: 2026-11-23 16:47:56.984898
"""

from __future__ import annotations

import geoalchemy2
import sqlalchemy as sa
from alembic import op

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    # PostGIS must exist before any geometry column; IF NOT EXISTS keeps a pre-installed one.
    op.execute("CREATE EXTENSION IF NOT EXISTS postgis")
    op.create_table(
        "api_token",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column(
            "role",
            sa.Enum("viewer", "dispatcher", "officer", "planner", "admin", name="api_role"),
            nullable=False,
        ),
        sa.Column("token_hash", sa.String(length=64), nullable=False),
        sa.Column(
            "created_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.Column("revoked_at", sa.DateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("token_hash"),
    )
    op.create_table(
        "generation",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column(
            "status",
            sa.Enum("draft", "active", "retired", name="generation_status"),
            nullable=False,
        ),
        sa.Column("note", sa.Text(), nullable=True),
        sa.Column(
            "created_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.Column("activated_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("retired_at", sa.DateTime(timezone=True), nullable=True),
        sa.CheckConstraint(
            "(status = 'draft') = (activated_at IS NULL)", name="generation_activated_iff_published"
        ),
        sa.CheckConstraint(
            "(status = 'retired') = (retired_at IS NOT NULL)",
            name="generation_retired_iff_retired_at",
        ),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index(
        "generation_one_active",
        "generation",
        ["status"],
        unique=True,
        postgresql_where=sa.text("status = 'active'"),
    )
    op.create_table(
        "grid",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("generation_id", sa.Integer(), nullable=False),
        sa.Column("level", sa.SmallInteger(), nullable=False),
        sa.Column("code", sa.String(length=15), nullable=False),
        sa.Column("parent_code", sa.String(length=15), nullable=True),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column(
            "geom",
            geoalchemy2.types.Geometry(
                geometry_type="MULTIPOLYGON",
                srid=4490,
                dimension=2,
                spatial_index=False,
                from_text="ST_GeomFromEWKT",
                name="geometry",
                nullable=False,
            ),
            nullable=False,
        ),
        sa.Column("area_m2", sa.Double(), nullable=False),
        sa.CheckConstraint("code ~ '^[0-9]+$'", name="grid_code_digits"),
        sa.CheckConstraint(
            "(level = 1 AND parent_code IS NULL) OR "
            "(level > 1 AND parent_code = left(code, length(code) - 3))",
            name="grid_code_prefixed_by_parent",
        ),
        sa.CheckConstraint("ST_IsValid(geom)", name="grid_geom_valid"),
        sa.CheckConstraint("length(code) = 6 + 3 * level", name="grid_code_length_matches_level"),
        sa.CheckConstraint("level IN (1, 2, 3)", name="grid_level_valid"),
        sa.ForeignKeyConstraint(
            ["generation_id", "parent_code"],
            ["grid.generation_id", "grid.code"],
            name="grid_parent_exists",
            ondelete="CASCADE",
            initially="DEFERRED",
            deferrable=True,
        ),
        sa.ForeignKeyConstraint(["generation_id"], ["generation.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("generation_id", "code", name="grid_code_unique_per_generation"),
    )
    op.create_index("grid_generation_level", "grid", ["generation_id", "level"], unique=False)
    op.create_index("grid_geom_gist", "grid", ["geom"], unique=False, postgresql_using="gist")
    op.create_index(op.f("ix_grid_generation_id"), "grid", ["generation_id"], unique=False)
    op.create_table(
        "grid_part",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("generation_id", sa.Integer(), nullable=False),
        sa.Column("code", sa.String(length=15), nullable=False),
        sa.Column(
            "geom",
            geoalchemy2.types.Geometry(
                geometry_type="POLYGON",
                srid=4490,
                dimension=2,
                spatial_index=False,
                from_text="ST_GeomFromEWKT",
                name="geometry",
                nullable=False,
            ),
            nullable=False,
        ),
        sa.ForeignKeyConstraint(["generation_id"], ["generation.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index(
        "grid_part_geom_gist", "grid_part", ["geom"], unique=False, postgresql_using="gist"
    )
    op.create_index(
        op.f("ix_grid_part_generation_id"), "grid_part", ["generation_id"], unique=False
    )


def downgrade() -> None:
    op.drop_index(op.f("ix_grid_part_generation_id"), table_name="grid_part")
    op.drop_index("grid_part_geom_gist", table_name="grid_part", postgresql_using="gist")
    op.drop_table("grid_part")
    op.drop_index(op.f("ix_grid_generation_id"), table_name="grid")
    op.drop_index("grid_geom_gist", table_name="grid", postgresql_using="gist")
    op.drop_index("grid_generation_level", table_name="grid")
    op.drop_table("grid")
    op.drop_index(
        "generation_one_active",
        table_name="generation",
        postgresql_where=sa.text("status = 'active'"),
    )
    op.drop_table("generation")
    op.drop_table("api_token")
    op.execute("DROP TYPE IF EXISTS generation_status")
    op.execute("DROP TYPE IF EXISTS api_role")
