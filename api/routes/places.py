"""``GET /api/v1/places?q=``: our own places (towns, villages, grids) by name, best first."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Query

from api.deps import Reader, SessionDep
from api.schemas.grids import PlacesPublic
from layers.gazetteer import search_places

router = APIRouter(prefix="/api/v1", tags=["places"])


@router.get(
    "/places",
    summary="Find a town, village or grid by name (gazetteer)",
    response_model=PlacesPublic,
)
def read_places(
    session: SessionDep,
    _: Reader,
    q: Annotated[str, Query(min_length=1, max_length=200, description="a name or address")],
    limit: Annotated[int, Query(ge=1, le=50)] = 10,
) -> dict[str, Any]:
    """Each place: code, level, kind, name, full_name, lon/lat (CGCS2000 point inside it),
    precision (town|village|grid), radius_m, match (exact|contained|fuzzy), score 0..1."""
    found = search_places(session=session, text=q, limit=limit)
    return {"query": q, "data": found, "count": len(found)}
