"""Staff (一长五员) with grid assignments, teams and squads, devices; tokens may speak for a person.

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-23 17:29:09.435709
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "person",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=100), nullable=False),
        sa.Column("phone", sa.String(length=30), nullable=True),
        sa.Column("id_number", sa.String(length=18), nullable=True),
        sa.Column("town_code", sa.String(length=9), nullable=True),
        sa.Column("active", sa.Boolean(), server_default="true", nullable=False),
        sa.Column(
            "created_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("id_number"),
    )
    op.create_table(
        "team",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("kind", sa.Enum("city_team", "town_squad", name="team_kind"), nullable=False),
        sa.Column("town_code", sa.String(length=9), nullable=True),
        sa.CheckConstraint(
            "(kind = 'town_squad') = (town_code IS NOT NULL)", name="team_squad_has_town"
        ),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("name"),
    )
    op.create_table(
        "device",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("external_id", sa.String(length=100), nullable=False),
        sa.Column("person_id", sa.Integer(), nullable=True),
        sa.Column("label", sa.String(length=200), nullable=True),
        sa.Column("secret_hash", sa.String(length=64), nullable=True),
        sa.Column("active", sa.Boolean(), server_default="true", nullable=False),
        sa.Column(
            "created_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.ForeignKeyConstraint(["person_id"], ["person.id"], ondelete="SET NULL"),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("external_id"),
    )
    op.create_index("device_person_active", "device", ["person_id", "active"], unique=False)
    op.create_index(op.f("ix_device_person_id"), "device", ["person_id"], unique=False)
    op.create_table(
        "grid_assignment",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("person_id", sa.Integer(), nullable=False),
        sa.Column("grid_code", sa.String(length=15), nullable=False),
        sa.Column(
            "role",
            sa.Enum(
                "grid_chief",
                "grid_worker",
                "patroller",
                "supervisor",
                "informant",
                "liaison",
                name="staff_role",
            ),
            nullable=False,
        ),
        sa.Column("valid_from", sa.Date(), server_default=sa.text("CURRENT_DATE"), nullable=False),
        sa.Column("valid_to", sa.Date(), nullable=True),
        sa.CheckConstraint("grid_code ~ '^[0-9]{9}([0-9]{3}){0,2}$'", name="assignment_code_form"),
        sa.CheckConstraint("valid_to IS NULL OR valid_to >= valid_from", name="assignment_dates"),
        sa.ForeignKeyConstraint(["person_id"], ["person.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint(
            "person_id", "grid_code", "role", "valid_from", name="assignment_unique"
        ),
    )
    op.create_index(
        op.f("ix_grid_assignment_grid_code"), "grid_assignment", ["grid_code"], unique=False
    )
    op.create_index(
        op.f("ix_grid_assignment_person_id"), "grid_assignment", ["person_id"], unique=False
    )
    op.create_table(
        "team_member",
        sa.Column("team_id", sa.Integer(), nullable=False),
        sa.Column("person_id", sa.Integer(), nullable=False),
        sa.Column("leader", sa.Boolean(), server_default="false", nullable=False),
        sa.ForeignKeyConstraint(["person_id"], ["person.id"], ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["team_id"], ["team.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("team_id", "person_id"),
    )
    op.add_column("api_token", sa.Column("person_id", sa.Integer(), nullable=True))
    op.create_foreign_key(
        "api_token_person_id_fkey",
        "api_token",
        "person",
        ["person_id"],
        ["id"],
        ondelete="SET NULL",
    )


def downgrade() -> None:
    op.drop_constraint("api_token_person_id_fkey", "api_token", type_="foreignkey")
    op.drop_column("api_token", "person_id")
    op.drop_table("team_member")
    op.drop_index(op.f("ix_grid_assignment_person_id"), table_name="grid_assignment")
    op.drop_index(op.f("ix_grid_assignment_grid_code"), table_name="grid_assignment")
    op.drop_table("grid_assignment")
    op.drop_index(op.f("ix_device_person_id"), table_name="device")
    op.drop_index("device_person_active", table_name="device")
    op.drop_table("device")
    op.drop_table("team")
    op.drop_table("person")
    op.execute("DROP TYPE IF EXISTS staff_role")
    op.execute("DROP TYPE IF EXISTS team_kind")
