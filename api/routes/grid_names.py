"""Grid names for page lists and popups: ``GET /api/v1/grid-names?codes=a,b,...`` answers each
code's name with its village's and town's (issue 15, review r15: event lists and popups showed
raw 15-digit codes, "网格 320281008202003 · 镇街" without the town's name). Read from the active
generation's light grid index (layers/grid_index.py, cached per generation by
api.pages.coverage.cached_grid_index): no geometry, no query per code."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Query, Request
from pydantic import Field

from api.deps import Reader, SessionDep
from api.errors import InvalidParameter
from api.ingest.pipeline import active_generation_id
from api.pages.coverage import cached_grid_index
from api.schemas.common import Answer

router = APIRouter(prefix="/api/v1", tags=["grids"])

MAX_CODES = 200


class GridName(Answer):
    name: str = Field(description="the grid's own name")
    level: int = Field(description="1 town, 2 village, 3 unit grid")
    village: str | None = Field(description="its village's name (unit grids)")
    town: str | None = Field(description="its town's name (villages and unit grids)")


class GridNames(Answer):
    generation_id: int
    names: dict[str, GridName] = Field(description="code -> names; unknown codes are left out")


@router.get(
    "/grid-names", summary="Names of grids and of their village and town", response_model=GridNames
)
def read_grid_names(
    request: Request,
    session: SessionDep,
    _: Reader,
    codes: Annotated[str, Query(description=f"comma-separated grid codes, at most {MAX_CODES}")],
) -> dict[str, Any]:
    """``{"generation_id", "names": {code: {name, level, village, town}}}`` of the active
    generation; codes it does not hold are left out. 422 (field ``codes``) for a code that is
    not 9, 12 or 15 digits or more than 200 codes."""
    wanted = [c.strip() for c in codes.split(",") if c.strip()]
    if len(wanted) > MAX_CODES:
        raise InvalidParameter(
            f"codes: at most {MAX_CODES} codes, got {len(wanted)}", field="codes"
        )
    for c in wanted:
        if not (c.isdigit() and len(c) in (9, 12, 15)):
            raise InvalidParameter(
                f"codes: {c!r} is not a grid code (9, 12 or 15 digits, e.g. 320281001001001)",
                field="codes",
            )
    gen = active_generation_id(request.app.state, session)
    index = cached_grid_index(request, session, gen)
    by_code = {g["code"]: (level, g) for level, rows in index.items() for g in rows}
    names: dict[str, Any] = {}
    for c in wanted:
        if c not in by_code:
            continue
        level, g = by_code[c]
        village = by_code.get(c[:12]) if level == 3 else None
        town = by_code.get(c[:9]) if level > 1 else None
        names[c] = {
            "name": g["name"],
            "level": level,
            "village": village[1]["name"] if village else None,
            "town": town[1]["name"] if town else None,
        }
    return {"generation_id": gen, "names": names}
