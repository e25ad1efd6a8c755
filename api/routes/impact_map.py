"""``GET /api/v1/generations/{id}/impact-map``: the impact report's households, open events,
staff assignments and grids left without a role as GeoJSON points by kind, drawn on /plan's
impact panel map (layers.planning.impact_map; maps/static/gridgis-plan-impact-map.js)."""

from __future__ import annotations

from typing import Annotated

import orjson
from fastapi import APIRouter, Query, Request
from fastapi.responses import Response

from api.deps import Planner, SessionDep
from api.routes.drafts import _against, _srid
from api.schemas.common import geojson
from api.schemas.generations import PlanningSettings
from layers.planning.impact import impact_report
from layers.planning.impact_map import impact_points

router = APIRouter(prefix="/api/v1/generations", tags=["generations"])
GEOJSON = "application/geo+json"


@router.get(
    "/{generation_id}/impact-map",
    summary="The impact report's objects as GeoJSON points by kind (for the /plan map)",
    **geojson("households, open events, assignments, grids to staff as points (CGCS2000)"),
)
def read_impact_map(
    generation_id: int,
    request: Request,
    session: SessionDep,
    _: Planner,
    against: Annotated[int | None, Query(description="default: the active generation")] = None,
) -> Response:
    old = _against(session, generation_id, against)
    report = impact_report(
        session=session, draft_id=generation_id, against_id=old, metric_srid=_srid(request),
        tolerance=PlanningSettings().tolerance,
    )  # fmt: skip
    return Response(orjson.dumps(impact_points(session, report)), media_type=GEOJSON)
