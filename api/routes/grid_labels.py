"""Name points of grids for map labels: ``GET /api/v1/grid-labels``.

The map pages draw the grids from vector tiles and put names on them from here: the unit grids
of the view (``level=3&bbox=…``, from zoom 15) and the children of a selected grid
(``parent=<code>``). A point per grid (EPSG:4490), never a geometry (layers/grid_labels.py).
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query
from pydantic import Field

from api.deps import AtDep, BboxDep, Reader, SessionDep, parse_level
from api.errors import InvalidParameter
from api.routes.grids import check_code
from api.schemas.common import Answer
from api.schemas.grids import GenerationRef
from gis.codes import level_of
from layers.grid_labels import MAX_LABELS, grid_labels
from layers.grids import resolve_generation

router = APIRouter(prefix="/api/v1/grid-labels", tags=["grids"])

MAX_BBOX_DEG2 = 0.25
"""A unit-grid bbox may cover at most this many square degrees (about 50 × 50 km here): labels
are for a zoomed-in view, not the whole city."""


class GridLabelPublic(Answer):
    code: str
    name: str
    level: int
    lon: float = Field(description="label point, EPSG:4490 degrees")
    lat: float = Field(description="label point, EPSG:4490 degrees")


class GridLabelsPublic(Answer):
    """Label points (inside each grid, farthest from its edges) in ``generation``."""

    generation: GenerationRef
    data: list[GridLabelPublic]
    count: int
    truncated: bool = Field(description=f"more than {MAX_LABELS} matched; narrow the bbox")


@router.get("", summary="Name points of grids for map labels", response_model=GridLabelsPublic)
def read_grid_labels(
    session: SessionDep,
    _: Reader,
    bbox: BboxDep,
    at: AtDep,
    level: Annotated[int | None, Query(description="1, 2 or 3")] = None,
    parent: Annotated[str | None, Query(description="the children of this grid code")] = None,
    generation: Annotated[int | None, Query(ge=1, le=2**31 - 1)] = None,
) -> GridLabelsPublic:
    """Either ``parent`` (its children) or ``level``; level 3 needs a ``bbox`` of at most
    0.25 square degrees. Errors: 422 naming the parameter, 404 for an unknown generation."""
    parse_level(level)
    if parent is not None:
        check_code(parent, "parent")
        child_level = level_of(parent) + 1
        if child_level > 3:
            raise InvalidParameter(
                f"grid {parent} is a unit grid and has no children; give a town or village code",
                field="parent",
            )
        if level is not None and level != child_level:
            raise InvalidParameter(
                f"the children of {parent} are level {child_level}, not {level}: drop level",
                field="level",
            )
        level = child_level
    if level is None:
        raise InvalidParameter("give level (1, 2 or 3) or parent (a grid code)", field="level")
    if level == 3 and parent is None:
        if bbox is None:
            raise InvalidParameter(
                "unit-grid labels need a bbox (west,south,east,north) of the view", field="bbox"
            )
        west, south, east, north = bbox
        if (east - west) * (north - south) > MAX_BBOX_DEG2:
            raise InvalidParameter(
                f"bbox covers more than {MAX_BBOX_DEG2} square degrees; unit-grid names are for "
                "a zoomed-in view: give a smaller bbox",
                field="bbox",
            )
    gen = resolve_generation(session=session, generation_id=generation, at=at)
    rows = grid_labels(
        session=session,
        generation_id=gen.id,
        levels=(level,),
        bbox=bbox,
        parent_code=parent,
        limit=MAX_LABELS + 1,
    )
    return GridLabelsPublic(
        generation=GenerationRef(id=gen.id, name=gen.name),
        data=[GridLabelPublic(**vars(r)) for r in rows[:MAX_LABELS]],
        count=min(len(rows), MAX_LABELS),
        truncated=len(rows) > MAX_LABELS,
    )
