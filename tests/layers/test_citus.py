"""The province path: the same app code on Citus (a coordinator and 2 workers) and on PostGIS.

A private Citus cluster is started in a temporary folder for this module (never the shared
embedded cluster), migrated (the distribution step included), loaded with the demo city, then
the same fixes and cases are written to it and to the single-node test database. Ingest
(``store_fixes``, duplicates skipped), the late-fix notes of the position trigger, latest
positions, a device's track, a coverage run from the position table and the KPIs must give
identical answers on both. Skipped when Citus is not installed (``./run.sh test`` builds it
from ../shared/vendor/citus when that source is there).
"""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta
from typing import Any

import numpy as np
import pytest
from geoalchemy2.elements import WKTElement
from sqlalchemy import Engine, text

from api.settings import PROJECT_DIR
from layers.citus import CITUS_LIBRARY, CitusCluster, citus_available, citus_tables
from layers.db import make_engine, make_sessionmaker, transaction
from layers.migrate import upgrade

pytestmark = pytest.mark.skipif(
    not citus_available(),
    reason=f"Citus is not installed ({CITUS_LIBRARY} missing); ./run.sh test builds it from "
    "../shared/vendor/citus, or install postgresql-15-citus-13.2",
)

DAY = date(2024, 11, 5)  # a day no other test writes fixes on
START = datetime(2024, 11, 5, 1, 0, tzinfo=UTC)  # 09:00 in Shanghai
DEVICES = [f"citus-cmp-{i:02d}" for i in range(6)]
GRID = "999999998001001"  # the KPI cases' grid: no other test uses it
M_PER_DEG_LON, M_PER_DEG_LAT = 94_500.0, 110_900.0


@pytest.fixture(scope="module")
def citus_engine(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Engine]:
    """A migrated Citus coordinator (2 workers) with the demo city; stopped and removed after."""
    from layers.demo import load_demo_city

    cluster = CitusCluster(tmp_path_factory.mktemp("citus"), workers=2)
    try:
        cluster.start()
        engine = make_engine(cluster.url)
        upgrade(engine)
        with transaction(make_sessionmaker(engine)) as session:
            load_demo_city(
                session=session,
                seed=320281,
                metric_srid=4549,
                cache_dir=PROJECT_DIR / ".gridgis" / "cache",
            )
        yield engine
        engine.dispose()
    finally:
        cluster.stop()
        for node in cluster.nodes:
            shutil.rmtree(node.data_dir, ignore_errors=True)


def _fix_rows(device_id: int, k: int) -> Any:
    """30 minutes of fixes every 5 s, device ``k`` walking east at 1.5 m/s on its own street."""
    from layers.positions import FixRows

    n = 360
    steps = np.arange(n)
    lon = 120.285 + 1.5 * 5 * steps / M_PER_DEG_LON
    lat = np.full(n, 31.92 + 40.0 * k / M_PER_DEG_LAT)
    nan = np.full(n, np.nan)
    return FixRows(
        device_id=np.full(n, device_id),
        fix_time=[START + timedelta(seconds=5 * int(s)) for s in steps],
        lon=lon, lat=lat, raw_lon=lon.copy(), raw_lat=lat.copy(), datum=["wgs84"] * n,
        accuracy_m=np.full(n, 6.0), speed_mps=np.full(n, 1.5), course_deg=nan,
        altitude_m=nan, battery_pct=nan, grid_code=[None] * n, flags=np.zeros(n, np.int16),
        seq=list(range(n)), source="test", attributes=[None] * n,
    )  # fmt: skip


def _cases(session: Any, generation_id: int) -> None:
    from layers.events.models import Event, EventSource, EventStatus

    t = datetime(2024, 11, 4, 2, 0, tzinfo=UTC)
    for i, (status, handled_h) in enumerate(
        [("closed", 2), ("closed", 40), ("in_handling", None), ("reported", None)]
    ):
        handled = None if handled_h is None else t + timedelta(hours=handled_h)
        event = Event(
            source=EventSource("patrol"), subclass_code="0101", description=f"case {i}",
            geom=WKTElement("POINT(120.3 31.9)", srid=4490), reported_at=t,
            generation_id=generation_id, grid_code=GRID, village_code=GRID[:12],
            town_code=GRID[:9], department="镇街环卫所", status=EventStatus(status),
            accepted_at=t if status != "reported" else None,
            deadline_at=t + timedelta(hours=24) if status != "reported" else None,
            handled_at=handled, closed_at=handled if status == "closed" else None,
            rework_count=0, extension_count=0,
            closure_work_h=float(handled_h) if handled_h else None, version=1,
        )  # fmt: skip
        session.add(event)


def _exercise(engine: Engine) -> dict[str, Any]:
    """Write the same fixes and cases, then read everything compared (device ids → names)."""
    from gis.tracks import UNUSABLE
    from layers.coverage import CoverageDevice, CoverageGrid, CoverageVisit, compute_coverage_run
    from layers.daily_figures import figures_of
    from layers.dashboard import patrol_panel
    from layers.device_daily import refresh_day, stored_figures
    from layers.devices import create_device
    from layers.events import kpis
    from layers.grids import active_generation
    from layers.positions import PARTITIONS, device_with_previous_fix, latest_fixes, store_fixes
    from layers.tracks import device_track

    PARTITIONS.forget()
    PARTITIONS.ensure(engine=engine, times=[START, datetime.now(UTC)])
    make = make_sessionmaker(engine)
    out: dict[str, Any] = {}
    with transaction(make) as session:
        ids = {create_device(session=session, external_id=n)[0].id: n for n in DEVICES}
        _cases(session, active_generation(session=session).id)
    names = ids.get
    received = datetime(2024, 11, 6, 0, 0, tzinfo=UTC)
    with transaction(make) as session:
        out["stored"] = [
            store_fixes(session=session, rows=_fix_rows(d, k), received_at=received)
            for k, d in enumerate(ids)
        ]
    with transaction(make) as session:  # the same batches again: every fix a duplicate
        out["again"] = [
            store_fixes(session=session, rows=_fix_rows(d, k), received_at=received)
            for k, d in enumerate(ids)
        ]
        out["rows"] = session.execute(
            text(
                "SELECT device_id, count(*), min(fix_time), max(fix_time), sum(lon), sum(lat) "
                "FROM position WHERE device_id = ANY(:ids) GROUP BY device_id"
            ),
            {"ids": list(ids)},
        ).all()
        out["rows"] = sorted((names(r[0]), *r[1:]) for r in out["rows"])
        out["stale"] = sorted(
            (r[0], names(r[1]))
            for r in session.execute(
                text("SELECT day, device_id FROM coverage_stale WHERE device_id = ANY(:ids)"),
                {"ids": list(ids)},
            )
        )
        latest = latest_fixes(session=session, exclude_flags=0)
        out["latest"] = sorted(
            (r["external_id"], r["fix_time"], r["lon"], r["lat"]) for r in latest if r["id"] in ids
        )
        first = next(iter(ids))
        # the single-fix ingest's lookup: live (from device_latest) and late (from position)
        raw = session.connection().connection.driver_connection
        out["previous"] = [
            device_with_previous_fix(
                raw, external_id=DEVICES[0], before=START + offset, unusable_flags=UNUSABLE
            )[2]  # type: ignore[index]
            for offset in (timedelta(minutes=10), timedelta(days=1))
        ]
        panel = patrol_panel(session=session, scope="", now=received)
        out["dashboard"] = panel["devices"] >= len(DEVICES) and panel["offline_long"] > 0
        out["track"] = device_track(
            session=session, device_id=first, start=START, end=START + timedelta(hours=1)
        )
        out["track"].pop("device")  # ids differ between the two databases, the track may not
        for feature in out["track"]["features"]:
            feature.get("properties", {}).pop("device_id", None)
    with transaction(make) as session:
        refresh_day(session=session, day=DAY)
        stored = stored_figures(session=session, day=DAY)
        full = figures_of(session, list(ids), DAY)
        out["daily"] = sorted(
            (names(d), f.fixes, round(f.mileage_m, 3), f.patrol_time_s, f.stops, f.first_fix_s)
            for d, f in stored.items()
            if d in ids
        )
        assert out["daily"] == sorted(
            (names(d), f.fixes, round(f.mileage_m, 3), f.patrol_time_s, f.stops, f.first_fix_s)
            for d, f in ((d, fold.figures) for d, fold in full.items())
        )
        # a late fix on one device: only that pair is recomputed, and the stored rows follow
        late = _fix_rows(first, 0)
        late.fix_time = [t - timedelta(minutes=45) for t in late.fix_time]
        store_fixes(session=session, rows=late, received_at=received)
        out["daily_late"] = refresh_day(session=session, day=DAY)
        out["daily_late_fixes"] = stored_figures(session=session, day=DAY)[first].fixes
        # fixes after its last one (live): continued from the stored restart point
        live = _fix_rows(first, 0)
        live.fix_time = [t + timedelta(minutes=45) for t in live.fix_time]
        store_fixes(session=session, rows=live, received_at=received)
        out["daily_live"] = refresh_day(session=session, day=DAY)
        out["daily_live_same"] = (
            stored_figures(session=session, day=DAY)[first]
            == figures_of(session, [first], DAY)[first].figures
        )
    with transaction(make) as session:
        run = compute_coverage_run(session=session, day=DAY)
        out["coverage_grid"] = sorted(
            session.execute(
                text(
                    "SELECT grid_code, cells, covered_cells, round(area_m2::numeric, 3), "
                    "round(covered_area_m2::numeric, 3) FROM coverage_grid WHERE run_id = :r "
                    "AND covered_cells > 0"
                ),
                {"r": run.id},
            ).all()
        )
        out["coverage_visit"] = sorted(
            (r[0], names(r[1]), round(r[2], 3), r[3], r[4])
            for r in session.execute(
                text(
                    f"SELECT grid_code, device_id, metres, minutes, cells FROM "
                    f"{CoverageVisit.__tablename__} WHERE run_id = :r AND device_id = ANY(:ids)"
                ),
                {"r": run.id, "ids": list(ids)},
            )
        )
        out["coverage_device"] = sorted(
            (names(r[0]), r[1], r[2], r[3])
            for r in session.execute(
                text(
                    f"SELECT device_id, fixes, tracked_s, silences FROM "
                    f"{CoverageDevice.__tablename__} WHERE run_id = :r AND device_id = ANY(:ids)"
                ),
                {"r": run.id, "ids": list(ids)},
            )
        )
        assert CoverageGrid.__tablename__ == "coverage_grid"
        query = kpis.KpiQuery(
            "grid", datetime(2024, 11, 1, tzinfo=UTC), datetime(2024, 11, 30, tzinfo=UTC),
            now=datetime(2024, 11, 10, tzinfo=UTC),
        )  # fmt: skip
        out["kpis"] = [r for r in kpis.compute(session=session, query=query) if r["key"] == GRID]
    return out


@pytest.fixture(scope="module")
def compared(citus_engine: Engine, engine: Engine, demo_generation: int) -> dict[str, Any]:
    return {"citus": _exercise(citus_engine), "postgis": _exercise(engine)}


def test_schema_is_distributed(citus_engine: Engine) -> None:
    with citus_engine.connect() as conn:
        kinds = citus_tables(conn)
        workers = conn.execute(
            text("SELECT count(*) FROM pg_dist_node WHERE groupid > 0 AND isactive")
        ).scalar()
    assert workers == 2
    assert kinds["position"] == "distributed"
    assert kinds["coverage_stale"] == "distributed"
    for name in ("device", "person", "team", "enforcement_zone", "event_class",
                 "event_subclass"):  # fmt: skip
        assert kinds[name] == "reference", name
    # tables with triggers of their own (the calendar's NOTIFY, migration 0025), and those
    # referencing them, stay on the coordinator
    for name in ("generation", "grid", "event", "event_log", "coverage_run", "api_token",
                 "calendar_day"):  # fmt: skip
        assert kinds[name] == "local", name
    # a second upgrade (app start-up) finds everything done and changes nothing
    upgrade(citus_engine)
    with citus_engine.connect() as conn:
        assert citus_tables(conn) == kinds


def test_fixes_are_spread_over_both_workers(citus_engine: Engine, compared: dict) -> None:
    with citus_engine.connect() as conn:
        nodes = conn.execute(
            text(
                "SELECT count(DISTINCT nodename) FROM citus_shards "
                "WHERE table_name::text LIKE 'position_y%' AND shard_size > 0"
            )
        ).scalar()
    assert nodes == 2


@pytest.mark.parametrize(
    "part",
    ["stored", "again", "rows", "stale", "latest", "previous", "dashboard", "daily",
     "daily_late", "daily_late_fixes", "daily_live", "daily_live_same", "track",
     "coverage_grid", "coverage_visit", "coverage_device", "kpis"],
)  # fmt: skip
def test_same_answers_as_postgis(compared: dict[str, Any], part: str) -> None:
    citus, postgis = compared["citus"][part], compared["postgis"][part]
    assert citus == postgis
    if part == "stored":
        assert citus == [360] * len(DEVICES)
    if part == "again":
        assert citus == [0] * len(DEVICES)
    if part == "daily_late":
        assert citus["devices"] == 1 and citus["full"] is False
    if part == "daily_live":
        assert citus["devices"] == 1 and citus["continued"] == 1
    if part in ("dashboard", "daily_live_same"):
        assert citus is True
    if part in ("latest", "previous", "daily", "stale", "coverage_device", "kpis"):
        assert citus, f"{part}: nothing to compare"
