"""``GET /api/v1/coverage/figures?parent=<village>``: one village's unit grids with their coverage
figures, as the /coverage page script reads them (maps/coverage_map.py ``unit_grid_rows``).

The page carries the towns and villages only; it asks for a village's unit grids when the
village is opened (or a unit grid is named in ``?area=``), so no page carries the city's 1,558
unit grids (issue 15: they were a 327 KB index in the page script). Figures are the caller's
area only (as ``GET /api/v1/coverage``); a unit grid's class colour is fitted to its whole level,
like the legend's classes.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Query, Request
from pydantic import BaseModel, Field

from api.deps import Reader, SessionDep
from api.errors import InvalidParameter
from api.pages.coverage import cached_grid_index
from api.routes.coverage import DateQ, ResQ, ShiftQ, _run
from layers import accounts
from layers.coverage import grid_rows
from layers.errors import GridNotFound
from maps.coverage_map import ROW_FIELDS, unit_grid_rows

router = APIRouter(prefix="/api/v1/coverage", tags=["coverage"])

VILLAGE_CODE_LEN = 12
"""A village's grid code: 12 digits (town 9, village 12, unit grid 15; gis/codes.py)."""


class CoverageFigures(BaseModel):
    """A village's unit grids for the /coverage page: one array per grid, columns ``fields``."""

    parent: str = Field(description="the village's code")
    generation_id: int = Field(description="the run's grid generation (its tiles draw them)")
    fields: list[str] = Field(description="the columns of each row")
    rows: list[list[Any]] = Field(
        description="code, name, parent, fill (class colour), h3 share, buffer share, officers, "
        "cells, covered cells, bbox [w, s, e, n] and label point [lon, lat] (degrees, "
        "EPSG:4490); figures null outside the caller's area"
    )


@router.get(
    "/figures",
    summary="One village's unit grids with their coverage figures (the /coverage page)",
    response_model=CoverageFigures,
)
def read_village_figures(
    request: Request,
    session: SessionDep,
    principal: Reader,
    parent: Annotated[str, Query(description="the village's 12-digit grid code")],
    date_: DateQ,
    shift: ShiftQ = None,
    resolution: ResQ = None,
) -> dict[str, Any]:
    if not (parent.isdigit() and len(parent) == VILLAGE_CODE_LEN):
        raise InvalidParameter(
            f"parent {parent!r} is not a village's code; give its 12 digits, e.g. 320281001004",
            field="parent",
        )
    run = _run(session, date_, shift, resolution)
    index = cached_grid_index(request, session, run.generation_id)
    if not any(g["code"] == parent for g in index.get(2, [])):
        raise GridNotFound(
            f"no village {parent} in the run's generation {run.generation_id}; open the page "
            "again to list its villages",
            field="parent",
        )
    scope = accounts.scope_codes(session=session, identity=principal.identity)
    figures = [r for r in grid_rows(session=session, run=run, level=3)
               if accounts.in_codes(r["code"], scope)]  # fmt: skip
    return {
        "parent": parent,
        "generation_id": run.generation_id,
        "fields": list(ROW_FIELDS),
        "rows": unit_grid_rows(index.get(3, []), figures, parent=parent),
    }
