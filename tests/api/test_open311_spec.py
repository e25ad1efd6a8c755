"""Open311 GeoReport v2 as the spec says, driven by an independent client (the ``georeport``
package from PyPI) against the live server; XML checked against the spec's element names.
Cases 03 (address only), 04 (media_url and attributes) and 07 (XML, errors, status list)."""

from __future__ import annotations

import urllib.parse
from pathlib import Path
from xml.etree import ElementTree as ET

import httpx
import pytest
import requests
from georeport import GeoReport

from gis.crs import Datum, from_cgcs2000

PROJECT_DIR = Path(__file__).resolve().parents[2]
CASES = PROJECT_DIR.parent / "shared" / "cases" / "clients"
SERVICE = {"service_code", "service_name", "description", "metadata", "type", "keywords", "group"}
REQUEST = {
    "service_request_id",
    "status",
    "status_notes",
    "service_name",
    "service_code",
    "description",
    "agency_responsible",
    "service_notice",
    "requested_datetime",
    "updated_datetime",
    "expected_datetime",
    "address",
    "address_id",
    "zipcode",
    "lat",
    "long",
    "media_url",
}
EXTENSIONS = {"attributes", "location_precision", "location_radius_m"}
CREATED = {"service_request_id", "service_notice", "account_id", "token"}
PRIVATE = {"reporter_name", "email", "phone"}  # only to a reader with a key


def _case(name: str) -> str:
    path = CASES / name
    if not path.is_file():
        pytest.skip(f"case file absent: {path}")
    return path.read_text(encoding="utf-8")


@pytest.fixture
def base(live_server: str) -> str:
    return f"{live_server}/open311/v2"


def _xml(r: httpx.Response | requests.Response, root: str, item: str) -> list[ET.Element]:
    assert r.headers["content-type"].startswith("application/xml"), r.headers
    doc = ET.fromstring(r.content)
    assert doc.tag == root, doc.tag
    assert all(child.tag == item for child in doc), [c.tag for c in doc]
    return list(doc)


def _errors(r: httpx.Response, status: int, xml: bool = False) -> str:
    assert r.status_code == status, r.text
    if xml:
        (error,) = _xml(r, "errors", "error")
        assert [c.tag for c in error] == ["code", "description"]
        assert error.findtext("code") == str(status)
        return str(error.findtext("description"))
    body = r.json()
    assert r.headers["content-type"].startswith("application/json")
    assert isinstance(body, list) and set(body[0]) == {"code", "description"}, body
    assert body[0]["code"] == status
    return str(body[0]["description"])


def _wgs84(place):  # type: ignore[no-untyped-def]
    lon, lat = from_cgcs2000([place["lon"]], [place["lat"]], Datum.WGS84)
    return float(lon[0]), float(lat[0])


@pytest.fixture
def place(demo_grids):  # type: ignore[no-untyped-def]
    l3 = demo_grids[demo_grids.level == 3].iloc[120]
    p = l3.geometry.representative_point()
    return {"lon": p.x, "lat": p.y}


def test_the_client_library_reads_services_in_json_and_xml(base) -> None:
    for fmt in ("json", "xml"):
        client = GeoReport(base, jurisdiction="jiangyin", output_format=fmt)
        services = client.get_service_list()
        codes = {s["service_code"] for s in services}
        assert "0101" in codes
        definition = client.get_service_definition("0101")
        assert definition["service_code"] == "0101"
    r = requests.get(f"{base}/services.xml", timeout=30)
    for service in _xml(r, "services", "service"):
        assert {c.tag for c in service} == SERVICE


def test_requests_round_trip_through_the_library(base, live_server, tokens, place) -> None:
    """The library reads without a key (GeoReport v2 needs none for reading)."""
    lon, lat = _wgs84(place)
    form = {
        "api_key": tokens["viewer"],
        "jurisdiction_id": "jiangyin",
        "service_code": "0104",
        "lat": lat,
        "long": lon,
        "description": "垃圾桶满了 spec test",
    }
    r = httpx.post(f"{base}/requests.xml", data=form, timeout=30)
    assert r.status_code == 201, r.text
    (created,) = _xml(r, "service_requests", "request")
    assert CREATED <= {c.tag for c in created}
    rid = created.findtext("service_request_id")
    token = created.findtext("token")
    for fmt in ("json", "xml"):
        client = GeoReport(base, jurisdiction="jiangyin", output_format=fmt)
        one = client.get_service_request(str(rid))
        assert one["service_request_id"] == rid and one["status"] == "open"
        assert abs(float(one["lat"]) - lat) < 1e-5
        listed = client.get_service_requests(status="open,closed", service_code="0104")
        listed = listed if isinstance(listed, list) else [listed]
        assert rid in {x["service_request_id"] for x in listed}
    r = requests.get(f"{base}/requests/{rid}.xml", params={"api_key": tokens["viewer"]}, timeout=30)
    (request,) = _xml(r, "service_requests", "request")
    assert REQUEST <= {c.tag for c in request} <= REQUEST | EXTENSIONS | PRIVATE
    r = requests.get(f"{base}/requests/{rid}.xml", timeout=30)
    (request,) = _xml(r, "service_requests", "request")
    assert REQUEST <= {c.tag for c in request} <= REQUEST | EXTENSIONS
    for fmt in ("json", "xml"):
        r = httpx.get(f"{base}/tokens/{token}.{fmt}", params={"api_key": tokens["viewer"]})
        assert r.status_code == 200, r.text
        if fmt == "json":
            assert r.json() == [{"token": token, "service_request_id": rid}]
        else:
            (t,) = _xml(r, "service_requests", "request")
            assert t.findtext("service_request_id") == rid
    _errors(
        httpx.get(f"{base}/tokens/gridgis-999999999.json", params={"api_key": tokens["viewer"]}),
        404,
    )
    r = httpx.get(f"{base}/discovery.json")
    assert r.status_code == 200 and r.json()["endpoints"][0]["url"].endswith("/open311/v2")
    assert ET.fromstring(httpx.get(f"{base}/discovery.xml").content).tag == "discovery"


def test_errors_are_georeport_arrays(base, tokens, place) -> None:
    lon, lat = _wgs84(place)
    key = tokens["viewer"]
    good = {"api_key": key, "service_code": "0101", "lat": lat, "long": lon, "description": "x"}
    for xml in (False, True):
        suffix = "xml" if xml else "json"
        url = f"{base}/requests.{suffix}"
        _errors(httpx.post(url, data=good | {"service_code": "9999"}), 404, xml)
        _errors(httpx.post(url, data=good | {"api_key": "wrong"}), 403, xml)
        _errors(httpx.post(url, data={k: v for k, v in good.items() if k != "api_key"}), 403, xml)
        _errors(httpx.post(url, data=good | {"jurisdiction_id": "beijing"}), 404, xml)
        _errors(httpx.post(url, data={k: v for k, v in good.items() if k != "lat"}), 400, xml)
        _errors(httpx.post(url, data=good | {"lat": "north"}), 400, xml)
        _errors(httpx.post(url, data=good | {"description": ""}), 400, xml)
        _errors(httpx.post(url, data=good | {"service_code": ""}), 400, xml)
        _errors(
            httpx.post(url, data={**good, "lat": "", "long": "", "address_string": "火星基地"}),
            400,
            xml,
        )
        _errors(
            httpx.get(f"{base}/requests.{suffix}", params={"api_key": key, "status": "x"}), 400, xml
        )
        _errors(httpx.get(f"{base}/requests/999999999.{suffix}", params={"api_key": key}), 404, xml)
        _errors(httpx.get(f"{base}/requests/1.{suffix}", params={"api_key": "wrong"}), 403, xml)
        _errors(httpx.get(f"{base}/services/7777.{suffix}"), 404, xml)
        _errors(httpx.get(f"{base}/services.{suffix}", params={"jurisdiction_id": "x"}), 404, xml)
        _errors(
            httpx.get(
                f"{base}/requests.{suffix}", params={"api_key": key, "start_date": "yesterday"}
            ),
            400,
            xml,
        )
    _errors(httpx.get(f"{base}/services/0101.csv"), 404)


def test_places_search(client) -> None:
    r = client.get("/api/v1/places", params={"q": "江阴市澄江街道万街社区"})
    assert r.status_code == 200, r.text
    best = r.json()["data"][0]
    assert (best["name"], best["precision"], best["match"]) == ("万街社区", "village", "exact")
    assert best["full_name"] == "澄江街道万街社区" and best["radius_m"] > 0
    grid = client.get("/api/v1/places", params={"q": "万街社区第6网格"}).json()["data"][0]
    assert grid["code"] == "320281001009006" and grid["precision"] == "grid"
    near = client.get("/api/v1/places", params={"q": "澄江街道万街社区门口垃圾站"}).json()["data"][
        0
    ]
    assert near["name"] == "万街社区" and near["match"] == "contained"
    # the start of a name is a prefix match (issue 15: exact > prefix > contains), a typo fuzzy
    prefix = client.get("/api/v1/places", params={"q": "万街社"}).json()["data"]
    assert prefix and prefix[0]["name"] == "万街社区" and prefix[0]["match"] == "prefix"
    fuzzy = client.get("/api/v1/places", params={"q": "万衔社区"}).json()["data"]
    assert fuzzy and fuzzy[0]["name"].startswith("万街社区") and fuzzy[0]["match"] == "fuzzy"
    assert client.get("/api/v1/places", params={"q": "zzzzzz"}).json()["count"] == 0
    assert client.get("/api/v1/places", params={"q": ""}).status_code == 422


def test_case_03_address_only_is_placed_by_the_gazetteer(base, tokens) -> None:
    form = dict(urllib.parse.parse_qsl(_case("03-open311-address-only.form").strip()))
    form["api_key"] = tokens["viewer"]
    r = httpx.post(f"{base}/requests.json", data=form)
    assert r.status_code == 201, r.text
    created = r.json()[0]
    assert created["location_precision"] == "village"
    got = httpx.get(
        f"{base}/requests/{created['service_request_id']}.json",
        params={"api_key": tokens["viewer"]},
    ).json()[0]
    assert got["location_precision"] == "village" and got["location_radius_m"] > 0
    assert got["address"] == "江阴市澄江街道万街社区"
    event = httpx.get(
        f"{base.removesuffix('/open311/v2')}/api/v1/events/{got['service_request_id']}",
        headers={"Authorization": f"Bearer {tokens['admin']}"},
    ).json()
    assert event["routing"]["village_code"] == "320281001009"  # 万街社区
    assert event["routing"]["town_code"] == "320281001"  # 澄江街道


def test_case_04_media_url_and_attributes_are_kept(base, tokens) -> None:
    form = urllib.parse.parse_qsl(_case("04-open311-media-and-attributes.form").strip())
    r = httpx.post(f"{base}/requests.json", data=dict(form) | {"api_key": tokens["viewer"]})
    assert r.status_code == 201, r.text
    rid = r.json()[0]["service_request_id"]
    got = httpx.get(f"{base}/requests/{rid}.json", params={"api_key": tokens["viewer"]}).json()[0]
    assert got["media_url"] == "https://example.org/photos/pile-1.jpg"
    assert got["attributes"] == [{"code": "size", "value": "large"}]
    r = httpx.get(f"{base}/requests/{rid}.xml", params={"api_key": tokens["viewer"]})
    (request,) = _xml(r, "service_requests", "request")
    assert request.findtext("media_url") == "https://example.org/photos/pile-1.jpg"
    assert request.find("attributes/attribute/value").text == "large"  # type: ignore[union-attr]
    bad = dict(form) | {"api_key": tokens["viewer"], "media_url": "javascript:alert(1)"}
    _errors(httpx.post(f"{base}/requests.json", data=bad), 400)


def test_case_07_xml_errors_and_status_list(base, tokens, place) -> None:
    script = _case("07-open311-xml-and-errors.sh")
    assert "services.xml" in script and "status=open,closed" in script
    r = httpx.get(f"{base}/services.xml", params={"jurisdiction_id": "jiangyin"})
    assert r.status_code == 200 and _xml(r, "services", "service")
    r = httpx.get(f"{base}/services/0101.xml", params={"jurisdiction_id": "jiangyin"})
    assert r.status_code == 200
    assert ET.fromstring(r.content).tag == "service_definition"
    lon, lat = _wgs84(place)
    r = httpx.post(
        f"{base}/requests.json",
        data={
            "api_key": tokens["viewer"],
            "service_code": "9999",
            "lat": lat,
            "long": lon,
            "description": "test",
        },
    )
    assert "service_code" in _errors(r, 404)
    r = httpx.get(
        f"{base}/requests.json", params={"api_key": tokens["viewer"], "status": "open,closed"}
    )
    assert r.status_code == 200 and isinstance(r.json(), list)


def test_reading_needs_no_key_and_shows_only_public_fields(base, tokens, place) -> None:
    """The PyPI client reads without a key (GeoReport v2); such a reader never sees who
    reported (name, email, phone: as FixMyStreet); a key's reader does; a wrong key is 403;
    filing still needs a key. service_notice says what the status is: only reported, not
    yet accepted (已受理)."""
    lon, lat = _wgs84(place)
    form = {"service_code": "0104", "lat": lat, "long": lon, "description": "公开读取 test",
            "first_name": "李", "last_name": "四", "email": "li4@example.cn",
            "phone": "13900000000"}  # fmt: skip
    r = httpx.post(f"{base}/requests.json", data=form)
    _errors(r, 403)
    r = httpx.post(f"{base}/requests.json", data=form | {"api_key": tokens["viewer"]})
    assert r.status_code == 201, r.text
    (created,) = r.json()
    rid = created["service_request_id"]
    assert "待受理" in created["service_notice"] and "已受理" not in created["service_notice"]
    for fmt in ("json", "xml"):
        client = GeoReport(base, jurisdiction="jiangyin", output_format=fmt)  # no api_key
        one = client.get_service_request(rid)
        assert one["service_request_id"] == rid and one["description"] == "公开读取 test"
        assert not PRIVATE & set(one), one
        assert "李 四" not in str(one) and "13900000000" not in str(one) and "li4@" not in str(one)
        assert "待受理" in one["service_notice"] and "已受理" not in one["service_notice"]
        listed = client.get_service_requests(service_request_id=rid)
        listed = listed if isinstance(listed, list) else [listed]
        assert [x["service_request_id"] for x in listed] == [rid]
        assert not PRIVATE & set(listed[0]) and "13900000000" not in str(listed)
    keyed = httpx.get(f"{base}/requests/{rid}.json", params={"api_key": tokens["viewer"]})
    assert keyed.status_code == 200, keyed.text
    got = keyed.json()[0]
    assert (got["reporter_name"], got["email"], got["phone"]) == (
        "李 四", "li4@example.cn", "13900000000"
    )  # fmt: skip
    bearer = httpx.get(
        f"{base}/requests.json",
        params={"service_request_id": rid},
        headers={"Authorization": f"Bearer {tokens['viewer']}"},
    )
    assert bearer.status_code == 200 and bearer.json()[0]["phone"] == "13900000000"
    for path in (f"requests/{rid}.json", "requests.json"):
        _errors(httpx.get(f"{base}/{path}", params={"api_key": "wrong"}), 403)
    # the notice follows the case: accepted, then dispatched to its department
    with httpx.Client(headers={"Authorization": f"Bearer {tokens['admin']}"}) as admin:
        events = base.replace("/open311/v2", "/api/v1/events")
        r = admin.post(f"{events}/{rid}/actions", json={"action": "accept"})
        assert r.status_code == 200, r.text
        notice = httpx.get(f"{base}/requests/{rid}.json").json()[0]["service_notice"]
        assert notice.startswith("已受理，待派遣"), notice
        r = admin.post(f"{events}/{rid}/actions", json={"action": "dispatch"})
        assert r.status_code == 200, r.text
        notice = httpx.get(f"{base}/requests/{rid}.json").json()[0]["service_notice"]
        assert notice.startswith("已派遣至"), notice
        # in the request's language (?lang= or Accept-Language), like status_notes
        english = httpx.get(f"{base}/requests/{rid}.json", headers={"Accept-Language": "en"})
        notice = english.json()[0]["service_notice"]
        assert notice.startswith("Assigned to ") and "working" in notice, notice
        assert not any("\u4e00" <= c <= "\u9fff" for c in notice.split(" to ", 1)[0]), notice
