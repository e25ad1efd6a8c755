"""Events: dictionary (seeded), events, append-only log (trigger), photos.

Revision ID: 0003_events
Revises: 0002
"""

from __future__ import annotations

import geoalchemy2
import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision = "0003_events"
down_revision = "0002"
branch_labels = None
depends_on = None

STATUSES = (
    "reported",
    "accepted",
    "rejected",
    "dispatched",
    "in_handling",
    "extension_requested",
    "handled",
    "verified",
    "closed",
    "returned",
    "parked",
    "rework",
)
TZ = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "event_class",
        sa.Column("code", sa.String(2), primary_key=True),
        sa.Column("name", sa.String(100), nullable=False),
        sa.Column("kind", sa.String(20), server_default="event", nullable=False),
        sa.CheckConstraint("code ~ '^[0-9]{2}$'", name="event_class_code_form"),
    )
    op.create_table(
        "event_subclass",
        sa.Column("code", sa.String(4), primary_key=True),
        sa.Column(
            "class_code",
            sa.String(2),
            sa.ForeignKey("event_class.code", ondelete="RESTRICT"),
            nullable=False,
        ),
        sa.Column("name", sa.String(100), nullable=False),
        sa.Column("accept_rule", sa.Text(), nullable=False),
        sa.Column("limit_value", sa.Double(), nullable=False),
        sa.Column(
            "limit_unit", sa.Enum("work_hours", "work_days", name="limit_unit"), nullable=False
        ),
        sa.Column("close_rule", sa.Text(), nullable=False),
        sa.Column("department", sa.String(100), nullable=False),
        sa.Column("active", sa.Boolean(), server_default="true", nullable=False),
        sa.CheckConstraint("code ~ '^[0-9]{4}$'", name="event_subclass_code_form"),
        sa.CheckConstraint("left(code, 2) = class_code", name="event_subclass_in_class"),
        sa.CheckConstraint("limit_value > 0", name="event_subclass_limit_positive"),
    )
    op.create_index("ix_event_subclass_class_code", "event_subclass", ["class_code"])
    op.create_table(
        "event",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column(
            "source",
            sa.Enum("patrol", "informant", "hotline", "public", "centre", name="event_source"),
            nullable=False,
        ),
        sa.Column(
            "subclass_code", sa.String(4), sa.ForeignKey("event_subclass.code"), nullable=False
        ),
        sa.Column("description", sa.Text(), nullable=False),
        sa.Column("address", sa.Text()),
        sa.Column(
            "geom",
            geoalchemy2.Geometry("POINT", srid=4490, spatial_index=False),
            nullable=False,
        ),
        sa.Column("reported_at", TZ, nullable=False),
        sa.Column("created_at", TZ, server_default=sa.text("now()"), nullable=False),
        sa.Column("reporter_person_id", sa.Integer(), sa.ForeignKey("person.id")),
        sa.Column("reporter_name", sa.String(200)),
        sa.Column("external_ref", sa.String(100), unique=True),
        sa.Column("generation_id", sa.Integer(), sa.ForeignKey("generation.id"), nullable=False),
        sa.Column("grid_code", sa.String(15), nullable=False),
        sa.Column("village_code", sa.String(12), nullable=False),
        sa.Column("town_code", sa.String(9), nullable=False),
        sa.Column("chief_person_id", sa.Integer(), sa.ForeignKey("person.id")),
        sa.Column("worker_person_id", sa.Integer(), sa.ForeignKey("person.id")),
        sa.Column("zone_id", sa.Integer()),
        sa.Column("squad_team_id", sa.Integer(), sa.ForeignKey("team.id")),
        sa.Column("department", sa.String(100), nullable=False),
        sa.Column("status", sa.Enum(*STATUSES, name="event_status"), nullable=False),
        sa.Column("accepted_at", TZ),
        sa.Column("dispatched_at", TZ),
        sa.Column("deadline_at", TZ),
        sa.Column("handled_at", TZ),
        sa.Column("closed_at", TZ),
        sa.Column("rework_count", sa.SmallInteger(), server_default="0", nullable=False),
        sa.Column("extension_count", sa.SmallInteger(), server_default="0", nullable=False),
        sa.Column("escalated_at", TZ),
        sa.Column("closure_work_h", sa.Double()),
        sa.Column("version", sa.Integer(), server_default="1", nullable=False),
        sa.CheckConstraint(
            "(status = 'closed') = (closed_at IS NOT NULL)", name="event_closed_iff"
        ),
        sa.CheckConstraint(
            "closed_at IS NULL OR (handled_at IS NOT NULL AND accepted_at IS NOT NULL)",
            name="event_closed_after_handling",
        ),
        sa.CheckConstraint(
            "status IN ('reported','rejected') OR accepted_at IS NOT NULL",
            name="event_accepted_before_work",
        ),
    )
    op.create_index("event_geom_gist", "event", ["geom"], postgresql_using="gist")
    op.create_index("event_reported_at", "event", ["reported_at"])
    op.create_index("event_grid_reported", "event", ["grid_code", "reported_at"])
    op.create_index("ix_event_subclass_code", "event", ["subclass_code"])
    op.create_index(
        "event_open_deadline",
        "event",
        ["deadline_at"],
        postgresql_where=sa.text(
            "status IN ('dispatched','in_handling','extension_requested','rework')"
        ),
    )
    op.create_table(
        "event_log",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column(
            "event_id",
            sa.Integer(),
            sa.ForeignKey("event.id", ondelete="RESTRICT"),
            nullable=False,
        ),
        sa.Column("at", TZ, nullable=False),
        sa.Column("recorded_at", TZ, server_default=sa.text("now()"), nullable=False),
        sa.Column("action", sa.String(40), nullable=False),
        sa.Column("from_status", sa.String(30)),
        sa.Column("to_status", sa.String(30), nullable=False),
        sa.Column("actor_token_id", sa.Integer()),
        sa.Column("actor_person_id", sa.Integer()),
        sa.Column("actor_role", sa.String(20), nullable=False),
        sa.Column("actor_name", sa.String(200), nullable=False),
        sa.Column("note", sa.Text()),
        sa.Column("attachments", postgresql.JSONB(), server_default="[]", nullable=False),
        sa.Column("data", postgresql.JSONB(), server_default="{}", nullable=False),
    )
    op.create_index("ix_event_log_event_id", "event_log", ["event_id"])
    op.create_table(
        "event_photo",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column(
            "event_id",
            sa.Integer(),
            sa.ForeignKey("event.id", ondelete="RESTRICT"),
            nullable=False,
        ),
        sa.Column("filename", sa.String(255), nullable=False),
        sa.Column("media_type", sa.String(50), nullable=False),
        sa.Column("size_bytes", sa.Integer(), nullable=False),
        sa.Column("width_px", sa.Integer(), nullable=False),
        sa.Column("height_px", sa.Integer(), nullable=False),
        sa.Column("sha256", sa.String(64), nullable=False),
        sa.Column("data", sa.LargeBinary(), nullable=False),
        sa.Column("created_at", TZ, server_default=sa.text("now()"), nullable=False),
    )
    op.create_index("ix_event_photo_event_id", "event_photo", ["event_id"])
    # The log is append-only (全程留痕): the database itself refuses to change or remove a row.
    op.execute(
        """
        CREATE FUNCTION event_log_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
        BEGIN
          RAISE EXCEPTION 'event_log is append-only: % refused', TG_OP
            USING ERRCODE = 'insufficient_privilege';
        END $$;
        CREATE TRIGGER event_log_no_update BEFORE UPDATE OR DELETE ON event_log
          FOR EACH ROW EXECUTE FUNCTION event_log_append_only();
        CREATE TRIGGER event_log_no_truncate BEFORE TRUNCATE ON event_log
          FOR EACH STATEMENT EXECUTE FUNCTION event_log_append_only();
        """
    )
    # Seed the dictionary (configurable data; further edits go through the API).
    from layers.events.dictionary import CLASSES, SUBCLASSES

    classes = sa.table("event_class", sa.column("code"), sa.column("name"), sa.column("kind"))
    op.bulk_insert(classes, [{"code": c, "name": n, "kind": "event"} for c, n in CLASSES])
    subclasses = sa.table(
        "event_subclass",
        *(
            sa.column(c)
            for c in (
                "code",
                "class_code",
                "name",
                "limit_value",
                "limit_unit",
                "department",
                "accept_rule",
                "close_rule",
            )
        ),
    )
    op.bulk_insert(
        subclasses,
        [
            {
                "code": code,
                "class_code": code[:2],
                "name": name,
                "limit_value": value,
                "limit_unit": unit,
                "department": dept,
                "accept_rule": acc,
                "close_rule": close,
            }
            for code, name, value, unit, dept, acc, close in SUBCLASSES
        ],
    )


def downgrade() -> None:
    op.drop_table("event_photo")
    op.execute("DROP TABLE event_log")  # DROP is not UPDATE/DELETE: the triggers go with it
    op.execute("DROP FUNCTION IF EXISTS event_log_append_only()")
    op.drop_table("event")
    op.drop_table("event_subclass")
    op.drop_table("event_class")
    for name in ("event_status", "event_source", "limit_unit"):
        op.execute(f"DROP TYPE IF EXISTS {name}")
