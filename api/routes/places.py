"""``GET /api/v1/places?q=``: our own places (towns, villages, grids) by name or code, or the
grid under a typed coordinate, best first: the front page's search box and the gazetteer that
places Open311 requests (layers.gazetteer, the one gazetteer; gis.coordtext, the one reader of
typed coordinates)."""

from __future__ import annotations

from typing import Annotated, Any

import numpy as np
from fastapi import APIRouter, Query, Request
from pydantic import Field

from api.deps import CrsDep, Reader, SessionDep
from api.errors import InvalidParameter
from api.schemas.grids import PlacesPublic
from gis.coordtext import ACCEPTED_FORMS, CoordinateTextError, TypedPoint, parse_point
from layers.errors import with_zh
from layers.gazetteer import MIN_CODE_DIGITS, search_places
from layers.grids import resolve_generation

router = APIRouter(prefix="/api/v1", tags=["places"])

SEARCH_FORMS: dict[str, str] = {
    "en": (
        "Search takes: a grid code (9, 12 or 15 digits, or its first or last "
        f"{MIN_CODE_DIGITS} or more digits), a town, village or grid name (or part of it), a "
        "person's name, an event number (#123). " + ACCEPTED_FORMS["en"]
    ),
    "zh": (
        f"可搜索：网格编码（9、12 或 15 位，或其开头、结尾至少 {MIN_CODE_DIGITS} 位）、"
        "镇街、村社区或网格名称（或其中一部分）、人员姓名、事件编号（#123）。"
        + ACCEPTED_FORMS["zh"]
    ),
}
"""What the search box takes, said with an answer that found nothing."""


class PlacesFound(PlacesPublic):
    point: dict[str, Any] | None = Field(
        None,
        description="when q is a coordinate: how it was read (form, datum, srid, typed x/y) "
        "and where it is (lon/lat CGCS2000, found, the grid code)",
    )
    hint: str | None = Field(None, description="when nothing is found: what the search takes")


@router.get(
    "/places",
    summary="Find a town, village or grid by name, code or coordinate (gazetteer)",
    response_model=PlacesFound,
)
def read_places(
    request: Request,
    session: SessionDep,
    _: Reader,
    crs: CrsDep,
    q: Annotated[
        str,
        Query(
            min_length=1,
            max_length=200,
            description="a name or address, a grid code or part of one (first or last digits), "
            "or a coordinate (degrees in either order, DMS, CGCS2000 Gauss-Krüger metres)",
        ),
    ],
    limit: Annotated[int, Query(ge=1, le=50)] = 10,
    lang: Annotated[str, Query(pattern="^(zh|en)$", description="language of hints")] = "en",
) -> dict[str, Any]:
    """Each place: code, level, kind (town|village|grid), name, full_name, lon/lat (CGCS2000
    point inside it), precision, radius_m, match (exact|prefix|suffix|contains|contained|
    fuzzy), matched_on (code|name), score 0..1; ranking: layers.gazetteer.

    A coordinate (gis.coordtext: ``120.28,31.91 gcj02``, ``31°54'36"N 120°16'48"E``,
    ``40540000,3530000``; degrees that name no datum are in ``crs``) answers the unit grid
    under it as one entry of kind ``point`` (precision ``point``, lon/lat the typed point in
    CGCS2000) and ``point`` says how it was read; outside the city ``data`` is empty and
    ``point.found`` false. Nothing found: ``hint`` lists what the search takes (in ``lang``).
    Errors: 422 ``field`` ``q`` for numbers that cannot be read as a coordinate (the reason
    and the accepted forms, in Chinese for a Chinese request)."""
    try:
        typed = parse_point(q, default=crs)
    except CoordinateTextError as exc:
        raise with_zh(
            InvalidParameter(f"q {q[:60]!r}: {exc.hint('en')}", field="q"),
            f"q “{q[:60]}”：{exc.hint('zh')}",
        ) from None
    if typed is not None:
        return _at_point(request, session, q, typed, lang)
    found = search_places(session=session, text=q, limit=limit)
    answer: dict[str, Any] = {"query": q, "data": found, "count": len(found)}
    if not found:
        answer["hint"] = SEARCH_FORMS[lang]
    return answer


def _at_point(
    request: Request, session: Any, q: str, typed: TypedPoint, lang: str
) -> dict[str, Any]:
    gen = resolve_generation(session=session)
    city = request.app.state.locators.get(session=session, generation_id=gen.id)
    hit = city.locator.locate(np.array([typed.lon]), np.array([typed.lat]))
    code = hit.l3[0]
    point = {
        "lon": round(typed.lon, 8),
        "lat": round(typed.lat, 8),
        "crs": "cgcs2000",
        "form": typed.form,
        "datum": typed.datum.value,
        "srid": typed.srid,
        "x": typed.x,
        "y": typed.y,
        "found": code is not None,
        "code": code,
    }
    data = []
    if code is not None:
        grid = next(
            (p for p in search_places(session=session, text=code, limit=1) if p["code"] == code),
            {"code": code, "level": 3, "name": city.names.get(code, ""), "full_name": ""},
        )
        data.append({
            **grid,
            "kind": "point",
            "lon": point["lon"],
            "lat": point["lat"],
            "precision": "point",
            "radius_m": None,
            "match": "coordinate",
            "matched_on": "coordinate",
            "score": 1.0,
        })  # fmt: skip
    answer: dict[str, Any] = {"query": q, "data": data, "count": len(data), "point": point}
    if not data:
        answer["hint"] = SEARCH_FORMS[lang]
    return answer
