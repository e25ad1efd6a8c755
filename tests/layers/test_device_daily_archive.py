"""``patrol/daily`` on an archived day (docs/retention.md): a day with stored figures keeps
them when late fixes arrive (recomputed after a restore); a day never computed is computed from
the archive file and the database together, each fix once."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

from sqlalchemy import text
from sqlalchemy.orm import Session

from layers.archive import archive_partition, partitions_before, restore_month
from layers.daily_figures import figures_of
from layers.device_daily import refresh_day, stored_figures
from layers.positions import PARTITIONS
from tests.layers.test_archive import _late_partition


def _device(session: Session, name: str) -> int:
    return int(
        session.execute(
            text("INSERT INTO device (external_id, secret_hash, active) VALUES "
                 "(:n || gen_random_uuid(), 'x', true) RETURNING id"), {"n": name},
        ).scalar_one()
    )  # fmt: skip


def _walk(session: Session, device: int, start: datetime, n: int, east_m: float = 0.0) -> None:
    """``n`` fixes 5 s apart walking east ~1.4 m/s from 120.30 E (plus ``east_m``)."""
    session.execute(
        text("INSERT INTO position (device_id, fix_time, server_time, lon, lat, raw_lon, raw_lat,"
             " datum, flags, source) VALUES (:d, :t, now(), :x, 31.9, :x, 31.9, 'wgs84', 0,"
             " 'test')"),
        [{"d": device, "t": start + timedelta(seconds=5 * k),
          "x": 120.30 + (east_m + 7.0 * k) / 94_500.0} for k in range(n)],
    )  # fmt: skip


def _archive(session: Session, name: str, until: date, folder) -> None:  # type: ignore[no-untyped-def]
    [m] = [p for p in partitions_before(session=session, before=until) if p.name == name]
    archive_partition(session=session, partition=m, directory=folder)


def test_a_day_never_computed_is_computed_from_the_archive_and_the_database(
    db_session: Session, tmp_path
) -> None:  # type: ignore[no-untyped-def]
    month = datetime(2016, 5, 1, tzinfo=UTC)
    day = date(2016, 5, 12)
    morning = datetime(2016, 5, 12, 1, 0, tzinfo=UTC)  # 09:00 in Shanghai
    device = _device(db_session, "archived-day-")
    _late_partition(db_session, month)
    _walk(db_session, device, morning, 120)
    expected = figures_of(db_session, [device], day)[device].figures
    _archive(db_session, "position_y2016m05", date(2016, 6, 1), tmp_path)
    # a late batch after the archive: 20 fixes resent (already in the file) and 60 new ones
    _late_partition(db_session, month)
    _walk(db_session, device, morning + timedelta(seconds=5 * 100), 20, east_m=7.0 * 100)
    later = morning + timedelta(seconds=5 * 120)
    _walk(db_session, device, later, 60, east_m=7.0 * 120)
    done = refresh_day(session=db_session, day=day)
    assert done["full"] is True
    got = stored_figures(session=db_session, day=day)[device]
    assert got.fixes == 180  # 120 archived + 60 new, the 20 resent counted once
    assert got.first_fix_s == expected.first_fix_s
    assert got.mileage_m > expected.mileage_m and got.patrol_time_s > expected.patrol_time_s
    assert abs(got.patrol_time_s - 179 * 5) < 1e-6
    PARTITIONS.forget()


def test_a_computed_archived_day_keeps_its_figures_until_a_restore(
    db_session: Session, tmp_path
) -> None:  # type: ignore[no-untyped-def]
    month = datetime(2016, 6, 1, tzinfo=UTC)
    day = date(2016, 6, 14)
    morning = datetime(2016, 6, 14, 1, 0, tzinfo=UTC)
    device = _device(db_session, "kept-day-")
    _late_partition(db_session, month)
    _walk(db_session, device, morning, 200)
    refresh_day(session=db_session, day=day)
    before = stored_figures(session=db_session, day=day)[device]
    assert before.fixes == 200
    _archive(db_session, "position_y2016m06", date(2016, 7, 1), tmp_path)
    # one late batch of 60 fixes of that day after the archive
    _late_partition(db_session, month)
    _walk(db_session, device, morning + timedelta(seconds=5 * 200), 60, east_m=7.0 * 200)
    done = refresh_day(session=db_session, day=day)
    assert done.get("archived") is True
    assert stored_figures(session=db_session, day=day)[device] == before  # not the 60 alone
    pending = db_session.execute(
        text("SELECT c.changes > s.changes_seen FROM device_day_change c JOIN device_daily s "
             "USING (day, device_id) WHERE c.day = :d AND c.device_id = :v"),
        {"d": day, "v": device},
    ).scalar_one()  # fmt: skip
    assert pending  # the change is noted for after a restore
    restore_month(session=db_session, month=date(2016, 6, 1))
    refresh_day(session=db_session, day=day)
    after = stored_figures(session=db_session, day=day)[device]
    assert after.fixes == 260 and after.first_fix_s == before.first_fix_s
    PARTITIONS.forget()


def test_coverage_of_an_archived_day_asks_for_a_restore(monkeypatch, database_url, engine) -> None:  # type: ignore[no-untyped-def]
    from typer.testing import CliRunner

    from api.cli import app

    monkeypatch.setenv("DATABASE_URL", database_url)
    with engine.begin() as conn:
        conn.execute(
            text("INSERT INTO position_archive VALUES ('position_y2016m02', '2016-02-01Z', "
                 "'2016-03-01Z', '/nonexistent/position_y2016m02.parquet', 5, 'x', now())")
        )  # fmt: skip
    try:
        r = CliRunner().invoke(app, ["coverage", "--date", "2016-02-10"], terminal_width=300)
        assert r.exit_code == 1, r.output
        assert "restore the month first" in r.output and "Traceback" not in r.output
        with engine.connect() as conn:  # nothing computed from part of the data
            assert not conn.execute(
                text("SELECT count(*) FROM coverage_run WHERE day = '2016-02-10'")
            ).scalar()
    finally:
        with engine.begin() as conn:
            conn.execute(text("DELETE FROM position_archive WHERE partition = 'position_y2016m02'"))


def test_an_archived_day_with_a_chunk_of_devices_without_fixes(
    db_session: Session, tmp_path, monkeypatch
) -> None:  # type: ignore[no-untyped-def]
    """Devices are read in chunks; a chunk whose devices sent nothing that day (most of a
    county's devices on a given day, and every device of other tests) folds to no fix, not an
    error (the full suite once failed here: an empty chunk's duplicate mask had one element)."""
    monkeypatch.setattr("layers.device_daily.DAILY_CHUNK_DEVICES", 1)
    month = datetime(2016, 7, 1, tzinfo=UTC)
    day = date(2016, 7, 12)
    morning = datetime(2016, 7, 12, 1, 0, tzinfo=UTC)
    walker = _device(db_session, "chunk-walker-")
    idle = _device(db_session, "chunk-idle-")
    _late_partition(db_session, month)
    _walk(db_session, walker, morning, 30)
    _archive(db_session, "position_y2016m07", date(2016, 8, 1), tmp_path)
    refresh_day(session=db_session, day=day)
    figures = stored_figures(session=db_session, day=day)
    assert figures[walker].fixes == 30
    assert idle not in figures or figures[idle].fixes == 0
    PARTITIONS.forget()
