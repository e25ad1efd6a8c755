"""``GET /api/v1/places``: the gazetteer by name, by code (whole, first or last digits) and by a
typed coordinate in any accepted form, and the answers to what it cannot read (issue 15:
partial codes found nothing, "40540000, 3530000" was refused with no hint). Real HTTP, real
PostGIS, the demo city."""

from __future__ import annotations

from typing import Any

import httpx
import pytest
from pyproj import Transformer

import api.routes.open311
import layers.gazetteer
from gis.crs import Datum, to_cgcs2000

URL = "/api/v1/places"


def _places(client: httpx.Client, q: str, **params: Any) -> dict[str, Any]:
    r = client.get(URL, params={"q": q, **params})
    assert r.status_code == 200, r.text
    return r.json()


@pytest.fixture(scope="module")
def grid(demo_grids: Any) -> dict[str, str]:
    """A unit grid of the demo city with its village and town (codes and names)."""
    row = demo_grids[demo_grids.level == 3].sort_values("code").iloc[40]
    names = dict(zip(demo_grids.code, demo_grids.name, strict=True))
    code = row.code
    return {"code": code, "name": row["name"], "village": code[:12], "town": code[:9],
            "village_name": names[code[:12]], "town_name": names[code[:9]]}  # fmt: skip


def test_a_name_exact_then_prefix_then_contains(client: httpx.Client, grid: dict[str, str]) -> None:
    body = _places(client, grid["village_name"], limit=50)
    first = body["data"][0]
    assert (first["code"], first["match"], first["kind"]) == (grid["village"], "exact", "village")
    assert first["precision"] == "village" and first["matched_on"] == "name"
    # its grids, named after it, follow as prefix matches
    assert grid["code"] in {p["code"] for p in body["data"] if p["match"] == "prefix"}
    ranks = ["exact", "prefix", "contains", "contained", "fuzzy"]
    order = [ranks.index(p["match"]) for p in body["data"]]
    assert order == sorted(order)

    part = grid["village_name"][:2]
    body = _places(client, part, limit=50)
    assert body["data"][0]["match"] == "prefix"
    assert all(p["name"].startswith(part) or p["full_name"].startswith(part)
               for p in body["data"] if p["match"] == "prefix")  # fmt: skip

    inner = grid["name"][1:]  # 山社区第N网格: inside the name, not at its start
    body = _places(client, inner)
    hit = next(p for p in body["data"] if p["code"] == grid["code"])
    assert hit["match"] in ("contains", "exact") and hit["kind"] == "grid"


def test_full_chain_and_an_address_with_words_around(
    client: httpx.Client, grid: dict[str, str]
) -> None:
    body = _places(client, grid["town_name"] + grid["village_name"])
    assert body["data"][0]["code"] == grid["village"]
    body = _places(client, "江苏省江阴市" + grid["town_name"] + grid["name"] + "门口")
    assert body["data"][0]["code"] == grid["code"]
    assert body["data"][0]["match"] == "contained"


def test_codes_whole_first_and_last_digits(client: httpx.Client, grid: dict[str, str]) -> None:
    body = _places(client, grid["code"])
    assert body["data"][0]["code"] == grid["code"]
    assert (body["data"][0]["match"], body["data"][0]["matched_on"]) == ("exact", "code")

    # the first 9 and 12 digits: the town or village itself, then what lies under it, shallow first
    for prefix in (grid["town"], grid["village"]):
        body = _places(client, prefix, limit=20)
        assert body["data"][0]["code"] == prefix and body["data"][0]["match"] == "exact"
        rest = body["data"][1:]
        assert rest and all(p["code"].startswith(prefix) and p["match"] == "prefix" for p in rest)
        levels = [p["level"] for p in rest]
        assert levels == sorted(levels)

    # digits that are no whole code: every place starting with them, at most `limit`
    body = _places(client, grid["code"][:8], limit=5)
    assert body["count"] == 5
    assert all(p["code"].startswith(grid["code"][:8]) for p in body["data"])
    assert body["data"][0]["level"] == 1

    # the last six digits: village and sequence number, in every town that has them
    tail = grid["code"][-6:]
    body = _places(client, tail, limit=50)
    assert grid["code"] in {p["code"] for p in body["data"]}
    assert all(p["code"].endswith(tail) and p["match"] == "suffix" for p in body["data"])

    # written with spaces or dashes
    assert (
        _places(client, f"{grid['code'][:9]} {grid['code'][9:12]}-{grid['code'][12:]}")["data"][0][
            "code"
        ]
        == grid["code"]
    )


@pytest.mark.parametrize("q", ["12", "999999999999", "000"])
def test_codes_that_find_nothing_answer_the_hint(client: httpx.Client, q: str) -> None:
    body = _places(client, q)
    assert body["count"] == 0 and body["data"] == []
    assert "40540000,3530000" in body["hint"] and "grid code" in body["hint"]


def test_nonsense_answers_the_hint_in_the_asked_language(client: httpx.Client) -> None:
    body = _places(client, "qwxz!?", lang="zh")
    assert body["count"] == 0
    assert "网格编码" in body["hint"] and "40540000,3530000" in body["hint"]
    assert "grid code" in _places(client, "qwxz!?")["hint"]
    assert client.get(URL, params={"q": "x", "lang": "fr"}).status_code == 422


def _located(client: httpx.Client, lon: float, lat: float, crs: str = "cgcs2000") -> str:
    r = client.get("/api/v1/locate", params={"lon": lon, "lat": lat, "crs": crs})
    assert r.status_code == 200, r.text
    return str(r.json()["l3"]["code"])


def test_gauss_kruger_metres_with_the_zone_number(client: httpx.Client) -> None:
    # the issue's own input: zone 40 (EPSG:4528); expected point from pyproj
    lon, lat = Transformer.from_crs("EPSG:4528", "EPSG:4490", always_xy=True).transform(
        40540000, 3530000
    )
    code = _located(client, lon, lat)
    for typed in ("40540000, 3530000", "3530000 40540000", "540000,3530000",
                  "EPSG:4528 40540000,3530000"):  # fmt: skip
        body = _places(client, typed)
        assert body["count"] == 1, typed
        hit = body["data"][0]
        assert (hit["kind"], hit["code"], hit["precision"]) == ("point", code, "point")
        assert (hit["lon"], hit["lat"]) == pytest.approx((lon, lat), abs=1e-7)
        assert body["point"]["form"] == "gauss_kruger" and body["point"]["found"] is True
    assert _places(client, "40540000,3530000")["point"]["srid"] == 4528
    assert _places(client, "540000,3530000")["point"]["srid"] == 4549


def test_degrees_either_order_dms_and_datums(client: httpx.Client) -> None:
    code = _located(client, 120.28, 31.91)
    for typed in ("120.28,31.91", "31.91 120.28", "31°54'36\"N 120°16'48\"E",
                  "北纬31度54分36秒，东经120度16分48秒"):  # fmt: skip
        body = _places(client, typed)
        assert body["data"][0]["code"] == code, typed
    for datum in ("wgs84", "gcj02", "bd09"):
        expected = _located(client, 120.28, 31.91, datum)
        x, y = to_cgcs2000(120.28, 31.91, Datum(datum))
        for body in (_places(client, f"120.28,31.91 {datum}"),
                     _places(client, "31.91,120.28", crs=datum)):  # fmt: skip
            assert body["data"][0]["code"] == expected
            assert body["point"]["datum"] == datum
            assert (body["point"]["lon"], body["point"]["lat"]) == pytest.approx(
                (float(x), float(y)), abs=1e-7
            )


def test_a_point_outside_the_city(client: httpx.Client) -> None:
    body = _places(client, "116.397,39.909")  # Beijing
    assert body["count"] == 0 and body["point"]["found"] is False and body["hint"]


@pytest.mark.parametrize(
    ("typed", "words"),
    [("31.9,60", "unclear"), ("200,3530000", "Gauss-Krüger"),
     ("41540000,3530000 EPSG:4528", "zone 41"), ("31°75'N 120°E", "under 60"),
     ("120.28,31.91 EPSG:3857", "EPSG:3857"), ("120.28,95", "latitude out of range")],
)  # fmt: skip
def test_unreadable_coordinates_are_refused_with_the_accepted_forms(
    client: httpx.Client, typed: str, words: str
) -> None:
    r = client.get(URL, params={"q": typed})
    assert r.status_code == 422
    assert r.headers["content-type"].startswith("application/problem+json")
    problem = r.json()
    assert problem["field"] == "q"
    assert words in problem["detail"] and "40540000,3530000" in problem["detail"]
    zh = client.get(URL, params={"q": typed, "lang": "zh"}).json()
    assert "高斯-克吕格" in zh["detail"] and zh["field"] == "q"


def test_bad_parameters(client: httpx.Client) -> None:
    for params in ({"q": ""}, {"q": "x" * 201}, {"q": "x", "limit": 0}, {"q": "x", "crs": "mars"}):
        r = client.get(URL, params=params)
        assert r.status_code == 422, params
        assert r.headers["content-type"].startswith("application/problem+json")


def test_anonymous_is_refused(anon: httpx.Client) -> None:
    assert anon.get(URL, params={"q": "澄江"}).status_code == 401


def test_open311_places_with_the_same_gazetteer() -> None:
    assert api.routes.open311.search_places is layers.gazetteer.search_places
