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

import httpx
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
EVENT_TABLES = ("event", "event_log", "event_photo", "open311_request")
M_PER_DEG_LON, M_PER_DEG_LAT = 94_500.0, 110_900.0


@pytest.fixture(scope="module")
def citus_cluster(tmp_path_factory: pytest.TempPathFactory) -> Iterator[CitusCluster]:
    """A private Citus cluster (a coordinator and 2 workers), stopped and removed after."""
    cluster = CitusCluster(tmp_path_factory.mktemp("citus"), workers=2)
    try:
        cluster.start()
        yield cluster
    finally:
        cluster.stop()
        for node in cluster.nodes:
            shutil.rmtree(node.data_dir, ignore_errors=True)


@pytest.fixture(scope="module")
def citus_engine(citus_cluster: CitusCluster) -> Iterator[Engine]:
    """The cluster's database migrated, with the demo city and its staff (the same roster as
    the ``people_demo`` fixture loads into the single-node database: cases are given the same
    grid workers on both sides)."""
    from layers.demo import load_demo_city
    from layers.people_demo import load_demo_people

    engine = make_engine(citus_cluster.url)
    upgrade(engine)
    with transaction(make_sessionmaker(engine)) as session:
        generation, _ = load_demo_city(
            session=session,
            seed=320281,
            metric_srid=4549,
            cache_dir=PROJECT_DIR / ".gridgis" / "cache",
        )
        load_demo_people(session=session, generation_id=generation.id, seed=320281)
    yield engine
    engine.dispose()


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
        # devices whose last fix lies in no grid (grid_code None here) are counted apart
        out["dashboard"] = panel["devices"] + panel["outside"] >= len(DEVICES)
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
        for dimension in ("town", "village", "reporter", "department"):
            query = kpis.KpiQuery(
                dimension, datetime(2024, 11, 1, tzinfo=UTC), datetime(2024, 11, 30, tzinfo=UTC),
                bucket="day", now=datetime(2024, 11, 10, tzinfo=UTC), codes=(GRID[:9],),
            )  # fmt: skip
            out[f"kpis_{dimension}"] = kpis.compute(session=session, query=query)
    return out


@pytest.fixture(scope="module")
def compared(citus_engine: Engine, engine: Engine, demo_generation: int) -> dict[str, Any]:
    return {"citus": _exercise(citus_engine), "postgis": _exercise(engine)}


def test_workers_starting_together_upgrade_without_racing(citus_engine: Engine) -> None:
    """Each worker of ``gridgis serve --workers N`` runs the upgrade and the distribution as it
    starts; under the schema lock (layers.migrate.SCHEMA_LOCK_KEY) they take turns instead of
    failing with "tuple concurrently updated" on CREATE OR REPLACE FUNCTION."""
    from concurrent.futures import ThreadPoolExecutor

    url = citus_engine.url.render_as_string(hide_password=False)
    engines = [make_engine(url) for _ in range(3)]
    try:
        with ThreadPoolExecutor(len(engines)) as pool:
            for done in [pool.submit(upgrade, e) for e in engines]:
                done.result()
    finally:
        for e in engines:
            e.dispose()
    with citus_engine.connect() as conn:
        assert citus_tables(conn).get("position") == "distributed"


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
    for name in ("generation", "grid", "coverage_run", "api_token", "calendar_day"):
        assert kinds[name] == "local", name
    # the cases and their rows: distributed by the filed town, one co-location group
    with citus_engine.connect() as conn:
        groups = dict(
            conn.execute(
                text(
                    "SELECT logicalrelid::regclass::text, colocationid FROM pg_dist_partition "
                    "WHERE logicalrelid::regclass::text = ANY(:t)"
                ),
                {"t": list(EVENT_TABLES)},
            ).all()
        )
        columns = conn.execute(
            text(
                "SELECT DISTINCT column_to_column_name(logicalrelid, partkey) "
                "FROM pg_dist_partition WHERE logicalrelid::regclass::text = ANY(:t)"
            ),
            {"t": list(EVENT_TABLES)},
        ).all()
    assert {kinds[name] for name in EVENT_TABLES} == {"distributed"}
    assert len(set(groups.values())) == 1 and len(groups) == len(EVENT_TABLES)
    assert columns == [("filed_town_code",)]
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
     "coverage_grid", "coverage_visit", "coverage_device", "kpis", "kpis_town", "kpis_village",
     "kpis_reporter", "kpis_department"],
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
    if part in ("latest", "previous", "daily", "stale", "coverage_device") or "kpis" in part:
        assert citus, f"{part}: nothing to compare"


# -- cases over HTTP: the app served from the Citus coordinator and from single-node PostGIS --
PERIOD = {"from": "2025-06-01", "to": "2025-07-01"}  # a month no other test files cases in
STORY = [  # (place, subclass, steps; "reroute" moves the case to the other town's grid)
    (0, "0401", ["accept", "dispatch", "start", "handle", "verify", "close"]),
    (0, "0401", ["accept", "dispatch", "start", "handle", "verify_fail", "start", "handle",
                 "verify", "close"]),
    (0, "0201", ["accept", "dispatch"]),  # left open: overdue (1 work day: due Fri 6 June)
    (1, "0401", ["reject"]),
    (1, "0101", ["accept", "dispatch", "start"]),
    (0, "0401", ["accept", "reroute", "dispatch", "start", "handle", "verify", "close"]),
]  # fmt: skip


@pytest.fixture(scope="module")
def places(demo_grids: Any) -> list[dict[str, Any]]:
    """Two unit grids of two different towns (code, lon, lat in CGCS2000)."""
    l3 = demo_grids[demo_grids.level == 3]
    first = l3.iloc[100]
    other = next(g for g in l3.itertuples() if g.code[:9] != first.code[:9])
    out = []
    for code, geometry in ((first.code, first.geometry), (other.code, other.geometry)):
        p = geometry.representative_point()
        out.append({"code": code, "lon": p.x, "lat": p.y})
    return out


@pytest.fixture(scope="module")
def citus_server(citus_engine: Engine, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Any]:
    """The app served on the Citus coordinator, and an admin token there."""
    from layers.auth import create_token
    from layers.models import Role
    from tests.server_support import app_server

    with transaction(make_sessionmaker(citus_engine)) as session:
        _, token = create_token(session=session, name="citus admin", role=Role.ADMIN)
    url = citus_engine.url.render_as_string(hide_password=False)
    with app_server(url, tmp_path_factory.mktemp("citus-server")) as base:
        yield base, token


def _http_story(base: str, token: str, places: list[dict[str, Any]]) -> dict[str, Any]:
    """File the :data:`STORY` cases through the API (a photo on the first), take their steps
    back-dated in June 2025, then read every case and the KPIs of the month."""
    import io

    from PIL import Image

    png = io.BytesIO()
    Image.new("RGB", (32, 24), (200, 80, 40)).save(png, "PNG")
    out: dict[str, Any] = {"cases": [], "ids": []}
    with httpx.Client(
        base_url=base, headers={"Authorization": f"Bearer {token}"}, timeout=120
    ) as client:
        for i, (where, subclass, steps) in enumerate(STORY):
            t = datetime(2025, 6, 5, 1, 0, tzinfo=UTC) + timedelta(hours=3 * i)
            body = {"lon": places[where]["lon"], "lat": places[where]["lat"],
                    "subclass": subclass, "description": f"citus case {i}",
                    "ignore_duplicates": True, "reported_at": t.isoformat()}  # fmt: skip
            if i == 0:  # a photo: multipart
                form = {k: str(v).lower() if v is True else str(v) for k, v in body.items()}
                files = [("photos", ("scene.png", png.getvalue(), "image/png"))]
                r = client.post("/api/v1/events", data=form, files=files)
            else:
                r = client.post("/api/v1/events", json=body)
            assert r.status_code == 201, r.text
            event_id = r.json()["id"]
            out["ids"].append(event_id)
            for k, step in enumerate(steps, start=1):
                if step == "reroute":
                    r = client.post(
                        f"/api/v1/events/{event_id}/routing",
                        json={"changes": {"grid_code": places[1]["code"]}, "reason": "跨镇改派"},
                    )
                else:
                    at = (t + timedelta(minutes=10 * k)).isoformat()
                    r = client.post(
                        f"/api/v1/events/{event_id}/actions",
                        json={"action": step, "note": "理由", "at": at},
                    )
                assert r.status_code == 200, (step, r.text)
        for event_id in out["ids"]:
            case = client.get(f"/api/v1/events/{event_id}").json()
            out["cases"].append(
                {
                    "status": case["status"],
                    "routing": [case["routing"][k] for k in ("grid_code", "town_code")],
                    "times": [case.get(k) for k in ("deadline_at", "handled_at", "closed_at")],
                    "rework_count": case["rework_count"],
                    # the reroute's time is the server's clock: not compared
                    "timeline": [
                        (s["action"], s["from"], s["to"], s["action"] != "reroute" and s["at"])
                        for s in case["timeline"]
                    ],
                    "photos": len(case["photos"]),
                }
            )
        for by in ("town", "village", "grid", "reporter", "department", "person"):
            r = client.get("/api/v1/kpis", params=PERIOD | {"by": by})
            assert r.status_code == 200, r.text
            out[f"kpis_{by}"] = r.json()["data"]
        r = client.get("/api/v1/kpis/ranking", params=PERIOD | {"by": "grid"})
        out["ranking"] = r.json()["data"]
    return out


@pytest.fixture(scope="module")
def http_compared(
    citus_server: Any,
    live_server: str,
    tokens: dict[str, str],
    places: list[dict[str, Any]],
    people_demo: dict[str, Any],
) -> dict[str, Any]:
    """The STORY over HTTP on both sides. Both hold the demo staff (``people_demo`` here, as
    in a full run where other tests load it; ``citus_engine`` there), so the KPIs per person
    compare the same grid workers whatever else ran before."""
    base, token = citus_server
    return {
        "citus": _http_story(base, token, places),
        "postgis": _http_story(live_server, tokens["admin"], places),
    }


@pytest.mark.parametrize(
    "part",
    ["cases", "kpis_town", "kpis_village", "kpis_grid", "kpis_reporter", "kpis_department",
     "kpis_person", "ranking"],
)  # fmt: skip
def test_cases_over_http_same_as_postgis(http_compared: dict[str, Any], part: str) -> None:
    citus, postgis = http_compared["citus"][part], http_compared["postgis"][part]
    assert citus == postgis
    assert citus, f"{part}: nothing to compare"


def test_rerouted_case_keeps_its_shard_and_counts_in_its_new_town(
    citus_engine: Engine, http_compared: dict[str, Any], places: list[dict[str, Any]]
) -> None:
    moved = http_compared["citus"]["ids"][-1]
    with citus_engine.connect() as conn:
        town, filed = conn.execute(
            text("SELECT town_code, filed_town_code FROM event WHERE id = :i"), {"i": moved}
        ).one()
        logs = conn.execute(
            text("SELECT DISTINCT filed_town_code FROM event_log WHERE event_id = :i"),
            {"i": moved},
        ).all()
    assert (town, filed) == (places[1]["code"][:9], places[0]["code"][:9])
    assert logs == [(filed,)]  # the log stays with its case
    towns = {r["key"]: r["reported"] for r in http_compared["citus"]["kpis_town"]}
    # STORY: 4 cases filed in the first town, one of them moved; 2 in the second
    assert towns == {places[0]["code"][:9]: 3, places[1]["code"][:9]: 3}


def test_kpis_are_pushed_down(citus_engine: Engine) -> None:
    """EXPLAIN: for every dimension, department included, the whole aggregation runs in each
    shard's task on the workers (grouped by the filed town, the distribution column); the
    coordinator only gathers one row per (filed town, unit), merged by ``kpis.merge``."""
    from layers.events import kpis

    params = {"start": datetime(2023, 6, 1, tzinfo=UTC), "end": datetime(2023, 7, 1, tzinfo=UTC),
              "now": datetime(2023, 7, 1, tzinfo=UTC)}  # fmt: skip
    for dimension, key in kpis.DIMENSIONS.items():
        with citus_engine.connect() as conn:
            lines = [r[0] for r in conn.execute(text("EXPLAIN " + kpis.sql(key=key)), params)]
        at = next(i for i, line in enumerate(lines) if "Custom Scan (Citus Adaptive)" in line)
        coordinator, workers = "\n".join(lines[:at]), "\n".join(lines[at:])
        assert "Aggregate" not in coordinator, (dimension, coordinator)
        assert "Aggregate" in workers.split("->  Task", 1)[1], (dimension, workers)
        assert "repartition" not in "\n".join(lines).lower(), dimension


def test_case_log_stays_append_only_on_citus(
    citus_engine: Engine, http_compared: dict[str, Any]
) -> None:
    from sqlalchemy.exc import DBAPIError

    first = http_compared["citus"]["ids"][0]
    for sql in (
        "UPDATE event_log SET note = 'rewritten' WHERE event_id = :i",
        "DELETE FROM event_log WHERE event_id = :i",
        "TRUNCATE event_log CASCADE",
    ):
        with pytest.raises(DBAPIError, match="append-only"), citus_engine.begin() as conn:
            conn.execute(text(sql), {"i": first})


def test_holiday_table_recomputes_open_deadlines_on_citus(
    citus_server: Any, http_compared: dict[str, Any]
) -> None:
    """Live on Citus: loading a year's holidays (coordinator tables, NOTIFY) recomputes the
    deadline of an open case (a distributed row, locked on its shard) and logs it; the
    case's page shows it at once."""
    base, token = citus_server
    open_case = http_compared["citus"]["ids"][2]
    with httpx.Client(
        base_url=base, headers={"Authorization": f"Bearer {token}"}, timeout=120
    ) as client:
        before = client.get(f"/api/v1/events/{open_case}").json()
        body = {"days": [{"date": "2025-06-06", "kind": "holiday", "name": "测试假日"}]}
        r = client.put("/api/v1/calendar/2025", json=body)
        assert r.status_code == 200, r.text
        assert r.json()["recomputed"] >= 1
        after = client.get(f"/api/v1/events/{open_case}").json()
    assert after["timeline"][-1]["action"] == "recalendar"
    assert after["deadline_at"] > before["deadline_at"]


def test_case_reads_answer_on_citus(
    citus_server: Any, http_compared: dict[str, Any], places: list[dict[str, Any]]
) -> None:
    """Every GET of the cases (lists, overdue, duplicates, map, dashboard, phones, Open311,
    KPIs) answers on Citus without a server error; an Open311 request is filed and read back
    (its row joined with its case on the shard key); an escalation runs over the shards."""
    base, token = citus_server
    words = ("event", "kpi", "dashboard", "mobile", "open311", "requests", "services")
    with httpx.Client(
        base_url=base, headers={"Authorization": f"Bearer {token}"}, timeout=120
    ) as client:
        paths = [
            p
            for p, ops in client.get("/openapi.json").json()["paths"].items()
            if "get" in ops and "{" not in p and any(w in p for w in words)
        ]
        params = PERIOD | {"lon": places[0]["lon"], "lat": places[0]["lat"], "subclass": "0401"}
        failed = {}
        for path in paths:
            r = client.get(path, params=params)
            if r.status_code >= 500:
                failed[path] = r.text[:300]
        assert not failed
        assert len(paths) >= 8, paths
        assert client.post("/api/v1/events/overdue/escalate").status_code == 200
        form = {"api_key": token, "service_code": "0104", "lat": str(places[0]["lat"]),
                "long": str(places[0]["lon"]),
                "description": "垃圾桶满了", "first_name": "王"}  # fmt: skip
        r = client.post("/open311/v2/requests.json", data=form)
        assert r.status_code == 201, r.text
        rid = r.json()[0]["service_request_id"]
        got = client.get(f"/open311/v2/requests/{rid}.json", params={"api_key": token})
        assert got.status_code == 200 and got.json()[0]["service_code"] == "0104"
