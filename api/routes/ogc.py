"""OGC API - Features (Part 1, read): one collection per grid level of the active generation
and one of enforcement zones, so QGIS and GDAL's OAPIF driver load them directly.

Each collection is one row of :data:`COLLECTIONS`: its title and three functions (extent, a
page of items, one item); the paging, links and errors are shared.

Coordinates are served in CRS84 (lon, lat), which our EPSG:4490 storage equals to well under
a metre.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from functools import partial
from typing import Annotated, Any

import orjson
from fastapi import APIRouter, Query, Request
from fastapi.responses import Response
from sqlalchemy import text
from sqlalchemy.orm import Session

from api.deps import BboxDep, Reader, SessionDep
from api.errors import InvalidParameter
from layers.errors import GridNotFound
from layers.grids import GridQuery, active_generation, count_grids, get_grid, grid_features
from layers.zones import zone_features

router = APIRouter(prefix="/ogc", tags=["ogc"])

CRS84 = "http://www.opengis.net/def/crs/OGC/1.3/CRS84"
CONFORMANCE = [
    "http://www.opengis.net/spec/ogcapi-features-1/1.0/conf/core",
    "http://www.opengis.net/spec/ogcapi-features-1/1.0/conf/geojson",
    "http://www.opengis.net/spec/ogcapi-features-1/1.0/conf/oas30",
]
DEFAULT_LIMIT = 100
MAX_LIMIT = 10_000
JSON = "application/json"
GEOJSON = "application/geo+json"
Bbox = tuple[float, float, float, float] | None
Feature = dict[str, Any]


# -- grids: one collection per level --------------------------------------------------------
def _grid_extent(session: Session, generation_id: int, level: int) -> list[float] | None:
    row = session.execute(
        text(
            "SELECT ST_XMin(e), ST_YMin(e), ST_XMax(e), ST_YMax(e) FROM "
            "(SELECT ST_Extent(geom) AS e FROM grid WHERE generation_id = :g AND level = :l) s"
        ),
        {"g": generation_id, "l": level},
    ).one()
    return None if row[0] is None else [round(float(v), 7) for v in row]


def _grid_page(
    session: Session, generation_id: int, bbox: Bbox, limit: int, offset: int, *, level: int
) -> tuple[int, list[Feature]]:
    query = GridQuery(
        generation_id=generation_id, level=level, bbox=bbox, limit=limit, offset=offset
    )
    return count_grids(session=session, query=query), grid_features(session=session, query=query)


def _grid_item(session: Session, generation_id: int, feature_id: str, *, level: int) -> Feature:
    grid = get_grid(session=session, generation_id=generation_id, code=feature_id)
    if grid.level != level:
        raise GridNotFound(
            f"grid {feature_id} is level {grid.level}, not in grids-l{level}", field="featureId"
        )
    features = grid_features(
        session=session,
        query=GridQuery(generation_id=generation_id, level=level, parent_code=grid.parent_code),
    )
    return next(f for f in features if f["id"] == feature_id)


# -- enforcement zones ----------------------------------------------------------------------
def _zone_extent(session: Session, generation_id: int) -> list[float] | None:
    # The unit grids that some zone covers (a member code stands for the grids under it).
    row = session.execute(
        text(
            "SELECT ST_XMin(e), ST_YMin(e), ST_XMax(e), ST_YMax(e) FROM "
            "(SELECT ST_Extent(g.geom) AS e FROM grid g JOIN zone_member m "
            " ON left(g.code, length(m.grid_code)) = m.grid_code "
            " WHERE g.generation_id = :g AND g.level = 3) s"
        ),
        {"g": generation_id},
    ).one()
    return None if row[0] is None else [round(float(v), 7) for v in row]


def _zone_page(
    session: Session, generation_id: int, bbox: Bbox, limit: int, offset: int
) -> tuple[int, list[Feature]]:
    # A city has a few dozen zones: build them all (bbox-filtered) and page in memory.
    features = zone_features(session=session, generation_id=generation_id, bbox=bbox)
    return len(features), features[offset : offset + limit]


def _zone_item(session: Session, generation_id: int, feature_id: str) -> Feature:
    found = zone_features(session=session, generation_id=generation_id, code=feature_id)
    if not found:
        raise GridNotFound(
            f"no zone {feature_id!r} in collection zones; list them at "
            "/ogc/collections/zones/items",
            field="featureId",
        )
    return found[0]


@dataclass(frozen=True)
class Collection:
    """One OGC collection: its title and how to read its extent, a page and one item."""

    title: str
    extent: Callable[[Session, int], list[float] | None]
    page: Callable[[Session, int, Bbox, int, int], tuple[int, list[Feature]]]
    item: Callable[[Session, int, str], Feature]


def _grids(level: int, title: str) -> Collection:
    return Collection(
        title=title,
        extent=partial(_grid_extent, level=level),
        page=partial(_grid_page, level=level),
        item=partial(_grid_item, level=level),
    )


COLLECTIONS: dict[str, Collection] = {
    "grids-l1": _grids(1, "一级网格（镇街） Level-1 grids (towns)"),
    "grids-l2": _grids(2, "二级网格（村社区） Level-2 grids (villages/communities)"),
    "grids-l3": _grids(3, "三级网格（单元网格） Level-3 unit grids"),
    "zones": Collection(
        title="执法片区 Enforcement zones (union of member grids; squad, member count)",
        extent=_zone_extent,
        page=_zone_page,
        item=_zone_item,
    ),
}


def _json(body: dict[str, Any], media_type: str = JSON) -> Response:
    return Response(orjson.dumps(body), media_type=media_type)


def _base(request: Request) -> str:
    return str(request.base_url).rstrip("/") + "/ogc"


@router.get("", summary="OGC API landing page (no token needed)")
def landing(request: Request) -> Response:
    base = _base(request)
    return _json(
        {
            "title": "GridGIS 网格通 — OGC API Features",
            "description": "The three-level city grid of the active generation and its "
            "enforcement zones.",
            "links": [
                {"href": base, "rel": "self", "type": JSON, "title": "this document"},
                {"href": f"{base}/conformance", "rel": "conformance", "type": JSON},
                {"href": f"{base}/collections", "rel": "data", "type": JSON},
                {
                    "href": str(request.base_url).rstrip("/") + "/openapi.json",
                    "rel": "service-desc",
                    "type": "application/vnd.oai.openapi+json;version=3.0",
                },
            ],
        }
    )


@router.get("/conformance")
def conformance(_: Reader) -> Response:
    return _json({"conformsTo": CONFORMANCE})


def _collection(request: Request, collection_id: str, bbox: list[float] | None) -> dict[str, Any]:
    base = _base(request)
    title = COLLECTIONS[collection_id].title
    body: dict[str, Any] = {
        "id": collection_id,
        "title": title,
        "itemType": "feature",
        # Only CRS84 is offered: advertising EPSG:4490 as storageCrs makes clients (GDAL)
        # send bbox in its lat/lon axis order, which Part 1 (bbox always CRS84) does not allow.
        "crs": [CRS84],
        "links": [
            {"href": f"{base}/collections/{collection_id}", "rel": "self", "type": JSON},
            {"href": f"{base}/collections/{collection_id}/items", "rel": "items", "type": GEOJSON},
        ],
    }
    if bbox:
        body["extent"] = {"spatial": {"bbox": [bbox], "crs": CRS84}}
    return body


def _collection_of(collection_id: str) -> Collection:
    if collection_id not in COLLECTIONS:
        raise GridNotFound(
            f"no collection {collection_id!r}; the collections are {', '.join(COLLECTIONS)}",
            field="collectionId",
        )
    return COLLECTIONS[collection_id]


@router.get("/collections")
def collections(request: Request, session: SessionDep, _: Reader) -> Response:
    base = _base(request)
    generation = active_generation(session=session)
    return _json(
        {
            "links": [{"href": f"{base}/collections", "rel": "self", "type": JSON}],
            "collections": [
                _collection(request, cid, c.extent(session, generation.id))
                for cid, c in COLLECTIONS.items()
            ],
        }
    )


@router.get("/collections/{collection_id}")
def collection(collection_id: str, request: Request, session: SessionDep, _: Reader) -> Response:
    found = _collection_of(collection_id)
    generation = active_generation(session=session)
    return _json(_collection(request, collection_id, found.extent(session, generation.id)))


@router.get("/collections/{collection_id}/items")
def items(
    collection_id: str,
    request: Request,
    session: SessionDep,
    _: Reader,
    bbox: BboxDep,
    limit: Annotated[
        int,
        Query(
            description=f"features per page; a value over {MAX_LIMIT} is served as {MAX_LIMIT}",
            json_schema_extra={"minimum": 1, "maximum": MAX_LIMIT, "default": DEFAULT_LIMIT},
        ),
    ] = DEFAULT_LIMIT,
    offset: Annotated[int, Query()] = 0,
) -> Response:
    found = _collection_of(collection_id)
    if limit < 1:
        raise InvalidParameter(f"limit {limit} is out of range; use 1..{MAX_LIMIT}", field="limit")
    # OGC API - Features, /req/core/fc-limit-response-1: a limit over the server's maximum is
    # not an error; the maximum is used (and the paging links carry it).
    limit = min(limit, MAX_LIMIT)
    if offset < 0:
        raise InvalidParameter(f"offset {offset} is negative; use 0 or more", field="offset")
    generation = active_generation(session=session)
    matched, features = found.page(session, generation.id, bbox, limit, offset)
    url = f"{_base(request)}/collections/{collection_id}/items"
    keep = {k: v for k, v in request.query_params.items() if k not in ("limit", "offset")}

    def page(new_offset: int) -> str:
        params = {**keep, "limit": str(limit), "offset": str(new_offset)}
        return url + "?" + "&".join(f"{k}={v}" for k, v in params.items())

    links = [{"href": page(offset), "rel": "self", "type": GEOJSON}]
    if offset + len(features) < matched:
        links.append({"href": page(offset + limit), "rel": "next", "type": GEOJSON})
    if offset > 0:
        links.append({"href": page(max(0, offset - limit)), "rel": "prev", "type": GEOJSON})
    return _json(
        {
            "type": "FeatureCollection",
            "numberMatched": matched,
            "numberReturned": len(features),
            "links": links,
            "features": features,
        },
        GEOJSON,
    )


@router.get("/collections/{collection_id}/items/{feature_id}")
def item(
    collection_id: str, feature_id: str, request: Request, session: SessionDep, _: Reader
) -> Response:
    found = _collection_of(collection_id)
    generation = active_generation(session=session)
    feature = found.item(session, generation.id, feature_id)
    feature["links"] = [
        {"href": f"{_base(request)}/collections/{collection_id}/items/{feature_id}", "rel": "self"},
        {"href": f"{_base(request)}/collections/{collection_id}", "rel": "collection"},
    ]
    return _json(feature, GEOJSON)
