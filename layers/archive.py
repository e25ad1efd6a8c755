"""Retention of fixes: old monthly position partitions become GeoParquet files.

A county stores ~17 M fixes a day; after a configurable age (``--before``, by default 90 days
ago) a whole monthly partition of ``position`` is written to a GeoParquet file (GeoParquet 1.0:
WKB points in EPSG:4490 with the ``geo`` file metadata, every column of the table kept,
grid codes included, rows sorted by device and time in row groups so that one device's day is
read without scanning the month), checked (row count and SHA-256 recorded in
``position_archive``), then detached and dropped in one transaction. Track playback reads an
archived range from its file (:func:`read_archived_track`), so replaying an archived day works
as before.

Spec: GeoParquet 1.0.0, https://geoparquet.org/releases/v1.0.0/ ("geo" metadata key,
``primary_column``, ``columns.<name>.encoding = "WKB"``, ``crs`` as PROJJSON).
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import numpy as np
from sqlalchemy import DateTime, Integer, String, select, text
from sqlalchemy.orm import Mapped, Session, mapped_column

from gis.crs import SRID_CGCS2000
from layers.db import Base
from layers.errors import InvalidState, with_zh
from layers.positions import COLUMNS, PARTITIONS, partition_name

PARTITION_CHANNEL = "gridgis_partitions"
"""NOTIFY channel: partitions were detached; server processes forget which ones exist."""
ROWS_PER_GROUP = 200_000


class ArchiveFileError(InvalidState):
    """An archive file is missing, or is not the file its ``position_archive`` record describes
    (row count or SHA-256 differ, or no record names it): 409, nothing read, merged or restored.
    ``field`` is the month (YYYY-MM)."""


def _month(name: str) -> str:
    return f"{name[10:14]}-{name[15:17]}"  # position_y2026m06 -> 2026-06


def database_folder(*, session: Session, base: Path) -> Path:
    """``base/<system identifier>-<database name>``: each database's archive files in a folder
    of their own, so that two databases (the embedded one and a local Citus cluster) sharing
    one archive folder never read or merge each other's months."""
    sysid, name = session.execute(
        text("SELECT system_identifier::text, current_database() FROM pg_control_system()")
    ).one()
    return base / f"{sysid}-{name}"


def file_sha256(path: Path) -> str:
    """SHA-256 (hex) of the file at ``path``, read in 1 MiB blocks."""
    digest = hashlib.sha256()
    with path.open("rb") as f:
        while block := f.read(1 << 20):
            digest.update(block)
    return digest.hexdigest()


def check_file(record: PositionArchive, path: Path) -> None:
    """Raise ArchiveFileError unless ``path`` exists and holds exactly the rows and the SHA-256
    that ``record`` says were archived."""
    import pyarrow.parquet as pq

    month = _month(record.partition)
    if not path.exists():
        raise with_zh(
            ArchiveFileError(
                f"the archive file of {month} ({path}) is missing: put the file back there "
                f"(from a backup) or restore the month from a copy",
                field=month,
            ),
            f"{month} 的归档文件（{path}）不存在：请从备份放回该文件",
        )
    try:
        rows = pq.ParquetFile(path).metadata.num_rows
    except Exception:  # not a Parquet file at all (pyarrow.ArrowInvalid, OSError)
        rows = -1
    if rows != record.rows or file_sha256(path) != record.sha256:
        raise with_zh(
            ArchiveFileError(
                f"the archive file {path} is not the one recorded for {month} ({rows:,} rows, "
                f"recorded {record.rows:,} and its SHA-256): put the recorded file back; "
                "nothing was changed",
                field=month,
            ),
            f"归档文件 {path} 与 {month} 的记录不符（{rows:,} 行，记录 {record.rows:,} 行及其 "
            "SHA-256）：请放回记录的文件；什么都没有改变",
        )


class PositionArchive(Base):
    """One archived monthly partition (migration 0018)."""

    __tablename__ = "position_archive"

    partition: Mapped[str] = mapped_column(String(40), primary_key=True)
    month_start: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    month_end: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    path: Mapped[str] = mapped_column(String(500))
    rows: Mapped[int] = mapped_column(Integer)
    sha256: Mapped[str] = mapped_column(String(64))
    archived_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))


@dataclass(frozen=True)
class Partition:
    name: str
    month_start: datetime
    month_end: datetime
    rows: int


def partitions_before(*, session: Session, before: date) -> list[Partition]:
    """The monthly partitions of ``position`` whose whole month ends on or before ``before``
    (00:00 UTC) and before now (a month in progress is never archived), oldest first, with
    their row counts."""
    names = session.scalars(
        text(
            "SELECT c.relname FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid "
            "WHERE i.inhparent = 'position'::regclass ORDER BY c.relname"
        )
    ).all()
    # never the month in progress (it still takes fixes), whatever ``before`` says
    limit = min(datetime(before.year, before.month, before.day, tzinfo=UTC), datetime.now(UTC))
    out = []
    for name in names:
        start = datetime(int(name[10:14]), int(name[15:17]), 1, tzinfo=UTC)
        end = datetime(start.year + (start.month == 12), start.month % 12 + 1, 1, tzinfo=UTC)
        if end <= limit and partition_name(start) == name:
            # the name was built by partition_name from our own datetimes: safe to quote here
            rows = int(session.execute(text(f'SELECT count(*) FROM "{name}"')).scalar_one())
            out.append(Partition(name, start, end, rows))
    return out


def _geo_metadata() -> bytes:
    from pyproj import CRS

    return json.dumps(
        {
            "version": "1.0.0",
            "primary_column": "geometry",
            "columns": {
                "geometry": {
                    "encoding": "WKB",
                    "geometry_types": ["Point"],
                    "crs": CRS.from_epsg(SRID_CGCS2000).to_json_dict(),
                }
            },
        }
    ).encode()


def archive_partition(
    *,
    session: Session,
    partition: Partition,
    directory: Path,
    progress: Callable[[int], None] | None = None,
) -> PositionArchive:
    """Write ``partition`` to ``directory/<name>.parquet``, record it, detach and drop it.

    Rows are streamed (a server-side cursor, :data:`ROWS_PER_GROUP` at a time): memory stays
    bounded whatever the month's size. ``progress(rows_written)`` after each group. Raises
    RuntimeError if the file does not hold every row (nothing is detached then).

    A month archived before whose partition came back (late fixes of that month, a GPX import)
    is archived again by *adding* its rows to the month's file: the file already there is read
    first, so nothing archived is ever lost; the record counts both. That file must be the
    recorded one (rows and SHA-256, :func:`check_file`; a file no record names is never merged:
    ArchiveFileError), and fixes it already holds are dropped from the partition first, so the
    file holds each (device_id, fix_time) once and the counts are true.
    """
    import pyarrow as pa
    import pyarrow.parquet as pq
    import shapely

    directory.mkdir(parents=True, exist_ok=True)
    path = directory / f"{partition.name}.parquet"
    tmp = path.with_suffix(".parquet.part")
    columns = ", ".join(COLUMNS)
    raw: Any = session.connection().connection.driver_connection
    written = 0
    writer = None
    kept = 0  # rows of the month's earlier archive, copied first
    recorded = session.get(PositionArchive, partition.name)
    if recorded is not None and recorded.path:  # merged into the recorded file, wherever it is
        path = Path(recorded.path)
        tmp = path.with_suffix(".parquet.part")
        if not path.exists():
            check_file(recorded, path)  # raises: never write the month anew over a lost file
    if path.exists():
        if recorded is None or Path(recorded.path) != path:
            raise with_zh(
                ArchiveFileError(
                    f"{path} is not recorded as {_month(partition.name)}'s archive of this "
                    "database: move it away (it is never merged), then archive again",
                    field=_month(partition.name),
                ),
                f"{path} 不是本数据库 {_month(partition.name)} 的归档记录：请移走该文件后再归档",
            )
        check_file(recorded, path)
        dropped = _drop_archived_twins(session=session, partition=partition, path=path)
        partition = Partition(partition.name, partition.month_start, partition.month_end,
                              partition.rows - dropped)  # fmt: skip
        earlier = pq.ParquetFile(path)
        writer = pq.ParquetWriter(tmp, earlier.schema_arrow, compression="zstd")
        for k in range(earlier.num_row_groups):
            writer.write_table(earlier.read_row_group(k))
        kept = earlier.metadata.num_rows
    with raw.cursor(name=f"archive_{partition.name}") as cursor:
        cursor.itersize = ROWS_PER_GROUP
        cursor.execute(f'SELECT {columns} FROM "{partition.name}" ORDER BY device_id, fix_time')
        while rows := cursor.fetchmany(ROWS_PER_GROUP):
            data = {name: list(col) for name, col in zip(COLUMNS, zip(*rows, strict=True),
                                                         strict=True)}  # fmt: skip
            data["attributes"] = [None if a is None else json.dumps(a) for a in data["attributes"]]
            lon = np.asarray(data["lon"], dtype=np.float64)
            lat = np.asarray(data["lat"], dtype=np.float64)
            data["geometry"] = list(shapely.to_wkb(shapely.points(lon, lat)))
            table = pa.table(data)
            if writer is None:
                schema = table.schema.with_metadata({b"geo": _geo_metadata()})
                writer = pq.ParquetWriter(tmp, schema, compression="zstd")
            writer.write_table(table.cast(writer.schema), row_group_size=ROWS_PER_GROUP)
            written += len(rows)
            if progress:
                progress(written)
    if writer is not None:
        writer.close()
    total = kept + written
    if written != partition.rows or (total and pq.ParquetFile(tmp).metadata.num_rows != total):
        tmp.unlink(missing_ok=True)
        raise RuntimeError(
            f"{partition.name}: wrote {written} rows of {partition.rows}; nothing was detached"
        )
    if total == 0:
        tmp.unlink(missing_ok=True)
    else:
        tmp.replace(path)
    digest = file_sha256(path) if total else ""
    record = PositionArchive(
        partition=partition.name, month_start=partition.month_start,
        month_end=partition.month_end, path=str(path) if total else "", rows=total,
        sha256=digest, archived_at=datetime.now(UTC),
    )  # fmt: skip
    session.merge(record)
    session.execute(text(f'ALTER TABLE position DETACH PARTITION "{partition.name}"'))
    session.execute(text(f'DROP TABLE "{partition.name}"'))
    session.execute(text(f"NOTIFY {PARTITION_CHANNEL}"))
    PARTITIONS.forget()
    session.flush()
    return record


def _drop_archived_twins(*, session: Session, partition: Partition, path: Path) -> int:
    """Delete from ``partition`` the fixes (device_id, fix_time) its month's archive file already
    holds (a phone resending fixes of an archived month): the merged file then holds each fix
    once. Only the devices with rows in the partition are read from the file. Returns the
    number of rows deleted."""
    import pyarrow.parquet as pq

    name = partition.name  # built by partition_name: safe to quote
    devices = session.scalars(text(f'SELECT DISTINCT device_id FROM "{name}"')).all()
    if not devices:
        return 0
    keys = pq.read_table(path, columns=["device_id", "fix_time"],
                         filters=[("device_id", "in", list(devices))])  # fmt: skip
    if keys.num_rows == 0:
        return 0
    deleted = 0
    device_ids = keys["device_id"].to_pylist()
    fix_times = keys["fix_time"].to_pylist()
    for k in range(0, len(device_ids), ROWS_PER_GROUP):
        result: Any = session.execute(
            text(f'DELETE FROM "{name}" p USING unnest(CAST(:d AS integer[]), '
                 "CAST(:t AS timestamptz[])) AS k(device_id, fix_time) "
                 "WHERE p.device_id = k.device_id AND p.fix_time = k.fix_time"),
            {"d": device_ids[k : k + ROWS_PER_GROUP], "t": fix_times[k : k + ROWS_PER_GROUP]},
        )  # fmt: skip
        deleted += result.rowcount or 0
    return int(deleted or 0)


def archived_overlap(*, session: Session, start: datetime, end: datetime) -> bool:
    """Whether any archived month (``position_archive``) overlaps [start, end): the fixes of
    that range are then (partly) in a GeoParquet file, not in ``position``."""
    return (
        session.scalar(
            select(PositionArchive.partition)
            .where(PositionArchive.month_start < end, PositionArchive.month_end > start)
            .limit(1)
        )
        is not None
    )


def read_archived_track(
    *, session: Session, device_id: int, start: datetime, end: datetime
) -> dict[str, np.ndarray] | None:
    """The archived fixes of ``device_id`` in [start, end) as columns (``t_s``, ``lon``,
    ``lat``, ``grid_code``, ``flags``, ``speed_mps``), or None if no archive covers the range."""
    import pyarrow.compute as pc
    import pyarrow.parquet as pq

    archives = session.scalars(
        select(PositionArchive).where(
            PositionArchive.month_start < end, PositionArchive.month_end > start,
            PositionArchive.rows > 0,
        )
    ).all()  # fmt: skip
    if not archives:
        return None
    wanted = ["fix_time", "lon", "lat", "grid_code", "flags", "speed_mps"]
    parts = []
    for archive in archives:
        if not Path(archive.path).exists():
            check_file(archive, Path(archive.path))  # raises ArchiveFileError naming the month
        table = pq.read_table(
            archive.path, columns=wanted,
            filters=[("device_id", "=", device_id), ("fix_time", ">=", start),
                     ("fix_time", "<", end)],
        )  # fmt: skip
        parts.append(table)
    import pyarrow as pa

    table = pa.concat_tables(parts)
    micros = pc.cast(table["fix_time"], pa.int64()).to_numpy()
    t_s = micros.astype(np.float64) / 1e6
    return {
        "t_s": t_s,
        "lon": table["lon"].to_numpy(),
        "lat": table["lat"].to_numpy(),
        "grid_code": table["grid_code"].to_pylist(),
        "flags": table["flags"].to_numpy().astype(np.int16),
        "speed_mps": np.asarray(table["speed_mps"].to_numpy(zero_copy_only=False), dtype=float),
    }


def restore_month(
    *, session: Session, month: date, progress: Callable[[int], None] | None = None
) -> tuple[int, int, Path]:
    """Put an archived month back into the database: the month's partition of ``position`` is
    created again (in this session's transaction) and every row of its GeoParquet file is
    inserted (fixes already there, e.g. late ones that came in since, are kept: the primary
    key ``(device_id, fix_time)`` decides, as at ingest). The record in ``position_archive`` is
    deleted and the file renamed ``<name>.parquet.restored`` (kept; nothing is deleted), so
    playback reads the database again and a later archive of the month writes a new file from
    the partition, which then holds every row.

    Returns (rows in the file, rows inserted, the renamed file). Raises LookupError if the month
    was never archived, FileNotFoundError if its file is gone. ``progress(rows_read)`` after
    each row group. The file is renamed here, before the caller commits: should the commit
    fail, the record still names the old path; rename ``.restored`` back."""
    import pyarrow.parquet as pq

    from layers.positions import STAGING_DDL

    start = datetime(month.year, month.month, 1, tzinfo=UTC)
    name = partition_name(start)
    record = session.get(PositionArchive, name)
    if record is None:
        raise LookupError(f"{name} was never archived (gridgis positions archive lists months)")
    end = record.month_end
    # bounds are datetimes of ours and the name was built by partition_name: safe in DDL
    session.execute(
        text(f"CREATE TABLE IF NOT EXISTS {name} PARTITION OF position FOR VALUES "
             f"FROM ('{start.isoformat()}') TO ('{end.isoformat()}')")
    )  # fmt: skip
    path = Path(record.path) if record.path else None
    read = inserted = 0
    if path is not None:
        if not path.exists():
            raise FileNotFoundError(f"{name}: the archive file {path} is missing")
        check_file(record, path)  # ArchiveFileError: not the recorded rows / SHA-256
        columns = ", ".join(COLUMNS)
        raw: Any = session.connection().connection.driver_connection
        archive = pq.ParquetFile(path)
        with raw.cursor() as cursor:
            cursor.execute(STAGING_DDL)
            for k in range(archive.num_row_groups):
                group = archive.read_row_group(k, columns=list(COLUMNS)).to_pylist()
                with cursor.copy(f"COPY position_staging ({columns}) FROM STDIN") as copy:
                    for row in group:
                        copy.write_row([row[c] for c in COLUMNS])
                read += len(group)
                if progress:
                    progress(read)
            cursor.execute(
                f"INSERT INTO position ({columns}) SELECT {columns} FROM position_staging "
                "ON CONFLICT (device_id, fix_time) DO NOTHING RETURNING 1"
            )
            inserted = cursor.rowcount
            cursor.execute("TRUNCATE position_staging")
    session.delete(record)
    session.flush()
    kept = Path(f"{path}.restored") if path is not None else Path()
    if path is not None:
        if kept.exists():  # restored before: keep both
            kept = Path(f"{path}.restored-{datetime.now(UTC):%Y%m%dT%H%M%S}")
        path.replace(kept)
    return read, int(inserted), kept
