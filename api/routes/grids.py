"""Grids as GeoJSON: filtered listings and one grid with its relations."""

from __future__ import annotations

import math
from typing import Annotated, Any

import numpy as np
import orjson
from fastapi import APIRouter, Query
from fastapi.responses import Response

from api.deps import AtDep, BboxDep, Reader, SessionDep, parse_crs, parse_level
from api.errors import InvalidParameter
from api.schemas.common import geojson
from api.schemas.grids import GridFeature
from gis.codes import InvalidCode, level_of
from gis.crs import Datum, to_cgcs2000
from layers.grids import (
    GridQuery,
    get_grid,
    grid_features,
    grid_geometry_geojson,
    grid_relations,
    resolve_generation,
)

router = APIRouter(prefix="/api/v1/grids", tags=["grids"])

GEOJSON = "application/geo+json"


def bbox_to_cgcs2000(
    bbox: tuple[float, float, float, float] | None, datum: Datum
) -> tuple[float, float, float, float] | None:
    """A bbox given in another datum, as the envelope of its converted corners."""
    if bbox is None or datum in (Datum.CGCS2000, Datum.WGS84):
        return bbox
    west, south, east, north = bbox
    lon, lat = to_cgcs2000(
        np.array([west, east, east, west]), np.array([south, south, north, north]), datum
    )
    return float(lon.min()), float(lat.min()), float(lon.max()), float(lat.max())


def check_code(code: str, field: str = "code") -> str:
    try:
        level_of(code)
    except InvalidCode as exc:
        raise InvalidParameter(str(exc), field=field) from None
    return code


@router.get(
    "",
    summary="Grids as a GeoJSON FeatureCollection",
    **geojson("grids as a GeoJSON FeatureCollection (CGCS2000)"),
)
def read_grids(
    session: SessionDep,
    _: Reader,
    bbox: BboxDep,
    at: AtDep,
    level: Annotated[int | None, Query(description="1, 2 or 3")] = None,
    parent: Annotated[str | None, Query(description="parent grid code")] = None,
    generation: Annotated[int | None, Query()] = None,
    simplify: Annotated[float | None, Query(description="tolerance in metres")] = None,
    crs: Annotated[
        str | None, Query(description="datum of bbox: cgcs2000|wgs84|gcj02|bd09")
    ] = None,
) -> Response:
    parse_level(level)
    if parent is not None:
        check_code(parent, "parent")
    if simplify is not None and (not math.isfinite(simplify) or not 0 <= simplify <= 1000):
        raise InvalidParameter(
            f"simplify {simplify} is out of range; give a tolerance in metres from 0 to 1000",
            field="simplify",
        )
    bbox = bbox_to_cgcs2000(bbox, parse_crs(crs))
    gen = resolve_generation(session=session, generation_id=generation, at=at)
    query = GridQuery(
        generation_id=gen.id, level=level, parent_code=parent, bbox=bbox, simplify_m=simplify
    )
    features = grid_features(session=session, query=query)
    body = {
        "type": "FeatureCollection",
        "generation": {"id": gen.id, "name": gen.name},
        "numberReturned": len(features),
        "features": features,
    }
    return Response(orjson.dumps(body), media_type=GEOJSON)


@router.get(
    "/{code}",
    summary="One grid with its ancestors, children and neighbours",
    response_model=GridFeature,
)
def read_grid(
    code: str,
    session: SessionDep,
    _: Reader,
    at: AtDep,
    generation: Annotated[int | None, Query()] = None,
) -> dict[str, Any]:
    check_code(code)
    gen = resolve_generation(session=session, generation_id=generation, at=at)
    relations = grid_relations(session=session, generation_id=gen.id, code=code)
    grid = get_grid(session=session, generation_id=gen.id, code=code)
    return {
        "type": "Feature",
        "id": code,
        "geometry": grid_geometry_geojson(session=session, grid=grid),
        "properties": {**relations, "generation": {"id": gen.id, "name": gen.name}},
    }
