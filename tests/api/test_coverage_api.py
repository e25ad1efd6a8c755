"""Patrol coverage over real HTTP on fixes sent through ingest (issue 6).

Proves: a planner computes a run for a shift; the patrolled unit grid is covered by both methods
and lists its officer with minutes and metres; blind spots come back as H3 hexagons; roll-ups to
L2 and L1 are area-weighted; compliance counts time inside the officer's own grid, outside it
and without GPS, and lists those below the threshold; CSV and XLSX export; bad date, shift,
resolution, unknown grid and a missing run are problem+json naming the field.

Reports (layers/coverage_reports.py): the tracks that covered a grid lie on the fixes sent, are
split at the GPS silence and clipped to the grid's box grown by 200 m, a grid nobody visited
has none; the trend over days has one row per day with a run, equal to that day's ranking row
for the code (any level) and to the area-weighted city figure without a code; bad dates, a
reversed or too long range, an unknown code and a range without runs are problem+json.
"""

from __future__ import annotations

import io
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import httpx
import pytest
from openpyxl import load_workbook
from sqlalchemy import Engine

from tests.tracks_support import CITY_LAT, CITY_LON, make_device, run_coverage, send_fixes

START = datetime(2026, 3, 3, 8, 0, tzinfo=ZoneInfo("Asia/Shanghai"))
DAY = "2026-03-03"
DAY2 = "2026-03-02"  # the day before: a second officer walks 2 km east from the same point
SHIFT = "08:00-09:00"
M_PER_DEG_LON = 94_500.0  # at 31.9°N
M_PER_DEG_LAT = 110_900.0


def walk(start: datetime, minutes: int) -> list[dict]:
    """Back and forth 1 m per fix (every 5 s) over 20 m east of the city point."""
    return [
        {
            "time": (start + timedelta(seconds=5 * i)).isoformat(),
            "lon": CITY_LON + abs(i % 40 - 20) / M_PER_DEG_LON,
            "lat": CITY_LAT,
            "accuracy_m": 5.0,
        }
        for i in range(minutes * 12)
    ]


@pytest.fixture(scope="module")
def covered(engine: Engine, demo_generation: int, live_server: str, tokens) -> dict:
    from api.locators import LocatorCache
    from layers.db import make_sessionmaker, transaction
    from layers.grids import active_generation

    with transaction(make_sessionmaker(engine)) as session:
        gen = active_generation(session=session)
        city = LocatorCache().get(session=session, generation_id=gen.id)
        code = city.locator.locate([CITY_LON], [CITY_LAT]).l3[0]
    device = make_device(engine, grid_code=code, name="王五")
    # 20 min walking to and fro, then 20 min of GPS silence, then 5 min more
    fixes = walk(START.astimezone(UTC), 20) + walk(START.astimezone(UTC) + timedelta(minutes=40), 5)
    send_fixes(live_server, device, fixes)
    run = run_coverage(live_server, tokens["planner"], date=DAY, shift=SHIFT, resolution=10)
    return {"code": code, "device": device, "run": run}


@pytest.fixture(scope="module")
def second_day(covered: dict, engine: Engine, live_server: str, tokens) -> dict:
    """On DAY2, 40 min walking 2 km east in a straight line from the covered grid."""
    device = make_device(engine, grid_code=covered["code"], name="赵六")
    start = (START - timedelta(days=1)).astimezone(UTC)
    fixes = [
        {
            "time": (start + timedelta(seconds=5 * i)).isoformat(),
            "lon": CITY_LON + 4.2 * i / M_PER_DEG_LON,
            "lat": CITY_LAT,
            "accuracy_m": 5.0,
        }
        for i in range(480)
    ]
    send_fixes(live_server, device, fixes)
    run = run_coverage(live_server, tokens["planner"], date=DAY2, shift=SHIFT, resolution=10)
    return {"device": device, "run": run}


def test_run_reports_its_method_and_window(covered) -> None:
    run = covered["run"]
    assert run["params"]["resolution"] == 10 and run["params"]["distance_m"] == 30.0
    assert run["params"]["max_gap_s"] == 300.0 and "centre" in run["params"]["method_h3"]
    assert run["params"]["pixel_m"] == 5.0 and "raster" in run["params"]["method_buffer"]
    assert run["from"].startswith("2026-03-03T00:00") and run["shift"] == SHIFT


def test_patrolled_grid_is_covered_with_its_officer(client, covered) -> None:
    r = client.get(
        f"/api/v1/coverage/grids/{covered['code']}", params={"date": DAY, "shift": SHIFT}
    )
    assert r.status_code == 200, r.text
    g = r.json()
    assert 0 < g["h3_share"] < 1 and 0 < g["buffer_share"] < 1
    (who,) = [w for w in g["covered_by"] if w["device_id"] == covered["device"].id]
    assert who["name"] == "王五"
    # 25 min of fixes, of which 19m55s + 4m55s inside segments, all inside the grid
    assert who["minutes"] == pytest.approx(24.83, abs=0.05)
    assert who["metres"] == pytest.approx(239 + 59, abs=1)  # 1 m per step
    blind = g["blind_spots"]["features"]
    assert len(blind) == g["cells"] - g["covered_cells"] > 0
    assert blind[0]["geometry"]["type"] == "Polygon" and len(blind[0]["id"]) == 15


def test_levels_roll_up_by_area(client, covered) -> None:
    params = {"date": DAY, "shift": SHIFT}
    l3 = client.get("/api/v1/coverage", params={**params, "level": 3}).json()["data"]
    l1 = client.get("/api/v1/coverage", params={**params, "level": 1}).json()["data"]
    town = next(r for r in l1 if covered["code"].startswith(r["code"]))
    mine = [r for r in l3 if r["code"].startswith(town["code"]) and r["cells"]]
    weighted = sum(r["h3_share"] * r["area_m2"] for r in mine) / sum(r["area_m2"] for r in mine)
    assert town["h3_share"] == pytest.approx(weighted, abs=2e-4)
    assert l3[0]["rank"] == 1 and l3[0]["code"] == covered["code"]  # the only grid patrolled
    l2 = client.get("/api/v1/coverage", params={**params, "level": 2, "parent": town["code"]})
    assert all(r["code"].startswith(town["code"]) for r in l2.json()["data"])


def test_compliance_inside_outside_silent(client, covered) -> None:
    r = client.get("/api/v1/coverage/compliance",
                   params={"date": DAY, "shift": SHIFT, "threshold": 0.8})  # fmt: skip
    row = next(x for x in r.json()["data"] if x["person_id"] == covered["device"].person_id)
    assert row["window_s"] == 3600 and row["silences"] == 1
    assert row["inside_s"] == pytest.approx(1490, abs=2) and row["outside_s"] == 0
    assert row["silence_s"] == 3600 - row["tracked_s"]
    assert row["below"] is True and row["share_inside"] == pytest.approx(1490 / 3600, abs=1e-3)
    below = client.get("/api/v1/coverage/compliance",
                       params={"date": DAY, "shift": SHIFT, "below_only": True}).json()  # fmt: skip
    assert covered["device"].person_id in [x["person_id"] for x in below["data"]]


def test_a_whole_day_is_judged_by_the_duty_hours(live_server, tokens, client, covered) -> None:
    auth = {"Authorization": f"Bearer {tokens['planner']}"}
    day_run = httpx.post(f"{live_server}/api/v1/coverage/runs", params={"date": DAY},
                         headers=auth, timeout=300)  # fmt: skip
    assert day_run.status_code == 200, day_run.text
    body = client.get("/api/v1/coverage/compliance", params={"date": DAY, "duty_hours": 8}).json()
    me = next(x for x in body["data"] if x["person_id"] == covered["device"].person_id)
    assert me["window_s"] == 86400 and me["duty_s"] == 8 * 3600 and not me["absent"]
    assert me["share_inside"] == pytest.approx(1490 / 28800, abs=1e-3)
    assert me["silence_s"] == 28800 - me["tracked_s"]
    flags = [x["absent"] for x in body["data"]]
    assert flags == sorted(flags)  # people who sent nothing come after the others
    present = client.get("/api/v1/coverage/compliance",
                         params={"date": DAY, "present_only": True}).json()  # fmt: skip
    assert not any(x["absent"] for x in present["data"])
    assert present["absent"] == sum(flags) and me in present["data"]
    bad = client.get("/api/v1/coverage/compliance", params={"date": DAY, "duty_hours": 0})
    assert bad.status_code == 422 and "duty_hours" in bad.text


def test_exports(client, covered) -> None:
    params = {"date": DAY, "shift": SHIFT}
    csv = client.get("/api/v1/coverage", params={**params, "format": "csv"})
    assert csv.text.startswith("\ufeff排名,网格编码,层级,名称,六边形覆盖率(%)")
    assert covered["code"] in csv.text
    xlsx = client.get("/api/v1/coverage/compliance", params={**params, "format": "xlsx"})
    sheet = load_workbook(io.BytesIO(xlsx.content)).active
    assert next(sheet.iter_rows(values_only=True))[:2] == ("人员编号", "名称")


@pytest.mark.parametrize(
    ("path", "params", "status", "field"),
    [
        ("/api/v1/coverage", {"date": "2026-13-01"}, 422, "date"),
        ("/api/v1/coverage", {"date": DAY, "shift": "8-9"}, 422, "shift"),
        ("/api/v1/coverage", {"date": DAY, "resolution": 16}, 422, "resolution"),
        ("/api/v1/coverage", {"date": DAY, "shift": SHIFT, "level": 4}, 422, "level"),
        ("/api/v1/coverage", {"date": DAY, "shift": SHIFT, "format": "pdf"}, 422, "format"),
        ("/api/v1/coverage/grids/320281999999999", {"date": DAY, "shift": SHIFT}, 404, "code"),
        ("/api/v1/coverage", {"date": "2020-01-01"}, 404, "date"),  # never computed
    ],
)
def test_bad_input_is_problem_json(client, covered, path, params, status, field) -> None:
    r = client.get(path, params=params)
    assert r.status_code == status, r.text
    assert r.headers["content-type"].startswith("application/problem+json")
    assert r.json()["field"] == field


def test_readers_cannot_compute(client) -> None:
    assert client.post("/api/v1/coverage/runs", params={"date": DAY}).status_code == 403


@pytest.mark.parametrize(
    ("params", "field"),
    [
        ({"date": DAY, "pixel_m": 0.1}, "pixel_m"),
        ({"date": DAY, "distance_m": 0}, "distance_m"),
        ({"date": DAY, "max_gap_s": -5}, "max_gap_s"),
        ({"date": DAY, "resolution": 4}, "resolution"),
        ({"date": "yesterday"}, "date"),
    ],
)
def test_bad_run_parameters_compute_nothing(live_server, tokens, covered, params, field) -> None:
    auth = {"Authorization": f"Bearer {tokens['planner']}"}
    r = httpx.post(f"{live_server}/api/v1/coverage/runs", params=params, headers=auth)
    assert r.status_code == 422, r.text
    assert r.headers["content-type"].startswith("application/problem+json")
    assert field in r.text


def test_cli_computes_the_same_run(monkeypatch, database_url, covered, tmp_path, client) -> None:
    from typer.testing import CliRunner

    from api.cli import app

    monkeypatch.setenv("DATABASE_URL", database_url)
    monkeypatch.setenv("GRIDGIS_DATA_DIR", str(tmp_path / "data"))
    args = ["coverage", "--date", DAY, "--shift", SHIFT, "--resolution", "10"]
    result = CliRunner().invoke(app, args, terminal_width=200)
    assert result.exit_code == 0, result.output
    assert "unit grids, 1 with some coverage" in result.output
    r = client.get(
        f"/api/v1/coverage/grids/{covered['code']}", params={"date": DAY, "shift": SHIFT}
    )
    assert r.json()["run"] > covered["run"]["run"]  # replaced, same figures
    bad = CliRunner().invoke(app, ["coverage", "--date", "yesterday"])
    assert bad.exit_code == 2 and "YYYY-MM-DD" in bad.output


# --- reports: tracks of a grid, trend over days ------------------------------------------------


def _inside(lon: float, lat: float, bbox: list[float], tol: float = 1e-6) -> bool:
    return bbox[0] - tol <= lon <= bbox[2] + tol and bbox[1] - tol <= lat <= bbox[3] + tol


def test_tracks_of_a_grid_lie_on_the_fixes(client, covered) -> None:
    params = {"date": DAY, "shift": SHIFT}
    r = client.get(f"/api/v1/coverage/grids/{covered['code']}/tracks", params=params)
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["type"] == "FeatureCollection" and body["code"] == covered["code"]
    assert body["margin_m"] == 200 and body["params"]["max_gap_s"] == 300.0
    detail = client.get(f"/api/v1/coverage/grids/{covered['code']}", params=params).json()
    assert [f["properties"]["device_id"] for f in body["features"]] == [
        w["device_id"] for w in detail["covered_by"]
    ]  # one feature per device that covered it, in the same order (its colour index)
    (mine,) = [f for f in body["features"] if f["properties"]["device_id"] == covered["device"].id]
    p = mine["properties"]
    assert p["name"] == "王五" and p["device"] == covered["device"].external_id
    who = next(w for w in detail["covered_by"] if w["device_id"] == covered["device"].id)
    assert (p["minutes"], p["metres"]) == (who["minutes"], who["metres"])
    assert p["colour"] == [f["properties"]["device_id"] for f in body["features"]].index(
        covered["device"].id
    )
    lines = mine["geometry"]["coordinates"]
    assert mine["geometry"]["type"] == "MultiLineString"
    assert len(lines) == 2  # split at the 20 min GPS silence (> max_gap_s)
    for lon, lat in (v for line in lines for v in line):
        # on the walk: 0..20 m east of the city point, on its latitude (within 1 m)
        assert -1 <= (lon - CITY_LON) * M_PER_DEG_LON <= 21
        assert abs(lat - CITY_LAT) * M_PER_DEG_LAT < 1
        assert _inside(lon, lat, body["bbox"])
    # the box is the grid's grown by 200 m: wider than 400 m each way
    w, s, e, n = body["bbox"]
    assert (e - w) * M_PER_DEG_LON > 400 and (n - s) * M_PER_DEG_LAT > 400


def test_tracks_are_clipped_to_the_grid_box(client, covered, second_day) -> None:
    r = client.get(
        f"/api/v1/coverage/grids/{covered['code']}/tracks", params={"date": DAY2, "shift": SHIFT}
    )
    assert r.status_code == 200, r.text
    body = r.json()
    # the second officer(s) that day (each module importing the fixture adds one); other
    # tests' officers may also have walked there on DAY2
    assert "赵六" in {f["properties"]["name"] for f in body["features"]}
    f = next(f for f in body["features"] if f["properties"]["device_id"] == second_day["device"].id)
    (line,) = f["geometry"]["coordinates"]  # no silence: one line
    assert all(_inside(lon, lat, body["bbox"]) for lon, lat in line)
    assert line[0][0] == pytest.approx(CITY_LON, abs=1e-6)  # starts at the first fix
    # the 2 km walk leaves the box: cut at its east side, well before its end
    assert line[-1][0] == pytest.approx(body["bbox"][2], abs=1e-5)
    assert (line[-1][0] - CITY_LON) * M_PER_DEG_LON < 1900


def test_grid_nobody_visited_has_no_tracks(client, covered) -> None:
    params = {"date": DAY, "shift": SHIFT}
    rows = client.get("/api/v1/coverage", params={**params, "level": 3}).json()["data"]
    idle = next(r["code"] for r in rows if r["officers"] == 0)
    r = client.get(f"/api/v1/coverage/grids/{idle}/tracks", params=params)
    assert r.status_code == 200, r.text
    assert r.json()["features"] == [] and r.json()["code"] == idle


def test_trend_equals_each_days_ranking(client, covered, second_day) -> None:
    code = covered["code"]
    span = {"from": "2026-02-25", "to": "2026-03-05", "shift": SHIFT}
    for level, area in ((3, code), (2, code[:12]), (1, code[:9])):
        r = client.get("/api/v1/coverage/trend", params={**span, "code": area})
        assert r.status_code == 200, r.text
        trend = r.json()
        assert trend["code"] == area and trend["level"] == level
        assert [d["date"] for d in trend["data"]] == [DAY2, DAY]  # only days with a run
        for day in trend["data"]:
            ranking = client.get(
                "/api/v1/coverage", params={"date": day["date"], "shift": SHIFT, "level": level}
            ).json()["data"]
            row = next(x for x in ranking if x["code"] == area)
            assert day["h3_share"] == pytest.approx(row["h3_share"], abs=1e-4)
            assert day["buffer_share"] == pytest.approx(row["buffer_share"], abs=1e-4)
            assert day["officers"] == row["officers"] >= 1
            assert day["cells"] == row["cells"] and day["covered_cells"] == row["covered_cells"]
    # the walk east covers more of the grid's cells than 20 m to and fro
    day2, day1 = client.get("/api/v1/coverage/trend", params={**span, "code": code}).json()["data"]
    assert day2["h3_share"] > day1["h3_share"] > 0


def test_trend_of_the_whole_city(client, covered, second_day) -> None:
    r = client.get("/api/v1/coverage/trend", params={"from": DAY2, "to": DAY, "shift": SHIFT})
    assert r.status_code == 200, r.text
    trend = r.json()
    assert trend["code"] is None and trend["count"] == 2
    for day in trend["data"]:
        l3 = client.get(
            "/api/v1/coverage", params={"date": day["date"], "shift": SHIFT, "level": 3}
        ).json()["data"]
        mine = [x for x in l3 if x["cells"]]
        weighted = sum(x["h3_share"] * x["area_m2"] for x in mine) / sum(x["area_m2"] for x in mine)
        assert day["h3_share"] == pytest.approx(weighted, abs=2e-4)
        assert day["cells"] == sum(x["cells"] for x in l3) and day["officers"] >= 1
    csv = client.get(
        "/api/v1/coverage/trend",
        params={"from": DAY2, "to": DAY, "shift": SHIFT, "format": "csv"},
    )
    assert csv.text.startswith("\ufeff日期,计算批次,六边形覆盖率(%),缓冲区覆盖率(%),巡查人数")
    assert csv.text.count("\n") == 3 and DAY2 in csv.text
    xlsx = client.get(
        "/api/v1/coverage/trend",
        params={"from": DAY2, "to": DAY, "shift": SHIFT, "format": "xlsx"},
    )
    rows = list(load_workbook(io.BytesIO(xlsx.content)).active.iter_rows(values_only=True))
    assert rows[0][:3] == ("日期", "计算批次", "六边形覆盖率(%)") and len(rows) == 3


@pytest.mark.parametrize(
    ("path", "params", "status", "field"),
    [
        ("/api/v1/coverage/trend", {"from": "2026-02-30", "to": DAY}, 422, "from"),
        ("/api/v1/coverage/trend", {"from": DAY2, "to": "tomorrow"}, 422, "to"),
        ("/api/v1/coverage/trend", {"from": DAY, "to": DAY2}, 422, "from"),  # reversed
        ("/api/v1/coverage/trend", {"from": "2025-03-01", "to": DAY}, 422, "from"),  # 368 days
        ("/api/v1/coverage/trend", {"from": DAY2, "to": DAY, "shift": "x"}, 422, "shift"),
        ("/api/v1/coverage/trend",
         {"from": DAY2, "to": DAY, "shift": SHIFT, "code": "320281999"}, 404, "code"),
        ("/api/v1/coverage/trend",
         {"from": DAY2, "to": DAY, "shift": SHIFT, "format": "pdf"}, 422, "format"),
        ("/api/v1/coverage/trend", {"from": "2020-01-01", "to": "2020-01-14"}, 404, "from"),
        ("/api/v1/coverage/grids/320281999999999/tracks",
         {"date": DAY, "shift": SHIFT}, 404, "code"),
        ("/api/v1/coverage/grids/320281999999999/tracks", {"date": "2020-01-01"}, 404, "date"),
        ("/api/v1/coverage/grids/320281999999999/tracks", {"date": "03/03/2026"}, 422, "date"),
    ],
)  # fmt: skip
def test_bad_report_input_is_problem_json(
    client, covered, second_day, path, params, status, field
) -> None:
    r = client.get(path, params=params)
    assert r.status_code == status, r.text
    assert r.headers["content-type"].startswith("application/problem+json")
    problem = r.json()
    assert problem["field"] == field and problem["detail"]
    if status == 404 and field in ("from", "date"):  # no run: says how to compute one
        assert "gridgis coverage --date" in problem["detail"]
    if status == 422 and field in ("from", "to"):  # says how to fix it
        assert any(w in problem["detail"] for w in ("YYYY-MM-DD", "swap", "at most"))
