"""OGC API - Features, read by GDAL's OAPIF driver (the client QGIS uses) and by hand."""

from __future__ import annotations

import pyogrio
import pytest


@pytest.fixture
def gdal_auth(tokens):  # type: ignore[no-untyped-def]
    # GDAL's own bearer-token support (what a QGIS/GDAL user configures)
    pyogrio.set_gdal_config_options(
        {"GDAL_HTTP_AUTH": "BEARER", "GDAL_HTTP_BEARER": tokens["viewer"]}
    )
    yield
    pyogrio.set_gdal_config_options({"GDAL_HTTP_AUTH": None, "GDAL_HTTP_BEARER": None})


def test_gdal_lists_one_collection_per_level(live_server, gdal_auth) -> None:  # type: ignore[no-untyped-def]
    layers = [name for name, _ in pyogrio.list_layers(f"OAPIF:{live_server}/ogc")]
    assert sorted(layers) == ["grids-l1", "grids-l2", "grids-l3", "zones"]


@pytest.mark.parametrize(
    ("layer", "count"), [("grids-l1", 17), ("grids-l2", 271), ("grids-l3", 1558)]
)
def test_gdal_reads_every_grid_through_paging(live_server, gdal_auth, layer, count) -> None:  # type: ignore[no-untyped-def]
    frame = pyogrio.read_dataframe(f"OAPIF:{live_server}/ogc", layer=layer)
    assert len(frame) == count
    assert frame["code"].is_unique
    assert {"code", "name", "level", "parent_code", "area_m2"} <= set(frame.columns)
    assert frame.geometry.is_valid.all()


def test_gdal_bbox_filter(live_server, gdal_auth) -> None:  # type: ignore[no-untyped-def]
    frame = pyogrio.read_dataframe(
        f"OAPIF:{live_server}/ogc", layer="grids-l3", bbox=(120.27, 31.89, 120.29, 31.91)
    )
    assert 0 < len(frame) < 1558


def test_paging_links(client) -> None:  # type: ignore[no-untyped-def]
    page = client.get("/ogc/collections/grids-l3/items", params={"limit": 500}).json()
    assert page["numberMatched"] == 1558 and page["numberReturned"] == 500
    rels = {link["rel"]: link["href"] for link in page["links"]}
    assert "offset=500" in rels["next"] and "prev" not in rels
    seen = {f["id"] for f in page["features"]}
    last = client.get(
        "/ogc/collections/grids-l3/items", params={"limit": 500, "offset": 1500}
    ).json()
    assert last["numberReturned"] == 58
    assert "next" not in {link["rel"] for link in last["links"]}
    assert not seen & {f["id"] for f in last["features"]}


def test_one_item_and_conformance(client) -> None:  # type: ignore[no-untyped-def]
    item = client.get("/ogc/collections/grids-l1/items/320281001").json()
    assert item["properties"]["name"] == "澄江街道"
    conf = client.get("/ogc/conformance").json()["conformsTo"]
    assert any(c.endswith("conf/geojson") for c in conf)


@pytest.mark.parametrize(
    ("path", "params", "status", "field"),
    [
        ("/ogc/collections/nope", {}, 404, "collectionId"),
        ("/ogc/collections/grids-l3/items", {"limit": 0}, 400, "limit"),
        ("/ogc/collections/grids-l3/items", {"limit": 0}, 400, "limit"),  # over max: capped
        ("/ogc/collections/grids-l3/items", {"offset": -1}, 400, "offset"),
        ("/ogc/collections/grids-l3/items", {"bbox": "x"}, 400, "bbox"),
        ("/ogc/collections/grids-l1/items/320281001001001", {}, 404, "featureId"),
    ],
)
def test_ogc_bad_input(client, path, params, status, field) -> None:  # type: ignore[no-untyped-def]
    r = client.get(path, params=params)
    assert r.status_code == status, r.text
    assert r.json()["field"] == field


def test_ogc_query_parameter_errors_are_400_and_api_errors_stay_422(client) -> None:  # type: ignore[no-untyped-def]
    """OGC API - Features Part 1 /req/core/query-param-invalid: 400 for an OGC read's bad
    parameter (a typed one and one the route checks); the rest of the API keeps 422."""
    for params in ({"limit": "many"}, {"bbox": "1,2,3"}):
        r = client.get("/ogc/collections/grids-l3/items", params=params)
        assert r.status_code == 400, r.text
        assert r.headers["content-type"].startswith("application/problem+json")
        assert r.json()["field"] == next(iter(params))
    assert client.get("/api/v1/grids", params={"level": "x"}).status_code == 422
