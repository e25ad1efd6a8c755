"""Vector tiles (Mapbox Vector Tiles) of grids, zones and coverage, with TileJSON and minimal
OGC API - Tiles paths. The tiles are made by PostGIS (layers/tiles.py); this module adds HTTP
caching and an in-process tile cache.

- ``GET /tiles/{layer}/{z}/{x}/{y}.mvt`` (XYZ scheme, y from the north) and
  ``GET /ogc/collections/{layer}/tiles/WebMercatorQuad/{tileMatrix}/{tileRow}/{tileCol}``
  (OGC order: z, then y, then x): ``application/vnd.mapbox-vector-tile``; a tile without any
  feature is ``204 No Content`` (MapLibre, OpenLayers and Leaflet.VectorGrid draw nothing).
  ``layer``: grids-l1, grids-l2, grids-l3, zones (``?generation=`` id or ``?at=`` date, default
  the active generation), grids (the three levels in one tile, each its own MVT layer
  ``grids-lN``, byte for byte that level's tile; ``?levels=1,2`` for some: one request per
  tile instead of three), coverage (``?date=`` YYYY-MM-DD, default today in Asia/Shanghai;
  ``?method=h3|buffer``, default h3).
- ``GET /tiles/{layer}.json``: TileJSON 3.0.0.
- ``?datum=gcj02|bd09`` on a tile: the tile of an Amap (GCJ-02, same z/x/y quad) or Baidu
  (BD-09 on Baidu Mercator, z/x/y in Baidu's numbering) basemap's plane, every vertex moved
  exactly (layers.tiles.render_tile_in_plane; docs/basemaps.md); cached and tagged apart.

Caching: a strong ``ETag`` from the data's version (generation id + content version, or the
coverage run) answered by ``304`` on ``If-None-Match``; ``Cache-Control: private`` with
``no-cache`` for drafts (their grids change on every edit), ``max-age=30`` for the active
generation and zones, a day for retired generations (never edited again). Tiles of 1 KB and more
are kept gzip-encoded too and sent so to clients that accept gzip (its ETag ends in ``-gzip``).
The in-process cache is an LRU bounded by bytes (``GRIDGIS_TILES_CACHE_MB``, default 64; 0 turns
it off), keyed by (layer, generation, ..., version, z, x, y): an edit or a publish changes the
version, so no stale tile can be served.

Errors (problem+json naming the field): z/x/y not a whole number or negative → 400; z above 22
or x/y beyond 2^z - 1 → 404; an unknown layer → 404; an unknown method → 400.
"""

from __future__ import annotations

import hashlib
import threading
from dataclasses import replace
from datetime import datetime
from typing import Annotated, Any
from urllib.parse import urlencode

from fastapi import APIRouter, Query, Request
from fastapi.responses import JSONResponse, Response
from pydantic_settings import BaseSettings, SettingsConfigDict
from sqlalchemy.orm import Session

from api.deps import AtDep, Reader, SessionDep, parse_day
from api.errors import STATUS
from api.schemas.common import MVT_RESPONSES
from api.schemas.grids import OgcTileset, OgcTilesets, TileJSON
from layers import accounts
from layers.tiles import (
    LAYERS,
    TILEJSON_MAXZOOM,
    TILEJSON_MINZOOM,
    CachedTile,
    TileAddressInvalid,
    TileCache,
    TileNotFound,
    TileSource,
    UnknownTileLayer,
    city_bounds,
    parse_tile_address,
    render_tile,
    resolve_source,
)
from layers.workcal import SHANGHAI

router = APIRouter(tags=["tiles"])

MVT = "application/vnd.mapbox-vector-tile"
TILE_FORMAT = "1"
"""Part of every ETag: raise it when the tile encoding changes (properties, extent), so clients
drop tiles made by older code."""
WEB_MERCATOR_QUAD = "http://www.opengis.net/def/tilematrixset/OGC/1.0/WebMercatorQuad"

STATUS.setdefault(TileAddressInvalid, (400, "Invalid tile address"))
STATUS.setdefault(TileNotFound, (404, "Tile not found"))
STATUS.setdefault(UnknownTileLayer, (404, "Unknown tile layer"))


class TileSettings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="GRIDGIS_TILES_", extra="ignore")

    cache_mb: float = 64.0
    """Bytes of tiles kept in each server process (raw + gzip); 0 disables the cache."""


_cache_lock = threading.Lock()


def tile_cache(request: Request) -> TileCache:
    """The app's tile cache, made on first use (one per process)."""
    state = request.app.state
    cache = getattr(state, "tile_cache", None)
    if cache is None:
        with _cache_lock:
            cache = getattr(state, "tile_cache", None)
            if cache is None:
                cache = TileCache(int(TileSettings().cache_mb * 1024 * 1024))
                state.tile_cache = cache
    return cache


GenerationQ = Annotated[
    int | None,
    Query(description="generation id (default: the active one)", ge=1, le=2_147_483_647),
]
DayQ = Annotated[
    str | None, Query(alias="date", description="coverage: YYYY-MM-DD (default today)")
]
MethodQ = Annotated[str | None, Query(description="coverage: h3 (default) or buffer")]
LevelsQ = Annotated[
    str | None,
    Query(description="grids: the levels in the tile, e.g. 1,2 (default 1,2,3)", max_length=16),
]
DatumQ = Annotated[
    str,
    Query(
        description="the basemap's datum: wgs84 (default; Tianditu, intranet XYZ), gcj02 (Amap: "
        "the tile of the GCJ-02 Web Mercator quad) or bd09 (Baidu: z/x/y in Baidu's tile "
        "numbering, y northwards from the equator); geometries are moved into that plane",
        pattern="^(wgs84|gcj02|bd09)$",
    ),
]


def _source(
    session: Session, layer: str, generation: int | None, at: datetime | None,
    day: str | None, method: str | None, levels: str | None = None,
) -> TileSource:  # fmt: skip
    return resolve_source(
        session=session, layer_id=layer, generation_id=generation, at=at,
        day=parse_day(day) if day else None, method=method,
        today=datetime.now(SHANGHAI).date(), levels=levels,
    )  # fmt: skip


def _scoped(session: Session, principal: Any, source: TileSource) -> TileSource:
    """A coverage source narrowed to the caller's scope (the figures of /api/v1/coverage: a
    town's user gets its town's unit grids only), cached and tagged apart per scope."""
    if source.layer.id != "coverage":
        return source
    codes = accounts.scope_codes(session=session, identity=principal.identity)
    if codes is None:
        return source
    tag = "s" + hashlib.sha256(",".join(codes).encode()).hexdigest()[:12]
    return replace(source, params={**source.params, "scope": list(codes)},
                   key=(*source.key, tag))  # fmt: skip


def _etag(source: TileSource, version: str, shifted: tuple[str, ...] = ()) -> str:
    return '"' + ".".join([TILE_FORMAT, *map(str, source.key), version, *shifted]) + '"'


def _gzip_etag(etag: str) -> str:
    return etag[:-1] + '-gzip"'


def _cache_control(source: TileSource) -> str:
    if source.max_age_s <= 0:
        return "private, no-cache"
    return f"private, max-age={source.max_age_s}"


def _accepts_gzip(request: Request) -> bool:
    for part in request.headers.get("accept-encoding", "").split(","):
        name, _, params = part.strip().partition(";")
        if name.strip().lower() in ("gzip", "*") and params.replace(" ", "") not in (
            "q=0",
            "q=0.0",
        ):
            return True
    return False


def _matching_etag(request: Request, candidates: tuple[str, ...]) -> str | None:
    """The candidate named by If-None-Match (weak comparison, as RFC 9110 asks), if any."""
    header = request.headers.get("if-none-match")
    if not header:
        return None
    for tag in (t.strip() for t in header.split(",")):
        if tag == "*":
            return candidates[0]
        tag = tag.removeprefix("W/")
        if tag in candidates:
            return tag
    return None


def tile_response(
    request: Request, session: Session, source: TileSource, z: int, x: int, y: int,
    datum: str = "wgs84",
) -> Response:  # fmt: skip
    """The tile as an HTTP answer: 304 if the client holds this version, else from the cache or
    PostGIS (stored under the version read with the tile). ``datum`` gcj02/bd09: the tile of
    that basemap's plane (layers.tiles.render_tile_in_plane), cached and tagged apart."""
    shifted = () if datum == "wgs84" else (datum,)
    etag = _etag(source, source.version, shifted)
    headers = {"Cache-Control": _cache_control(source)}
    # Vary: on gzip answers and 304s here; an identity answer of 1 KB or more (the only ones
    # that have a gzip form) gets it from the app's GZipMiddleware, which would add a second.
    vary = {"Vary": "Accept-Encoding"}
    held = _matching_etag(request, (etag, _gzip_etag(etag)))
    if held is not None:
        return Response(status_code=304, headers={**headers, **vary, "ETag": held})
    cache = tile_cache(request)
    tile = cache.get((*source.key, source.version, z, x, y, *shifted))
    headers["X-Tile-Cache"] = "hit"
    if tile is None:
        headers["X-Tile-Cache"] = "miss"
        version, raw = render_tile(session=session, source=source, z=z, x=x, y=y, datum=datum)
        tile = CachedTile.of(version, raw)
        cache.put((*source.key, version, z, x, y, *shifted), tile)
        etag = _etag(source, version, shifted)
    if not tile.raw:
        return Response(status_code=204, headers={**headers, "ETag": etag})
    if tile.gz is not None and _accepts_gzip(request):
        return Response(
            tile.gz, media_type=MVT,
            headers={**headers, **vary, "ETag": _gzip_etag(etag), "Content-Encoding": "gzip"},
        )  # fmt: skip
    return Response(tile.raw, media_type=MVT, headers={**headers, "ETag": etag})


@router.get(
    "/tiles/{layer}/{z}/{x}/{y}.mvt",
    summary="A vector tile (MVT) of grids-l1|grids-l2|grids-l3|grids|zones|coverage; 204 when "
    "empty",
    response_class=Response,
    responses=MVT_RESPONSES,
)
def read_tile(
    layer: str, z: str, x: str, y: str, request: Request, session: SessionDep, principal: Reader,
    at: AtDep, generation: GenerationQ = None, day: DayQ = None, method: MethodQ = None,
    datum: DatumQ = "wgs84", levels: LevelsQ = None,
) -> Response:  # fmt: skip
    tz, tx, ty = parse_tile_address(z, x, y)
    source = _scoped(session, principal, _source(session, layer, generation, at, day, method,
                                                  levels))  # fmt: skip
    return tile_response(request, session, source, tz, tx, ty, datum)


def _tilejson(session: Session, source: TileSource, tiles_url: str) -> Response:
    west, south, east, north = city_bounds(session=session, generation_id=source.generation_id)
    layer = source.layer
    query = urlencode(source.query)
    body: dict[str, Any] = {
        "tilejson": "3.0.0",
        "name": layer.title,
        "description": layer.description,
        "version": "1.0.0",
        "scheme": "xyz",
        "tiles": [tiles_url + (f"?{query}" if query else "")],
        "minzoom": TILEJSON_MINZOOM,
        "maxzoom": TILEJSON_MAXZOOM,
        "bounds": [round(v, 6) for v in (west, south, east, north)],
        "center": [round((west + east) / 2, 6), round((south + north) / 2, 6), 11],
        "vector_layers": [
            {
                "id": one.id,
                "description": one.description,
                "minzoom": TILEJSON_MINZOOM,
                "maxzoom": TILEJSON_MAXZOOM,
                "fields": one.fields,
            }
            # the grids layer: one vector layer per level it carries, in the tile's order
            for one in (
                [LAYERS[f"grids-l{n}"] for n in source.params["levels"]]
                if layer.levels
                else [layer]
            )
        ],
        "generation": source.generation_id,
        "generation_status": source.generation_status,
        "content_version": source.version,
    }
    return JSONResponse(body, headers={"Cache-Control": _cache_control(source)})


@router.get(
    "/tiles/{layer}.json", summary="TileJSON 3.0.0 of a tile layer", response_model=TileJSON
)
def read_tilejson(
    layer: str, request: Request, session: SessionDep, _: Reader, at: AtDep,
    generation: GenerationQ = None, day: DayQ = None, method: MethodQ = None,
    levels: LevelsQ = None,
) -> Response:  # fmt: skip
    source = _source(session, layer, generation, at, day, method, levels)
    base = str(request.base_url).rstrip("/")
    return _tilejson(session, source, f"{base}/tiles/{source.layer.id}/{{z}}/{{x}}/{{y}}.mvt")


# --- OGC API - Tiles (core, WebMercatorQuad only) ----------------------------------------------


def _ogc_tiles_url(request: Request, layer: str) -> str:
    base = str(request.base_url).rstrip("/")
    return f"{base}/ogc/collections/{layer}/tiles/WebMercatorQuad"


@router.get(
    "/ogc/collections/{collection_id}/tiles",
    summary="OGC API - Tiles: tilesets",
    response_model=OgcTilesets,
)
def read_ogc_tilesets(
    collection_id: str, request: Request, session: SessionDep, _: Reader
) -> Response:
    if collection_id not in LAYERS:
        raise UnknownTileLayer(
            f"no tile layer {collection_id!r}; use one of {', '.join(LAYERS)}",
            field="collectionId",
        )
    url = _ogc_tiles_url(request, collection_id)
    body = {
        "tilesets": [
            {
                "title": LAYERS[collection_id].title,
                "dataType": "vector",
                "crs": "http://www.opengis.net/def/crs/EPSG/0/3857",
                "tileMatrixSetURI": WEB_MERCATOR_QUAD,
                "links": [
                    {"rel": "self", "href": url, "type": "application/json"},
                    {"rel": "http://www.opengis.net/def/rel/ogc/1.0/tiling-scheme",
                     "href": WEB_MERCATOR_QUAD},
                    {"rel": "item", "type": MVT, "templated": True,
                     "href": url + "/{tileMatrix}/{tileRow}/{tileCol}"},
                ],
            }
        ]
    }  # fmt: skip
    return JSONResponse(body)


@router.get(
    "/ogc/collections/{collection_id}/tiles/WebMercatorQuad",
    summary="OGC API - Tiles: the WebMercatorQuad tileset (TileJSON fields included)",
    response_model=OgcTileset,
)
def read_ogc_tileset(
    collection_id: str, request: Request, session: SessionDep, _: Reader, at: AtDep,
    generation: GenerationQ = None, day: DayQ = None, method: MethodQ = None,
) -> Response:  # fmt: skip
    source = _source(session, collection_id, generation, at, day, method)
    url = _ogc_tiles_url(request, collection_id)
    body: dict[str, Any] = {
        "title": source.layer.title,
        "dataType": "vector",
        "crs": "http://www.opengis.net/def/crs/EPSG/0/3857",
        "tileMatrixSetURI": WEB_MERCATOR_QUAD,
        "tileMatrixSetLimits": [],
        "layers": [
            {"id": source.layer.id, "dataType": "vector", "geometryType": "polygons",
             "propertiesSchema": {"type": "object", "properties": {
                 k: {"type": "string" if v == "String" else "number"}
                 for k, v in source.layer.fields.items()}}}
        ],
        "links": [
            {"rel": "item", "type": MVT, "templated": True,
             "href": url + "/{tileMatrix}/{tileRow}/{tileCol}"},
        ],
    }  # fmt: skip
    return JSONResponse(body, headers={"Cache-Control": _cache_control(source)})


@router.get(
    "/ogc/collections/{collection_id}/tiles/WebMercatorQuad/{tile_matrix}/{tile_row}/{tile_col}",
    summary="OGC API - Tiles: one tile (tileMatrix = z, tileRow = y, tileCol = x)",
    response_class=Response,
    responses=MVT_RESPONSES,
)
def read_ogc_tile(
    collection_id: str, tile_matrix: str, tile_row: str, tile_col: str, request: Request,
    session: SessionDep, principal: Reader, at: AtDep, generation: GenerationQ = None,
    day: DayQ = None, method: MethodQ = None,
) -> Response:  # fmt: skip
    try:
        tz, tx, ty = parse_tile_address(tile_matrix, tile_col, tile_row)
    except (TileAddressInvalid, TileNotFound) as exc:
        exc.field = {"z": "tileMatrix", "x": "tileCol", "y": "tileRow"}.get(exc.field or "")
        raise
    source = _scoped(session, principal, _source(session, collection_id, generation, at, day,
                                                  method))  # fmt: skip
    return tile_response(request, session, source, tz, tx, ty)
