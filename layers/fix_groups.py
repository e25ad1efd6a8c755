"""Single fixes of many devices stored together: one lookup and one INSERT for a group.

Traccar Client / OsmAnd phones send one fix per request. Stored one by one, each fix costs two
round trips, one commit (a WAL flush) and one run of the statement trigger on ``position``
(migration 0023: two upserts). ``api.ingest.group`` gathers the fixes that arrive together in
one process and stores them with the two statements here: the database's work per fix falls
with the size of the group, and each fix is still acknowledged only after its commit.

Both statements run on a psycopg connection in autocommit (``positions.direct_connection``):
the INSERT is its own transaction, committed (on disk) when it returns. Plain multi-row
``VALUES`` and ``= ANY`` so that the same SQL runs on PostgreSQL and on Citus.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

import psycopg

from layers.positions import COLUMNS, PREVIOUS_FIX

DEVICES_WITH_LATEST = (
    "SELECT d.external_id, d.id, d.secret_hash, d.speed_unit, l.fix_time, l.lon, l.lat "
    "FROM device d LEFT JOIN device_latest l ON l.device_id = d.id "
    "WHERE d.external_id = ANY(%(ext)s) AND d.active"
)

DeviceRow = tuple[int, str | None, str, tuple[datetime, float, float] | None]
"""(device id, secret hash or None, speed unit, latest usable fix (time, lon, lat) or None)."""


def devices_with_latest(conn: Any, external_ids: Sequence[str]) -> dict[str, DeviceRow]:
    """The active devices among ``external_ids`` by external id, each with its latest usable
    fix (``device_latest``: time, CGCS2000 lon/lat degrees); one round trip. A name missing
    from the answer is no active device."""
    found: dict[str, DeviceRow] = {}
    rows = conn.execute(DEVICES_WITH_LATEST, {"ext": list(set(external_ids))}, prepare=True)
    for ext, device_id, secret_hash, unit, t, lon, lat in rows.fetchall():
        latest = None if t is None else (t, float(lon), float(lat))
        found[ext] = (int(device_id), secret_hash, str(unit or "kn"), latest)
    return found


def previous_fix(
    conn: Any, *, device_id: int, before: datetime, unusable_flags: int
) -> tuple[datetime, float, float] | None:
    """The last fix of ``device_id`` strictly before ``before`` without ``unusable_flags``
    (for a fix older than the device's latest: a backlog); one round trip."""
    row = conn.execute(
        PREVIOUS_FIX, {"d": device_id, "t": before, "bad": int(unusable_flags)}, prepare=True
    ).fetchone()
    return None if row is None else (row[0], float(row[1]), float(row[2]))


def _insert_sql(n: int) -> str:
    # server-side placeholders ($1, $2, …): psycopg's raw cursor sends them as they are,
    # instead of parsing a statement of 18 x n parameters on every execution
    width = len(COLUMNS)
    values = ", ".join(
        "(" + ", ".join(f"${r * width + c + 1}" for c in range(width)) + ")" for r in range(n)
    )
    return (
        f"INSERT INTO position ({', '.join(COLUMNS)}) VALUES {values} "
        "ON CONFLICT (device_id, fix_time) DO NOTHING RETURNING device_id, fix_time"
    )


_INSERT_SQL: dict[int, str] = {}


def insert_fixes(conn: Any, rows: Sequence[tuple[Any, ...]]) -> set[tuple[int, datetime]]:
    """Insert ``rows`` (parameters of :data:`layers.positions.COLUMNS` each, as
    ``positions.fix_values`` makes them) in one statement; a fix already stored (same device
    and fix time) is skipped. The caller passes no two rows with the same (device, fix time)
    and has created the partitions. Returns the (device id, fix time) of the rows inserted.
    """
    if not rows:
        return set()
    sql = _INSERT_SQL.get(len(rows))
    if sql is None:
        sql = _INSERT_SQL.setdefault(len(rows), _insert_sql(len(rows)))
    params = [value for row in rows for value in row]
    with psycopg.RawCursor(conn) as cursor:
        # prepared only for the common sizes (one plan per distinct group size)
        cursor.execute(sql, params, prepare=len(rows) <= 32)
        return {(int(d), t) for d, t in cursor.fetchall()}


__all__ = ["DeviceRow", "devices_with_latest", "insert_fixes", "previous_fix"]
