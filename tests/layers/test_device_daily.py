"""Stored per-device daily statistics and each device's latest fix (migration 0023).

Proved on the real database: the stored answer of ``GET /patrol/daily`` equals a full
recomputation row for row after the first computation, after late fixes, after a fix moved to
another day, a fix deleted, a new device and new parameters; only the changed (day, device)
pairs are recomputed. ``device_latest`` follows only newer usable fixes; latest positions and
the single-fix ingest's previous fix read from it agree with ``position``.
"""

from __future__ import annotations

import time
from datetime import UTC, date, datetime, timedelta
from typing import Any

import numpy as np
import psycopg
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from sqlalchemy import Engine, text
from sqlalchemy.orm import Session

from gis.tracks import UNUSABLE, GapSplitter, StopDetector
from layers.copyio import row_dtype
from layers.daily_figures import DAY_FIELDS, compute_daily_stats, fold_fixes
from layers.device_daily import daily_stats, refresh_day
from layers.device_latest import LATEST_UNUSABLE
from layers.positions import PARTITIONS, device_with_previous_fix, latest_fixes, previous_fix

DAY = date(2023, 6, 14)  # a day no other test writes fixes on
START = datetime(2023, 6, 14, 1, 0, tzinfo=UTC)  # 09:00 in Shanghai
M_PER_DEG_LON, M_PER_DEG_LAT = 94_500.0, 110_900.0
GRIDS = ("320281001001001", "320281001001002", "320281001002001")


@pytest.fixture
def session(engine: Engine, db_session: Session) -> Session:
    PARTITIONS.ensure(engine=engine, times=[START, START + timedelta(days=40), datetime.now(UTC)])
    return db_session


def _officer(session: Session, name: str, own: str | None = GRIDS[0]) -> int:
    person = session.execute(
        text("INSERT INTO person (name) VALUES (:n) RETURNING id"), {"n": name}
    ).scalar_one()
    if own:
        session.execute(
            text("INSERT INTO grid_assignment (person_id, grid_code, role) "
                 "VALUES (:p, :g, 'patroller')"), {"p": person, "g": own},
        )  # fmt: skip
    return int(session.execute(
        text("INSERT INTO device (external_id, secret_hash, active, person_id) "
             "VALUES (:n, 'x', true, :p) RETURNING id"), {"n": name, "p": person},
    ).scalar_one())  # fmt: skip


def _walk(session: Session, device: int, start: datetime, minutes: int, *,
          lane: int = 0, pause_at: int | None = None, flags: int = 0) -> None:  # fmt: skip
    """Fixes every 5 s walking east at 1.5 m/s through the three grids, standing still for
    5 minutes from minute ``pause_at`` (a stop)."""
    rows, x = [], 0.0
    for k in range(minutes * 12):
        standing = pause_at is not None and pause_at * 12 <= k < (pause_at + 5) * 12
        x += 0.0 if standing else 7.5
        rows.append({
            "d": device, "t": start + timedelta(seconds=5 * k),
            "x": 120.285 + x / M_PER_DEG_LON, "y": 31.92 + 40.0 * lane / M_PER_DEG_LAT,
            "g": GRIDS[(k // 60) % len(GRIDS)], "f": flags,
        })  # fmt: skip
    session.execute(
        text("INSERT INTO position (device_id, fix_time, server_time, lon, lat, raw_lon, "
             "raw_lat, datum, grid_code, flags, source) VALUES (:d, :t, now(), :x, :y, :x, :y, "
             "'wgs84', :g, :f, 'test')"), rows,
    )  # fmt: skip


def _same(session: Session, day: date = DAY, **kw: Any) -> list[dict[str, Any]]:
    stored = daily_stats(session=session, day=day, **kw)
    full = compute_daily_stats(session=session, day=day, **kw)
    assert stored == full
    return stored


def _row(rows: list[dict[str, Any]], device: int) -> dict[str, Any]:
    return next(r for r in rows if r["device_id"] == device)


def test_stored_equals_full_recomputation_through_changes(session: Session) -> None:
    a, b, c = (_officer(session, f"daily-{n}") for n in "abc")
    _walk(session, a, START, 60, pause_at=20)
    _walk(session, b, START + timedelta(hours=2), 45, lane=1)
    first = _same(session)
    assert _row(first, a)["fixes"] == 720 and _row(first, a)["stops"] == 1
    assert _row(first, a)["own_grid_time_s"] > 0 and _row(first, c)["fixes"] == 0
    # nothing changed: nothing recomputed
    assert refresh_day(session=session, day=DAY)["devices"] == 0

    # late fixes: a's morning backlog, and c's whole patrol arriving days later
    _walk(session, a, START - timedelta(hours=1), 30, pause_at=3)
    _walk(session, c, START + timedelta(hours=5), 20, lane=2)
    assert refresh_day(session=session, day=DAY) == {"day": DAY.isoformat(), "full": False,
                                                      "devices": 2, "continued": 0}  # fmt: skip
    rows = _same(session)
    assert _row(rows, a)["fixes"] == 720 + 360 and _row(rows, a)["silences"] == 1
    assert _row(rows, c)["fixes"] == 240

    # a fix moved to the next day (a corrected clock), then one deleted
    moved = START + timedelta(hours=2, minutes=10)
    session.execute(
        text("UPDATE position SET fix_time = fix_time + interval '1 day' "
             "WHERE device_id = :d AND fix_time = :t"), {"d": b, "t": moved},
    )  # fmt: skip
    next_day = _same(session, DAY + timedelta(days=1))
    assert _row(next_day, b)["fixes"] == 1
    rows = _same(session)
    assert _row(rows, b)["fixes"] == 45 * 12 - 1
    session.execute(
        text("DELETE FROM position WHERE device_id = :d AND fix_time = :t"),
        {"d": a, "t": START + timedelta(minutes=40)},
    )
    assert _row(_same(session), a)["fixes"] == 720 + 360 - 1

    # unusable fixes count nowhere; a device and a person added later; the same day read for
    # one person; other parameters mean a full computation once
    _walk(session, c, START + timedelta(hours=7), 5, lane=2, flags=int(UNUSABLE))
    d = _officer(session, "daily-d", own=GRIDS[1][:12])
    _walk(session, d, START + timedelta(hours=3), 10, lane=3)
    rows = _same(session)
    assert _row(rows, c)["fixes"] == 240 and _row(rows, d)["fixes"] == 120
    person = _row(rows, d)["person_id"]
    assert _same(session, person_id=person) == [_row(rows, d)]
    other = {"splitter": GapSplitter(max_gap_s=120.0), "detector": StopDetector(30.0, 60.0)}
    assert _same(session, **other) != rows
    assert refresh_day(session=session, day=DAY, **other)["devices"] == 0
    assert refresh_day(session=session, day=DAY)["full"] is True  # back to the defaults


def _stored_state(session: Session, device: int) -> Any:
    return session.execute(
        text("SELECT rewrites_seen, open_from_s FROM device_daily "
             "WHERE day = :d AND device_id = :a"), {"d": DAY, "a": device},
    ).one()  # fmt: skip


def test_live_fixes_continue_the_last_segment(session: Session) -> None:
    """A phone sending live: each refresh reads only the fixes from the start of the device's
    last segment on, and the figures stay equal to the whole day's, bit for bit (a stop
    running across the refreshes, a silence opening a new segment, a backlog after)."""
    a, b = _officer(session, "live-a"), _officer(session, "live-b")
    _walk(session, a, START, 30)
    _walk(session, b, START, 10, lane=1)
    _same(session)
    t = START + timedelta(minutes=30)
    for minutes, pause in ((4, 0), (4, None), (6, 2)):  # a stop across the first two
        _walk(session, a, t, minutes, pause_at=pause)
        t += timedelta(minutes=minutes)
        session.flush()
        stored = daily_stats(session=session, day=DAY)
        assert refresh_day(session=session, day=DAY)["devices"] == 0
        assert stored == compute_daily_stats(session=session, day=DAY)
    info = _stored_state(session, a)
    # a silence of 10 minutes: a new segment, and the old one closed
    _walk(session, a, t + timedelta(minutes=10), 3)
    assert refresh_day(session=session, day=DAY)["continued"] == 1
    rows = _same(session)
    assert _row(rows, a)["silences"] == 1 and _row(rows, a)["stops"] >= 1
    after = _stored_state(session, a)
    assert after[0] == info[0] and after[1] > info[1]  # appended only; the segment moved on
    # a fix older than the last one (a backlog) is not an append: the whole day again
    _walk(session, a, START - timedelta(minutes=30), 2)
    assert refresh_day(session=session, day=DAY)["continued"] == 0
    assert _row(_same(session), a)["silences"] == 2


def test_own_grid_time_follows_assignments_without_new_fixes(session: Session) -> None:
    a = _officer(session, "daily-own", own=None)
    _walk(session, a, START, 30)
    assert _row(_same(session), a)["own_grid_time_s"] == 0
    person = session.execute(text("SELECT person_id FROM device WHERE id = :d"), {"d": a})
    session.execute(
        text("INSERT INTO grid_assignment (person_id, grid_code, role) "
             "VALUES (:p, :g, 'patroller')"), {"p": person.scalar_one(), "g": GRIDS[2][:12]},
    )  # fmt: skip
    row = _row(_same(session), a)
    assert row["own_grid_time_s"] > 0 and 0 < row["own_grid_share"] < 1


def test_a_day_without_fixes(session: Session) -> None:
    quiet = date(2023, 6, 20)
    a = _officer(session, "daily-quiet")
    rows = _same(session, quiet)
    assert _row(rows, a)["fixes"] == 0 and _row(rows, a)["first_fix"] is None


def test_latest_fix_kept_by_ingest(session: Session) -> None:
    a = _officer(session, "latest-a")

    def latest() -> tuple[datetime, float] | None:
        row = session.execute(
            text("SELECT fix_time, lon FROM device_latest WHERE device_id = :d"), {"d": a}
        ).first()
        return None if row is None else (row[0], row[1])

    assert latest() is None
    _walk(session, a, START, 10)
    end = START + timedelta(seconds=5 * 119)
    assert latest() is not None and latest()[0] == end  # type: ignore[index]
    _walk(session, a, START - timedelta(hours=3), 10)  # a backlog never replaces it
    assert latest()[0] == end  # type: ignore[index]
    _walk(session, a, end + timedelta(minutes=1), 1, flags=int(UNUSABLE))  # nor an unusable fix
    assert latest()[0] == end  # type: ignore[index]
    # latest_fixes reads it: the same as the last usable fix in position
    mine = [r for r in latest_fixes(session=session, exclude_flags=UNUSABLE) if r["id"] == a]
    assert [(r["fix_time"], r["lon"]) for r in mine] == [latest()]
    # the latest fix deleted or corrected: looked up again
    session.execute(
        text("DELETE FROM position WHERE device_id = :d AND fix_time = :t"), {"d": a, "t": end}
    )
    assert latest()[0] == end - timedelta(seconds=5)  # type: ignore[index]
    session.execute(
        text("UPDATE position SET flags = :f WHERE device_id = :d AND fix_time > :t"),
        {"f": int(UNUSABLE), "d": a, "t": START},
    )
    assert latest()[0] == START  # type: ignore[index]
    session.execute(text("DELETE FROM position WHERE device_id = :d"), {"d": a})
    assert latest() is None


def test_previous_fix_from_latest_or_position(session: Session, engine: Engine) -> None:
    """The single-fix ingest's lookup agrees with ``previous_fix`` for live and late fixes."""
    assert LATEST_UNUSABLE == int(UNUSABLE)
    a = _officer(session, "previous-a")
    _walk(session, a, START, 10)
    session.flush()
    conn: psycopg.Connection = session.connection().connection.driver_connection  # type: ignore[assignment]
    ext = "previous-a"
    for before in (START - timedelta(minutes=1), START, START + timedelta(minutes=3),
                   START + timedelta(seconds=595), START + timedelta(days=1)):  # fmt: skip
        found = device_with_previous_fix(
            conn, external_id=ext, before=before, unusable_flags=UNUSABLE
        )
        assert found is not None and found[0] == a and found[3] == "kn"
        expected = previous_fix(session=session, device_id=a, before=before,
                                unusable_flags=UNUSABLE)  # fmt: skip
        assert found[2] == expected, before
    assert device_with_previous_fix(
        conn, external_id="previous-none", before=START, unusable_flags=UNUSABLE
    ) is None  # fmt: skip


def _random_day(rng: np.random.Generator, n: int) -> np.ndarray:
    """A device's fixes: walks and stays (with GPS noise), some silences, three grids."""
    t = START.timestamp() + np.cumsum(rng.choice([5.0, 5.0, 5.0, 10.0, 400.0], n,
                                                 p=[0.6, 0.2, 0.15, 0.04, 0.01]))  # fmt: skip
    moving = (np.arange(n) // rng.integers(20, 80)) % 2 == 0
    step = np.where(moving, rng.uniform(3, 9, n), 0.0)
    x = np.cumsum(step) + rng.normal(0, 4, n)
    y = rng.normal(0, 4, n)
    rows = np.zeros(n, dtype=row_dtype(DAY_FIELDS))
    rows["device"], rows["t"] = 1, t
    rows["lon"], rows["lat"] = 120.285 + x / M_PER_DEG_LON, 31.92 + y / M_PER_DEG_LAT
    rows["grid"] = np.array([int(g) for g in GRIDS] + [-1])[(np.arange(n) // 50) % 4]
    return rows


@settings(max_examples=40, deadline=None)
@given(seed=st.integers(0, 2**32 - 1), n=st.integers(1, 600), parts=st.integers(1, 8))
def test_continued_figures_equal_the_whole_day_bit_for_bit(seed: int, n: int, parts: int) -> None:
    """Fixes arriving in any number of appended batches, each continued from the stored
    restart point, give exactly the figures of the whole day at once."""
    rng = np.random.default_rng(seed)
    rows = _random_day(rng, n)
    whole = fold_fixes(rows)
    cuts = sorted(set(rng.integers(1, n + 1, parts - 1).tolist()) | {n})
    fold, done = fold_fixes(rows[: cuts[0]]), cuts[0]
    for cut in cuts[1:]:
        assert fold.open_from_s is not None
        since = int(np.searchsorted(rows["t"], fold.open_from_s, side="left"))
        assert since < done
        fold = fold_fixes(rows[since:cut], start=fold.closed)
        done = cut
    assert fold.figures == whole.figures


def test_the_server_computes_today_on_its_own(engine: Engine) -> None:
    """The server's timer brings today's stored statistics up to date (computed once, then
    continued), so that a request finds them ready."""
    from api.periodic import start_late_fix_recompute
    from layers.db import make_sessionmaker
    from layers.workcal import SHANGHAI

    today = datetime.now(SHANGHAI).date()
    stop = start_late_fix_recompute(make_sessionmaker(engine), 0.2, metric_srid=4549)
    try:
        deadline = time.monotonic() + 120
        while True:
            with engine.connect() as conn:
                done = conn.execute(
                    text("SELECT metric_srid FROM device_daily_day WHERE day = :d"), {"d": today}
                ).scalar()
            if done == 4549:
                break
            assert time.monotonic() < deadline, "today was not computed by the timer"
            time.sleep(0.2)
    finally:
        stop()


def test_a_read_only_database_still_answers(session: Session) -> None:
    """On a standby or a read-only database nothing can be stored: the answer is computed."""
    a = _officer(session, "daily-ro")
    _walk(session, a, START, 20)
    expected = compute_daily_stats(session=session, day=DAY)
    with session.begin_nested():
        session.execute(text("SET TRANSACTION READ ONLY"))
        assert daily_stats(session=session, day=DAY) == expected
        session.rollback()
