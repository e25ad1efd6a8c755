"""Mapbox Vector Tiles (MVT) of grids, zones and patrol coverage, computed by PostGIS.

As Martin and pg_tileserv do: one SQL statement per tile, ``ST_AsMVT`` over ``ST_AsMVTGeom``
with the tile's Web Mercator envelope from ``ST_TileEnvelope``. CRS and index choices:

- geometries are stored in CGCS2000 (EPSG:4490) with a GiST index on ``grid.geom``; the tile
  envelope is transformed to 4490 for the ``&&`` test (the query constant, never the indexed
  column, so the index is used). Web Mercator's axes are separable, so the four corners of
  the envelope map to an exact lon/lat rectangle: no feature is missed;
- the envelope for the index test is widened by the tile buffer (``margin``), so features that
  only enter the buffer zone are found and clipped into it like the others;
- each selected geometry is transformed to EPSG:3857 for ``ST_AsMVTGeom`` (the tile's own CRS;
  CGCS2000 and WGS84 agree to a few centimetres, below the 0.15 m of a z16 tile unit);
- simplification is the quantisation of ``ST_AsMVTGeom`` to the 4096-unit tile grid (plus its
  removal of collinear points). Every vertex snaps to the same grid point whichever polygon it
  belongs to, so neighbours keep identical shared edges. A per-polygon ``ST_Simplify`` of half a
  pixel was measured (docs/benchmarks-tiles.md): 2.5x faster for L3 tiles at z9-z11 only, but
  Douglas-Peucker simplifies each ring on its own and opens slivers between neighbours, so it
  is not used.

Versions (what the tile cache and the ETag are keyed by, read in the same statement as the tile
so a tile is never stored under an older version than its content):

- grids: ``generation.content_version``, raised by triggers on every write to the generation's
  grid rows (migration 0012_tile_version), whatever wrote them;
- zones: the generation's version plus an md5 of the zoning (zones, members, squad names);
- coverage: the run's id and ``computed_at`` plus its generation's version.

Errors: :class:`TileAddressInvalid` (z/x/y not an integer, or negative), :class:`TileNotFound`
(z above :data:`MAX_ZOOM`, x or y beyond the zoom's 2^z tiles), :class:`UnknownTileLayer`;
``GenerationNotFound`` and ``CoverageNotComputed`` from the layers asked.
"""

from __future__ import annotations

import gzip
import json
import math
import re
import threading
from collections import OrderedDict
from collections.abc import Hashable, Iterator
from dataclasses import dataclass, field, replace
from datetime import date, datetime
from typing import Any, Literal

import numpy as np
import shapely
from sqlalchemy import text
from sqlalchemy.orm import Session

from gis.crs import SRID_CGCS2000
from gis.display_planes import tile_bounds, tile_lonlat_bounds, to_plane
from layers.coverage import find_run
from layers.errors import DomainError
from layers.grids import resolve_generation

SRID_WEB_MERCATOR = 3857
MAX_ZOOM = 22
"""Highest zoom served (z22 tiles are ~10 m wide); clients overzoom beyond TileJSON maxzoom."""
EXTENT = 4096
"""Tile coordinate units per tile side (the MVT default: 16 units per pixel of a 256 px tile)."""
BUFFER = 64
"""Units drawn beyond each tile edge, so strokes at tile seams do not show a cut."""
TILEJSON_MINZOOM = 8
TILEJSON_MAXZOOM = 18
"""Zooms advertised in TileJSON: z8 shows the whole city; at z18 a unit is 0.04 m, so clients
overzoom z18 tiles rather than ask for deeper ones."""

Method = Literal["h3", "buffer"]
METHODS: tuple[str, ...] = ("h3", "buffer")


class TileAddressInvalid(DomainError):
    """z, x or y is not a non-negative integer (HTTP 400)."""


class TileNotFound(DomainError):
    """A tile that does not exist: z above MAX_ZOOM, or x/y beyond 2^z - 1 (HTTP 404)."""


class UnknownTileLayer(DomainError):
    """A layer name that is not one of :data:`LAYERS` (HTTP 404)."""


@dataclass(frozen=True)
class TileLayer:
    """One tile layer: its id (URL and MVT layer name), title and the feature properties."""

    id: str
    title: str
    description: str
    fields: dict[str, str]
    level: int | None = None
    """Grid level of a grids-lN layer."""
    levels: tuple[int, ...] = ()
    """The ``grids`` layer: the levels it may carry, each as its own MVT layer ``grids-lN``."""


_GRID_FIELDS = {
    "code": "String",
    "name": "String",
    "level": "Number",
    "parent_code": "String",
}
LAYERS: dict[str, TileLayer] = {
    "grids-l1": TileLayer(
        "grids-l1", "镇街 Towns (L1 grids)", "level-1 grids of a generation", _GRID_FIELDS, 1
    ),
    "grids-l2": TileLayer(
        "grids-l2", "村社区 Villages (L2 grids)", "level-2 grids of a generation", _GRID_FIELDS, 2
    ),
    "grids-l3": TileLayer(
        "grids-l3", "单元网格 Unit grids (L3)", "level-3 grids of a generation", _GRID_FIELDS, 3
    ),
    "grids": TileLayer(
        "grids",
        "网格（三级）Grids, the three levels in one tile",
        "the grids-l3, grids-l2 and grids-l1 layers of a generation in one tile (in that order:"
        " towns last, drawn on top); ?levels=1,2 for some of them",
        _GRID_FIELDS,
        levels=(3, 2, 1),
    ),
    "zones": TileLayer(
        "zones",
        "执法片区 Enforcement zones",
        "zones as the union of their member grids in the generation",
        {"code": "String", "name": "String", "town_code": "String", "squad": "String"},
    ),
    "coverage": TileLayer(
        "coverage",
        "巡查覆盖率 Patrol coverage",
        "unit grids with their coverage share in percent (latest whole-day run of the date)",
        {
            "code": "String",
            "name": "String",
            "level": "Number",
            "share_pct": "Number",
            "method": "String",
        },
    ),
}


def parse_levels(raw: str | None) -> tuple[int, ...]:
    """The ``levels`` of a ``grids`` tile: comma-separated 1, 2, 3 (default all), returned
    deepest first (3, 2, 1: the order of the MVT layers, towns drawn last). Raises
    :class:`TileAddressInvalid` (field ``levels``)."""
    if raw is None:
        return (3, 2, 1)
    parts = [p.strip() for p in raw.split(",")]
    if not parts or any(p not in ("1", "2", "3") for p in parts):
        raise TileAddressInvalid(
            f"levels {raw!r} is not a list of grid levels; use 1, 2 and/or 3 separated by "
            "commas, e.g. levels=1,2",
            field="levels",
        )
    return tuple(sorted({int(p) for p in parts}, reverse=True))


def tile_layer(layer_id: str) -> TileLayer:
    try:
        return LAYERS[layer_id]
    except KeyError:
        raise UnknownTileLayer(
            f"no tile layer {layer_id!r}; use one of {', '.join(LAYERS)}", field="layer"
        ) from None


# --- tile addresses ----------------------------------------------------------------------------


_INTEGER = re.compile(r"^-?[0-9]+$")


def parse_tile_address(z: str | int, x: str | int, y: str | int) -> tuple[int, int, int]:
    """XYZ (Google/OSM scheme, y from the north) from path text; raises with the field named."""
    values = []
    for name, raw in (("z", z), ("x", x), ("y", y)):
        if not _INTEGER.match(str(raw)):
            raise TileAddressInvalid(
                f"{name} {raw!r} is not an integer; tile addresses are /{{z}}/{{x}}/{{y}} with "
                "whole numbers, e.g. /14/13666/6661",
                field=name,
            )
        value = int(str(raw))
        if value < 0:
            raise TileAddressInvalid(
                f"{name} {value} is negative; tile numbers start at 0", field=name
            )
        values.append(value)
    tz, tx, ty = values
    if tz > MAX_ZOOM:
        raise TileNotFound(f"zoom {tz} is beyond the deepest zoom {MAX_ZOOM}", field="z")
    last = 2**tz - 1
    for name, value in (("x", tx), ("y", ty)):
        if value > last:
            raise TileNotFound(
                f"{name} {value} does not exist at zoom {tz}: {name} runs from 0 to {last}",
                field=name,
            )
    return tz, tx, ty


def tile_of(lon: float, lat: float, z: int) -> tuple[int, int]:
    """The XYZ tile (x, y) holding a point given in degrees (WGS84/CGCS2000) at zoom z."""
    n = 2**z
    lat = max(min(lat, 85.0511287798), -85.0511287798)
    x = int((lon + 180.0) / 360.0 * n)
    y = int((1.0 - math.asinh(math.tan(math.radians(lat))) / math.pi) / 2.0 * n)
    return min(max(x, 0), n - 1), min(max(y, 0), n - 1)


def tiles_covering(
    bounds: tuple[float, float, float, float], z: int
) -> Iterator[tuple[int, int, int]]:
    """Every (z, x, y) whose tile meets ``bounds`` (west, south, east, north; degrees)."""
    west, south, east, north = bounds
    x0, y0 = tile_of(west, north, z)
    x1, y1 = tile_of(east, south, z)
    for x in range(x0, x1 + 1):
        for y in range(y0, y1 + 1):
            yield z, x, y


# --- SQL ------------------------------------------------------------------------------------------

# The tile envelope twice: in EPSG:3857 for ST_AsMVTGeom, and widened by the buffer and
# transformed to the storage CRS for the index test (the constant is transformed, not geom).
_ENVELOPE = (
    "SELECT ST_TileEnvelope(:z, :x, :y) AS merc, "
    f"ST_Transform(ST_TileEnvelope(:z, :x, :y, margin => {BUFFER / EXTENT}), {SRID_CGCS2000}) "
    "AS geo"
)
_MVT_GEOM = (
    f"ST_AsMVTGeom(ST_Transform({{geom}}, {SRID_WEB_MERCATOR}), env.merc, {EXTENT}, {BUFFER}, true)"
)

# Grids of one level: the grid code (all digits, at most 15) is also the MVT feature id, so
# clients can restyle one grid (VectorGrid's setFeatureStyle) without a lookup.
_GRID_TILE = f"""
SELECT ST_AsMVT(t, :layer, {EXTENT}, 'geom', 'fid') FROM (
  SELECT g.code::bigint AS fid, g.code, g.name, g.level, g.parent_code,
         {_MVT_GEOM.format(geom="g.geom")} AS geom
  FROM grid g, env
  WHERE g.generation_id = :g AND g.level = :level AND g.geom && env.geo
  ORDER BY g.code
) t WHERE t.geom IS NOT NULL
"""

# Zones: the union of the member grids meeting the tile, clipped to it (grids outside the
# buffered tile add nothing inside it). Members are unit grids or whole villages; their own
# polygons are unioned (a village is the union of its unit grids in a valid hierarchy, one
# noding), which is 3x faster at z10 than unioning the unit grids and gives the same tile.
_ZONE_TILE = f"""
SELECT ST_AsMVT(t, :layer, {EXTENT}, 'geom') FROM (
  SELECT z.code, z.name, z.town_code, tm.name AS squad,
         {_MVT_GEOM.format(geom="u.geom")} AS geom
  FROM (
    SELECT m.zone_id, ST_Union(g.geom) AS geom
    FROM grid g, env, zone_member m
    WHERE g.generation_id = :g AND g.geom && env.geo AND g.code = m.grid_code
    GROUP BY m.zone_id
  ) u
  JOIN enforcement_zone z ON z.id = u.zone_id
  LEFT JOIN team tm ON tm.id = z.squad_id, env
  ORDER BY z.code
) t WHERE t.geom IS NOT NULL
"""

# Coverage: unit grids of the run's generation found by the index, joined to the run's figures
# by primary key. Shares as layers.coverage.rollup defines them for one grid: H3 = covered
# cells / cells (none without cells: the property is then absent), buffer = covered area / area.
_COVERAGE_TILE = f"""
SELECT ST_AsMVT(t, :layer, {EXTENT}, 'geom', 'fid') FROM (
  SELECT g.code::bigint AS fid, g.code, g.name, g.level,
         round((CASE WHEN :method = 'h3' THEN
                  CASE WHEN c.cells > 0 THEN 100.0 * c.covered_cells / c.cells END
                ELSE CASE WHEN c.area_m2 > 0 THEN 100.0 * c.covered_area_m2 / c.area_m2
                          ELSE 0 END
                END)::numeric, 1)::float8 AS share_pct,
         CAST(:method AS text) AS method,
         {_MVT_GEOM.format(geom="g.geom")} AS geom
  FROM grid g
  JOIN coverage_grid c ON c.run_id = :run AND c.grid_code = g.code, env
  WHERE g.generation_id = :g AND g.level = 3 AND g.geom && env.geo
    -- the caller's scope (grid-code prefixes; NULL: the whole city), as /api/v1/coverage
    AND (CAST(:scope AS text[]) IS NULL OR EXISTS (
         SELECT 1 FROM unnest(CAST(:scope AS text[])) s(p) WHERE starts_with(g.code, s.p)))
  ORDER BY g.code
) t WHERE t.geom IS NOT NULL
"""

# ``{g}``: an SQL expression of the generation id (a bound :g, or the active one's subquery).
_GRID_VERSION = "SELECT content_version::text FROM generation WHERE id = {g}"
_ZONE_VERSION = """
SELECT (SELECT content_version::text FROM generation WHERE id = {g}) || '.' || md5(coalesce(
  (SELECT string_agg(concat_ws('|', z.id, z.code, z.name, z.town_code, z.squad_id, tm.name,
                               (SELECT string_agg(m.grid_code, ',' ORDER BY m.grid_code)
                                FROM zone_member m WHERE m.zone_id = z.id)),
                     ';' ORDER BY z.id)
   FROM enforcement_zone z LEFT JOIN team tm ON tm.id = z.squad_id), ''))
"""
_COVERAGE_VERSION = """
SELECT gen.content_version::text || '.' || r.id || '.' ||
       to_char(r.computed_at AT TIME ZONE 'UTC', 'YYYYMMDDHH24MISSUS')
FROM coverage_run r JOIN generation gen ON gen.id = r.generation_id WHERE r.id = :run
"""


def _levels_tile_sql(levels: tuple[int, ...]) -> str:
    """One MVT of several grid levels: each level's tile (its own MVT layer, bound :layerN and
    :levelN) concatenated in the order given. An MVT is a list of layers, so the concatenation
    of tiles with different layer names is itself a valid tile (the MVT 2.1 spec, 4.1)."""
    parts = [
        "coalesce(("
        + _GRID_TILE.replace(":layer", f":layer{n}").replace(":level", f":level{n}")
        + "), ''::bytea)"
        for n in levels
    ]
    return "SELECT " + " || ".join(parts)


def _tile_sql(layer: TileLayer) -> str:
    if layer.levels:
        return _levels_tile_sql(layer.levels)
    if layer.level is not None:
        return _GRID_TILE
    return _ZONE_TILE if layer.id == "zones" else _COVERAGE_TILE


def _version_sql(layer: TileLayer, generation_sql: str = ":g") -> str:
    if layer.level is not None or layer.levels:
        return _GRID_VERSION.format(g=generation_sql)
    if layer.id == "zones":
        return _ZONE_VERSION.format(g=generation_sql)
    return _COVERAGE_VERSION


def tile_statement(layer_id: str) -> str:
    """The SQL of one tile of ``layer_id`` (bound parameters :z :x :y :layer :g and, per layer,
    :level, :run, :method; the ``grids`` layer :layerN and :levelN for N = 3, 2, 1): one row,
    one ``bytea`` (empty for a tile without features)."""
    layer = tile_layer(layer_id)
    return f"WITH env AS ({_ENVELOPE})\n{_tile_sql(layer)}"


# --- sources: what a request's tiles are made from ----------------------------------------------

FRESH_STATUSES = frozenset({"active", "retired"})
"""Published generations: their grids are never edited again (a new draft is made instead)."""


@dataclass(frozen=True)
class TileSource:
    """The data behind one request's tiles, resolved once per request.

    ``key`` identifies the data apart from its version (layer, generation, run, method);
    ``version`` changes whenever the content does; ``max_age_s`` is how long a client may reuse
    a tile without asking (0: ask every time, as for drafts whose grids change on each edit).
    """

    layer: TileLayer
    generation_id: int
    generation_status: str
    params: dict[str, Any]
    key: tuple[Hashable, ...]
    version: str
    max_age_s: int
    day: date | None = None
    method: str | None = None
    query: dict[str, str] = field(default_factory=dict)
    """The query parameters that pin this source in a tile URL (TileJSON)."""


ACTIVE_MAX_AGE_S = 30
"""The active generation's tiles: a publish shows in a browser within this time (the server
switches at once)."""
RETIRED_MAX_AGE_S = 86_400
COVERAGE_TODAY_MAX_AGE_S = 60
"""Today's coverage is recomputed every 5 minutes while the app serves."""
COVERAGE_PAST_MAX_AGE_S = 3_600
ZONES_MAX_AGE_S = 30
"""The zoning may be changed at any time (PUT /api/v1/zones/towns/{town})."""


def _generation_max_age(status: str) -> int:
    if status == "retired":
        return RETIRED_MAX_AGE_S
    if status == "active":
        return ACTIVE_MAX_AGE_S
    return 0  # draft (or submitted/approved): edited at any time, always revalidate


def resolve_source(
    *,
    session: Session,
    layer_id: str,
    generation_id: int | None = None,
    at: datetime | None = None,
    day: date | None = None,
    method: str | None = None,
    today: date | None = None,
    levels: str | None = None,
) -> TileSource:
    """Which data the tiles of ``layer_id`` show, and its current version.

    ``levels`` (the ``grids`` layer only): the grid levels a tile carries, "1,2,3" by default
    (:func:`parse_levels`); refused for other layers (``TileAddressInvalid``, field ``levels``).

    Grids and zones: the generation ``generation_id``, else the one in force at ``at``, else
    the active one (resolved on every request, so a publish switches tiles at once). Coverage:
    the latest whole-day run of ``day`` (default ``today``) in ``method`` ``h3`` or ``buffer``.
    Raises ``GenerationNotFound``, ``CoverageNotComputed``, ``UnknownTileLayer`` or
    ``TileAddressInvalid`` (an unknown method; field ``method``).
    """
    layer = tile_layer(layer_id)
    query: dict[str, str] = {}
    if levels is not None and not layer.levels:
        raise TileAddressInvalid(
            f"levels applies to the grids layer only, not {layer.id}; ask /tiles/grids/… for "
            "several levels in one tile",
            field="levels",
        )
    chosen_levels = parse_levels(levels) if layer.levels else ()
    if layer.id == "coverage":
        chosen = method or "h3"
        if chosen not in METHODS:
            raise TileAddressInvalid(
                f"method {method!r} is not known; use h3 or buffer", field="method"
            )
        the_day = day or today or date.today()
        run = find_run(session=session, day=the_day, shift=None, resolution=None)
        params: dict[str, Any] = {
            "g": run.generation_id, "run": run.id, "method": chosen,
            "scope": None,  # the whole city; api/routes/tiles.py narrows it to the caller's
        }  # fmt: skip
        state = _state(session, layer, ":g", params)
        assert state is not None  # the run's generation exists (foreign key)
        _, status, version = state
        query = {"date": the_day.isoformat(), "method": chosen}
        return TileSource(
            layer, run.generation_id, status, params, (layer.id, run.generation_id, chosen),
            version, COVERAGE_PAST_MAX_AGE_S if today and the_day < today
            else COVERAGE_TODAY_MAX_AGE_S, the_day, chosen, query,
        )  # fmt: skip
    if generation_id is None and at is None:
        # The common case (pages show the active generation): id, status and version in one
        # round trip; resolve_generation below says what to do when none is active.
        found = _state(session, layer, "(SELECT id FROM generation WHERE status = 'active')", {})
    else:
        gen = resolve_generation(session=session, generation_id=generation_id, at=at)
        found = _state(session, layer, ":g", {"g": gen.id})
    if found is None:
        resolve_generation(session=session)  # raises GenerationNotFound with the fix
        raise AssertionError("unreachable")  # pragma: no cover
    gen_id, status, version = found
    params = {"g": gen_id}
    if layer.level is not None:
        params["level"] = layer.level
    key: tuple[Hashable, ...] = (layer.id, gen_id)
    if chosen_levels:
        params["levels"] = chosen_levels
        key = (*key, "".join(map(str, chosen_levels)))
        if chosen_levels != layer.levels:
            query["levels"] = ",".join(map(str, sorted(chosen_levels)))
    if generation_id is not None:
        query["generation"] = str(generation_id)
    elif at is not None:
        query["at"] = at.isoformat()
    max_age = _generation_max_age(status)
    if layer.id == "zones":
        max_age = min(max_age, ZONES_MAX_AGE_S)
    return TileSource(layer, gen_id, status, params, key, version, max_age, query=query)


def _state(
    session: Session, layer: TileLayer, generation_sql: str, params: dict[str, Any]
) -> tuple[int, str, str] | None:
    """(generation id, status, layer version) in one round trip, None if there is no such
    generation. The status is read as text: the planners' submitted/approved count as "not
    published" here, like draft."""
    row = session.execute(
        text(
            f"SELECT g.id, g.status::text AS status, ({_version_sql(layer, 'g.id')}) AS version "
            f"FROM generation g WHERE g.id = {generation_sql}"
        ),
        params,
    ).one_or_none()
    return None if row is None else (int(row.id), str(row.status), str(row.version))


def render_tile(
    *, session: Session, source: TileSource, z: int, x: int, y: int, datum: str = "wgs84"
) -> tuple[str, bytes]:
    """The tile ``z/x/y`` of ``source`` as MVT bytes (empty: no feature) with the version of
    the data it was made from, both read in one statement (one snapshot).

    ``datum`` gcj02 or bd09: the tile of that basemap's plane and tile scheme instead
    (:func:`render_tile_in_plane`)."""
    if source.layer.levels:
        return _render_levels(session=session, source=source, z=z, x=x, y=y, datum=datum)
    if datum != "wgs84":
        return render_tile_in_plane(session=session, source=source, z=z, x=x, y=y, datum=datum)
    sql = (
        f"SELECT ({_version_sql(source.layer)}) AS version, "
        f"(WITH env AS ({_ENVELOPE}) {_tile_sql(source.layer)}) AS mvt"
    )
    row = session.execute(
        text(sql), {**source.params, "layer": source.layer.id, "z": z, "x": x, "y": y}
    ).one()
    return str(row.version), bytes(row.mvt or b"")


def _render_levels(
    *, session: Session, source: TileSource, z: int, x: int, y: int, datum: str
) -> tuple[str, bytes]:
    """The ``grids`` tile: the tiles of ``source.params["levels"]`` (deepest first) as one MVT,
    each level its own layer ``grids-lN``, byte for byte the level's own tile. WGS 84: one
    statement (one snapshot). A shifted datum: one plane tile per level; the version is the
    first one's, read before any content, so the tile is never newer-labelled than its data."""
    levels: tuple[int, ...] = source.params["levels"]
    if datum == "wgs84":
        sql = (
            f"SELECT ({_version_sql(source.layer)}) AS version, "
            f"(WITH env AS ({_ENVELOPE}) {_levels_tile_sql(levels)}) AS mvt"
        )
        params: dict[str, Any] = {"g": source.params["g"], "z": z, "x": x, "y": y}
        for n in levels:
            params[f"layer{n}"], params[f"level{n}"] = f"grids-l{n}", n
        row = session.execute(text(sql), params).one()
        return str(row.version), bytes(row.mvt or b"")
    version, parts = None, []
    for n in levels:
        one = replace(source, layer=LAYERS[f"grids-l{n}"], params={"g": source.params["g"],
                                                                 "level": n})  # fmt: skip
        v, mvt = render_tile_in_plane(session=session, source=one, z=z, x=x, y=y, datum=datum)
        version = v if version is None else version
        parts.append(mvt)
    return str(version), b"".join(parts)


# --- tiles in a shifted basemap's plane (Amap GCJ-02, Baidu BD-09) -----------------------------
#
# A GCJ-02 or BD-09 basemap draws the city 0.5-1.1 km away from WGS 84, and VectorGrid draws a
# tile's features at their tile coordinates, not through the map's CRS: the tile must already be
# in the basemap's plane. The shift is not an affine map (it varies by up to ~3 m per km over
# Jiangyin, so one translation per tile misplaces z8-z12 tile corners by about half a pixel and
# breaks lines at tile seams), and PostGIS has no GCJ-02 function, so the vertices are moved
# exactly, one by one, in Python (gis.display_planes, vectorised) between two statements: the
# layer's own rows (the same SQL as the WGS 84 tile, its ST_AsMVTGeom replaced by the raw
# geometry) found with the tile's WGS 84 preimage, then ST_AsMVT over the moved geometries
# clipped to the tile's envelope in the plane. Shared edges stay shared (same vertex, same
# result), and the quantisation to the 4096 grid is PostGIS's as before.

_MVT_GEOM_RE = re.compile(re.escape(_MVT_GEOM).replace(re.escape("{geom}"), r"(?P<geom>[\w.]+)"))
_MVT_WRAPPER_RE = re.compile(
    r"^\s*SELECT ST_AsMVT\(t, :layer, \d+, 'geom'(?:, 'fid')?\) FROM \((?P<rows>.*)\)"
    r" t WHERE t\.geom IS NOT NULL\s*$",
    re.S,
)
PLANE_DATUMS: tuple[str, ...] = ("gcj02", "bd09")
"""Datums whose basemaps need their own tiles (``?datum=``); wgs84 is the usual tile."""


def _rows_sql(layer: TileLayer) -> str:
    """The layer's feature rows with the raw geometry (EPSG:4490) as WKB, as its tile SQL
    selects them (one SQL per layer: derived from it, not written twice)."""
    match = _MVT_WRAPPER_RE.match(_tile_sql(layer))
    if match is None or not _MVT_GEOM_RE.search(match["rows"]):
        raise AssertionError(f"tile SQL of {layer.id} no longer has the ST_AsMVT(...) form")
    return _MVT_GEOM_RE.sub(r"ST_AsBinary(\g<geom>)", match["rows"])


_PLANE_MVT = f"""
SELECT ST_AsMVT(t, :layer, {EXTENT}, 'geom', 'fid') FROM (
  SELECT u.fid, u.props,
         ST_AsMVTGeom(ST_GeomFromWKB(u.wkb), ST_MakeEnvelope(:x0, :y0, :x1, :y1), {EXTENT},
                      {BUFFER}, true) AS geom
  FROM unnest(CAST(:fids AS bigint[]), CAST(:props AS jsonb[]), CAST(:wkbs AS bytea[]))
       WITH ORDINALITY AS u(fid, props, wkb, n)
  ORDER BY u.n
) t WHERE t.geom IS NOT NULL
"""


def render_tile_in_plane(
    *, session: Session, source: TileSource, z: int, x: int, y: int, datum: str
) -> tuple[str, bytes]:
    """The tile ``z/x/y`` of ``source`` for a basemap in ``datum`` (gcj02: Web Mercator quad of
    GCJ-02; bd09: Baidu's tile numbering on Baidu Mercator, y northwards), every vertex moved
    exactly from CGCS2000 (= WGS 84) into that plane; with the data's version (one snapshot).

    Raises :class:`TileAddressInvalid` (field ``datum``) for another datum.
    """
    if datum not in PLANE_DATUMS:
        raise TileAddressInvalid(
            f"datum {datum!r} is not known; use wgs84 (default), gcj02 (Amap) or bd09 (Baidu)",
            field="datum",
        )
    west, south, east, north = tile_lonlat_bounds(datum, z, x, y, margin=BUFFER / EXTENT)
    sql = (
        f"WITH env AS (SELECT ST_MakeEnvelope(:w, :s, :e, :n, {SRID_CGCS2000}) AS geo), "
        f"v AS (SELECT ({_version_sql(source.layer)}) AS version) "
        f"SELECT v.version, r.* FROM v LEFT JOIN ({_rows_sql(source.layer)}) r ON true"
    )
    params = {**source.params, "layer": source.layer.id, "w": west, "s": south, "e": east,
              "n": north}  # fmt: skip
    result = session.execute(text(sql), params).mappings().all()
    version = str(result[0]["version"])
    rows = [r for r in result if r["geom"] is not None]
    if not rows:
        return version, b""
    geoms = shapely.from_wkb([bytes(r["geom"]) for r in rows])

    def move(coords: np.ndarray) -> np.ndarray:  # (n, 2) lon, lat -> (n, 2) plane metres
        px, py = to_plane(datum, coords[:, 0], coords[:, 1])
        return np.column_stack([px, py])

    moved = shapely.to_wkb(shapely.transform(geoms, move))
    skip = {"version", "geom", "fid"}
    x0, y0, x1, y1 = tile_bounds(datum, z, x, y)
    mvt = session.execute(
        text(_PLANE_MVT),
        {
            "layer": source.layer.id, "x0": x0, "y0": y0, "x1": x1, "y1": y1,
            "fids": [r.get("fid") for r in rows],
            "props": [json.dumps({k: v for k, v in r.items() if k not in skip and v is not None},
                                 ensure_ascii=False) for r in rows],
            "wkbs": [bytes(w) for w in moved],
        },
    ).scalar()  # fmt: skip
    return version, bytes(mvt or b"")


def city_bounds(*, session: Session, generation_id: int) -> tuple[float, float, float, float]:
    """(west, south, east, north) in degrees of the generation's grids (EPSG:4490, which
    TileJSON may take as WGS84: the two agree to centimetres)."""
    row = session.execute(
        text(
            "SELECT ST_XMin(e), ST_YMin(e), ST_XMax(e), ST_YMax(e) FROM "
            "(SELECT ST_Extent(geom) AS e FROM grid WHERE generation_id = :g) s"
        ),
        {"g": generation_id},
    ).one()
    if row[0] is None:
        return (-180.0, -85.0511, 180.0, 85.0511)
    return (float(row[0]), float(row[1]), float(row[2]), float(row[3]))


# --- the in-process cache -------------------------------------------------------------------------


@dataclass(frozen=True)
class CachedTile:
    """A tile as served: raw MVT bytes and, for tiles over 1 KB, their gzip encoding."""

    version: str
    raw: bytes
    gz: bytes | None

    @property
    def size(self) -> int:
        return len(self.raw) + len(self.gz or b"") + 200  # + rough bookkeeping per entry

    @classmethod
    def of(cls, version: str, raw: bytes) -> CachedTile:
        return cls(version, raw, gzip.compress(raw, 6, mtime=0) if len(raw) >= 1024 else None)


class TileCache:
    """A least-recently-used map bounded by the bytes it holds (thread-safe).

    Keys are (layer, generation, ..., version, z, x, y): a new version never meets an old
    entry, which simply ages out. ``max_bytes`` 0 disables caching.
    """

    def __init__(self, max_bytes: int) -> None:
        self.max_bytes = max_bytes
        self._items: OrderedDict[Hashable, CachedTile] = OrderedDict()
        self._bytes = 0
        self._lock = threading.Lock()
        self.hits = 0
        self.misses = 0

    def get(self, key: Hashable) -> CachedTile | None:
        with self._lock:
            tile = self._items.get(key)
            if tile is None:
                self.misses += 1
                return None
            self._items.move_to_end(key)
            self.hits += 1
            return tile

    def put(self, key: Hashable, tile: CachedTile) -> None:
        if tile.size > self.max_bytes:
            return
        with self._lock:
            old = self._items.pop(key, None)
            if old is not None:
                self._bytes -= old.size
            self._items[key] = tile
            self._bytes += tile.size
            while self._bytes > self.max_bytes:
                _, dropped = self._items.popitem(last=False)
                self._bytes -= dropped.size

    @property
    def bytes_used(self) -> int:
        return self._bytes

    def __len__(self) -> int:
        return len(self._items)
