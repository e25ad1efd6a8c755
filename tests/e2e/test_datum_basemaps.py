"""Amap (GCJ-02) and Baidu (BD-09) basemaps (maps/basemaps.py, maps/static/gridgis-datum.js):

- the browser's transforms equal gis/ (Python) on points across Jiangyin, under 1 cm;
- tiles in a basemap's plane (``/tiles/...?datum=gcj02|bd09``) and their errors;
- the front page with an Amap, then a Baidu basemap served by a local fake tile server: a
  town's vertex is drawn (vector tiles and the CRS) where the GCJ-02 / BD-09 tile shows it, a
  click there sends the WGS 84 point to /api/v1/locate, and tiles come from the configured URL
  only.
"""

from __future__ import annotations

import http.server
import io
import math
import threading
from collections.abc import Iterator
from typing import Any
from urllib.parse import parse_qs, urlsplit

import httpx
import numpy as np
import pytest

from gis.crs import bd09_to_wgs84, gcj02_to_wgs84, wgs84_to_bd09, wgs84_to_gcj02
from gis.display_planes import WEB_MERCATOR_HALF_M, from_plane, to_plane
from layers.tiles import tile_of
from maps.assets import ASSETS_DIR, STATIC_DIR
from tests.e2e.conftest import open_logged_in, wait_until
from tests.server_support import app_server

pytestmark = pytest.mark.browser

METRES_PER_DEG = 111_320.0
LON, LAT = (a.ravel().tolist() for a in np.meshgrid(np.linspace(119.95, 120.65, 8),
                                                      np.linspace(31.65, 32.05, 6)))  # fmt: skip
READY = "GridGIS.home && GridGIS.home.state.tiles > 0"


# --- the JS transforms against Python -------------------------------------------------------------


def test_js_transforms_equal_python_under_a_centimetre(browser) -> None:  # type: ignore[no-untyped-def]
    page = browser.new_page()
    try:
        page.set_content("<html><body></body></html>")
        page.add_script_tag(path=str(ASSETS_DIR / "leaflet/dist/leaflet.js"))
        page.add_script_tag(path=str(STATIC_DIR / "gridgis-common.js"))
        page.add_script_tag(path=str(STATIC_DIR / "gridgis-datum.js"))
        js = page.evaluate(
            """([lon, lat]) => {
              const d = GridGIS.datum, out = {};
              for (const f of ["wgsToGcj", "gcjToWgs", "wgsToBd", "bdToWgs"]) {
                out[f] = lon.map((x, i) => d[f](x, lat[i]));
              }
              for (const p of ["wgs84", "gcj02", "bd09"]) {
                out["to_" + p] = lon.map((x, i) => d.toPlane(p, x, lat[i]));
                out["from_" + p] = out["to_" + p].map(([x, y]) => d.fromPlane(p, x, y));
                // through Leaflet's CRS: project = the plane, unproject = back to WGS 84
                const crs = d.crs(p);
                out["crs_" + p] = lon.map((x, i) => {
                  const pt = crs.projection.project(L.latLng(lat[i], x));
                  const ll = crs.projection.unproject(pt);
                  return [pt.x, pt.y, ll.lng, ll.lat];
                });
              }
              return out;
            }""",
            [LON, LAT],
        )
    finally:
        page.close()
    lon, lat = np.array(LON), np.array(LAT)

    def err_m(got: Any, want: tuple[Any, Any]) -> float:
        g = np.array(got)
        return float(np.hypot(g[:, 0] - want[0], g[:, 1] - want[1]).max() * METRES_PER_DEG)

    assert err_m(js["wgsToGcj"], wgs84_to_gcj02(lon, lat)) < 0.01
    assert err_m(js["gcjToWgs"], gcj02_to_wgs84(lon, lat)) < 0.01
    assert err_m(js["wgsToBd"], wgs84_to_bd09(lon, lat)) < 0.01
    assert err_m(js["bdToWgs"], bd09_to_wgs84(lon, lat)) < 0.01
    for datum in ("wgs84", "gcj02", "bd09"):
        x, y = to_plane(datum, lon, lat)
        got = np.array(js["to_" + datum])
        assert np.hypot(got[:, 0] - x, got[:, 1] - y).max() < 0.01  # plane metres
        assert err_m(js["from_" + datum], (lon, lat)) < 0.01  # round trip
        crs = np.array(js["crs_" + datum])
        assert np.hypot(crs[:, 0] - x, crs[:, 1] - y).max() < 0.01
        assert err_m(crs[:, 2:], (lon, lat)) < 0.01
        back = from_plane(datum, got[:, 0], got[:, 1])
        assert err_m(np.column_stack(back), (lon, lat)) < 0.01
    # the shift is real (not an identity passing the test): ~500 m for GCJ-02, ~1.1 km BD-09
    assert 400 < err_m(js["wgsToGcj"], (lon, lat)) < 600
    assert 900 < err_m(js["wgsToBd"], (lon, lat)) < 1400


# --- tiles in a basemap's plane -----------------------------------------------------------------


def test_tiles_in_the_basemaps_plane(client) -> None:  # type: ignore[no-untyped-def]
    x, y = tile_of(120.3, 31.85, 12)
    wgs = client.get(f"/tiles/grids-l3/12/{x}/{y}.mvt")
    gcj = client.get(f"/tiles/grids-l3/12/{x}/{y}.mvt", params={"datum": "gcj02"})
    assert wgs.status_code == gcj.status_code == 200
    assert wgs.content != gcj.content and wgs.headers["etag"] != gcj.headers["etag"]
    assert gcj.headers["etag"].rstrip('"').endswith("gcj02") or "gcj02" in gcj.headers["etag"]
    again = client.get(f"/tiles/grids-l3/12/{x}/{y}.mvt", params={"datum": "gcj02"})
    assert again.content == gcj.content and again.headers["x-tile-cache"] == "hit"
    assert client.get(
        f"/tiles/grids-l3/12/{x}/{y}.mvt", params={"datum": "gcj02"},
        headers={"If-None-Match": gcj.headers["etag"]},
    ).status_code == 304  # fmt: skip
    # Baidu numbering: the tile holding the city's centre in BD-09MC at z15 has grids...
    bx, by = to_plane("bd09", 120.3, 31.85)
    size = 256 * 2.0 ** (18 - 15)
    bd = client.get(
        f"/tiles/grids-l1/15/{int(bx // size)}/{int(by // size)}.mvt", params={"datum": "bd09"}
    )
    assert bd.status_code == 200 and bd.headers["content-type"].startswith(
        "application/vnd.mapbox-vector-tile"
    )
    # ...and the same numbers read as a Web Mercator quad tile lie far outside China: empty.
    assert (
        client.get(f"/tiles/grids-l1/15/{int(bx // size)}/{int(by // size)}.mvt").status_code == 204
    )
    # zones and coverage take the datum the same way; far from the city a tile is empty
    assert client.get("/tiles/zones/12/0/0.mvt", params={"datum": "gcj02"}).status_code == 204
    bad = client.get(f"/tiles/grids-l3/12/{x}/{y}.mvt", params={"datum": "mars"})
    assert bad.status_code in (400, 422)
    assert bad.headers["content-type"].startswith("application/problem+json")
    assert "datum" in bad.text


# --- the front page on an Amap or Baidu basemap served by a fake tile server ------------------


class FakeTiles:
    """Amap- or Baidu-style PNG tiles on 127.0.0.1: transparent, with a red 7x7 square at the
    GCJ-02 (Amap) or BD-09 (Baidu, on Baidu Mercator and Baidu's tile numbering) place of
    ``mark`` (a WGS 84 lon/lat) in whichever tile holds it."""

    def __init__(self, kind: str) -> None:
        self.kind = kind
        self.mark: tuple[float, float] | None = None
        self.requests: list[str] = []
        fake = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                fake.requests.append(self.path)
                parts = urlsplit(self.path).path.split("/")  # /amap|baidu/z/x/y.png
                z, x, y = int(parts[2]), int(parts[3]), int(parts[4].split(".")[0])
                body = fake.tile(z, x, y)
                self.send_response(200)
                self.send_header("Content-Type", "image/png")
                self.send_header("Content-Length", str(len(body)))
                self.send_header("Access-Control-Allow-Origin", "*")
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, format: str, *args: object) -> None:
                pass

        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.port = self.server.server_address[1]
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def tile(self, z: int, x: int, y: int) -> bytes:
        from PIL import Image, ImageDraw

        image = Image.new("RGBA", (256, 256), (0, 0, 0, 0))
        if self.mark is not None:
            if self.kind == "baidu":  # 2^(18-z) m a pixel from BD-09MC (0, 0), y northwards
                mx, my = to_plane("bd09", *self.mark)
                res = 2.0 ** (18 - z)
                px, py = float(mx) / res - 256 * x, 256 * (y + 1) - float(my) / res
            else:
                mx, my = to_plane("gcj02", *self.mark)
                world_px = 256 * 2**z
                gx = (float(mx) + WEB_MERCATOR_HALF_M) / (2 * WEB_MERCATOR_HALF_M) * world_px
                gy = (WEB_MERCATOR_HALF_M - float(my)) / (2 * WEB_MERCATOR_HALF_M) * world_px
                px, py = gx - 256 * x, gy - 256 * y
            ImageDraw.Draw(image).rectangle(
                [math.floor(px) - 3, math.floor(py) - 3, math.floor(px) + 3, math.floor(py) + 3],
                fill=(255, 0, 0, 255),
            )
        out = io.BytesIO()
        image.save(out, "PNG")
        return out.getvalue()


@pytest.fixture(scope="module", params=["amap", "baidu"])
def shifted_server(
    request, database_url, demo_generation, tmp_path_factory
) -> Iterator[tuple[str, FakeTiles]]:  # type: ignore[no-untyped-def]
    """A second app process on the test database with GRIDGIS_MAP_BASEMAP=amap (or baidu)
    pointing at the fake tile server."""
    kind = request.param
    fake = FakeTiles(kind)
    data_dir = tmp_path_factory.mktemp(f"gridgis-{kind}")
    tiles_url = f"http://127.0.0.1:{fake.port}/{kind}/{{z}}/{{x}}/{{y}}.png"
    settings = {"GRIDGIS_MAP_BASEMAP": kind, f"GRIDGIS_MAP_{kind.upper()}_URL": tiles_url}
    with app_server(database_url, data_dir, **settings) as base:
        yield base, fake
    fake.server.shutdown()


def _first_vertex(client: httpx.Client) -> tuple[float, float]:
    grids = client.get("/api/v1/grids", params={"level": 1}).json()
    geometry = grids["features"][0]["geometry"]
    ring = (
        geometry["coordinates"][0]
        if geometry["type"] == "Polygon"
        else geometry["coordinates"][0][0]
    )
    return float(ring[0][0]), float(ring[0][1])


def _red_centre(png: bytes, box: list[float]) -> tuple[float, float] | None:
    """Centre of the fake tile's pure red mark inside ``box`` (left, top, right, bottom px)."""
    from PIL import Image

    image = np.asarray(Image.open(io.BytesIO(png)).convert("RGB")).astype(int)
    red = (image[:, :, 0] > 240) & (image[:, :, 1] < 20) & (image[:, :, 2] < 20)
    inside = np.zeros_like(red)
    left, top, right, bottom = (round(v) for v in box)
    inside[top:bottom, left:right] = True
    ys, xs = np.nonzero(red & inside)
    if len(xs) == 0:
        return None
    return float(xs.mean()), float(ys.mean())


def test_front_page_on_a_shifted_basemap_shifts_overlays_and_clicks(  # type: ignore[no-untyped-def]
    browser, shifted_server, client, tokens, artifacts
) -> None:
    base, fake = shifted_server
    datum = "bd09" if fake.kind == "baidu" else "gcj02"
    # about 0.5 m a pixel on Amap (Web Mercator z18), 1 m on Baidu (its z18)
    metres_per_px = 1.0 if datum == "bd09" else 0.5
    lon, lat = _first_vertex(client)
    fake.mark = (lon, lat)
    page, seen = open_logged_in(browser, base, tokens["viewer"], "/", READY)
    try:
        assert page.evaluate("GridGIS.datum.of(GridGIS.home.map)") == datum
        # zoom 18 on the vertex, as the page places it
        page.evaluate(f"GridGIS.home.map.setView([{lat}, {lon}], 18, {{animate: false}}) && null")
        page.wait_for_load_state("networkidle")
        wait_until(page, "document.querySelectorAll('.leaflet-tile-loaded').length > 0")
        page.wait_for_timeout(500)
        where = page.evaluate(
            f"(() => {{ const p = GridGIS.home.map.latLngToContainerPoint([{lat}, {lon}]);"
            " const r = document.getElementById('home-map').getBoundingClientRect();"
            " return [p.x + r.left, p.y + r.top]; })()"
        )
        # 1. the basemap's red mark (the vertex's GCJ-02 place) is where overlays put the vertex
        shot = page.screenshot(path=str(artifacts / f"datum_{fake.kind}_home.png"))
        box = page.evaluate(
            "(() => { const r = document.getElementById('home-map').getBoundingClientRect();"
            " return [r.left, r.top, r.right, r.bottom]; })()"
        )
        red = _red_centre(shot, box)
        assert red is not None, f"the fake {fake.kind} tile with the mark was not drawn"
        assert math.hypot(red[0] - where[0], red[1] - where[1]) < 2.0
        # 2. the vector tiles draw the town's boundary through that pixel (not 500 m away)
        page.evaluate(
            "document.querySelectorAll('#home-map .leaflet-tile-pane img')"
            ".forEach(i => { i.style.visibility = 'hidden'; })"
        )
        shot = page.screenshot()
        from PIL import Image

        image = np.asarray(Image.open(io.BytesIO(shot)).convert("RGB")).astype(int)
        cx, cy = round(where[0]), round(where[1])
        near = image[cy - 3 : cy + 4, cx - 3 : cx + 4]
        background = image[cy - 60 : cy + 61, cx - 60 : cx + 61].reshape(-1, 3)
        # some pixel near the vertex differs from the page's plain background colour
        plain = np.median(background, axis=0)
        assert (np.abs(near - plain).sum(axis=2) > 60).any()
        # 3. a click on the mark sends the vertex's WGS 84 coordinates to /api/v1/locate
        with page.expect_request(lambda r: "/api/v1/locate?" in r.url) as request:
            page.mouse.click(red[0], red[1])
        q = parse_qs(urlsplit(request.value.url).query)
        got = float(q["lon"][0]), float(q["lat"][0])
        assert math.hypot(got[0] - lon, got[1] - lat) * METRES_PER_DEG < 3 * metres_per_px
        assert "crs" not in q or q["crs"][0] in ("wgs84", "cgcs2000")
    finally:
        page.close()
    # tiles only from the configured (fake) server; grid tiles asked for in the datum
    hosts = {urlsplit(u).netloc for u in seen["requests"]}
    assert hosts <= {urlsplit(base).netloc, f"127.0.0.1:{fake.port}"}
    assert fake.requests and all(r.startswith(f"/{fake.kind}/") for r in fake.requests)
    grid_tiles = [u for u in seen["requests"] if "/tiles/grids" in u and ".mvt" in u]
    assert grid_tiles and all(f"datum={datum}" in u for u in grid_tiles)
    assert seen["errors"] == []


FOLIUM_MAP = (
    "Object.keys(window).filter(k => /^map_[0-9a-f]+$/.test(k) && window[k] instanceof L.Map)"
    ".map(k => window[k])[0]"
)


@pytest.mark.parametrize("path", ["/map", "/live", "/events/map", "/zones", "/coverage"])
def test_every_folium_page_gets_the_basemaps_crs(  # type: ignore[no-untyped-def]
    browser, shifted_server, tokens, path
) -> None:
    """The pages built by folium get the datum's CRS from the shared set-up (Basemap.add_to)
    and draw on the configured tiles only."""
    base, fake = shifted_server
    code = "GRIDGIS:BD09" if fake.kind == "baidu" else "GRIDGIS:GCJ02"
    page, seen = open_logged_in(browser, base, tokens["admin"], path, f"({FOLIUM_MAP})")
    try:
        assert page.evaluate(f"({FOLIUM_MAP}).options.crs.code") == code
        wait_until(page, "document.querySelectorAll('.leaflet-tile-loaded').length > 0")
        # the map's centre in WGS 84 lies in the city, and its plane position is the datum's
        lon, lat, x, y = page.evaluate(
            f"(() => {{ const m = {FOLIUM_MAP}; const ll = m.getCenter();"
            " const p = m.options.crs.project(ll); return [ll.lng, ll.lat, p.x, p.y]; })()"
        )
        assert 119.9 < lon < 120.7 and 31.6 < lat < 32.1
        px, py = to_plane("bd09" if fake.kind == "baidu" else "gcj02", lon, lat)
        assert math.hypot(float(px) - x, float(py) - y) < 0.01
    finally:
        page.close()
    hosts = {urlsplit(u).netloc for u in seen["requests"]}
    assert hosts <= {urlsplit(base).netloc, f"127.0.0.1:{fake.port}"}
    assert seen["errors"] == []
