"""Live positions (the last fix of every device) and per-officer daily patrol statistics."""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Annotated, Any

from fastapi import APIRouter, Query, Request

from api.deps import Reader, SessionDep, parse_day
from api.exports import TableFormat, table_response
from api.ingest.pipeline import active_generation_id
from api.schemas.common import table_responses
from api.schemas.tracks import DailyStats, LatestPositions
from gis.tracks import UNUSABLE, flag_names
from layers import accounts
from layers.device_daily import daily_stats
from layers.positions import latest_fixes
from layers.tracks import STAT_COLUMNS
from layers.workcal import SHANGHAI

router = APIRouter(prefix="/api/v1", tags=["positions"])


@router.get(
    "/positions/latest", summary="Last fix per device (GeoJSON)", response_model=LatestPositions
)
def read_latest_positions(
    request: Request,
    session: SessionDep,
    principal: Reader,
    online_s: Annotated[
        int, Query(ge=10, le=86400, description="a device is online if its last fix is younger")
    ] = 300,
) -> dict[str, Any]:
    """Point features (EPSG:4490) with the staff name, role, grid (code and name), ``age_s`` and
    ``online``; devices that never sent a usable fix are absent."""
    now = datetime.now(UTC)
    state = request.app.state
    names = state.locators.get(
        session=session, generation_id=active_generation_id(state, session)
    ).names
    features = []
    codes = accounts.scope_codes(session=session, identity=principal.identity)
    for r in latest_fixes(session=session, exclude_flags=UNUSABLE):
        if not accounts.in_codes(r["grid_code"], codes):
            continue  # officers outside the caller's area (by the grid of their last fix)
        age = (now - r["fix_time"]).total_seconds()
        features.append(
            {
                "type": "Feature",
                "id": r["id"],
                "geometry": {"type": "Point", "coordinates": [r["lon"], r["lat"]]},
                "properties": {
                    "device_id": r["id"],
                    "device": r["external_id"],
                    "name": r["name"] or r["label"] or r["external_id"],
                    "person_id": r["person_id"],
                    "role": r["role"],
                    "grid": r["grid_code"],
                    "grid_name": names.get(r["grid_code"] or "", ""),
                    "fix_time": r["fix_time"].isoformat(),
                    "age_s": round(age),
                    "online": age <= online_s,
                    "speed_mps": r["speed_mps"],
                    "accuracy_m": r["accuracy_m"],
                    "battery_pct": r["battery_pct"],
                    "flags": flag_names(r["flags"]),
                },
            }
        )
    online = sum(1 for f in features if f["properties"]["online"])
    return {
        "type": "FeatureCollection",
        "features": features,
        "count": len(features),
        "online": online,
        "online_threshold_s": online_s,
    }


def _day(value: str | None) -> date:
    """The day asked for, or today in Asia/Shanghai (not UTC: 00:00-08:00 is still yesterday)."""
    return parse_day(value) if value else datetime.now(SHANGHAI).date()


@router.get(
    "/patrol/daily",
    summary="Per officer: mileage, patrol time, stops, own grid, silences",
    response_model=DailyStats,
    responses=table_responses(None, "JSON, or CSV/XLSX with format=csv|xlsx"),
)
def read_daily_stats(
    request: Request,
    session: SessionDep,
    principal: Reader,
    date_: Annotated[
        str | None, Query(alias="date", description="YYYY-MM-DD, Asia/Shanghai")
    ] = None,
    person: Annotated[int | None, Query(description="one person's id")] = None,
    format: TableFormat = "json",
) -> Any:
    day = _day(date_)
    if person is not None:
        accounts.require_person_in_scope(
            session=session, identity=principal.identity, person_id=person, what=f"person {person}"
        )
    rows = daily_stats(
        session=session,
        day=day,
        person_id=person,
        metric_srid=request.app.state.settings.geo.metric_srid,
    )
    codes = accounts.scope_codes(session=session, identity=principal.identity)
    people = accounts.people_in_scope(session=session, codes=codes)
    if people is not None:
        rows = [r for r in rows if r.get("person_id") in people]
    if format == "json":
        return {"date": day.isoformat(), "data": rows, "count": len(rows)}
    return table_response(rows, name=f"patrol-{day.isoformat()}", fmt=format,
                          columns=STAT_COLUMNS, sheet=day.isoformat())  # fmt: skip
