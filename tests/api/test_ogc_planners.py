"""OGC API Features for planners over real HTTP: a draft's collections (grids-l3@ID and
?generation=), Part 2 CRSs (EPSG:4490 in lat, lon order, Content-Crs, bbox-crs), a bbox that
tests geometries, paging links followed as given, Part 4 writes on a draft with ETag/If-Match
(428, 412) through the topology rules (a gap refused with 422, nothing stored), 405 + Allow on
read-only collections, the edit log and undo; HTTP Basic with the token as password; ?token=
never in the server log; GDAL reading a draft. Each test edits its own copy of the demo city,
deleted afterwards; the active generation is never changed."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path
from typing import Any
from urllib.parse import quote

import httpx
import pyogrio
import pytest
import shapely
from shapely.geometry import mapping, shape
from sqlalchemy import Engine, text

from api.ogc_crs import CRS84, EPSG4490
from tests.planning_fixtures import *  # noqa: F403  (the draft and planner fixtures)

PROBLEM = "application/problem+json"
PROJECT_DIR = Path(__file__).resolve().parents[2]


def interior_pair(engine: Engine, draft: int) -> tuple[str, str]:
    """Two unit grids of one village sharing an edge, away from the city's outline."""
    with engine.connect() as conn:
        row = conn.execute(
            text(
                "SELECT a.code AS a, b.code AS b FROM grid a JOIN grid b ON b.generation_id = "
                "a.generation_id AND b.level = 3 AND a.code < b.code AND a.geom && b.geom "
                "AND b.parent_code = a.parent_code AND ST_Relate(a.geom, b.geom, 'F***1****') "
                "WHERE a.generation_id = :g AND a.level = 3 "
                "ORDER BY a.area_m2 + b.area_m2 DESC, a.code, b.code LIMIT 1"
            ),
            {"g": draft},
        ).one()
    return row.a, row.b


def shared_vertex(engine: Engine, draft: int, a: str, b: str) -> tuple[float, float]:
    """A vertex of ``a`` that ``b`` has too (a point of their shared boundary), the one
    farthest from the other vertices of ``a`` (room to move it)."""
    with engine.connect() as conn:
        row = conn.execute(
            text(
                "SELECT ST_X(p.geom) AS x, ST_Y(p.geom) AS y FROM grid a, grid b, "
                "ST_DumpPoints(a.geom) p WHERE a.generation_id = :g AND b.generation_id = :g "
                "AND a.code = :a AND b.code = :b AND ST_Intersects(p.geom, b.geom) "
                "ORDER BY (SELECT min(ST_Distance(p.geom, q.geom)) FROM ST_DumpPoints(a.geom) q "
                "WHERE NOT ST_Equals(p.geom, q.geom)) DESC, p.path LIMIT 1"
            ),
            {"g": draft, "a": a, "b": b},
        ).one()
    return row.x, row.y


def item_url(draft: int, code: str) -> str:
    return f"/ogc/collections/grids-l3@{draft}/items/{code}"


def etag(r: httpx.Response) -> str:
    assert "ETag" in r.headers, r.headers
    return r.headers["ETag"]


def moved_geometry(geometry: dict[str, Any], at: tuple[float, float], by_m: float) -> dict:
    """``geometry`` with the vertex ``at`` moved ``by_m`` metres towards the polygon's centre."""
    geom = shape(geometry)
    centre = geom.centroid
    dx, dy = centre.x - at[0], centre.y - at[1]
    dist_deg = (dx * dx + dy * dy) ** 0.5
    step = by_m / 100_000.0 / dist_deg

    def move(coords: Any) -> Any:
        out = coords.copy()
        hit = (abs(coords[:, 0] - at[0]) < 1e-7) & (abs(coords[:, 1] - at[1]) < 1e-7)
        assert hit.any(), "the vertex is not in the geometry"
        out[hit, 0] += dx * step
        out[hit, 1] += dy * step
        return out

    return mapping(shapely.transform(geom, move))


# -- reading a draft; CRS; bbox; paging -------------------------------------------------------
def test_a_draft_is_read_by_generation(
    client: httpx.Client, planner: httpx.Client, engine: Engine, draft: int
) -> None:
    a, _ = interior_pair(engine, draft)
    listed = client.get("/ogc/collections", params={"generation": draft})
    assert listed.status_code == 200, listed.text
    ids = [c["id"] for c in listed.json()["collections"]]
    assert f"grids-l3@{draft}" in ids
    col = next(c for c in listed.json()["collections"] if c["id"] == f"grids-l3@{draft}")
    assert col["generation"]["status"] == "draft" and col["generation"]["writable"]
    assert col["crs"] == [CRS84, EPSG4490] and col["storageCrs"] == EPSG4490
    rels = {link["rel"] for link in col["links"]}
    assert "http://www.opengis.net/def/rel/ogc/1.0/tilesets-vector" in rels
    # the landing page of the draft leads to the draft's collections
    landing = client.get("/ogc", params={"generation": draft}).json()
    data = next(link["href"] for link in landing["links"] if link["rel"] == "data")
    assert f"generation={draft}" in data
    # rename a grid of the draft: the draft's collection shows it, the active one does not
    r = planner.post(
        f"/api/v1/generations/{draft}/edits",
        json={"op": "rename", "code": a, "name": "草稿网格", "reason": "test"},
        headers={"If-Match": etag(planner.get(f"/api/v1/generations/{draft}/edits"))},
    )
    assert r.status_code == 200, r.text
    assert client.get(item_url(draft, a)).json()["properties"]["name"] == "草稿网格"
    same = client.get(f"/ogc/collections/grids-l3/items/{a}", params={"generation": draft})
    assert same.json()["properties"]["name"] == "草稿网格"
    active = client.get(f"/ogc/collections/grids-l3/items/{a}").json()
    assert active["properties"]["name"] != "草稿网格"
    page = client.get(f"/ogc/collections/grids-l3@{draft}/items", params={"limit": 2000}).json()
    assert page["numberMatched"] == 1558
    # a pinned collection and another generation= contradict each other
    bad = client.get(f"/ogc/collections/grids-l3@{draft}/items", params={"generation": 1})
    assert bad.status_code == 400 and bad.json()["field"] == "generation"
    assert client.get("/ogc/collections/grids-l3@x").status_code == 404
    assert client.get("/ogc/collections/grids-l3@999999").status_code == 404


def test_crs_epsg4490_is_lat_lon_with_content_crs(client: httpx.Client) -> None:
    plain = client.get("/ogc/collections/grids-l1/items/320281001")
    assert plain.headers["Content-Crs"] == f"<{CRS84}>"
    lon, lat = plain.json()["geometry"]["coordinates"][0][0][0]
    assert 119 < lon < 121 and 31 < lat < 32.5
    r = client.get("/ogc/collections/grids-l1/items/320281001", params={"crs": EPSG4490})
    assert r.status_code == 200, r.text
    assert r.headers["Content-Crs"] == f"<{EPSG4490}>"
    geometry = r.json()["geometry"]
    assert "crs" not in geometry and "crs" not in r.json()
    assert geometry["coordinates"][0][0][0] == [lat, lon]  # EPSG:4490 axis order: lat, lon
    zones = client.get("/ogc/collections/zones/items", params={"crs": EPSG4490}).json()
    assert all("crs" not in f["geometry"] for f in zones["features"])
    items = client.get("/ogc/collections/grids-l3/items", params={"crs": EPSG4490, "limit": 3})
    assert items.headers["Content-Crs"] == f"<{EPSG4490}>"
    for f in items.json()["features"]:
        first = f["geometry"]["coordinates"][0][0][0]
        assert 31 < first[0] < 32.5 and 119 < first[1] < 121
    for bad in ("EPSG:3857", "http://www.opengis.net/def/crs/EPSG/0/3857", "wgs84"):
        r = client.get("/ogc/collections/grids-l3/items", params={"crs": bad})
        assert r.status_code == 400 and r.headers["content-type"] == PROBLEM, r.text
        assert r.json()["field"] == "crs" and EPSG4490 in r.json()["detail"]
    r = client.get("/ogc/collections/grids-l3/items", params={"bbox-crs": "EPSG:3857"})
    assert r.status_code == 400 and r.json()["field"] == "bbox-crs"


def test_bbox_crs_takes_lat_lon(client: httpx.Client) -> None:
    west, south, east, north = 120.27, 31.89, 120.29, 31.91
    lonlat = client.get(
        "/ogc/collections/grids-l3/items", params={"bbox": f"{west},{south},{east},{north}"}
    ).json()
    latlon = client.get(
        "/ogc/collections/grids-l3/items",
        params={"bbox": f"{south},{west},{north},{east}", "bbox-crs": EPSG4490},
    ).json()
    assert 0 < lonlat["numberMatched"] < 1558
    assert {f["id"] for f in lonlat["features"]} == {f["id"] for f in latlon["features"]}
    # the lon, lat order given as EPSG:4490 is out of range, and the message says the order
    r = client.get(
        "/ogc/collections/grids-l3/items",
        params={"bbox": f"{west},{south},{east},{north}", "bbox-crs": EPSG4490},
    )
    assert r.status_code == 400 and "south,west,north,east" in r.json()["detail"], r.text


def test_bbox_tests_the_geometry_not_the_envelope(client: httpx.Client, engine: Engine,
                                                  demo_generation: int) -> None:  # fmt: skip
    # the unit grid filling least of its envelope, and a small box in its envelope, off it
    with engine.connect() as conn:
        row = conn.execute(
            text(
                "SELECT code, ST_X(p) AS x, ST_Y(p) AS y FROM (SELECT code, ST_PointOnSurface("
                "ST_Difference(ST_Envelope(geom), ST_Buffer(geom, 0.0002))) AS p, "
                "ST_Area(geom) / ST_Area(ST_Envelope(geom)) AS fill FROM grid "
                "WHERE generation_id = :g AND level = 3) s WHERE NOT ST_IsEmpty(p) "
                "ORDER BY fill, code LIMIT 1"
            ),
            {"g": demo_generation},
        ).one()
    d = 0.00005
    box = (row.x - d, row.y - d, row.x + d, row.y + d)
    with engine.connect() as conn:
        envelope_hit = conn.execute(
            text(
                "SELECT ST_MakeEnvelope(:w, :s, :e, :n, 4490) && geom FROM grid "
                "WHERE generation_id = :g AND code = :c"
            ),
            {"w": box[0], "s": box[1], "e": box[2], "n": box[3], "g": demo_generation,
             "c": row.code},
        ).scalar_one()  # fmt: skip
    assert envelope_hit  # the box touches the grid's envelope ...
    found = client.get(
        "/ogc/collections/grids-l3/items", params={"bbox": ",".join(map(str, box))}
    ).json()
    assert row.code not in {f["id"] for f in found["features"]}  # ... but not the grid


def test_paging_links_followed_as_given(client: httpx.Client) -> None:
    params = {"bbox": "120.2,31.85,120.35,31.95", "crs": EPSG4490, "limit": 40}
    first = client.get("/ogc/collections/grids-l3/items", params=params)
    assert first.status_code == 200, first.text
    matched = first.json()["numberMatched"]
    assert matched > 80  # at least three pages
    seen: list[str] = []
    page = first.json()
    pages = 0
    while True:
        pages += 1
        seen += [f["id"] for f in page["features"]]
        links = {link["rel"]: link["href"] for link in page["links"]}
        self_url = httpx.URL(links["self"])
        # the links are encoded: a bbox's commas and the CRS URI survive the round trip
        assert self_url.params["bbox"] == params["bbox"]
        assert self_url.params["crs"] == EPSG4490
        assert "%2C" in links["self"] and quote(EPSG4490, safe="") in links["self"]
        if pages > 1:
            assert "prev" in links
        if "next" not in links:
            break
        r = client.get(links["next"])
        assert r.status_code == 200, r.text
        assert r.headers["Content-Crs"] == f"<{EPSG4490}>"
        page = r.json()
    assert len(seen) == len(set(seen)) == matched and pages == -(-matched // 40)


# -- Part 4 writes ---------------------------------------------------------------------------
def test_put_with_etag_moves_a_shared_vertex_then_undo(
    planner: httpx.Client, client: httpx.Client, engine: Engine, draft: int
) -> None:
    a, b = interior_pair(engine, draft)
    vertex = shared_vertex(engine, draft, a, b)
    read = planner.get(item_url(draft, a))
    assert read.status_code == 200, read.text
    v0 = etag(read)
    original = read.json()
    neighbour_before = planner.get(item_url(draft, b)).json()["geometry"]
    feature = {"type": "Feature", "properties": original["properties"],
               "geometry": moved_geometry(original["geometry"], vertex, 3.0)}  # fmt: skip
    # no If-Match: 428; a stale one: 412; nothing stored either way
    r = planner.put(item_url(draft, a), json=feature)
    assert r.status_code == 428 and r.headers["content-type"] == PROBLEM, r.text
    r = planner.put(item_url(draft, a), json=feature, headers={"If-Match": '"0"'})
    assert r.status_code == 412 and r.json()["current_version"] == int(v0.strip('"')), r.text
    r = planner.put(
        item_url(draft, a), json=feature,
        headers={"If-Match": v0, "X-Edit-Reason": quote("道路拓宽")},
    )  # fmt: skip
    assert r.status_code == 200, r.text
    v1 = etag(r)
    assert int(v1.strip('"')) == int(v0.strip('"')) + 1
    assert (
        shapely.hausdorff_distance(shape(r.json()["geometry"]), shape(feature["geometry"])) < 1e-6
    )
    # the neighbour followed: its boundary moved with the shared vertex (no gap, no overlap)
    neighbour_after = client.get(item_url(draft, b)).json()["geometry"]
    assert neighbour_after != neighbour_before
    assert shape(neighbour_after).intersection(shape(r.json()["geometry"])).area < 1e-12
    # the edit log shows the write with who and why
    log = planner.get(f"/api/v1/generations/{draft}/edits").json()
    last = log["edits"][-1]
    assert last["op"] == "replace_geometry" and last["reason"] == "道路拓宽"
    assert "planner" in last["actor"] and a in last["grids_after"] and b in last["grids_after"]
    # the old ETag is stale now
    r = planner.put(item_url(draft, a), json=feature, headers={"If-Match": v0})
    assert r.status_code == 412
    # undo restores the grid and its neighbour exactly
    r = planner.post(f"/api/v1/generations/{draft}/edits/undo", headers={"If-Match": v1})
    assert r.status_code == 200, r.text
    assert client.get(item_url(draft, a)).json()["geometry"] == original["geometry"]
    assert client.get(item_url(draft, b)).json()["geometry"] == neighbour_before


def test_a_put_that_opens_a_gap_is_refused_and_not_stored(
    planner: httpx.Client, engine: Engine, draft: int
) -> None:
    a, _ = interior_pair(engine, draft)
    read = planner.get(item_url(draft, a))
    v0, original = etag(read), read.json()
    # a notch cut into the outline (one vertex more): it would leave ground uncovered
    geom = shape(original["geometry"])
    ring = list(geom.geoms[0].exterior.coords) if geom.geom_type == "MultiPolygon" else list(
        geom.exterior.coords)  # fmt: skip
    (x0, y0), (x1, y1) = ring[0], ring[1]
    cx, cy = geom.centroid.x, geom.centroid.y
    mid = ((x0 + x1) / 2, (y0 + y1) / 2)
    notch = (mid[0] + (cx - mid[0]) * 0.3, mid[1] + (cy - mid[1]) * 0.3)
    notched = shapely.Polygon([ring[0], notch, *ring[1:]])
    assert notched.is_valid
    r = planner.put(
        item_url(draft, a),
        json={"type": "Feature", "properties": original["properties"],
              "geometry": mapping(notched)},
        headers={"If-Match": v0},
    )  # fmt: skip
    assert r.status_code == 422 and r.headers["content-type"] == PROBLEM, r.text
    body = r.json()
    assert body["field"] == "geometry" and "split" in body["detail"]
    assert [p["kind"] for p in body["problems"]] == ["gap"] and body["problems"][0]["area_m2"] > 1
    # a vertex pushed across the neighbour: an overlap, refused
    vertex = shared_vertex(engine, draft, a, _)
    r = planner.put(
        item_url(draft, a),
        json={"type": "Feature", "properties": original["properties"],
              "geometry": moved_geometry(original["geometry"], vertex, -3000.0)},
        headers={"If-Match": v0},
    )  # fmt: skip
    assert r.status_code == 422, r.text
    after = planner.get(item_url(draft, a))
    assert etag(after) == v0 and after.json()["geometry"] == original["geometry"]


def test_patch_delete_post_and_read_only_collections(
    planner: httpx.Client, client: httpx.Client, engine: Engine, draft: int
) -> None:
    a, b = interior_pair(engine, draft)
    v0 = etag(planner.get(item_url(draft, a)))
    r = planner.patch(item_url(draft, a), json={"properties": {"name": "新名字"}},
                      headers={"If-Match": v0})  # fmt: skip
    assert r.status_code == 200 and r.json()["properties"]["name"] == "新名字", r.text
    v1 = etag(r)
    last = planner.get(f"/api/v1/generations/{draft}/edits").json()["edits"][-1]
    assert last["op"] == "rename" and "no X-Edit-Reason" in last["reason"]
    r = planner.patch(item_url(draft, a), json={"properties": {"area_m2": 5}},
                      headers={"If-Match": v1})  # fmt: skip
    assert r.status_code == 422 and r.json()["field"] == "properties/area_m2"
    # DELETE alone would open a gap: 422 naming the neighbours and merge
    r = planner.delete(item_url(draft, a), headers={"If-Match": v1})
    assert r.status_code == 422 and b in r.json()["neighbours"], r.text
    r = planner.delete(item_url(draft, a), params={"merge_into": b})
    assert r.status_code == 428
    r = planner.delete(item_url(draft, a), params={"merge_into": b}, headers={"If-Match": v0})
    assert r.status_code == 412
    r = planner.delete(item_url(draft, a), params={"merge_into": b}, headers={"If-Match": v1})
    assert r.status_code == 204, r.text
    merged = r.headers["Location"].rsplit("/", 1)[1]
    assert client.get(item_url(draft, a)).status_code == 404
    assert client.get(item_url(draft, merged)).status_code == 200
    # POST: refused, naming the edits to use
    v2 = etag(client.get(item_url(draft, merged)))
    r = planner.post(f"/ogc/collections/grids-l3@{draft}/items",
                     json={"type": "Feature", "properties": {}, "geometry": None},
                     headers={"If-Match": v2})  # fmt: skip
    assert r.status_code == 422 and "split" in r.json()["detail"]
    # a viewer may read but not write a draft
    r = client.patch(item_url(draft, merged), json={"properties": {"name": "x"}},
                     headers={"If-Match": v2})  # fmt: skip
    assert r.status_code == 403
    # read-only collections: 405 with Allow; OPTIONS tells the same
    code = next(iter(client.get("/ogc/collections/grids-l3/items?limit=1").json()["features"]))
    active_item = f"/ogc/collections/grids-l3/items/{code['id']}"
    for method, url in (("PUT", active_item), ("PATCH", active_item), ("DELETE", active_item),
                        ("POST", "/ogc/collections/grids-l3/items"),
                        ("DELETE", f"/ogc/collections/zones@{draft}/items/x"),
                        ("PUT", "/ogc/collections/grids-l3")):  # fmt: skip
        r = planner.request(method, url, json={}, headers={"If-Match": '"1"'})
        assert r.status_code == 405, (method, url, r.text)
        assert "PUT" not in r.headers["Allow"] and "GET" in r.headers["Allow"]
    r = planner.options(active_item)
    assert r.status_code == 204 and r.headers["Allow"] == "GET, OPTIONS"
    r = planner.options(item_url(draft, merged))
    assert {"PUT", "PATCH", "DELETE"} <= {m.strip() for m in r.headers["Allow"].split(",")}
    conf = client.get("/ogc/conformance").json()["conformsTo"]
    for c in ("ogcapi-features-2/1.0/conf/crs", "ogcapi-features-4/1.0/conf/create-replace-delete",
              "ogcapi-features-4/1.0/conf/update", "ogcapi-tiles-1/1.0/conf/mvt",
              "ogcapi-tiles-1/1.0/conf/tilesets-list"):  # fmt: skip
        assert any(x.endswith(c) for x in conf), c


# -- desktop auth and logs -------------------------------------------------------------------
def test_basic_auth_reads_and_writes(
    live_server: str, tokens: dict[str, str], engine: Engine, draft: int
) -> None:
    a, _ = interior_pair(engine, draft)
    with httpx.Client(base_url=live_server, timeout=60) as anon:
        r = anon.get(item_url(draft, a), auth=("qgis", tokens["viewer"]))
        assert r.status_code == 200, r.text
        assert anon.get(item_url(draft, a), auth=("qgis", "wrong")).status_code == 401
        assert anon.get(item_url(draft, a)).status_code == 401
        v0 = etag(r)
        # a write with Basic is not a cookie write: no Origin needed, a foreign one is no risk
        r = anon.patch(
            item_url(draft, a), json={"properties": {"name": "基本认证"}},
            headers={"If-Match": v0, "Origin": "http://elsewhere.example"},
            auth=("anyone", tokens["planner"]),
        )  # fmt: skip
        assert r.status_code == 200, r.text
        assert r.json()["properties"]["name"] == "基本认证"


def test_gdal_reads_a_draft_with_basic_auth(
    live_server: str, tokens: dict[str, str], draft: int
) -> None:
    """GDAL's OAPIF driver (the bundled one, as QGIS users run it) pointed at the draft's
    landing page, signing in with HTTP Basic (user name anything, token as password)."""
    pyogrio.set_gdal_config_options(
        {"GDAL_HTTP_AUTH": "BASIC", "GDAL_HTTP_USERPWD": f"qgis:{tokens['viewer']}"}
    )
    try:
        url = f"OAPIF:{live_server}/ogc?generation={draft}"
        layers = [name for name, _ in pyogrio.list_layers(url)]
        assert f"grids-l3@{draft}" in layers, layers
        frame = pyogrio.read_dataframe(url, layer=f"grids-l2@{draft}")
    finally:
        pyogrio.set_gdal_config_options({"GDAL_HTTP_AUTH": None, "GDAL_HTTP_USERPWD": None})
    assert len(frame) == 271 and frame["code"].is_unique


def test_token_in_the_url_never_reaches_the_log(
    database_url: str, demo_generation: int, tokens: dict[str, str], tmp_path: Path
) -> None:
    """A server with the access log on (level info): a request with ?token= is logged, the
    token is not."""
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    log_path = tmp_path / "server.log"
    env = {**os.environ, "DATABASE_URL": database_url, "GRIDGIS_DATA_DIR": str(tmp_path),
           "GRIDGIS_SESSION_SECRET": "test-secret"}  # fmt: skip
    with log_path.open("w") as log:
        process = subprocess.Popen(
            [sys.executable, "-m", "uvicorn", "api.main:create_app", "--factory",
             "--host", "127.0.0.1", "--port", str(port), "--log-level", "info"],
            env=env, stdout=log, stderr=subprocess.STDOUT, cwd=PROJECT_DIR,
        )  # fmt: skip
        try:
            base = f"http://127.0.0.1:{port}"
            deadline = time.monotonic() + 60
            while True:
                try:
                    if httpx.get(f"{base}/health", timeout=2).status_code == 200:
                        break
                except httpx.HTTPError:
                    pass
                assert time.monotonic() < deadline and process.poll() is None, log_path.read_text()
                time.sleep(0.2)
            token = tokens["viewer"]
            r = httpx.get(f"{base}/ogc/collections/grids-l1/items?limit=1&token={token}")
            assert r.status_code == 200, r.text
            bad = httpx.get(f"{base}/ogc/collections/nope?token={token}x")
            assert bad.status_code in (401, 404)
        finally:
            process.terminate()
            process.wait(timeout=15)
    text_log = log_path.read_text()
    assert "/ogc/collections/grids-l1/items?limit=1&token=***" in text_log, text_log[-2000:]
    assert token not in text_log


def test_patch_recode_and_reparent_and_a_body_in_epsg4490(
    planner: httpx.Client, client: httpx.Client, engine: Engine, draft: int
) -> None:
    a, b = interior_pair(engine, draft)
    v = etag(planner.get(item_url(draft, a)))
    # a code of the same village that no generation ever used
    new_code = a[:12] + "987"
    r = planner.patch(item_url(draft, a), json={"properties": {"code": new_code}},
                      headers={"If-Match": v})  # fmt: skip
    assert r.status_code == 200, r.text
    assert r.json()["id"] == new_code and r.headers["Location"].endswith(f"/items/{new_code}")
    assert client.get(item_url(draft, a)).status_code == 404
    v = etag(r)
    # a malformed code is refused, naming the field
    r = planner.patch(item_url(draft, new_code), json={"properties": {"code": "12"}},
                      headers={"If-Match": v})  # fmt: skip
    assert r.status_code == 422 and r.json()["field"] == "new_code", r.text
    # PUT with the body in EPSG:4490 (lat, lon): an unchanged outline, a new name
    read = planner.get(item_url(draft, b), params={"crs": EPSG4490})
    assert read.headers["Content-Crs"] == f"<{EPSG4490}>"
    body = {"type": "Feature", "geometry": read.json()["geometry"],
            "properties": {**read.json()["properties"], "name": "纬经"}}  # fmt: skip
    r = planner.put(item_url(draft, b), json=body,
                    headers={"If-Match": etag(read), "Content-Crs": f"<{EPSG4490}>"})  # fmt: skip
    assert r.status_code == 200, r.text
    assert [e["op"] for e in r.json()["edits"]] == ["rename"]  # the outline did not move
    # the same lat, lon outline sent as CRS84 is another shape: refused, nothing stored
    r = planner.put(item_url(draft, b), json=body, headers={"If-Match": etag(r)})
    assert r.status_code == 422, r.text


def test_collections_link_their_tiles(client: httpx.Client) -> None:
    body = client.get("/ogc/collections").json()
    assert [c["id"] for c in body["collections"]] == ["grids-l1", "grids-l2", "grids-l3", "zones"]
    for col in body["collections"]:
        tiles = next(
            link["href"] for link in col["links"]
            if link["rel"] == "http://www.opengis.net/def/rel/ogc/1.0/tilesets-vector"
        )  # fmt: skip
        assert tiles.endswith(f"/ogc/collections/{col['id']}/tiles")
        r = client.get(tiles)
        assert r.status_code == 200, r.text


@pytest.mark.parametrize(
    ("method", "path", "body", "headers", "status", "field"),
    [
        ("PUT", "{item}", b"not json", {}, 422, "body"),
        ("PUT", "{item}", {"type": "Feature", "properties": {}}, {}, 422, "geometry"),
        (
            "PUT",
            "{item}",
            {"type": "Feature", "geometry": {"type": "Point", "coordinates": [120.3, 31.9]}},
            {},
            422,
            "geometry",
        ),
        (
            "PUT",
            "{item}",
            {
                "type": "Feature",
                "geometry": {"type": "Polygon", "coordinates": [], "crs": {"type": "name"}},
            },
            {},
            422,
            "geometry",
        ),
        (
            "PUT",
            "{item}",
            {"type": "Feature", "geometry": {"type": "Polygon", "coordinates": []}},
            {"Content-Crs": "<http://www.opengis.net/def/crs/EPSG/0/3857>"},
            400,
            "Content-Crs",
        ),
        ("PATCH", "{item}", {"properties": {"name": "a\u0000b"}}, {}, 422, "properties/name"),
        (
            "PATCH",
            "{item}",
            {"properties": {"code": "x", "parent_code": "y"}},
            {},
            422,
            "properties/code",
        ),
        ("PATCH", "{item}", {"properties": ["x"]}, {}, 422, "properties"),
        ("PATCH", "{item}", {}, {}, 422, "body"),
        (
            "PATCH",
            "{item}",
            {"properties": {"name": "x"}},
            {"If-Match": "v-seven"},
            422,
            "If-Match",
        ),
        ("PUT", "/ogc/collections/grids-l3@{draft}/items/nope", {}, {}, 404, "featureId"),
        ("GET", "/ogc/collections/grids-l3@{draft}/items/a%00b", None, {}, 400, "feature_id"),
        ("GET", "/ogc/collections/grids-l3@99999999999999999999", None, {}, 404, "collectionId"),
        ("GET", "/ogc/collections/grids-l3@%C2%B2", None, {}, 404, "collectionId"),
        ("GET", "/ogc/collections/grids-l3/items?at=1900-01-01", None, {}, 400, "at"),
    ],
)
def test_bad_writes_and_reads_are_clear_problems(
    planner: httpx.Client, engine: Engine, draft: int, method: str, path: str, body: Any,
    headers: dict[str, str], status: int, field: str,
) -> None:  # fmt: skip
    a, _ = interior_pair(engine, draft)
    url = path.format(item=item_url(draft, a), draft=draft)
    read = planner.get(item_url(draft, a))
    sent = {"If-Match": etag(read), **headers}
    if isinstance(body, bytes):
        r = planner.request(method, url, content=body, headers=sent)
    else:
        r = planner.request(method, url, json=body, headers=sent)
    assert r.status_code == status, r.text
    assert r.headers["content-type"] == PROBLEM and r.json()["field"] == field, r.text
    assert etag(planner.get(item_url(draft, a))) == etag(read)  # nothing stored


def test_at_picks_the_generation_in_force(client: httpx.Client) -> None:
    from datetime import date

    today = date.today().isoformat()
    listed = client.get("/ogc/collections", params={"at": today})
    assert listed.status_code == 200, listed.text
    ids = [c["id"] for c in listed.json()["collections"]]
    generations = client.get("/api/v1/generations").json()["data"]
    in_force = next(g["id"] for g in generations if g["status"] == "active")
    assert f"grids-l3@{in_force}" in ids
    page = client.get("/ogc/collections/grids-l3/items", params={"at": today, "limit": 1})
    assert page.status_code == 200 and page.json()["numberMatched"] == 1558
    self_link = next(link["href"] for link in page.json()["links"] if link["rel"] == "self")
    assert httpx.URL(self_link).params["at"] == today


def test_ogrinfo_reads_a_draft(live_server: str, tokens: dict[str, str], draft: int) -> None:
    """The system's GDAL command line (Debian's gdal-bin) as a planner runs it."""
    import shutil

    ogrinfo = shutil.which("ogrinfo")
    if ogrinfo is None:
        pytest.skip("ogrinfo is not installed (apt package gdal-bin, in run.sh's TEST_APT)")
    env = {**os.environ, "GDAL_HTTP_AUTH": "BASIC", "GDAL_HTTP_USERPWD": f"qgis:{tokens['viewer']}"}
    done = subprocess.run(
        [ogrinfo, "-so", f"OAPIF:{live_server}/ogc?generation={draft}", f"grids-l3@{draft}"],
        capture_output=True, text=True, timeout=300, env=env,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    assert "Feature Count: 1558" in done.stdout, done.stdout


def test_a_write_with_generation_in_the_query(
    planner: httpx.Client, engine: Engine, draft: int
) -> None:
    a, _ = interior_pair(engine, draft)
    url = f"/ogc/collections/grids-l3/items/{a}"
    read = planner.get(url, params={"generation": draft})
    r = planner.patch(url, params={"generation": draft}, json={"properties": {"name": "查询参数"}},
                      headers={"If-Match": etag(read)})  # fmt: skip
    assert r.status_code == 200 and r.json()["properties"]["name"] == "查询参数", r.text
    r = planner.patch(url, params={"generation": "x"}, json={"properties": {"name": "y"}},
                      headers={"If-Match": etag(r)})  # fmt: skip
    assert r.status_code == 422 and r.json()["field"] == "generation"
    assert planner.options(url, params={"generation": draft}).headers["Allow"].count("PUT") == 1
