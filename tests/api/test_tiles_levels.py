"""The ``grids`` vector tile (issue 15, panning at ≥ 30 fps): the three grid levels in one MVT,
one request per tile instead of three.

Proves: the tile is byte for byte the level tiles concatenated (deepest first, towns last),
each level its own MVT layer that GDAL reads with the same grids as the level's own tile;
``?levels=`` picks some levels (any order and repetition give the same tile and cache entry);
the Amap plane (``datum=gcj02``) tile is the plane level tiles concatenated; ETag, 304 and
Cache-Control as for the other grid tiles, and editing a draft changes the next tile and its
ETag at once (no stale tile); bad ``levels`` and ``levels`` on another layer are problems
naming the field; TileJSON lists one vector layer per level carried.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pyogrio
import pytest
from sqlalchemy import Engine, text

from layers.tiles import tile_of

CITY_LON, CITY_LAT = 120.30, 31.85
PLAIN = {"Accept-Encoding": "identity"}


def level_tiles(client: httpx.Client, z: int, x: int, y: int, levels: tuple[int, ...],
                query: str = "") -> list[bytes]:  # fmt: skip
    out = []
    for n in levels:
        r = client.get(f"/tiles/grids-l{n}/{z}/{x}/{y}.mvt{query}", headers=PLAIN)
        assert r.status_code in (200, 204), r.text
        out.append(r.content)
    return out


@pytest.mark.parametrize("z", [10, 13, 15])
def test_grids_tile_is_the_level_tiles_in_one(
    client: httpx.Client, demo_generation: int, tmp_path: Path, z: int
) -> None:
    x, y = tile_of(CITY_LON, CITY_LAT, z)
    r = client.get(f"/tiles/grids/{z}/{x}/{y}.mvt", headers=PLAIN)
    assert r.status_code == 200, r.text
    assert r.headers["content-type"] == "application/vnd.mapbox-vector-tile"
    assert r.content == b"".join(level_tiles(client, z, x, y, (3, 2, 1)))
    path = tmp_path / f"grids-{z}.mvt"
    path.write_bytes(r.content)
    assert [name for name, _ in pyogrio.list_layers(path)] == ["grids-l3", "grids-l2", "grids-l1"]
    for n in (1, 2, 3):
        frame = pyogrio.read_dataframe(path, layer=f"grids-l{n}", X=x, Y=y, Z=z)
        assert (frame["level"] == n).all() and len(frame) > 0


def test_some_levels_only(client: httpx.Client) -> None:
    z = 13
    x, y = tile_of(CITY_LON, CITY_LAT, z)
    towns_villages = client.get(f"/tiles/grids/{z}/{x}/{y}.mvt?levels=1,2", headers=PLAIN)
    assert towns_villages.content == b"".join(level_tiles(client, z, x, y, (2, 1)))
    # the order asked and repetitions do not matter: the same tile, the same ETag
    same = client.get(f"/tiles/grids/{z}/{x}/{y}.mvt?levels=2,1,2", headers=PLAIN)
    assert same.content == towns_villages.content
    assert same.headers["etag"] == towns_villages.headers["etag"]
    assert same.headers["x-tile-cache"] == "hit"
    units = client.get(f"/tiles/grids/{z}/{x}/{y}.mvt?levels=3", headers=PLAIN)
    assert units.content == level_tiles(client, z, x, y, (3,))[0]
    assert units.headers["etag"] != towns_villages.headers["etag"]


def test_amap_plane_tile_is_the_plane_level_tiles_in_one(client: httpx.Client) -> None:
    z = 13
    x, y = tile_of(CITY_LON, CITY_LAT, z)
    r = client.get(f"/tiles/grids/{z}/{x}/{y}.mvt?datum=gcj02", headers=PLAIN)
    assert r.status_code == 200, r.text
    assert r.content == b"".join(level_tiles(client, z, x, y, (3, 2, 1), "?datum=gcj02"))
    wgs84 = client.get(f"/tiles/grids/{z}/{x}/{y}.mvt", headers=PLAIN)
    assert r.headers["etag"] != wgs84.headers["etag"]


def test_grids_tile_caching_headers(client: httpx.Client) -> None:
    z = 12
    x, y = tile_of(CITY_LON, CITY_LAT, z)
    url = f"/tiles/grids/{z}/{x}/{y}.mvt"
    first = client.get(url)
    assert first.headers["cache-control"] == "private, max-age=30"
    again = client.get(url, headers={"If-None-Match": first.headers["etag"]})
    assert again.status_code == 304
    far = client.get(f"/tiles/grids/{z}/0/0.mvt")
    assert far.status_code == 204  # no grid there


@pytest.fixture
def draft(engine: Engine, demo_generation: int) -> Iterator[int]:
    """A draft copied from the demo generation by SQL; dropped afterwards."""
    with engine.begin() as conn:
        draft_id = conn.execute(
            text("INSERT INTO generation (name, status) VALUES ('grids tile test draft', 'draft')"
                 " RETURNING id")
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


def test_editing_a_draft_changes_the_next_grids_tile_and_its_etag(
    client: httpx.Client, engine: Engine, draft: int
) -> None:
    z = 13
    x, y = tile_of(CITY_LON, CITY_LAT, z)
    url = f"/tiles/grids/{z}/{x}/{y}.mvt?generation={draft}&levels=1,2"
    before = client.get(url, headers=PLAIN)
    assert before.headers["cache-control"] == "private, no-cache"
    assert client.get(url, headers=PLAIN).headers["x-tile-cache"] == "hit"
    with engine.begin() as conn:  # rename a village: its name is in the tile
        code = conn.execute(
            text("SELECT code FROM grid WHERE generation_id = :d AND level = 2 AND geom && "
                 "ST_Transform(ST_TileEnvelope(:z, :x, :y), 4490) ORDER BY code LIMIT 1"),
            {"d": draft, "z": z, "x": x, "y": y},
        ).scalar_one()  # fmt: skip
        conn.execute(
            text("UPDATE grid SET name = '改名村' WHERE generation_id = :d AND code = :c"),
            {"d": draft, "c": code},
        )
    after = client.get(url, headers={**PLAIN, "If-None-Match": before.headers["etag"]})
    assert after.status_code == 200, "the old ETag must not match after an edit"
    assert after.headers["x-tile-cache"] == "miss"
    assert after.headers["etag"] != before.headers["etag"]
    assert "改名村".encode() in after.content and "改名村".encode() not in before.content
    assert after.content == b"".join(level_tiles(client, z, x, y, (2, 1), f"?generation={draft}"))


@pytest.mark.parametrize(
    "path",
    [
        "/tiles/grids/13/6833/3330.mvt?levels=4",
        "/tiles/grids/13/6833/3330.mvt?levels=",
        "/tiles/grids/13/6833/3330.mvt?levels=1;2",
        "/tiles/grids-l3/13/6833/3330.mvt?levels=1",
        "/tiles/zones/13/6833/3330.mvt?levels=1,2",
        "/tiles/grids.json?levels=0",
    ],
)
def test_bad_levels_are_problems_naming_the_field(client: httpx.Client, path: str) -> None:
    r = client.get(path)
    assert r.status_code in (400, 422), r.text
    assert r.headers["content-type"] == "application/problem+json"
    assert r.json()["field"] == "levels"


def test_tilejson_lists_a_vector_layer_per_level(client: httpx.Client, live_server: str) -> None:
    body = client.get("/tiles/grids.json").json()
    assert body["tiles"] == [f"{live_server}/tiles/grids/{{z}}/{{x}}/{{y}}.mvt"]
    assert [v["id"] for v in body["vector_layers"]] == ["grids-l3", "grids-l2", "grids-l1"]
    some = client.get("/tiles/grids.json?levels=2,1").json()
    assert some["tiles"] == [f"{live_server}/tiles/grids/{{z}}/{{x}}/{{y}}.mvt?levels=1%2C2"]
    assert [v["id"] for v in some["vector_layers"]] == ["grids-l2", "grids-l1"]


# --- the client module (maps/static/gridgis-tiles.js) in headless Chromium ----------------------

_SCRIPTS = (
    "/static/vendor/leaflet/dist/leaflet.js",
    "/static/vendor/leaflet.vectorgrid/dist/Leaflet.VectorGrid.bundled.min.js",
    "/static/gridgis/gridgis-common.js",
    "/static/gridgis/gridgis-tiles.js",
)


def test_client_asks_one_tile_for_the_levels_and_reuses_tiles_just_left(
    browser: Any, live_server: str, tokens: dict[str, str]
) -> None:
    from tests.e2e.conftest import wait_until

    context = browser.new_context(
        viewport={"width": 1000, "height": 800},
        extra_http_headers={"Authorization": f"Bearer {tokens['viewer']}"},
    )
    page = context.new_page()
    asked: list[str] = []
    page.on("request", lambda r: ".mvt" in r.url and asked.append(r.url))
    errors: list[str] = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    try:
        page.goto(f"{live_server}/static/vendor/leaflet/dist/leaflet.css")
        page.evaluate(
            """() => { document.body.textContent = "";
              const div = document.createElement("div"); div.id = "map";
              div.style.cssText = "width: 1000px; height: 800px";
              document.body.appendChild(div); }"""
        )
        page.add_style_tag(url="/static/vendor/leaflet/dist/leaflet.css")
        for script in _SCRIPTS:
            page.add_script_tag(url=script)
        page.evaluate(
            f"""() => {{
              const map = L.map("map", {{zoomAnimation: false, fadeAnimation: false}})
                .setView([{CITY_LAT}, {CITY_LON}], 13);
              const line = {{color: "#333", weight: 1, fill: false}};
              const layer = GridGIS.tiles.layer(["grids-l3", "grids-l2", "grids-l1"], {{
                styles: {{"grids-l3": line, "grids-l2": line, "grids-l1": line}}}});
              window.loads = 0;
              layer.on("load", () => {{ window.loads += 1; }});
              window.grids = layer.addTo(map);
              window.map = map;
            }}"""
        )
        wait_until(page, "window.loads >= 1", timeout=60_000)
        first = list(asked)
        assert first and all("/tiles/grids/" in u and "levels=" not in u for u in first), first
        drawn = page.evaluate(
            "Object.values(window.grids._vectorTiles).map(t => Object.keys(t._features).length)"
        )
        assert sum(drawn) > 0
        # zoom in, then back: the tiles of the level just left are not asked for again
        page.evaluate("map.setZoom(14)")
        wait_until(page, "window.loads >= 2", timeout=60_000)
        before_back = len(asked)
        page.evaluate("map.setZoom(13)")
        wait_until(page, "window.loads >= 3", timeout=60_000)
        assert len(asked) == before_back, asked[before_back:]
        # a level switched off: redraw asks again, without it (the memory is dropped)
        page.evaluate('grids.gridgisLeftOut["grids-l3"] = true; grids.redraw();')
        wait_until(page, "window.loads >= 4", timeout=60_000)
        again = asked[before_back:]
        assert again and all("levels=1%2C2" in u or "levels=1,2" in u for u in again), again
        assert errors == []
    finally:
        context.close()
