"""Retention: an old month of fixes becomes a GeoParquet file, its partition is dropped, and
playback of an archived day gives exactly the track it gave before."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import geopandas as gpd
from sqlalchemy import Engine, text
from sqlalchemy.orm import Session

from layers.archive import archive_partition, partitions_before
from layers.positions import PARTITIONS
from layers.tracks import day_bounds, device_track

DAY = date(2021, 6, 15)
START = datetime(2021, 6, 15, 1, 0, tzinfo=UTC)


def test_an_archived_month_plays_back_as_before(
    engine: Engine, db_session: Session, demo_grids, tmp_path
) -> None:  # type: ignore[no-untyped-def]
    PARTITIONS.ensure(engine=engine, times=[START])
    p = demo_grids[demo_grids.level == 3].geometry.iloc[7].representative_point()
    device = db_session.execute(
        text("INSERT INTO device (external_id, secret_hash, active) VALUES ('archived-1', 'x', "
             "true) RETURNING id")
    ).scalar_one()  # fmt: skip
    rows = [
        {"d": device, "t": START + timedelta(seconds=5 * k), "x": p.x + k * 8e-5, "y": p.y,
         "g": "320281001001001" if k % 2 else None, "f": 0 if k != 7 else 8}
        for k in range(300)
    ]  # fmt: skip
    db_session.execute(
        text("INSERT INTO position (device_id, fix_time, server_time, lon, lat, raw_lon, raw_lat,"
             " datum, flags, source, grid_code) VALUES (:d, :t, now(), :x, :y, :x, :y, 'wgs84',"
             " :f, 'test', :g)"), rows,
    )  # fmt: skip
    start, end = day_bounds(DAY)
    before = device_track(session=db_session, device_id=device, start=start, end=end)
    assert before["summary"]["fixes"] > 250

    [month] = [m for m in partitions_before(session=db_session, before=date(2021, 7, 1))
               if m.name == "position_y2021m06"]  # fmt: skip
    assert month.rows >= 300
    record = archive_partition(session=db_session, partition=month, directory=tmp_path)
    assert record.rows == month.rows and len(record.sha256) == 64
    gone = db_session.execute(text("SELECT to_regclass('position_y2021m06')")).scalar()
    assert gone is None

    after = device_track(session=db_session, device_id=device, start=start, end=end)
    assert after == before  # the same segments, times, stops and statistics

    frame = gpd.read_parquet(record.path)  # a valid GeoParquet file, grid codes kept
    assert frame.crs.to_epsg() == 4490 and len(frame) == month.rows
    mine = frame[frame.device_id == device]
    assert mine.geometry.x.round(9).tolist() == [round(r["x"], 9) for r in rows]
    assert [c if isinstance(c, str) else None for c in mine.grid_code] == [r["g"] for r in rows]
    PARTITIONS.forget()  # the transaction is rolled back: the partition exists again


def test_nothing_to_archive_before_the_first_month(db_session: Session) -> None:
    # fixes before 1970 are refused at ingest, so no month ends before it (tests store 1990 ones)
    assert partitions_before(session=db_session, before=date(1970, 1, 1)) == []


def test_the_command_is_a_dry_run_unless_committed(monkeypatch, database_url, engine) -> None:  # type: ignore[no-untyped-def]
    from typer.testing import CliRunner

    from api.cli import app

    PARTITIONS.ensure(engine=engine, times=[START])
    monkeypatch.setenv("DATABASE_URL", database_url)
    result = CliRunner().invoke(app, ["positions", "archive", "--before", "2021-07-01"],
                                terminal_width=200)  # fmt: skip
    assert result.exit_code == 0, result.output
    assert "position_y2021m06" in result.output and "dry run" in result.output
    with engine.connect() as conn:
        assert conn.execute(text("SELECT to_regclass('position_y2021m06')")).scalar()
    bad = CliRunner().invoke(app, ["positions", "archive", "--before", "June"])
    assert bad.exit_code == 2 and "YYYY-MM-DD" in bad.output
