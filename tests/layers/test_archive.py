"""Retention: an old month of fixes becomes a GeoParquet file, its partition is dropped, and
playback of an archived day gives exactly the track it gave before."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import geopandas as gpd
import pytest
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
    result = CliRunner().invoke(app, ["positions", "archive", "--before", "2021-07-01",
                                       "--lang", "en"], terminal_width=200)  # fmt: skip
    assert result.exit_code == 0, result.output
    assert "position_y2021m06" in result.output and "dry run" in result.output
    with engine.connect() as conn:
        assert conn.execute(text("SELECT to_regclass('position_y2021m06')")).scalar()
    bad = CliRunner().invoke(app, ["positions", "archive", "--before", "June"])
    assert bad.exit_code == 2 and "YYYY-MM-DD" in bad.output


def _late_partition(session: Session, month: datetime) -> None:
    """The month's partition, created on the test's own connection (PARTITIONS.ensure would
    open another one and wait on this transaction's DETACH lock)."""
    from layers.positions import partition_name

    end = datetime(month.year + (month.month == 12), month.month % 12 + 1, 1, tzinfo=UTC)
    session.execute(
        text(f"CREATE TABLE IF NOT EXISTS {partition_name(month)} PARTITION OF position "
             f"FOR VALUES FROM ('{month.isoformat()}') TO ('{end.isoformat()}')")
    )  # fmt: skip


def _fixes(session: Session, device: int, start: datetime, n: int) -> None:
    session.execute(
        text("INSERT INTO position (device_id, fix_time, server_time, lon, lat, raw_lon, raw_lat,"
             " datum, flags, source) VALUES (:d, :t, now(), 120.3, 31.9, 120.3, 31.9, 'wgs84',"
             " 0, 'test')"),
        [{"d": device, "t": start + timedelta(seconds=5 * k)} for k in range(n)],
    )  # fmt: skip


def test_late_fixes_of_an_archived_month_are_added_to_its_file(
    db_session: Session, tmp_path
) -> None:  # type: ignore[no-untyped-def]
    import pyarrow.parquet as pq

    month = datetime(2019, 3, 1, tzinfo=UTC)
    device = db_session.execute(
        text("INSERT INTO device (external_id, secret_hash, active) VALUES ('late-1', 'x', true)"
             " RETURNING id")
    ).scalar_one()  # fmt: skip

    def archive_march():  # type: ignore[no-untyped-def]
        [m] = [p for p in partitions_before(session=db_session, before=date(2019, 4, 1))
               if p.name == "position_y2019m03"]  # fmt: skip
        return m, archive_partition(session=db_session, partition=m, directory=tmp_path)

    _late_partition(db_session, month)
    _fixes(db_session, device, month + timedelta(days=3), 120)
    first_month, first = archive_march()
    kept = first_month.rows  # other tests' rows of March 2019 (if any) count too
    assert kept >= 120 and first.rows == kept
    assert pq.ParquetFile(first.path).metadata.num_rows == kept

    # late fixes of March arrive after the archive: the partition comes back
    _late_partition(db_session, month)
    _fixes(db_session, device, month + timedelta(days=20), 45)
    late_month, second = archive_march()
    assert late_month.rows == 45
    assert second.path == first.path and second.rows == kept + 45
    frame = pq.read_table(second.path, columns=["device_id", "fix_time"]).to_pandas()
    assert len(frame) == kept + 45  # the old rows and the late ones, none lost or doubled
    mine = frame[frame.device_id == device]
    assert len(mine) == 165 and mine.fix_time.is_unique
    assert second.sha256 != first.sha256
    recorded = db_session.execute(
        text("SELECT rows FROM position_archive WHERE partition = 'position_y2019m03'")
    ).scalar_one()
    assert recorded == kept + 45
    PARTITIONS.forget()


def test_the_month_in_progress_is_never_archived(db_session: Session) -> None:
    now = datetime.now(UTC)
    month = datetime(now.year, now.month, 1, tzinfo=UTC)
    _late_partition(db_session, month)
    from layers.positions import partition_name

    later = date(now.year + 1, 1, 1)  # --before well after the current month's end
    names = [p.name for p in partitions_before(session=db_session, before=later)]
    assert partition_name(month) not in names
    # --before inside the current month: nothing of it either
    assert partition_name(month) not in [
        p.name for p in partitions_before(session=db_session, before=now.date())
    ]


def test_a_dry_run_with_nothing_to_archive_says_so(monkeypatch, database_url, engine) -> None:  # type: ignore[no-untyped-def]
    from typer.testing import CliRunner

    from api.cli import app

    monkeypatch.setenv("DATABASE_URL", database_url)
    monkeypatch.delenv("GRIDGIS_LANG", raising=False)
    args = ["positions", "archive", "--before", "1970-01-15"]
    en = CliRunner().invoke(app, [*args, "--lang", "en"], terminal_width=200)
    assert en.exit_code == 0, en.output
    assert "nothing to archive before 1970-01:" in en.output
    assert "partition" not in en.output and "dry run" not in en.output  # no empty table
    zh = CliRunner().invoke(app, args, terminal_width=200)
    assert zh.exit_code == 0, zh.output
    assert "1970-01 之前没有可归档的月份" in zh.output
    bad = CliRunner().invoke(app, [*args, "--lang", "fr"])
    assert bad.exit_code == 2


def test_an_archived_month_is_restored_into_the_database(db_session: Session, tmp_path) -> None:  # type: ignore[no-untyped-def]
    from layers.archive import restore_month

    month = datetime(2018, 5, 1, tzinfo=UTC)
    device = db_session.execute(
        text("INSERT INTO device (external_id, secret_hash, active) VALUES ('restore-1', 'x', "
             "true) RETURNING id")
    ).scalar_one()  # fmt: skip
    _late_partition(db_session, month)
    _fixes(db_session, device, month + timedelta(days=9), 50)
    [m] = [p for p in partitions_before(session=db_session, before=date(2018, 6, 1))
           if p.name == "position_y2018m05"]  # fmt: skip
    others = m.rows - 50  # other tests' fixes of May 2018, if any
    record = archive_partition(session=db_session, partition=m, directory=tmp_path)
    path = record.path

    # a late fix came in since (a new partition), one of them at an archived fix's time
    _late_partition(db_session, month)
    _fixes(db_session, device, month + timedelta(days=9, seconds=5 * 49), 5)  # 1 dup + 4 new
    read, inserted, kept = restore_month(session=db_session, month=date(2018, 5, 1))
    assert read == m.rows and inserted == m.rows - 1  # the stored late fix is kept as it was
    count = db_session.execute(
        text("SELECT count(*) FROM position_y2018m05 WHERE device_id = :d"), {"d": device}
    ).scalar_one()
    assert count == 54 and others >= 0
    assert db_session.execute(
        text("SELECT count(*) FROM position_archive WHERE partition = 'position_y2018m05'")
    ).scalar_one() == 0  # fmt: skip
    assert kept.name == "position_y2018m05.parquet.restored" and kept.exists()
    assert not Path(path).exists()
    from layers.archive import read_archived_track as archived

    start = month + timedelta(days=9)
    assert archived(session=db_session, device_id=device, start=start,
                    end=start + timedelta(days=1)) is None  # fmt: skip
    with pytest.raises(LookupError):
        restore_month(session=db_session, month=date(2018, 5, 1))
    PARTITIONS.forget()


def test_the_restore_command(monkeypatch, database_url, engine) -> None:  # type: ignore[no-untyped-def]
    from typer.testing import CliRunner

    from api.cli import app

    monkeypatch.setenv("DATABASE_URL", database_url)
    run = CliRunner().invoke
    args = ["positions", "restore"]
    never = run(app, [*args, "2017-01", "--lang", "en"], terminal_width=200)
    assert never.exit_code == 1 and "2017-01 was never archived" in never.output
    bad = run(app, [*args, "Jan", "--lang", "en"], terminal_width=200)
    assert bad.exit_code == 2 and "YYYY-MM" in bad.output
    # a record whose file is gone: the dry run says what would come back; --commit refuses
    with engine.begin() as conn:
        conn.execute(
            text("INSERT INTO position_archive VALUES ('position_y2017m02', '2017-02-01Z', "
                 "'2017-03-01Z', '/nonexistent/position_y2017m02.parquet', 7, 'x', now())")
        )  # fmt: skip
    try:
        dry = run(app, [*args, "2017-02", "--lang", "en"], terminal_width=200)
        assert dry.exit_code == 0, dry.output
        assert "7 fixes in /nonexistent/position_y2017m02.parquet" in dry.output
        assert "dry run: nothing restored" in dry.output
        gone = run(app, [*args, "2017-02", "--commit", "--lang", "en"], terminal_width=200)
        assert gone.exit_code == 1 and "is missing; nothing changed" in gone.output
        with engine.connect() as conn:  # nothing changed: no partition, the record kept
            assert conn.execute(text("SELECT to_regclass('position_y2017m02')")).scalar() is None
            assert conn.execute(
                text("SELECT rows FROM position_archive WHERE partition = 'position_y2017m02'")
            ).scalar() == 7  # fmt: skip
    finally:
        with engine.begin() as conn:
            conn.execute(text("DELETE FROM position_archive WHERE partition = 'position_y2017m02'"))
