"""OGC API - Features (Part 1, read): one collection per grid level of the active generation,
so QGIS and GDAL's OAPIF driver load our grids directly.

Coordinates are served in CRS84 (lon, lat), which our EPSG:4490 storage equals to well under
a metre.
"""

from __future__ import annotations

from typing import Annotated, Any

import orjson
from fastapi import APIRouter, Query, Request
from fastapi.responses import Response

from api.deps import BboxDep, Reader, SessionDep
from api.errors import InvalidParameter
from layers.errors import GridNotFound
from layers.grids import GridQuery, active_generation, count_grids, get_grid, grid_features

router = APIRouter(prefix="/ogc", tags=["ogc"])

CRS84 = "http://www.opengis.net/def/crs/OGC/1.3/CRS84"
CONFORMANCE = [
    "http://www.opengis.net/spec/ogcapi-features-1/1.0/conf/core",
    "http://www.opengis.net/spec/ogcapi-features-1/1.0/conf/geojson",
    "http://www.opengis.net/spec/ogcapi-features-1/1.0/conf/oas30",
]
COLLECTIONS = {
    "grids-l1": (1, "一级网格（镇街） Level-1 grids (towns)"),
    "grids-l2": (2, "二级网格（村社区） Level-2 grids (villages/communities)"),
    "grids-l3": (3, "三级网格（单元网格） Level-3 unit grids"),
}
DEFAULT_LIMIT = 100
MAX_LIMIT = 10_000
JSON = "application/json"
GEOJSON = "application/geo+json"


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
            "description": "The three-level city grid of the active generation.",
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
    title = COLLECTIONS[collection_id][1]
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


def _extent(session: SessionDep, level: int) -> list[float] | None:
    from sqlalchemy import text

    generation = active_generation(session=session)
    row = session.execute(
        text(
            "SELECT ST_XMin(e), ST_YMin(e), ST_XMax(e), ST_YMax(e) FROM "
            "(SELECT ST_Extent(geom) AS e FROM grid WHERE generation_id = :g AND level = :l) s"
        ),
        {"g": generation.id, "l": level},
    ).one()
    return None if row[0] is None else [round(float(v), 7) for v in row]


def _collection_id(collection_id: str) -> int:
    if collection_id not in COLLECTIONS:
        raise GridNotFound(
            f"no collection {collection_id!r}; the collections are {', '.join(COLLECTIONS)}",
            field="collectionId",
        )
    return COLLECTIONS[collection_id][0]


@router.get("/collections")
def collections(request: Request, session: SessionDep, _: Reader) -> Response:
    base = _base(request)
    return _json(
        {
            "links": [{"href": f"{base}/collections", "rel": "self", "type": JSON}],
            "collections": [
                _collection(request, cid, _extent(session, level))
                for cid, (level, _title) in COLLECTIONS.items()
            ],
        }
    )


@router.get("/collections/{collection_id}")
def collection(collection_id: str, request: Request, session: SessionDep, _: Reader) -> Response:
    level = _collection_id(collection_id)
    return _json(_collection(request, collection_id, _extent(session, level)))


@router.get("/collections/{collection_id}/items")
def items(
    collection_id: str,
    request: Request,
    session: SessionDep,
    _: Reader,
    bbox: BboxDep,
    limit: Annotated[int, Query()] = DEFAULT_LIMIT,
    offset: Annotated[int, Query()] = 0,
) -> Response:
    level = _collection_id(collection_id)
    if not 1 <= limit <= MAX_LIMIT:
        raise InvalidParameter(f"limit {limit} is out of range; use 1..{MAX_LIMIT}", field="limit")
    if offset < 0:
        raise InvalidParameter(f"offset {offset} is negative; use 0 or more", field="offset")
    generation = active_generation(session=session)
    query = GridQuery(
        generation_id=generation.id, level=level, bbox=bbox, limit=limit, offset=offset
    )
    matched = count_grids(session=session, query=query)
    features = grid_features(session=session, query=query)
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
    level = _collection_id(collection_id)
    generation = active_generation(session=session)
    grid = get_grid(session=session, generation_id=generation.id, code=feature_id)
    if grid.level != level:
        raise GridNotFound(
            f"grid {feature_id} is level {grid.level}, not in {collection_id}", field="featureId"
        )
    features = grid_features(
        session=session,
        query=GridQuery(generation_id=generation.id, level=level, parent_code=grid.parent_code),
    )
    feature = next(f for f in features if f["id"] == feature_id)
    feature["links"] = [
        {"href": f"{_base(request)}/collections/{collection_id}/items/{feature_id}", "rel": "self"},
        {"href": f"{_base(request)}/collections/{collection_id}", "rel": "collection"},
    ]
    return _json(feature, GEOJSON)
