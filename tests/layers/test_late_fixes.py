"""Late uploads: a phone that sends yesterday's backlog today changes yesterday's coverage.

The database notes the (day, device) of every fix older than today; ``recompute_late`` then
recomputes that day's stored runs for the affected devices and grids only. Proved: the figures
after the incremental recomputation equal a full recomputation of the day, row for row, and a
device that was absent is present afterwards."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import Engine, text
from sqlalchemy.orm import Session

from gis.coverage import CoverageParams
from layers.coverage import (
    CoverageDevice,
    CoverageGrid,
    CoverageVisit,
    compute_coverage_run,
    recompute_late,
)
from layers.positions import PARTITIONS

DAY = date(2026, 3, 9)
START = datetime(2026, 3, 9, 1, 0, tzinfo=UTC)  # 09:00 in Shanghai
M_PER_DEG_LON, M_PER_DEG_LAT = 94_500.0, 110_900.0


def _device(session: Session, name: str) -> int:
    return int(session.execute(
        text("INSERT INTO device (external_id, secret_hash, active) "
             "VALUES (:n, 'x', true) RETURNING id"), {"n": name},
    ).scalar_one())  # fmt: skip


def _walk(session: Session, device: int, lon: float, lat: float, start: datetime,
          minutes: int, north_m: float = 0.0) -> None:  # fmt: skip
    """Fixes every 5 s walking east at 1.5 m/s."""
    rows = []
    for k in range(minutes * 12):
        x = lon + 1.5 * 5 * k / M_PER_DEG_LON
        y = lat + north_m / M_PER_DEG_LAT
        rows.append({"d": device, "t": start + timedelta(seconds=5 * k), "x": x, "y": y})
    session.execute(
        text("INSERT INTO position (device_id, fix_time, server_time, lon, lat, raw_lon, "
             "raw_lat, datum, flags, source) VALUES (:d, :t, now(), :x, :y, :x, :y, "
             "'wgs84', 0, 'test')"), rows,
    )  # fmt: skip


def _rows(session: Session, run_id: int) -> dict[str, Any]:
    def table(model: Any, keys: tuple[str, ...], values: tuple[str, ...]) -> dict:  # type: ignore[type-arg]
        out = {}
        result = session.execute(
            text(f"SELECT {', '.join(keys + values)} FROM {model.__tablename__} "
                 "WHERE run_id = :r"), {"r": run_id},
        ).all()  # fmt: skip
        for r in result:
            out[tuple(r[: len(keys)])] = tuple(
                round(v, 3) if isinstance(v, float) else v for v in r[len(keys) :]
            )
        return out

    return {
        "grid": table(CoverageGrid, ("grid_code",),
                      ("cells", "covered_cells", "area_m2", "covered_area_m2", "blind_cells")),
        "visit": table(CoverageVisit, ("grid_code", "device_id"), ("metres", "minutes", "cells")),
        "device": table(CoverageDevice, ("device_id",), ("fixes", "tracked_s", "silences")),
    }  # fmt: skip


@pytest.fixture
def session(engine: Engine, db_session: Session, demo_generation: int) -> Session:
    PARTITIONS.ensure(engine=engine, times=[START, datetime.now(UTC)])
    return db_session


def test_late_fixes_recompute_equals_a_full_recomputation(session: Session, demo_grids) -> None:  # type: ignore[no-untyped-def]
    unit = demo_grids[demo_grids.level == 3].geometry
    p, q = unit.iloc[100].representative_point(), unit.iloc[900].representative_point()
    a, b, c = (_device(session, f"late-{n}-{id(session)}") for n in "abc")
    _walk(session, a, p.x, p.y, START, 30)
    _walk(session, b, q.x, q.y, START, 30)
    params = CoverageParams(resolution=10, distance_m=30.0, max_gap_s=300.0, metric_srid=4549)
    run = compute_coverage_run(session=session, day=DAY, params=params)
    assert c not in {d.device_id for d in session.query(CoverageDevice).filter_by(run_id=run.id)}
    # the backlog arrives: officer C walked 20 m beside A (their reach overlaps), B's last hour
    _walk(session, c, p.x, p.y, START + timedelta(minutes=2), 30, north_m=20)
    _walk(session, b, q.x, q.y, START + timedelta(hours=1), 20)
    noted = session.execute(text("SELECT day, device_id FROM coverage_stale")).all()
    assert {(DAY, b), (DAY, c)} <= set(noted)
    [summary] = [s for s in recompute_late(session=session) if s.get("run") == run.id]
    assert summary["late_devices"] >= 2 and summary["grids_recomputed"] >= 1
    assert not session.execute(text("SELECT 1 FROM coverage_stale WHERE day = :d"),
                               {"d": DAY}).first()  # fmt: skip
    incremental = _rows(session, run.id)
    assert (c,) in incremental["device"]  # no longer absent
    full = compute_coverage_run(session=session, day=DAY, params=params)
    assert incremental == _rows(session, full.id)


def test_fixes_of_today_are_not_late(session: Session, demo_grids) -> None:  # type: ignore[no-untyped-def]
    p = demo_grids[demo_grids.level == 3].geometry.iloc[5].representative_point()
    d = _device(session, f"today-{id(session)}")
    now = datetime.now(UTC)
    _walk(session, d, p.x, p.y, now - timedelta(minutes=1), 1)
    today = session.execute(text("SELECT 1 FROM coverage_stale WHERE device_id = :d"),
                            {"d": d}).first()  # fmt: skip
    # only fixes before today's Shanghai midnight are late (the first minute after midnight
    # UTC+8 the walk may start yesterday: then it is late, rightly)
    assert today is None or (now + timedelta(hours=8)).time().hour == 0


def test_late_fixes_of_an_archived_month_keep_the_days_figures(
    session: Session, demo_grids
) -> None:  # type: ignore[no-untyped-def]
    """The rest of an archived day's fixes are in its GeoParquet file, not in ``position``:
    recomputing from the late fixes alone would lower the day's coverage. The stored figures
    stay as they were and the notes are kept for after ``gridgis positions restore``."""
    from layers.archive import PositionArchive

    p = demo_grids[demo_grids.level == 3].geometry.iloc[300].representative_point()
    a, late = (_device(session, f"arch-{n}-{id(session)}") for n in "ab")
    _walk(session, a, p.x, p.y, START, 30)
    params = CoverageParams(resolution=10, distance_m=30.0, max_gap_s=300.0, metric_srid=4549)
    run = compute_coverage_run(session=session, day=DAY, params=params)
    before = _rows(session, run.id)
    month = datetime(2026, 3, 1, tzinfo=UTC)
    session.add(PositionArchive(
        partition=f"test_archived_{id(session)}", month_start=month,
        month_end=datetime(2026, 4, 1, tzinfo=UTC), path="/nonexistent.parquet", rows=1,
        sha256="0" * 64, archived_at=datetime.now(UTC),
    ))  # fmt: skip
    session.flush()
    _walk(session, late, p.x, p.y, START + timedelta(minutes=3), 10, north_m=10)
    summaries = recompute_late(session=session)
    assert {"day": DAY.isoformat(), "late_devices": 1, "skipped": "archived"} in [
        {k: s[k] for k in ("day", "late_devices", "skipped") if k in s} for s in summaries
    ]
    assert _rows(session, run.id) == before  # nothing replaced
    kept = session.execute(text("SELECT device_id FROM coverage_stale WHERE day = :d"),
                           {"d": DAY}).scalars().all()  # fmt: skip
    assert late in kept
    # once restored (here: the record gone), the next recomputation counts the late device
    session.execute(text("DELETE FROM position_archive WHERE partition = :p"),
                    {"p": f"test_archived_{id(session)}"})  # fmt: skip
    assert any(s.get("run") == run.id for s in recompute_late(session=session))
    assert (late,) in _rows(session, run.id)["device"]
