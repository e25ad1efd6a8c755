"""Stored per-device daily patrol statistics and each device's latest usable fix.

``GET /api/v1/patrol/daily`` recomputed every officer's whole day on every request (135 s for
a county's day). Now ``device_daily`` keeps, per (Asia/Shanghai day, device), the figures the
answer is made of (``layers.device_daily``); they are recomputed only for the (day, device)
pairs whose fixes changed since they were computed. To know which, a statement trigger on
``position`` (every ingest path: batch COPY through the staging table, Traccar/OsmAnd single
fixes, OwnTracks, GPX, plain INSERT, COPY; also UPDATE and DELETE) raises a change counter in
``device_day_change`` for each (day, device) it touches, and a rewrite counter unless every
usable fix inserted comes after the latest one inserted before for that pair (``last_fix``: a
phone sending live appends; a backlog, a correction or a deletion rewrites). A stored row
remembers the counters it was computed from (``changes_seen``, ``rewrites_seen``) and where its
figures can be continued from (``open_from_s``, ``closed``): after appends only, the refresh
reads the fixes from there on, else the whole day. Counting rather than deleting notes means
the reader never takes a lock that an ingest would wait for. ``device_daily_day`` records that
a day was computed in full once, with which parameters (fixes stored before this migration
have no counter: the first computation of a day covers them).

The same trigger keeps ``device_latest``: the latest fix of each device without an unusable
flag (``gis.tracks.UNUSABLE`` = 38: impossible jump, future time, client-invalid), replaced
only by a newer one (a late fix never replaces it). Latest positions, the dashboard's patrols
panel and the single-fix ingest's previous fix read it: one row per device instead of a
``LATERAL … LIMIT 1`` probe, which Citus cannot run.

The trigger function reads its transition tables only into arrays first and then writes with
the arrays as parameters: Citus cannot plan a statement on a Citus table that reads a
transition table (docs/scale-out.md), so the one body serves both.

Revision ID: 0023_device_daily
Revises: 0019_merge
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision = "0023_device_daily"
down_revision = "0019_merge"
branch_labels = None
depends_on = None

NOTE_CHANGE = """
CREATE FUNCTION position_note_change() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
  days date[]; devices integer[]; firsts timestamptz[]; lasts timestamptz[]; touched integer[];
  l_dev integer[]; l_time timestamptz[]; l_server timestamptz[]; l_lon float8[];
  l_lat float8[]; l_grid varchar[]; l_speed real[]; l_acc real[]; l_batt real[];
  l_flags smallint[];
BEGIN
  -- (Asia/Shanghai day, device) of the usable rows the statement inserted (unusable ones
  -- count in no statistics), or of every row it changed or deleted, with their time span
  IF TG_OP = 'INSERT' THEN
    SELECT array_agg(d), array_agg(v), array_agg(lo), array_agg(hi)
    INTO days, devices, firsts, lasts FROM (
      SELECT (fix_time AT TIME ZONE 'Asia/Shanghai')::date, device_id, min(fix_time),
             max(fix_time)
      FROM new_rows WHERE flags & 38 = 0 GROUP BY 1, 2) AS c(d, v, lo, hi);
  ELSIF TG_OP = 'UPDATE' THEN
    SELECT array_agg(d), array_agg(v), array_agg(lo), array_agg(hi)
    INTO days, devices, firsts, lasts FROM (
      SELECT (fix_time AT TIME ZONE 'Asia/Shanghai')::date, device_id,
             '-infinity'::timestamptz, max(fix_time)
      FROM (SELECT fix_time, device_id FROM new_rows
            UNION ALL SELECT fix_time, device_id FROM old_rows) AS r
      GROUP BY 1, 2) AS c(d, v, lo, hi);
  ELSE
    SELECT array_agg(d), array_agg(v), array_agg(lo), array_agg(hi)
    INTO days, devices, firsts, lasts FROM (
      SELECT (fix_time AT TIME ZONE 'Asia/Shanghai')::date, device_id,
             '-infinity'::timestamptz, max(fix_time)
      FROM old_rows GROUP BY 1, 2) AS c(d, v, lo, hi);
  END IF;
  IF days IS NOT NULL THEN
    -- a change is an append when all its fixes come after every fix inserted before for
    -- that (day, device) (a phone sending live); anything else (a backlog, a correction, a
    -- deletion: their span starts at -infinity; the first change known) rewrites the day
    INSERT INTO device_day_change AS c (day, device_id, changes, rewrites, last_fix,
                                        change_from)
    SELECT d, v, 1, 1, hi, lo FROM unnest(days, devices, firsts, lasts) AS u(d, v, lo, hi)
    ORDER BY v, d
    ON CONFLICT (day, device_id) DO UPDATE SET
      changes = c.changes + 1,
      rewrites = c.rewrites + CASE WHEN excluded.change_from > c.last_fix THEN 0 ELSE 1 END,
      last_fix = GREATEST(c.last_fix, excluded.last_fix),
      change_from = excluded.change_from;
  END IF;

  IF TG_OP = 'INSERT' THEN
    -- the newest usable fix of each device in the statement; kept only if newer
    SELECT array_agg(device_id), array_agg(fix_time), array_agg(server_time), array_agg(lon),
           array_agg(lat), array_agg(grid_code), array_agg(speed_mps), array_agg(accuracy_m),
           array_agg(battery_pct), array_agg(flags)
    INTO l_dev, l_time, l_server, l_lon, l_lat, l_grid, l_speed, l_acc, l_batt, l_flags
    FROM (SELECT DISTINCT ON (device_id) * FROM new_rows WHERE flags & 38 = 0
          ORDER BY device_id, fix_time DESC) AS n;
    IF l_dev IS NOT NULL THEN
      INSERT INTO device_latest AS l (device_id, fix_time, server_time, lon, lat, grid_code,
                                      speed_mps, accuracy_m, battery_pct, flags)
      SELECT * FROM unnest(l_dev, l_time, l_server, l_lon, l_lat, l_grid, l_speed, l_acc,
                           l_batt, l_flags)
      ON CONFLICT (device_id) DO UPDATE SET
        fix_time = excluded.fix_time, server_time = excluded.server_time, lon = excluded.lon,
        lat = excluded.lat, grid_code = excluded.grid_code, speed_mps = excluded.speed_mps,
        accuracy_m = excluded.accuracy_m, battery_pct = excluded.battery_pct,
        flags = excluded.flags
      WHERE excluded.fix_time > l.fix_time;
    END IF;
  ELSE
    -- rows changed or deleted (rare: corrections, a device removed): the affected devices'
    -- latest fix is looked up again
    SELECT array_agg(DISTINCT v) INTO touched FROM unnest(devices) AS u(v);
    DELETE FROM device_latest WHERE device_id = ANY(touched);
    INSERT INTO device_latest (device_id, fix_time, server_time, lon, lat, grid_code,
                               speed_mps, accuracy_m, battery_pct, flags)
    SELECT DISTINCT ON (device_id) device_id, fix_time, server_time, lon, lat, grid_code,
           speed_mps, accuracy_m, battery_pct, flags
    FROM position WHERE device_id = ANY(touched) AND flags & 38 = 0
    ORDER BY device_id, fix_time DESC;
  END IF;
  RETURN NULL;
END $$
"""

TRIGGERS = {
    "position_change_insert": "AFTER INSERT ON position REFERENCING NEW TABLE AS new_rows",
    "position_change_update": "AFTER UPDATE ON position "
    "REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows",
    "position_change_delete": "AFTER DELETE ON position REFERENCING OLD TABLE AS old_rows",
}


def upgrade() -> None:
    op.create_table(
        "device_day_change",
        sa.Column("day", sa.Date(), primary_key=True),
        sa.Column("device_id", sa.Integer(), primary_key=True),
        sa.Column("changes", sa.BigInteger(), nullable=False, server_default="1"),
        sa.Column("rewrites", sa.BigInteger(), nullable=False, server_default="1"),
        sa.Column("last_fix", sa.DateTime(timezone=True), nullable=True),
        sa.Column("change_from", sa.DateTime(timezone=True), nullable=True),
    )
    op.create_table(
        "device_daily_day",
        sa.Column("day", sa.Date(), primary_key=True),
        sa.Column("metric_srid", sa.Integer(), nullable=False),
        sa.Column("max_gap_s", sa.Float(), nullable=False),
        sa.Column("stop_radius_m", sa.Float(), nullable=False),
        sa.Column("stop_min_s", sa.Float(), nullable=False),
        sa.Column(
            "computed_at", sa.DateTime(timezone=True), nullable=False, server_default=sa.func.now()
        ),
    )
    op.create_table(
        "device_daily",
        sa.Column("day", sa.Date(), primary_key=True),
        sa.Column(
            "device_id",
            sa.Integer(),
            sa.ForeignKey("device.id", ondelete="CASCADE"),
            primary_key=True,
        ),
        sa.Column("changes_seen", sa.BigInteger(), nullable=False),
        sa.Column("rewrites_seen", sa.BigInteger(), nullable=False),
        sa.Column("fixes", sa.Integer(), nullable=False),
        sa.Column("mileage_m", sa.Float(), nullable=False),
        sa.Column("patrol_time_s", sa.Float(), nullable=False),
        sa.Column("moving_time_s", sa.Float(), nullable=False),
        sa.Column("stops", sa.Integer(), nullable=False),
        sa.Column("stop_time_s", sa.Float(), nullable=False),
        sa.Column("silences", sa.Integer(), nullable=False),
        sa.Column("silence_time_s", sa.Float(), nullable=False),
        sa.Column("first_fix_s", sa.Float(), nullable=True),
        sa.Column("last_fix_s", sa.Float(), nullable=True),
        sa.Column("grid_codes", postgresql.ARRAY(sa.BigInteger()), nullable=False),
        sa.Column("grid_time_s", postgresql.ARRAY(sa.Float()), nullable=False),
        sa.Column("open_from_s", sa.Float(), nullable=True),
        sa.Column("closed", postgresql.JSONB(), nullable=True),
        sa.Column(
            "computed_at", sa.DateTime(timezone=True), nullable=False, server_default=sa.func.now()
        ),
    )
    op.create_table(
        "device_latest",
        sa.Column(
            "device_id",
            sa.Integer(),
            sa.ForeignKey("device.id", ondelete="CASCADE"),
            primary_key=True,
        ),
        sa.Column("fix_time", sa.DateTime(timezone=True), nullable=False),
        sa.Column("server_time", sa.DateTime(timezone=True), nullable=True),
        sa.Column("lon", sa.Double(), nullable=False),
        sa.Column("lat", sa.Double(), nullable=False),
        sa.Column("grid_code", sa.String(15), nullable=True),
        sa.Column("speed_mps", sa.REAL(), nullable=True),
        sa.Column("accuracy_m", sa.REAL(), nullable=True),
        sa.Column("battery_pct", sa.REAL(), nullable=True),
        sa.Column("flags", sa.SmallInteger(), nullable=False),
    )
    # the latest usable fix of every device already stored: one index probe per device on a
    # single node; Citus cannot run that LATERAL form, its shards answer DISTINCT ON each
    columns = (
        "fix_time, server_time, lon, lat, grid_code, speed_mps, accuracy_m, battery_pct, flags"
    )
    citus = op.get_bind().execute(sa.text("SELECT 1 FROM pg_extension WHERE extname = 'citus'"))
    if citus.scalar():
        op.execute(
            f"INSERT INTO device_latest (device_id, {columns}) SELECT DISTINCT ON (device_id) "
            f"device_id, {columns} FROM position WHERE flags & 38 = 0 "
            "ORDER BY device_id, fix_time DESC"
        )
    else:
        op.execute(
            f"INSERT INTO device_latest (device_id, {columns}) SELECT d.id, f.* FROM device d "
            f"JOIN LATERAL (SELECT {columns} FROM position p WHERE p.device_id = d.id "
            "AND p.flags & 38 = 0 ORDER BY p.fix_time DESC LIMIT 1) f ON true"
        )
    op.execute(NOTE_CHANGE)
    for name, when in TRIGGERS.items():
        op.execute(
            f"CREATE TRIGGER {name} {when} FOR EACH STATEMENT "
            "EXECUTE FUNCTION position_note_change()"
        )


def downgrade() -> None:
    for name in TRIGGERS:
        op.execute(f"DROP TRIGGER IF EXISTS {name} ON position")
    op.execute("DROP FUNCTION IF EXISTS position_note_change()")
    for table in ("device_latest", "device_daily", "device_daily_day", "device_day_change"):
        op.drop_table(table)
