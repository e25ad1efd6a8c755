"""A draft never names anything (issue 14 item 1, F14a): a town renamed in an unpublished draft
changes no report — KPI JSON/CSV/XLSX and ranking, the front page's KPI panel, the zones, grid
names, the place search — until the draft is published; then the new name is shown for periods
in force after the publication, and a past period keeps the name in force then
(layers/unit_names.py, the one naming rule)."""

from __future__ import annotations

import io
import secrets
from datetime import UTC, datetime, timedelta

import httpx
import openpyxl
from sqlalchemy import Engine, text

from tests.planning_fixtures import *  # noqa: F403  (admin, planner)
from tests.planning_fixtures import token_client


def _kpi_name(c: httpx.Client, town: str, start: str, end: str) -> str | None:
    r = c.get("/api/v1/kpis", params={"from": start, "to": end, "by": "town"})
    assert r.status_code == 200, r.text
    return next((row["name"] for row in r.json()["data"] if row["key"] == town), None)


def _all_reports(c: httpx.Client, town: str, start: str, end: str) -> str:
    """Every report that names the town, as one text (to look for a name in)."""
    period = {"from": start, "to": end}
    parts = []
    for path, params in (
        ("/api/v1/kpis", period | {"by": "town"}),
        ("/api/v1/kpis", period | {"by": "town", "format": "csv"}),
        ("/api/v1/kpis", period | {"by": "town", "format": "csv", "lang": "en"}),
        ("/api/v1/kpis/ranking", period | {"by": "town"}),
        ("/api/v1/kpis/ranking", period | {"by": "town", "format": "csv"}),
        ("/api/v1/dashboard/kpis", {"period": "day"}),
        ("/api/v1/zones", {}),
        ("/api/v1/grid-names", {"codes": town}),
        ("/api/v1/places", {"q": town}),
    ):
        r = c.get(path, params=params)
        assert r.status_code == 200, (path, params, r.text)
        parts.append(r.text)
    r = c.get("/api/v1/kpis", params=period | {"by": "town", "format": "xlsx"})
    assert r.status_code == 200, r.text
    sheet = openpyxl.load_workbook(io.BytesIO(r.content)).active
    parts += [str(v) for row in sheet.iter_rows(values_only=True) for v in row]
    return "\n".join(parts)


def test_a_draft_renaming_a_town_changes_no_report_until_published(
    live_server: str,
    tokens: dict[str, str],
    engine: Engine,
    demo_grids,  # type: ignore[no-untyped-def]
    planner: httpx.Client,
    admin: httpx.Client,
    restore_demo: None,
) -> None:
    l3 = demo_grids[demo_grids.level == 3].iloc[321]
    town = str(l3.code)[:9]
    old = str(demo_grids[demo_grids.code == town].iloc[0]["name"])
    garbled = f"锟斤拷{secrets.token_hex(3)}"
    p = l3.geometry.representative_point()
    with token_client(live_server, tokens["officer"]) as officer:
        r = officer.post(
            "/api/v1/events",
            json={"lon": p.x, "lat": p.y, "subclass": "0401", "description": "names test",
                  "ignore_duplicates": True},
        )  # fmt: skip
        assert r.status_code == 201, r.text
    today = datetime.now(UTC).date()
    start, end = today.isoformat(), (today + timedelta(days=2)).isoformat()

    made = planner.post("/api/v1/generations", json={"from": "active", "name": "garbled names"})
    assert made.status_code == 201, made.text
    gid = made.json()["generation"]["id"]
    with engine.begin() as conn:
        renamed = conn.execute(
            text("UPDATE grid SET name = :n WHERE generation_id = :g AND code = :c"),
            {"n": garbled, "g": gid, "c": town},
        ).rowcount
    assert renamed == 1

    with token_client(live_server, tokens["admin"]) as reader:
        assert _kpi_name(reader, town, start, end) == old
        shown = _all_reports(reader, town, start, end)
        assert garbled not in shown
        assert old in shown
        # submitted and approved, not yet published: still not shown
        assert planner.post(f"/api/v1/generations/{gid}/submit", json={"reason": "s"}).is_success
        assert _kpi_name(reader, town, start, end) == old

        before = datetime.now(UTC)
        done = admin.post(
            f"/api/v1/generations/{gid}/publish",
            json={"reason": "rename", "commit": True, "emergency": True},
        )
        assert done.status_code == 200, done.text
        # in force now: the published name
        assert _kpi_name(reader, town, start, end) == garbled
        # a period that ended before the publication keeps the name in force then
        assert _kpi_name(reader, town, start, before.isoformat()) == old


def test_names_in_force_rule(engine: Engine, demo_generation: int) -> None:
    """The rule itself: unknown codes are left out, a naive time is UTC, no codes no query."""
    from layers.db import make_sessionmaker
    from layers.unit_names import names_in_force

    with make_sessionmaker(engine)() as session:
        assert names_in_force(session=session, codes=[]) == {}
        got = names_in_force(session=session, codes=["320281001", "999999999", ""])
        assert set(got) == {"320281001"} and got["320281001"]
        naive = names_in_force(session=session, codes=["320281001"], at=datetime(2099, 1, 1))
        assert naive == {"320281001": got["320281001"]}
