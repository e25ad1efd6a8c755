"""Issue 14 (Open311 details a user trial with real clients found), driven by the independent
``georeport`` client where it can: discovery ``formats`` as plain strings, ``tokens/{token}``
without a key, a multipart ``media`` file stored and answered as ``media_url``, the 90-day
limit of ``start_date``..``end_date``, public ``status_notes`` in the request's language, and
an address placed at village/town precision keeping its radius as the case's accuracy and
routed to the place, not to a grid's worker (Open311 and 12345 alike)."""

from __future__ import annotations

import io
from datetime import UTC, datetime, timedelta
from xml.etree import ElementTree as ET

import httpx
import pytest
import requests
from georeport import GeoReport
from PIL import Image

from gis.crs import Datum, from_cgcs2000

WANJIE = "江阴市澄江街道万街社区"  # a village (社区) of the demo city
CHENGJIANG = "澄江街道"  # its town


@pytest.fixture
def base(live_server: str) -> str:
    return f"{live_server}/open311/v2"


@pytest.fixture
def place(demo_grids):  # type: ignore[no-untyped-def]
    p = demo_grids[demo_grids.level == 3].iloc[130].geometry.representative_point()
    lon, lat = from_cgcs2000([p.x], [p.y], Datum.WGS84)
    return {"long": float(lon[0]), "lat": float(lat[0])}


def _png() -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", (8, 6), (200, 30, 30)).save(buffer, format="PNG")
    return buffer.getvalue()


def _errors(r: httpx.Response, status: int) -> str:
    assert r.status_code == status, r.text
    body = r.json()
    assert isinstance(body, list) and set(body[0]) == {"code", "description"}, body
    return str(body[0]["description"])


def _file(base: str, key: str, form: dict, **kw) -> httpx.Response:  # type: ignore[no-untyped-def,type-arg]
    data = {"api_key": key, "service_code": "0101", "description": "details test"} | form
    return httpx.post(f"{base}/requests.json", data=data, timeout=30, **kw)


def test_discovery_formats_are_plain_strings(base) -> None:
    doc = httpx.get(f"{base}/discovery.json").json()
    assert doc["endpoints"][0]["formats"] == ["text/xml", "application/json"]
    root = ET.fromstring(httpx.get(f"{base}/discovery.xml").content)
    formats = root.find("endpoints/endpoint/formats")
    assert formats is not None
    assert [(f.tag, f.text, list(f)) for f in formats] == [
        ("format", "text/xml", []),
        ("format", "application/json", []),
    ]


def test_token_is_read_without_a_key(base, tokens, place) -> None:
    r = _file(base, tokens["viewer"], place)
    assert r.status_code == 201, r.text
    rid, token = r.json()[0]["service_request_id"], r.json()[0]["token"]
    for fmt in ("json", "xml"):
        r = httpx.get(f"{base}/tokens/{token}.{fmt}")  # no api_key, no header
        assert r.status_code == 200, r.text
    assert httpx.get(f"{base}/tokens/{token}.json").json() == [
        {"token": token, "service_request_id": rid}
    ]
    _errors(httpx.get(f"{base}/tokens/gridgis-999999999.json"), 404)
    _errors(httpx.get(f"{base}/tokens/nonsense.json"), 404)


def test_a_media_file_is_stored_and_answered_as_media_url(base, tokens, place) -> None:
    png = _png()
    form = {k: str(v) for k, v in place.items()}
    r = _file(base, tokens["viewer"], form, files={"media": ("pile.png", png, "image/png")})
    assert r.status_code == 201, r.text
    created = r.json()[0]
    url = created["media_url"]
    assert url and url.startswith(base + "/media/" + created["service_request_id"] + "/")
    client = GeoReport(base, jurisdiction="jiangyin", output_format="json")
    assert client.get_service_request(created["service_request_id"])["media_url"] == url
    got = httpx.get(url)  # public, as the request is
    assert got.status_code == 200 and got.headers["content-type"] == "image/png"
    assert got.content == png
    # a staff photo of another case is not served by the media route
    photo_id = int(url.rsplit("/", 1)[1])
    _errors(httpx.get(f"{base}/media/{created['service_request_id']}/{photo_id + 1}"), 404)
    _errors(httpx.get(f"{base}/media/999999999/{photo_id}"), 404)
    _errors(httpx.get(f"{base}/media/0/0"), 404)

    # never dropped: a file that is not an image, or a file and a media_url, is a 400
    r = _file(base, tokens["viewer"], form, files={"media": ("notes.txt", b"hello", "text/plain")})
    assert "image" in _errors(r, 400).lower() or "photo" in _errors(r, 400).lower()
    both = form | {"media_url": "https://example.org/p.jpg"}
    r = _file(base, tokens["viewer"], both, files={"media": ("pile.png", png, "image/png")})
    assert "not both" in _errors(r, 400)


def test_date_range_is_limited_to_90_days(base, tokens, place) -> None:
    assert _file(base, tokens["viewer"], place).status_code == 201
    now = datetime.now(UTC) + timedelta(minutes=1)  # past the request's second, in W3C seconds
    w3c = "%Y-%m-%dT%H:%M:%SZ"
    client = GeoReport(base, jurisdiction="jiangyin", output_format="json")
    within = client.get_service_requests(
        start_date=(now - timedelta(days=89)).strftime(w3c), end_date=now.strftime(w3c)
    )
    assert isinstance(within, list) and within
    with pytest.raises(requests.HTTPError) as refused:
        client.get_service_requests(
            start_date=(now - timedelta(days=200)).strftime(w3c), end_date=now.strftime(w3c)
        )
    assert refused.value.response.status_code == 400
    params = {"start_date": (now - timedelta(days=91)).strftime(w3c), "end_date": now.strftime(w3c)}
    assert "90" in _errors(httpx.get(f"{base}/requests.json", params=params), 400)
    r = httpx.get(f"{base}/requests.xml", params=params)
    assert r.status_code == 400 and ET.fromstring(r.content).tag == "errors"
    swapped = {"start_date": params["end_date"], "end_date": params["start_date"]}
    _errors(httpx.get(f"{base}/requests.json", params=swapped), 400)
    # one end alone: the 90 days from it (an old start does not reach today's requests)
    old = {"start_date": (now - timedelta(days=365)).strftime(w3c)}
    recent = {x["service_request_id"] for x in within}
    listed = httpx.get(f"{base}/requests.json", params=old).json()
    assert not recent & {x["service_request_id"] for x in listed}
    upto = {"end_date": now.strftime(w3c)}
    assert recent <= {
        x["service_request_id"] for x in httpx.get(f"{base}/requests.json", params=upto).json()
    }


def test_status_notes_are_public_words_in_the_request_language(base, tokens, place) -> None:
    r = _file(base, tokens["viewer"], place)
    rid = r.json()[0]["service_request_id"]
    client = GeoReport(base, jurisdiction="jiangyin", output_format="xml")
    zh = client.get_service_request(rid)["status_notes"]
    assert zh == "已收到，待受理"
    en = httpx.get(f"{base}/requests/{rid}.json", headers={"Accept-Language": "en-GB,en"}).json()
    assert en[0]["status_notes"] == "Received, waiting to be accepted"
    en = httpx.get(f"{base}/requests/{rid}.json", params={"lang": "en"}).json()
    assert en[0]["status_notes"] == "Received, waiting to be accepted"
    listed = httpx.get(f"{base}/requests.json", params={"service_request_id": rid}).json()
    internal = {"reported", "accepted", "dispatched", "in_handling", "handled", "closed"}
    assert listed[0]["status_notes"] == zh and listed[0]["status_notes"] not in internal


def _case(base: str, admin_token: str, rid: str) -> dict:  # type: ignore[type-arg]
    return httpx.get(  # type: ignore[no-any-return]
        f"{base.removesuffix('/open311/v2')}/api/v1/events/{rid}",
        headers={"Authorization": f"Bearer {admin_token}"},
    ).json()


@pytest.mark.parametrize(("address", "precision"), [(WANJIE, "village"), (CHENGJIANG, "town")])
def test_an_address_placed_at_a_place_keeps_its_radius_and_goes_to_the_place(
    base, tokens, address, precision
) -> None:
    r = _file(base, tokens["viewer"], {"address_string": address})
    assert r.status_code == 201, r.text
    created = r.json()[0]
    assert created["location_precision"] == precision
    event = _case(base, tokens["admin"], created["service_request_id"])
    assert event["location_accuracy_m"] == pytest.approx(
        min(created["location_radius_m"], 10_000), abs=0.1
    )
    report = event["timeline"][0]
    assert report["action"] == "report"
    assert report["data"]["worker_from"] != "grid"  # never one grid's worker
    assert report["data"]["location_precision"] == precision
    place_zh = "村" if precision == "village" else "镇"
    note = report["note"]  # Chinese by default (the English half with lang=en)
    assert f"按地址定位到{place_zh}" in note or f"at {precision} precision" in note
    if precision == "town":
        assert report["data"]["worker_from"] in ("town", "town_dispatch")


def test_a_hotline_row_placed_by_address_keeps_its_radius(live_server, tokens) -> None:
    stamp = datetime.now(UTC).strftime("%H%M%S%f")
    body = (
        "ticket_no,received_at,subclass,description,address\n"
        f"F14B-{stamp},2026-11-30 09:00,0101,地址定位测试,{WANJIE}门口\n"
    ).encode()
    admin = {"Authorization": f"Bearer {tokens['admin']}"}
    r = httpx.post(
        f"{live_server}/api/v1/events/import/hotline",
        content=body,
        headers=admin | {"Content-Type": "text/csv"},
        timeout=60,
    )
    assert r.status_code == 201, r.text
    (eid,) = r.json()["event_ids"]
    event = httpx.get(f"{live_server}/api/v1/events/{eid}", headers=admin).json()
    assert event["location_accuracy_m"] is not None and event["location_accuracy_m"] > 0
    report = event["timeline"][0]
    assert report["data"]["worker_from"] != "grid"
    assert report["data"]["location_precision"] == "village"
