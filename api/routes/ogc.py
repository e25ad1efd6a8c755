"""OGC API - Features for planners: Part 1 (read), Part 2 (CRS by reference) and, on the
collections of a draft, Part 4 (replace, update, delete: api/routes/ogc_edit.py), plus the
OGC API - Tiles classes the tile routes (api/routes/tiles.py) implement.

Collections of any generation — one collection set per generation:

- ``grids-l1``, ``grids-l2``, ``grids-l3``, ``zones``: the generation in force now, or the one
  named by ``?generation=ID`` or in force at ``?at=DATE`` (on the collection, its items and
  its extent);
- ``grids-l3@42`` (and ``grids-l1@42``, …, ``zones@42``): generation 42 whatever its status
  — a draft, or a past city. ``/ogc?generation=42`` and ``/ogc/collections?generation=42``
  (or ``?at=2025-01-01``) list and link that generation's set, so QGIS or GDAL pointed at
  ``/ogc?generation=42`` loads the draft. The grid collections of a generation in status
  ``draft`` are writable (Part 4, planner token, ``If-Match``); all others answer 405 with
  ``Allow``.

CRS (Part 2, api/ogc_crs.py): ``crs`` and ``bbox-crs`` take CRS84 (default, lon, lat) or
EPSG:4490 (lat, lon); the answer's ``Content-Crs`` header names the CRS of its coordinates.
A ``bbox`` keeps the features whose geometry intersects the box (not just its envelope).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Annotated, Any
from urllib.parse import urlencode

import orjson
from fastapi import APIRouter, Query, Request
from fastapi.responses import Response
from sqlalchemy.orm import Session

from api.deps import AtDep, Reader, SessionDep
from api.errors import STATUS, InvalidParameter, problem
from api.ogc_crs import (
    CRS84,
    STORAGE_CRS,
    SUPPORTED,
    content_crs,
    features_to_crs,
    parse_bbox_in,
    parse_crs_uri,
    to_crs,
)
from api.schemas.common import GEOJSON_FEATURE, GEOJSON_FEATURE_COLLECTION, media_response
from layers.errors import NotFound, ZoneNotFound
from layers.grids import resolve_generation
from layers.models import Generation, GenerationStatus
from layers.ogc_items import grid_extent, grid_item, grid_page, zone_extent
from layers.zones import zone_features

router = APIRouter(prefix="/ogc", tags=["ogc"])


class CollectionNotFound(NotFound):
    """No collection with that id (404 "Collection not found")."""


class FeatureNotFound(NotFound):
    """A feature id that names nothing (404 "Feature not found")."""


STATUS.setdefault(CollectionNotFound, (404, "Collection not found"))
STATUS.setdefault(FeatureNotFound, (404, "Feature not found"))

_FEATURES = "http://www.opengis.net/spec/ogcapi-features-{part}/1.0/conf/{name}"
_TILES = "http://www.opengis.net/spec/ogcapi-tiles-1/1.0/conf/{name}"
CONFORMANCE = [
    _FEATURES.format(part=1, name="core"),
    _FEATURES.format(part=1, name="geojson"),
    _FEATURES.format(part=1, name="oas30"),
    _FEATURES.format(part=2, name="crs"),
    # Part 4 on the grid collections of drafts (the others answer 405 with Allow); creating
    # a grid is refused with the edits to use instead (docs/planning.md, section OGC).
    _FEATURES.format(part=4, name="create-replace-delete"),
    _FEATURES.format(part=4, name="update"),
    _FEATURES.format(part=4, name="features"),
    # OGC API - Tiles, served by api/routes/tiles.py under /ogc/collections/{id}/tiles
    _TILES.format(name="core"),
    _TILES.format(name="tileset"),
    _TILES.format(name="tilesets-list"),
    _TILES.format(name="geodata-tilesets"),
    _TILES.format(name="mvt"),
]
DEFAULT_LIMIT = 100
MAX_LIMIT = 10_000
JSON = "application/json"
GEOJSON = "application/geo+json"
Bbox = tuple[float, float, float, float] | None
Feature = dict[str, Any]
OBJECT = {"type": "object"}
FEATURE_RESPONSES = media_response("one feature (ETag: the generation's version)",
                                   (GEOJSON, GEOJSON_FEATURE))  # fmt: skip
READ_ONLY_ALLOW = "GET, OPTIONS"
ITEMS_ALLOW = "GET, POST, OPTIONS"
ITEM_ALLOW = "GET, PUT, PATCH, DELETE, OPTIONS"


# -- enforcement zones ----------------------------------------------------------------------
def _zone_page(
    session: Session, generation_id: int, bbox: Bbox, limit: int, offset: int
) -> tuple[int, list[Feature]]:
    # A city has a few dozen zones: build them all (bbox-filtered by geometry) and page.
    features = zone_features(session=session, generation_id=generation_id, bbox=bbox)
    return len(features), features[offset : offset + limit]


def _zone_item(session: Session, generation_id: int, feature_id: str) -> Feature:
    found = zone_features(session=session, generation_id=generation_id, code=feature_id)
    if not found:
        raise ZoneNotFound(
            f"no zone {feature_id!r} in collection zones; list them at "
            "/ogc/collections/zones/items",
            field="featureId",
        )
    return found[0]


@dataclass(frozen=True)
class Collection:
    """One kind of collection: its title, level (None: zones) and how to read it."""

    title: str
    level: int | None
    extent: Callable[[Session, int], list[float] | None]
    page: Callable[[Session, int, Bbox, int, int], tuple[int, list[Feature]]]
    item: Callable[[Session, int, str], Feature]


def _grids(level: int, title: str) -> Collection:
    return Collection(
        title=title,
        level=level,
        extent=lambda s, g: grid_extent(session=s, generation_id=g, level=level),
        page=lambda s, g, b, lim, off: grid_page(
            session=s, generation_id=g, level=level, bbox=b, limit=lim, offset=off
        ),
        item=lambda s, g, code: grid_item(session=s, generation_id=g, level=level, code=code),
    )


COLLECTIONS: dict[str, Collection] = {
    "grids-l1": _grids(1, "一级网格（镇街） Level-1 grids (towns)"),
    "grids-l2": _grids(2, "二级网格（村社区） Level-2 grids (villages/communities)"),
    "grids-l3": _grids(3, "三级网格（单元网格） Level-3 unit grids"),
    "zones": Collection(
        title="执法片区 Enforcement zones (union of member grids; squad, member count)",
        level=None,
        extent=lambda s, g: zone_extent(session=s, generation_id=g),
        page=_zone_page,
        item=_zone_item,
    ),
}

GenerationQ = Annotated[
    int | None,
    Query(description="generation id (default: the one in force)", ge=1, le=2_147_483_647),
]


@dataclass(frozen=True)
class Target:
    """A collection as asked: ``cid`` the id as written (``grids-l3@42``), ``base`` the kind
    (``grids-l3``), the generation it reads, and whether the id pins it (``@42``)."""

    cid: str
    base: str
    kind: Collection
    generation: Generation
    pinned: bool

    @property
    def writable(self) -> bool:
        """Part 4 writes: the grid collections of a generation in status draft."""
        return self.kind.level is not None and self.generation.status == GenerationStatus.DRAFT


def _is_id(value: str) -> bool:
    """A generation id as written in a collection id (ASCII digits, a 32-bit integer)."""
    return value.isascii() and value.isdigit() and len(value) <= 10 and int(value) < 2**31


def check_feature_id(feature_id: str) -> str:
    """A feature id that can be looked up (no NUL, at most 100 characters), else 404."""
    if "\x00" in feature_id or len(feature_id) > 100:
        raise FeatureNotFound(
            f"no feature {feature_id[:40]!r}; feature ids are grid or zone codes",
            field="featureId",
        )
    return feature_id


def resolve(
    session: Session, collection_id: str, generation: int | None, at: datetime | None
) -> Target:
    """The collection ``collection_id`` (``base`` or ``base@ID``) of the generation it pins,
    else of ``generation``/``at``/the one in force. 404 naming the collections otherwise."""
    base, sep, pin = collection_id.partition("@")
    if base not in COLLECTIONS or (sep and not _is_id(pin)):
        raise CollectionNotFound(
            f"no collection {collection_id!r}; the collections are {', '.join(COLLECTIONS)}, "
            "and base@ID for generation ID (e.g. grids-l3@42)",
            field="collectionId",
        )
    if sep:
        if generation is not None and generation != int(pin):
            raise InvalidParameter(
                f"collection {collection_id} is generation {pin}, but generation={generation} "
                f"was asked; use /ogc/collections/{base}@{generation} or drop generation=",
                field="generation",
            )
        found = resolve_generation(session=session, generation_id=int(pin))
    else:
        found = resolve_generation(session=session, generation_id=generation, at=at)
    return Target(collection_id, base, COLLECTIONS[base], found, bool(sep))


def json_response(
    body: dict[str, Any], media_type: str = JSON, headers: dict[str, str] | None = None
) -> Response:
    return Response(orjson.dumps(body), media_type=media_type, headers=headers)


def base_url(request: Request) -> str:
    return str(request.base_url).rstrip("/") + "/ogc"


def href(url: str, params: dict[str, Any]) -> str:
    """``url`` with ``params`` percent-encoded (commas of a bbox, ``:`` and ``/`` of a CRS URI)."""
    kept = {k: v for k, v in params.items() if v is not None and v != ""}
    return url + ("?" + urlencode(kept) if kept else "")


def method_not_allowed(request: Request, allow: str, why: str) -> Response:
    response = problem(
        405,
        "Method not allowed",
        f"{request.method} is not allowed on {request.url.path}: {why}",
        field="method",
        request=request,
        allow=allow,
    )
    response.headers["Allow"] = allow
    return response


def _set_query(generation: int | None, at: str | None) -> dict[str, Any]:
    return {"generation": generation, "at": at}


@router.get(
    "",
    summary="OGC API landing page (no token needed)",
    responses=media_response("the landing page", (JSON, OBJECT)),
)
def landing(request: Request, generation: GenerationQ = None, at: str | None = None) -> Response:
    base = base_url(request)
    which = _set_query(generation, at)
    about = (
        f"generation {generation}"
        if generation
        else (f"the generation in force at {at}" if at else "the generation in force")
    )
    return json_response(
        {
            "title": "GridGIS 网格通 — OGC API Features",
            "description": f"The three-level city grid of {about} and its enforcement zones. "
            "Any generation: /ogc?generation=ID (a draft, or a past city) or /ogc?at=DATE "
            "(collections base@ID, e.g. grids-l3@42); the grid collections of a draft are "
            "writable (OGC API Features Part 4, If-Match). CRS: CRS84 or EPSG:4490.",
            "links": [
                {"href": href(base, which), "rel": "self", "type": JSON, "title": "this document"},
                {"href": f"{base}/conformance", "rel": "conformance", "type": JSON},
                {"href": href(f"{base}/collections", which), "rel": "data", "type": JSON},
                {
                    "href": str(request.base_url).rstrip("/") + "/openapi.json",
                    "rel": "service-desc",
                    "type": "application/vnd.oai.openapi+json;version=3.0",
                },
                {
                    "href": str(request.base_url).rstrip("/") + "/api/v1/generations",
                    "rel": "related",
                    "type": JSON,
                    "title": "the generations (drafts, active, retired): open one with "
                    "/ogc?generation=ID",
                },
            ],
        }
    )


@router.get("/conformance", responses=media_response("the conformance classes", (JSON, OBJECT)))
def conformance(_: Reader) -> Response:
    return json_response({"conformsTo": CONFORMANCE})


def _collection(request: Request, target: Target, session: Session) -> dict[str, Any]:
    base = base_url(request)
    gen = target.generation
    url = f"{base}/collections/{target.cid}"
    tiles = href(
        f"{base}/collections/{target.base}/tiles", {"generation": gen.id if target.pinned else None}
    )
    body: dict[str, Any] = {
        "id": target.cid,
        "title": target.kind.title
        + ("" if not target.pinned else f" — {gen.name} ({gen.status.value})"),
        "itemType": "feature",
        "crs": list(SUPPORTED),
        "storageCrs": STORAGE_CRS,
        "generation": {
            "id": gen.id,
            "name": gen.name,
            "status": gen.status.value,
            "version": gen.version,
            "writable": target.writable,
        },
        "links": [
            {"href": url, "rel": "self", "type": JSON},
            {"href": f"{url}/items", "rel": "items", "type": GEOJSON},
            {
                "href": tiles,
                "rel": "http://www.opengis.net/def/rel/ogc/1.0/tilesets-vector",
                "type": JSON,
                "title": "vector tiles (OGC API - Tiles, MVT)",
            },
        ],
    }
    bbox = target.kind.extent(session, gen.id)
    if bbox:
        body["extent"] = {"spatial": {"bbox": [bbox], "crs": CRS84}}
    return body


@router.get("/collections", responses=media_response("the collections", (JSON, OBJECT)))
def collections(
    request: Request, session: SessionDep, _: Reader, at: AtDep, generation: GenerationQ = None
) -> Response:
    base = base_url(request)
    pinned = generation is not None or at is not None
    gen = resolve_generation(session=session, generation_id=generation, at=at)
    which = _set_query(generation, request.query_params.get("at"))
    targets = [
        Target(f"{cid}@{gen.id}" if pinned else cid, cid, kind, gen, pinned)
        for cid, kind in COLLECTIONS.items()
    ]
    return json_response(
        {
            "links": [{"href": href(f"{base}/collections", which), "rel": "self", "type": JSON}],
            "collections": [_collection(request, t, session) for t in targets],
        }
    )


@router.get(
    "/collections/{collection_id}", responses=media_response("one collection", (JSON, OBJECT))
)
def collection(
    collection_id: str, request: Request, session: SessionDep, _: Reader, at: AtDep,
    generation: GenerationQ = None,
) -> Response:  # fmt: skip
    target = resolve(session, collection_id, generation, at)
    return json_response(_collection(request, target, session))


@router.api_route(
    "/collections/{collection_id}",
    methods=["POST", "PUT", "PATCH", "DELETE"],
    include_in_schema=False,  # a collection is read-only: 405 with Allow
)
def collection_write(collection_id: str, request: Request) -> Response:
    return method_not_allowed(
        request, READ_ONLY_ALLOW, "a collection is read-only; write its items"
    )


@router.options(
    "/collections/{collection_id}", status_code=204, responses={204: {"description": "Allow"}}
)
def collection_options(collection_id: str) -> Response:
    return Response(status_code=204, headers={"Allow": READ_ONLY_ALLOW})


def crs_of(request: Request) -> str:
    return parse_crs_uri(request.query_params.get("crs"), "crs")


@router.get(
    "/collections/{collection_id}/items",
    responses=media_response("a page of features", (GEOJSON, GEOJSON_FEATURE_COLLECTION)),
)
def items(
    collection_id: str,
    request: Request,
    session: SessionDep,
    _: Reader,
    at: AtDep,
    generation: GenerationQ = None,
    bbox: Annotated[
        str | None, Query(description="west,south,east,north (in bbox-crs' axis order)")
    ] = None,
    bbox_crs: Annotated[
        str | None, Query(alias="bbox-crs", description=f"{CRS84} (default) or EPSG:4490")
    ] = None,
    crs: Annotated[str | None, Query(description=f"{CRS84} (default) or EPSG:4490")] = None,
    limit: Annotated[
        int,
        Query(
            description=f"features per page; a value over {MAX_LIMIT} is served as {MAX_LIMIT}",
            json_schema_extra={"minimum": 1, "maximum": MAX_LIMIT, "default": DEFAULT_LIMIT},
        ),
    ] = DEFAULT_LIMIT,
    offset: Annotated[int, Query()] = 0,
) -> Response:
    target = resolve(session, collection_id, generation, at)
    out_crs = parse_crs_uri(crs, "crs")
    box = parse_bbox_in(bbox, parse_crs_uri(bbox_crs, "bbox-crs"), "bbox")
    if limit < 1:
        raise InvalidParameter(f"limit {limit} is out of range; use 1..{MAX_LIMIT}", field="limit")
    # OGC API - Features, /req/core/fc-limit-response-1: a limit over the server's maximum is
    # not an error; the maximum is used (and the paging links carry it).
    limit = min(limit, MAX_LIMIT)
    if offset < 0:
        raise InvalidParameter(f"offset {offset} is negative; use 0 or more", field="offset")
    matched, features = target.kind.page(session, target.generation.id, box, limit, offset)
    url = f"{base_url(request)}/collections/{collection_id}/items"
    keep = {k: v for k, v in request.query_params.items() if k not in ("limit", "offset")}

    def page(new_offset: int) -> str:
        return href(url, {**keep, "limit": limit, "offset": new_offset})

    links = [{"href": page(offset), "rel": "self", "type": GEOJSON}]
    if offset + len(features) < matched:
        links.append({"href": page(offset + limit), "rel": "next", "type": GEOJSON})
    if offset > 0:
        links.append({"href": page(max(0, offset - limit)), "rel": "prev", "type": GEOJSON})
    links.append({"href": f"{base_url(request)}/collections/{collection_id}",
                  "rel": "collection", "type": JSON})  # fmt: skip
    return json_response(
        {
            "type": "FeatureCollection",
            "numberMatched": matched,
            "numberReturned": len(features),
            "links": links,
            "features": features_to_crs(features, out_crs),
        },
        GEOJSON,
        {"Content-Crs": content_crs(out_crs)},
    )


def item_links(request: Request, collection_id: str, feature_id: str) -> list[dict[str, str]]:
    base = base_url(request)
    return [
        {"href": f"{base}/collections/{collection_id}/items/{feature_id}", "rel": "self",
         "type": GEOJSON},
        {"href": f"{base}/collections/{collection_id}", "rel": "collection", "type": JSON},
    ]  # fmt: skip


def feature_response(
    request: Request, target: Target, feature: Feature, out_crs: str, status_code: int = 200,
    extra: dict[str, Any] | None = None,
) -> Response:  # fmt: skip
    """One feature in ``out_crs`` with Content-Crs and the ETag (the generation's version,
    which every edit of a draft raises); ``extra`` foreign members (the edits made)."""
    body = {**feature, "geometry": to_crs(feature.get("geometry"), out_crs)}
    body["links"] = item_links(request, target.cid, str(feature["id"]))
    body.update(extra or {})
    headers = {"Content-Crs": content_crs(out_crs), "ETag": f'"{target.generation.version}"'}
    if target.writable:
        headers["Allow"] = ITEM_ALLOW
    response = json_response(body, GEOJSON, headers)
    response.status_code = status_code
    return response


@router.get("/collections/{collection_id}/items/{feature_id}", responses=FEATURE_RESPONSES)
def item(
    collection_id: str, feature_id: str, request: Request, session: SessionDep, _: Reader,
    at: AtDep, generation: GenerationQ = None,
    crs: Annotated[str | None, Query(description=f"{CRS84} (default) or EPSG:4490")] = None,
) -> Response:  # fmt: skip
    target = resolve(session, collection_id, generation, at)
    out_crs = parse_crs_uri(crs, "crs")
    feature = target.kind.item(session, target.generation.id, check_feature_id(feature_id))
    return feature_response(request, target, feature, out_crs)
