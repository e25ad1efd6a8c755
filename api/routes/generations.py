"""Grid generations: list and read (publishing is a planner's CLI/API operation)."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request

from api.deps import Reader, SessionDep
from api.schemas.generations import GenerationPublic, GenerationsPublic
from gis.hierarchy import validate_hierarchy
from layers.grids import get_generation, list_generations, read_grid_frame

router = APIRouter(prefix="/api/v1/generations", tags=["generations"])


@router.get("", response_model=GenerationsPublic)
def read_generations(session: SessionDep, _: Reader) -> GenerationsPublic:
    rows = list_generations(session=session)
    return GenerationsPublic(
        data=[GenerationPublic.model_validate(g) for g in rows], count=len(rows)
    )


@router.get("/{generation_id}", response_model=GenerationPublic)
def read_generation(generation_id: int, session: SessionDep, _: Reader) -> GenerationPublic:
    return GenerationPublic.model_validate(
        get_generation(session=session, generation_id=generation_id)
    )


@router.get("/{generation_id}/problems", summary="Validate a generation's three-level grid")
def read_generation_problems(
    generation_id: int, request: Request, session: SessionDep, _: Reader
) -> dict[str, Any]:
    """Overlaps, gaps (with widths), nesting and code problems, each with a location and the
    problem area as GeoJSON, so a planner can see them on a map."""
    get_generation(session=session, generation_id=generation_id)
    frame = read_grid_frame(session=session, generation_id=generation_id)
    report = validate_hierarchy(frame, metric_srid=request.app.state.settings.geo.metric_srid)
    return {"generation": generation_id, **report.to_dict()}
