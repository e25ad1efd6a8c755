"""Enforcement zones (执法片区): GeoJSON by town, one zone, tiling check, replace a town's zones."""

from __future__ import annotations

from typing import Annotated, Any

import orjson
from fastapi import APIRouter, Query
from fastapi.responses import Response
from pydantic import Field, StrictInt

from api.deps import Planner, Reader, RequestBody, SessionDep
from api.errors import STATUS
from api.schemas.common import GEOJSON_FEATURE, geojson
from api.schemas.grids import TownZones, ZonesCheck, ZonesValidation
from layers import accounts
from layers.errors import ZoneNotFound
from layers.grids import active_generation
from layers.zones import (
    ZoneInvalid,
    check_town_zoning,
    replace_town_zoning,
    stored_zoning,
    validate_all_towns,
    zone_features,
)

# Our errors in the one error table (registered here so parallel work never edits it).
STATUS.setdefault(ZoneInvalid, (422, "Invalid zoning"))

router = APIRouter(prefix="/api/v1/zones", tags=["zones"])
GEOJSON = "application/geo+json"


class ZoneIn(RequestBody):
    code: str = Field(min_length=1, max_length=20, description="e.g. 320281104-Z1")
    name: str = Field(min_length=1, max_length=100)
    members: list[Annotated[str, Field(max_length=15)]] = Field(
        min_length=1, max_length=5000, description="unit-grid or village codes"
    )
    squad_id: StrictInt | None = Field(default=None, ge=1, le=2**31 - 1)


class TownZonesIn(RequestBody):
    zones: list[ZoneIn] = Field(min_length=1, max_length=20)


@router.get(
    "",
    summary="Zones as GeoJSON (geometry = union of the member grids)",
    **geojson("zones as a GeoJSON FeatureCollection (geometry: union of the member grids)"),
)
def read_zones(
    session: SessionDep, _: Reader, town: Annotated[str | None, Query()] = None
) -> Response:
    generation = active_generation(session=session)
    features = zone_features(session=session, generation_id=generation.id, town_code=town)
    return Response(
        orjson.dumps({"type": "FeatureCollection", "features": features}), media_type=GEOJSON
    )


@router.get(
    "/validation",
    summary="Does every town's zoning tile it? (gaps, overlaps named)",
    response_model=ZonesValidation,
)
def validate_zones(session: SessionDep, _: Reader) -> dict[str, Any]:
    generation = active_generation(session=session)
    reports = validate_all_towns(session=session, generation_id=generation.id)
    return {
        "ok": all(r.ok for r in reports.values()),
        "towns": {
            town: {
                "ok": r.ok,
                "zones": len(r.zone_grids),
                "problems": [p.as_dict() for p in r.problems],
            }
            for town, r in reports.items()
        },
    }


@router.get(
    "/{code}",
    summary="One zone with its member codes",
    **geojson("one zone as a GeoJSON Feature", GEOJSON_FEATURE),
)
def read_zone(code: str, session: SessionDep, _: Reader) -> Response:
    generation = active_generation(session=session)
    found = zone_features(session=session, generation_id=generation.id, code=code)
    if not found:
        raise ZoneNotFound(f"no zone {code}; list zones at /api/v1/zones", field="code")
    feature = found[0]
    members = stored_zoning(session=session, town_code=feature["properties"]["town_code"])
    feature["properties"]["members"] = members.get(code, [])
    return Response(orjson.dumps(feature), media_type=GEOJSON)


@router.post(
    "/towns/{town_code}/check",
    summary="Check a proposed zoning without storing it",
    response_model=ZonesCheck,
)
def check_zones(
    town_code: str, body: TownZonesIn, session: SessionDep, _: Reader
) -> dict[str, Any]:
    generation = active_generation(session=session)
    report = check_town_zoning(
        session=session,
        generation_id=generation.id,
        town_code=town_code,
        zones={z.code: z.members for z in body.zones},
    )
    return {"ok": report.ok, "problems": [p.as_dict() for p in report.problems]}


@router.put(
    "/towns/{town_code}",
    summary="Replace a town's zones (refused unless they tile it)",
    response_model=TownZones,
)
def put_zones(
    town_code: str, body: TownZonesIn, session: SessionDep, principal: Planner
) -> dict[str, Any]:
    """Only a planner whose scope holds the town (403 ``scope`` otherwise)."""
    accounts.require_in_scope(
        session=session, identity=principal.identity, grid_code=town_code, what=f"town {town_code}"
    )
    generation = active_generation(session=session)
    replace_town_zoning(
        session=session,
        generation_id=generation.id,
        town_code=town_code,
        zones=[z.model_dump() for z in body.zones],
    )
    features = zone_features(session=session, generation_id=generation.id, town_code=town_code)
    return {"town_code": town_code, "zones": [f["properties"] for f in features]}
