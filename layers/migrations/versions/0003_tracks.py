"""Patrol tracks: the ``position`` table of fixes, partitioned by month of fix time.

Partitions (``position_yYYYYmMM``) are created on demand by ``layers.positions.PARTITIONS``;
the primary key (device_id, fix_time) makes resent fixes no-ops and serves track reads.

Revision ID: 0003_tracks
Revises: 0002
"""

from __future__ import annotations

from alembic import op

revision = "0003_tracks"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    # Raw DDL: alembic's create_table cannot declare PARTITION BY.
    op.execute(
        """
        CREATE TABLE position (
            device_id integer NOT NULL REFERENCES device (id) ON DELETE CASCADE,
            fix_time timestamptz NOT NULL,
            server_time timestamptz NOT NULL DEFAULT now(),
            lon double precision NOT NULL,
            lat double precision NOT NULL,
            raw_lon double precision NOT NULL,
            raw_lat double precision NOT NULL,
            datum varchar(8) NOT NULL,
            accuracy_m real,
            speed_mps real,
            course_deg real,
            altitude_m real,
            battery_pct real,
            grid_code varchar(15),
            flags smallint NOT NULL DEFAULT 0,
            seq bigint,
            source varchar(12) NOT NULL,
            attributes jsonb,
            PRIMARY KEY (device_id, fix_time),
            CONSTRAINT position_lonlat_range
                CHECK (lon BETWEEN -180 AND 180 AND lat BETWEEN -90 AND 90)
        ) PARTITION BY RANGE (fix_time)
        """
    )
    # Live view and daily statistics by grid read recent fixes by time across devices.
    op.execute("CREATE INDEX position_fix_time ON position (fix_time)")


def downgrade() -> None:
    op.execute("DROP TABLE position")
