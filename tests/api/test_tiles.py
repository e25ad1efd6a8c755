"""Vector tiles over real HTTP (issue 15): grids, zones and coverage as MVT from PostGIS.

Proves: a grid tile decodes (GDAL's MVT driver via pyogrio) to exactly the grids PostGIS finds
in the tile, with their properties, and is byte-equal to a hand-written Martin-style
``ST_AsMVT`` query; the OGC API - Tiles path (z/row/col) serves the same bytes; bad z/x/y,
layers and methods are problem+json naming the field; ETag + If-None-Match give 304 (gzip
variant too) and Cache-Control follows the generation's status; editing a draft grid with plain
SQL changes the next tile and its ETag at once (no stale tile), and a publish-free retired
generation is served with a long max-age; zones and coverage tiles carry their properties;
TileJSON 3.0.0 has the fields clients need.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pyogrio
import pytest
from sqlalchemy import Engine, text

from layers.tiles import CachedTile, TileCache, tile_of

MVT = "application/vnd.mapbox-vector-tile"
CITY_LON, CITY_LAT = 120.30, 31.85
Z = 14
X, Y = tile_of(CITY_LON, CITY_LAT, Z)

# What Martin would run for a table in EPSG:4490 (written here independently of layers/tiles.py).
BASELINE = """
SELECT ST_AsMVT(tile, 'grids-l3', 4096, 'geom', 'fid') FROM (
  SELECT code::bigint AS fid, code, name, level, parent_code,
         ST_AsMVTGeom(ST_Transform(geom, 3857), ST_TileEnvelope(:z, :x, :y), 4096, 64, true)
           AS geom
  FROM grid
  WHERE generation_id = :g AND level = 3
    AND geom && ST_Transform(ST_TileEnvelope(:z, :x, :y, margin => 64.0 / 4096), 4490)
  ORDER BY code
) tile WHERE geom IS NOT NULL
"""


def decode(body: bytes, tmp_path: Path, z: int, x: int, y: int, layer: str, tag: str = "") -> Any:
    """The features of one MVT layer (EPSG:3857), clipped to the tile, read by GDAL."""
    path = tmp_path / f"{layer}-{z}-{x}-{y}{tag}.mvt"
    path.write_bytes(body)
    return pyogrio.read_dataframe(path, layer=layer, X=x, Y=y, Z=z)


def intersecting(engine: Engine, sql: str, **params: Any) -> set[str]:
    with engine.connect() as conn:
        return set(conn.execute(text(sql), params).scalars())


# Grids overlapping the tile proper by more than ``min_m2`` (Web Mercator m²); a grid that only
# touches an edge, or only enters the buffer zone, is clipped away by GDAL's reader.
_IN_TILE = """
SELECT code FROM grid WHERE generation_id = :g AND level = :level
  AND geom && ST_Transform(ST_TileEnvelope(:z, :x, :y), 4490)
  AND ST_Area(ST_Intersection(ST_Transform(geom, 3857), ST_TileEnvelope(:z, :x, :y))) > :min_m2
"""


# --- grids --------------------------------------------------------------------------------------


@pytest.mark.parametrize("level", [1, 2, 3])
def test_grid_tile_holds_the_grids_postgis_finds(
    client: httpx.Client, engine: Engine, demo_generation: int, tmp_path: Path, level: int
) -> None:
    r = client.get(f"/tiles/grids-l{level}/{Z}/{X}/{Y}.mvt")
    assert r.status_code == 200, r.text
    assert r.headers["content-type"] == MVT
    frame = decode(r.content, tmp_path, Z, X, Y, f"grids-l{level}")
    codes = set(frame["code"])
    assert codes, "the city centre tile has grids"
    # exactly the grids that overlap the tile proper (GDAL clips the buffer zone away)
    assert codes == intersecting(
        engine, _IN_TILE, g=demo_generation, level=level, z=Z, x=X, y=Y, min_m2=0
    )
    # towns have no parent: a NULL property is left out of the tile
    assert {"code", "name", "level"} | ({"parent_code"} if level > 1 else set()) == set(
        frame.columns
    ) - {"mvt_id", "geometry"}
    assert (frame["level"] == level).all()
    assert (frame["mvt_id"].astype(str) == frame["code"]).all()  # the code is the feature id
    with engine.connect() as conn:
        stored = dict(
            conn.execute(
                text("SELECT code, name FROM grid WHERE generation_id = :g AND code = ANY(:c)"),
                {"g": demo_generation, "c": list(codes)},
            ).all()
        )
    assert dict(zip(frame["code"], frame["name"], strict=True)) == stored
    if level > 1:
        assert (frame["parent_code"].str.len() == 6 + 3 * (level - 1)).all()


def test_grid_tile_is_byte_equal_to_a_plain_st_asmvt_query(
    client: httpx.Client, engine: Engine, demo_generation: int
) -> None:
    for z in (11, 13, 15):
        x, y = tile_of(CITY_LON, CITY_LAT, z)
        served = client.get(f"/tiles/grids-l3/{z}/{x}/{y}.mvt")
        assert served.status_code == 200
        with engine.connect() as conn:
            expected = conn.execute(
                text(BASELINE), {"g": demo_generation, "z": z, "x": x, "y": y}
            ).scalar_one()
        assert served.content == bytes(expected), f"z{z}"


def test_ogc_tile_path_is_z_row_col(client: httpx.Client) -> None:
    xyz = client.get(f"/tiles/grids-l2/{Z}/{X}/{Y}.mvt")
    ogc = client.get(f"/ogc/collections/grids-l2/tiles/WebMercatorQuad/{Z}/{Y}/{X}")
    assert ogc.status_code == 200 and ogc.headers["content-type"] == MVT
    assert ogc.content == xyz.content
    sets = client.get("/ogc/collections/grids-l2/tiles").json()["tilesets"]
    assert sets[0]["dataType"] == "vector"
    assert any(
        link["href"].endswith("/{tileMatrix}/{tileRow}/{tileCol}") for link in sets[0]["links"]
    )
    tileset = client.get("/ogc/collections/grids-l2/tiles/WebMercatorQuad").json()
    assert tileset["tileMatrixSetURI"].endswith("WebMercatorQuad")
    assert set(tileset["layers"][0]["propertiesSchema"]["properties"]) == {
        "code", "name", "level", "parent_code"
    }  # fmt: skip


def test_empty_tile_is_204(client: httpx.Client) -> None:
    r = client.get("/tiles/grids-l3/3/0/0.mvt")  # the Arctic: no grid
    assert r.status_code == 204 and r.content == b""
    assert r.headers["etag"] and r.headers["cache-control"].startswith("private")


def test_a_second_request_is_served_from_the_cache(client: httpx.Client) -> None:
    x, y = tile_of(CITY_LON, CITY_LAT, 12)
    first = client.get(f"/tiles/grids-l1/12/{x}/{y}.mvt")
    again = client.get(f"/tiles/grids-l1/12/{x}/{y}.mvt")
    assert again.headers["x-tile-cache"] == "hit"
    assert again.content == first.content and again.headers["etag"] == first.headers["etag"]


def test_tile_cache_is_bounded_by_bytes_and_least_recently_used() -> None:
    one = CachedTile.of("v1", b"x" * 300)  # under 1 KB: no gzip copy
    assert one.gz is None and one.size == 500
    cache = TileCache(max_bytes=1200)
    for key in "abc":
        cache.put(key, one)
    assert len(cache) == 2 and cache.bytes_used == 1000  # "a" went first
    assert cache.get("a") is None and cache.get("b") is one
    cache.put("d", one)  # "c" is now the least recently used
    assert cache.get("c") is None and cache.get("b") is one and cache.get("d") is one
    big = CachedTile.of("v1", bytes(range(256)) * 40)
    assert big.gz is not None and len(big.gz) < len(big.raw)
    cache.put("big", big)  # larger than the whole cache: not kept, nothing evicted
    assert cache.get("big") is None and len(cache) == 2
    assert TileCache(max_bytes=0).get("a") is None


# --- bad input ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("path", "status", "field"),
    [
        ("/tiles/grids-l3/a/1/1.mvt", 400, "z"),
        ("/tiles/grids-l3/14/1.5/1.mvt", 400, "x"),
        ("/tiles/grids-l3/14/1_0/1.mvt", 400, "x"),
        ("/tiles/grids-l3/14/1/%201.mvt", 400, "y"),
        ("/tiles/grids-l3/14/1/-3.mvt", 400, "y"),
        ("/tiles/grids-l3/-1/0/0.mvt", 400, "z"),
        ("/tiles/grids-l3/23/0/0.mvt", 404, "z"),
        ("/tiles/grids-l3/2/4/0.mvt", 404, "x"),
        ("/tiles/grids-l3/2/0/4.mvt", 404, "y"),
        ("/tiles/grids-l4/2/0/0.mvt", 404, "layer"),
        ("/tiles/roads.json", 404, "layer"),
        ("/tiles/grids-l3/14/0/0.mvt?generation=999999", 404, "generation"),
        ("/tiles/grids-l3/14/0/0.mvt?generation=abc", 422, "generation"),
        ("/tiles/grids-l3/14/0/0.mvt?generation=99999999999", 422, "generation"),
        ("/tiles/grids-l3/14/0/0.mvt?generation=0", 422, "generation"),
        ("/tiles/grids-l3/14/0/0.mvt?at=yesterday", 422, "at"),
        ("/tiles/coverage/14/0/0.mvt?method=walk&date=2026-01-01", 400, "method"),
        ("/tiles/coverage/14/0/0.mvt?date=1970-01-01", 404, "date"),
        ("/tiles/coverage/14/0/0.mvt?date=31.12.2026", 422, "date"),
        ("/ogc/collections/grids-l3/tiles/WebMercatorQuad/2/9/0", 404, "tileRow"),
        ("/ogc/collections/grids-l3/tiles/WebMercatorQuad/x/0/0", 400, "tileMatrix"),
        ("/ogc/collections/rivers/tiles", 404, "collectionId"),
    ],
)
def test_bad_tile_requests_are_problems_naming_the_field(
    client: httpx.Client, path: str, status: int, field: str
) -> None:
    r = client.get(path)
    assert r.status_code == status, r.text
    assert r.headers["content-type"] == "application/problem+json"
    assert r.json()["field"] == field


def test_tiles_need_a_token(anon: httpx.Client) -> None:
    r = anon.get(f"/tiles/grids-l3/{Z}/{X}/{Y}.mvt")
    assert r.status_code == 401
    assert r.headers["content-type"] == "application/problem+json"


# --- HTTP caching -------------------------------------------------------------------------------


def test_etag_and_304(client: httpx.Client) -> None:
    url = f"/tiles/grids-l3/{Z}/{X}/{Y}.mvt"
    plain = client.get(url, headers={"Accept-Encoding": "identity"})
    assert plain.headers["cache-control"] == "private, max-age=30"  # the active generation
    etag = plain.headers["etag"]
    assert etag.startswith('"') and not etag.startswith("W/")
    assert "content-encoding" not in plain.headers
    again = client.get(url, headers={"If-None-Match": etag, "Accept-Encoding": "identity"})
    assert again.status_code == 304 and again.content == b""
    assert again.headers["etag"] == etag
    zipped = client.get(url, headers={"Accept-Encoding": "gzip"})
    assert zipped.headers["content-encoding"] == "gzip"
    assert zipped.headers["etag"] == etag[:-1] + '-gzip"'
    assert zipped.headers["vary"] == plain.headers["vary"] == "Accept-Encoding"
    assert zipped.content == plain.content  # httpx decodes gzip
    assert client.get(url, headers={"If-None-Match": zipped.headers["etag"]}).status_code == 304
    other = client.get(url, headers={"If-None-Match": '"1.grids-l3.0.0"'})
    assert other.status_code == 200


# --- draft edits, retired generations -----------------------------------------------------------


def area_in_tile(engine: Engine, generation: int, code: str) -> float:
    """m² (Web Mercator) of a grid inside the test tile, by PostGIS."""
    with engine.connect() as conn:
        return float(
            conn.execute(
                text(
                    "SELECT ST_Area(ST_Intersection(ST_Transform(geom, 3857), "
                    "ST_TileEnvelope(:z, :x, :y))) FROM grid WHERE generation_id = :g "
                    "AND code = :c"
                ),
                {"z": Z, "x": X, "y": Y, "g": generation, "c": code},
            ).scalar_one()
        )


@pytest.fixture
def draft(engine: Engine, demo_generation: int) -> Iterator[int]:
    """A draft copied from the demo generation by SQL; dropped afterwards (with its grids, which
    also checks the version trigger copes with a cascading delete)."""
    with engine.begin() as conn:
        draft_id = conn.execute(
            text("INSERT INTO generation (name, status) VALUES ('tiles test draft', 'draft') "
                 "RETURNING id")
        ).scalar_one()  # fmt: skip
        conn.execute(
            text(
                "INSERT INTO grid (generation_id, level, code, parent_code, name, geom, area_m2) "
                "SELECT :d, level, code, parent_code, name, geom, area_m2 FROM grid "
                "WHERE generation_id = :g"
            ),
            {"d": draft_id, "g": demo_generation},
        )
    yield draft_id
    with engine.begin() as conn:
        conn.execute(text("DELETE FROM generation WHERE id = :d"), {"d": draft_id})


def test_editing_a_draft_with_sql_changes_the_next_tile_and_its_etag(
    client: httpx.Client, engine: Engine, draft: int, tmp_path: Path
) -> None:
    url = f"/tiles/grids-l3/{Z}/{X}/{Y}.mvt?generation={draft}"
    before = client.get(url)
    assert before.status_code == 200
    assert before.headers["cache-control"] == "private, no-cache"
    assert client.get(url).headers["x-tile-cache"] == "hit"
    frame = decode(before.content, tmp_path, Z, X, Y, "grids-l3")
    code = sorted(frame["code"])[len(frame) // 2]
    area_before = float(frame.loc[frame["code"] == code].geometry.area.iloc[0])
    assert area_before == pytest.approx(area_in_tile(engine, draft, code), rel=0.01)
    # shrink one grid to half its width about its centroid, in place (same row, same id)
    with engine.begin() as conn:
        conn.execute(
            text(
                "UPDATE grid SET geom = ST_Multi(ST_Scale(geom, ST_MakePoint(0.5, 0.5), "
                "ST_Centroid(geom))) WHERE generation_id = :d AND code = :c"
            ),
            {"d": draft, "c": code},
        )
    after = client.get(url, headers={"If-None-Match": before.headers["etag"]})
    assert after.status_code == 200, "the old ETag must not match after an edit"
    assert after.headers["x-tile-cache"] == "miss"
    assert after.headers["etag"] != before.headers["etag"]
    frame_after = decode(after.content, tmp_path, Z, X, Y, "grids-l3", tag="-after")
    area_after = float(frame_after.loc[frame_after["code"] == code].geometry.area.iloc[0])
    assert area_after == pytest.approx(area_in_tile(engine, draft, code), rel=0.01)
    assert area_after < area_before * 0.9
    # the active generation's tile did not change
    active = client.get(f"/tiles/grids-l3/{Z}/{X}/{Y}.mvt")
    assert active.content == before.content
    tilejson = client.get(f"/tiles/grids-l3.json?generation={draft}").json()
    assert tilejson["generation_status"] == "draft"
    assert tilejson["tiles"][0].endswith(
        f"/tiles/grids-l3/{{z}}/{{x}}/{{y}}.mvt?generation={draft}"
    )


def test_a_publish_switches_the_default_tiles_at_once(
    client: httpx.Client, engine: Engine, draft: int, demo_generation: int
) -> None:
    url = f"/tiles/grids-l3/{Z}/{X}/{Y}.mvt"
    before = client.get(url)
    assert f".{demo_generation}." in before.headers["etag"]
    try:
        # what publishing does to the two rows (layers.grids.publish_generation)
        with engine.begin() as conn:
            conn.execute(
                text("UPDATE generation SET status = 'retired', retired_at = now() WHERE id = :g"),
                {"g": demo_generation},
            )
            conn.execute(
                text("UPDATE generation SET status = 'active', activated_at = now() WHERE id = :d"),
                {"d": draft},
            )
        after = client.get(url)
        assert after.headers["etag"] == client.get(f"{url}?generation={draft}").headers["etag"]
        assert after.headers["etag"] != before.headers["etag"]
        assert after.headers["cache-control"] == "private, max-age=30"
        old = client.get(f"{url}?generation={demo_generation}")
        assert old.headers["cache-control"] == "private, max-age=86400"  # now retired
    finally:
        with engine.begin() as conn:
            conn.execute(
                text("UPDATE generation SET status = 'draft', activated_at = NULL WHERE id = :d"),
                {"d": draft},
            )
            conn.execute(
                text("UPDATE generation SET status = 'active', retired_at = NULL WHERE id = :g"),
                {"g": demo_generation},
            )
    assert client.get(url).headers["etag"] == before.headers["etag"]


@pytest.fixture
def retired(engine: Engine, demo_generation: int) -> Iterator[int]:
    """A retired generation of 1990 holding the demo's towns (L1) only; dropped afterwards."""
    with engine.begin() as conn:
        gen = conn.execute(
            text(
                "INSERT INTO generation (name, status, activated_at, retired_at) VALUES "
                "('tiles test 1990', 'retired', '1990-01-01T00:00+08', '1991-01-01T00:00+08') "
                "RETURNING id"
            )
        ).scalar_one()
        conn.execute(
            text(
                "INSERT INTO grid (generation_id, level, code, parent_code, name, geom, area_m2) "
                "SELECT :r, level, code, parent_code, name || ' (1990)', geom, area_m2 FROM grid "
                "WHERE generation_id = :g AND level = 1"
            ),
            {"r": gen, "g": demo_generation},
        )
    yield gen
    with engine.begin() as conn:
        conn.execute(text("DELETE FROM generation WHERE id = :r"), {"r": gen})


def test_a_retired_generation_is_served_with_a_long_max_age(
    client: httpx.Client, retired: int, tmp_path: Path
) -> None:
    by_id = client.get(f"/tiles/grids-l1/{Z}/{X}/{Y}.mvt?generation={retired}")
    assert by_id.status_code == 200
    assert by_id.headers["cache-control"] == "private, max-age=86400"
    by_date = client.get(f"/tiles/grids-l1/{Z}/{X}/{Y}.mvt", params={"at": "1990-06-01"})
    assert by_date.content == by_id.content and by_date.headers["etag"] == by_id.headers["etag"]
    names = decode(by_id.content, tmp_path, Z, X, Y, "grids-l1")["name"]
    assert names.str.endswith("(1990)").all()
    assert client.get(f"/tiles/grids-l2/{Z}/{X}/{Y}.mvt?generation={retired}").status_code == 204
    active = client.get(f"/tiles/grids-l1/{Z}/{X}/{Y}.mvt")
    assert active.headers["etag"] != by_id.headers["etag"]
    assert client.get(f"/tiles/grids-l1.json?generation={retired}").headers[
        "cache-control"
    ] == "private, max-age=86400"  # fmt: skip


# --- zones, coverage ----------------------------------------------------------------------------


def test_zone_tile(
    client: httpx.Client,
    engine: Engine,
    demo_generation: int,
    people_demo: dict,
    tmp_path: Path,
) -> None:
    z = 12
    x, y = tile_of(CITY_LON, CITY_LAT, z)
    r = client.get(f"/tiles/zones/{z}/{x}/{y}.mvt")
    assert r.status_code == 200
    frame = decode(r.content, tmp_path, z, x, y, "zones")
    assert set(frame.columns) >= {"code", "name", "town_code", "squad"}
    assert frame["code"].is_unique
    assert set(frame["code"]) == intersecting(
        engine,
        "SELECT DISTINCT z.code FROM enforcement_zone z JOIN zone_member m ON m.zone_id = z.id "
        "JOIN grid g ON g.generation_id = :g AND g.code = m.grid_code WHERE ST_Area("
        "ST_Intersection(ST_Transform(g.geom, 3857), ST_TileEnvelope(:z, :x, :y))) > 0",
        g=demo_generation, z=z, x=x, y=y,
    )  # fmt: skip
    # the zones the OGC API finds in the tile's box (EPSG:4490 degrees, inset so edges do not count)
    west, north = _lonlat(x, y, z)
    east, south = _lonlat(x + 1, y + 1, z)
    inset = 0.001
    box = f"{west + inset},{south + inset},{east - inset},{north - inset}"
    api = client.get("/ogc/collections/zones/items", params={"bbox": box, "limit": 1000}).json()[
        "features"
    ]
    assert {f["properties"]["code"] for f in api} <= set(frame["code"])
    squads = {f["properties"]["code"]: f["properties"]["squad_name"] for f in api}
    for code, squad in zip(frame["code"], frame["squad"], strict=True):
        if code in squads:
            assert squad == squads[code]
    assert r.headers["cache-control"] == "private, max-age=30"


def _lonlat(x: int, y: int, z: int) -> tuple[float, float]:
    import math

    n = 2**z
    lon = x / n * 360.0 - 180.0
    lat = math.degrees(math.atan(math.sinh(math.pi * (1 - 2 * y / n))))
    return lon, lat


COVERAGE_DAY = "1999-01-02"


@pytest.fixture
def coverage_run(engine: Engine, demo_generation: int) -> Iterator[dict[str, Any]]:
    """A coverage run of 1999-01-02 written by SQL: every unit grid of the tile with figures
    from its code (a few with no H3 cells); dropped afterwards."""
    with engine.begin() as conn:
        run = conn.execute(
            text(
                "INSERT INTO coverage_run (day, shift, window_start, window_end, generation_id, "
                "resolution, distance_m, max_gap_s, metric_srid, pixel_m) VALUES (:day, '', "
                "'1999-01-01T16:00Z', '1999-01-02T16:00Z', :g, 10, 30, 300, 4549, 5) RETURNING id"
            ),
            {"day": COVERAGE_DAY, "g": demo_generation},
        ).scalar_one()
        conn.execute(
            text(
                "INSERT INTO coverage_grid (run_id, grid_code, cells, covered_cells, area_m2, "
                "covered_area_m2, blind_cells) "
                "SELECT :run, code, (right(code, 1)::int % 5) * 4, right(code, 1)::int % 5, "
                "1000, right(code, 2)::int * 10, '{}' FROM grid "
                "WHERE generation_id = :g AND level = 3"
            ),
            {"run": run, "g": demo_generation},
        )
    yield {"run": run}
    with engine.begin() as conn:
        conn.execute(text("DELETE FROM coverage_run WHERE id = :r"), {"r": run})


def test_coverage_tile_carries_the_share_per_grid(
    client: httpx.Client, coverage_run: dict, tmp_path: Path
) -> None:
    h3 = client.get(f"/tiles/coverage/{Z}/{X}/{Y}.mvt", params={"date": COVERAGE_DAY})
    assert h3.status_code == 200, h3.text
    assert h3.headers["cache-control"] == "private, max-age=3600"  # a past day
    frame = decode(h3.content, tmp_path, Z, X, Y, "coverage")
    assert (frame["method"] == "h3").all()
    for code, share in zip(frame["code"], frame["share_pct"], strict=True):
        cells = (int(code[-1]) % 5) * 4
        if cells:
            assert share == pytest.approx(25.0)
        else:
            assert share != share  # NaN: no H3 cell, the property is absent
    buffer = client.get(
        f"/tiles/coverage/{Z}/{X}/{Y}.mvt", params={"date": COVERAGE_DAY, "method": "buffer"}
    )
    frame_b = decode(buffer.content, tmp_path, Z, X, Y, "coverage", tag="-buffer")
    for code, share in zip(frame_b["code"], frame_b["share_pct"], strict=True):
        assert share == pytest.approx(int(code[-2:]) * 10 / 1000 * 100)
    assert buffer.headers["etag"] != h3.headers["etag"]
    tilejson = client.get("/tiles/coverage.json", params={"date": COVERAGE_DAY}).json()
    assert tilejson["tiles"][0].endswith(f"?date={COVERAGE_DAY}&method=h3")
    assert tilejson["vector_layers"][0]["fields"]["share_pct"] == "Number"


# --- TileJSON -----------------------------------------------------------------------------------


@pytest.mark.parametrize("layer", ["grids-l1", "grids-l2", "grids-l3", "zones"])
def test_tilejson(client: httpx.Client, live_server: str, layer: str) -> None:
    body = client.get(f"/tiles/{layer}.json").json()
    assert body["tilejson"] == "3.0.0"
    assert body["tiles"] == [f"{live_server}/tiles/{layer}/{{z}}/{{x}}/{{y}}.mvt"]
    assert 0 <= body["minzoom"] <= body["maxzoom"] <= 22
    west, south, east, north = body["bounds"]
    assert 119.9 < west < east < 120.7 and 31.6 < south < north < 32.1
    lon, lat, zoom = body["center"]
    assert west < lon < east and south < lat < north and body["minzoom"] <= zoom
    (vector,) = body["vector_layers"]
    assert vector["id"] == layer and "code" in vector["fields"] and "name" in vector["fields"]
    assert set(vector["fields"].values()) <= {"String", "Number"}


# --- the client module (maps/static/gridgis-tiles.js) in headless Chromium ----------------------

_SCRIPTS = (
    "/static/vendor/leaflet/dist/leaflet.js",
    "/static/vendor/leaflet.vectorgrid/dist/Leaflet.VectorGrid.bundled.min.js",
    "/static/gridgis/gridgis-common.js",
    "/static/gridgis/gridgis-tiles.js",
)


def _tile_page(browser: Any, live_server: str, headers: dict[str, str]) -> tuple[Any, Any, list]:
    """A blank same-origin page with Leaflet, VectorGrid, gridgis-common and gridgis-tiles, a
    1000x800 map at the city centre (z14) and the unit-grid tile layer of the client module
    (a click stores {props, lat, lng} in window.clicked). Returns (context, page, responses
    of /tiles/ as (status, url, content type))."""
    context = browser.new_context(
        viewport={"width": 1000, "height": 800}, extra_http_headers=headers
    )
    page = context.new_page()
    tiles: list[tuple[int, str, str]] = []
    page.on(
        "response",
        lambda r: (
            "/tiles/" in r.url
            and tiles.append((r.status, r.url, r.headers.get("content-type", "")))
        ),
    )
    # Any same-origin document will do as a blank page (no page of the app is needed).
    page.goto(f"{live_server}/static/vendor/leaflet/dist/leaflet.css")
    page.evaluate(
        """() => {
          document.body.textContent = "";
          const div = document.createElement("div");
          div.id = "map";
          div.style.cssText = "width: 1000px; height: 800px";
          document.body.appendChild(div);
        }"""
    )
    page.add_style_tag(url="/static/vendor/leaflet/dist/leaflet.css")
    for script in _SCRIPTS:
        page.add_script_tag(url=script)
    page.evaluate(
        f"""() => {{
          const map = L.map("map", {{zoomAnimation: false}}).setView([{CITY_LAT},
            {CITY_LON}], 14);
          const layer = GridGIS.tiles.addGridLayer(map, 3, {{
            style: {{color: "#d9480f", weight: 1, fill: true, fillOpacity: 0.3}},
            highlight: {{color: "#000", weight: 3, fill: true, fillOpacity: 0.5}},
            onClick: (props, event) => {{
              window.clicked = {{props, lat: event.latlng.lat, lng: event.latlng.lng}};
            }},
          }});
          layer.on("load", () => {{ window.tilesLoaded = true; }});
        }}"""
    )
    return context, page, tiles


def test_client_module_draws_grid_tiles_and_reports_the_clicked_grid(
    browser: Any, live_server: str, tokens: dict[str, str], client: httpx.Client
) -> None:
    from tests.e2e.conftest import wait_until

    auth = {"Authorization": f"Bearer {tokens['viewer']}"}
    context, page, tiles = _tile_page(browser, live_server, auth)
    try:
        errors: list[str] = []
        page.on("pageerror", lambda exc: errors.append(str(exc)))
        wait_until(page, "window.tilesLoaded", timeout=60_000)
        mvt = [t for t in tiles if ".mvt" in t[1]]
        assert mvt and all(status in (200, 204) for status, _, _ in mvt), tiles
        assert all(kind == MVT for status, _, kind in mvt if status == 200)
        assert any(url.endswith("/tiles/grids-l3.json") for _, url, _ in tiles)  # the probe
        page.mouse.click(500, 400)
        clicked = wait_until(page, "window.clicked", timeout=10_000)
        props = clicked["props"]
        assert props["level"] == 3 and len(props["code"]) == 15
        located = client.get(
            "/api/v1/locate", params={"lon": clicked["lng"], "lat": clicked["lat"], "crs": "wgs84"}
        ).json()
        assert located["l3"]["code"] == props["code"]
        assert errors == []
    finally:
        context.close()


def test_client_module_says_when_the_session_is_gone(browser: Any, live_server: str) -> None:
    from tests.e2e.conftest import wait_until

    context, page, tiles = _tile_page(browser, live_server, {})
    try:
        text_shown = wait_until(
            page,
            "document.querySelector('#gridgis-notice.gridgis-notice-expired')?.textContent",
            timeout=30_000,
        )
        assert "登录" in text_shown  # the page's language is zh by default
        assert any(status == 401 for status, _, _ in tiles)
    finally:
        context.close()
