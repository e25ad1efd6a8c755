"""Uploads that must not stop the server (issue 11.6) and files in their declared encodings
(issue 14.4), over real HTTP.

Proves: a body over its route's limit is 413 problem+json whether its length is declared or
it arrives chunked; a 600k-row XLSX and a CSV field over 128 KiB are refused as 4xx; ingest
checks the device's credentials before it reads (and parses) the body; /health answers while
a big upload is parsed; GB18030, GBK and ISO-8859-1 files are read the same way by the roster
import, batch locate and the GPX upload (one table reader, one upload helper).
"""

from __future__ import annotations

import io
import threading
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import httpx
import openpyxl
import pytest
from sqlalchemy import Engine, text

from api.limits import DEFAULT_BODY_MAX_BYTES, limit_for
from layers.tables import TableError, TooManyRows, decode_text, read_table, xml_text
from tests.tracks_support import CITY_LAT, CITY_LON, StaffDevice, make_device

PROBLEM = "application/problem+json"
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


@pytest.fixture
def device(engine: Engine, demo_generation: int) -> StaffDevice:
    return make_device(engine)


@pytest.fixture
def planner(live_server: str, tokens: dict[str, str]) -> Iterator[httpx.Client]:
    with httpx.Client(
        base_url=live_server, headers={"Authorization": f"Bearer {tokens['planner']}"}, timeout=120
    ) as c:
        yield c


def too_large(r: httpx.Response) -> None:
    assert r.status_code == 413, r.text[:300]
    assert r.headers["content-type"] == PROBLEM
    assert r.json()["field"] == "body"


def chunks(total: int, size: int = 64 * 1024) -> Iterator[bytes]:
    sent = 0
    while sent < total:
        part = min(size, total - sent)
        sent += part
        yield b"x" * part


# -- size limits while streaming ----------------------------------------------------------------
def test_limits_table() -> None:
    assert limit_for("GET", "/api/v1/ingest/osmand") == 64 * 1024
    assert limit_for("POST", "/api/v1/ingest/batch") > limit_for("POST", "/api/v1/ingest/osmand")
    assert limit_for("POST", "/api/v1/households") == DEFAULT_BODY_MAX_BYTES


def test_declared_length_over_the_limit_is_413_before_reading(anon) -> None:
    r = anon.post(
        "/api/v1/ingest/owntracks?d=x", content=b"{" + b" " * (70 * 1024) + b"}",
        headers={"Content-Type": "application/json"},
    )  # fmt: skip
    too_large(r)


def test_chunked_body_over_the_limit_is_413(anon) -> None:
    r = anon.post(
        "/api/v1/ingest/owntracks?d=x", content=chunks(200 * 1024),
        headers={"Content-Type": "application/json"},
    )  # fmt: skip
    assert "content-length" not in {k.lower() for k in r.request.headers}
    too_large(r)


def test_chunked_upload_over_the_default_limit_is_413(planner) -> None:
    r = planner.post(
        "/api/v1/staff/import", content=chunks(21 * 1024 * 1024),
        headers={"Content-Type": "text/csv"},
    )  # fmt: skip
    too_large(r)


def test_ingest_checks_credentials_before_the_body(anon, device) -> None:
    garbage = b"{" * 100_000  # would be a 422 if it were parsed
    r = anon.post(
        "/api/v1/ingest/batch", params={"device": device.external_id}, content=garbage,
        headers={"Authorization": "Bearer ggd_wrong", "Content-Type": "application/json"},
    )  # fmt: skip
    assert r.status_code == 401 and r.json()["field"] == "key"
    r = anon.post(
        "/api/v1/ingest/batch", content=garbage,
        headers={"Authorization": "Bearer ggd_nobodys", "Content-Type": "application/json"},
    )  # fmt: skip
    assert r.status_code == 401
    r = anon.post(
        "/api/v1/ingest/gpx", params={"device": device.external_id}, content=garbage,
    )  # fmt: skip
    assert r.status_code == 401 and r.json()["field"] == "key"


# -- row limits while parsing -------------------------------------------------------------------
def _xlsx(rows: int) -> bytes:
    book = openpyxl.Workbook(write_only=True)
    sheet = book.create_sheet()
    sheet.append(["name", "id_number", "phone", "role", "grid_code"])
    for i in range(rows):
        sheet.append([i])
    buf = io.BytesIO()
    book.save(buf)
    return buf.getvalue()


def test_xlsx_of_600k_rows_is_refused(planner) -> None:
    data = _xlsx(600_000)
    r = planner.post("/api/v1/staff/import", content=data, headers={"Content-Type": XLSX})
    assert r.status_code == 413, r.text[:300]
    assert r.headers["content-type"] == PROBLEM and r.json()["field"] == "file"
    assert "rows" in r.json()["detail"]


def test_csv_field_over_128_kib_is_4xx(planner, client) -> None:
    big = b"name,id_number,phone,role,grid_code\n" + b'"' + b"x" * (200 * 1024) + b'",1,2,3,4\n'
    r = planner.post("/api/v1/staff/import", content=big, headers={"Content-Type": "text/csv"})
    assert r.status_code == 422 and r.json()["field"] == "file", r.text[:300]
    r = client.post(
        "/api/v1/locate", content=b"lon,lat,id\n120.2,31.9," + b"y" * (200 * 1024) + b"\n",
        headers={"Content-Type": "text/csv"},
    )  # fmt: skip
    assert r.status_code == 422 and r.json()["field"] == "body", r.text[:300]


def test_health_answers_during_a_big_upload(live_server, planner) -> None:
    data = _xlsx(49_000)  # under the row limit: every row is read and validated
    done = threading.Event()
    result: dict[str, int] = {}

    def upload() -> None:
        try:
            r = planner.post(
                "/api/v1/staff/import", params={"dry_run": "true"}, content=data,
                headers={"Content-Type": XLSX},
            )  # fmt: skip
            result["status"] = r.status_code
        finally:
            done.set()

    worker = threading.Thread(target=upload)
    worker.start()
    answered = []
    with httpx.Client(base_url=live_server, timeout=30) as c:
        time.sleep(0.3)
        while not done.is_set() and len(answered) < 20:
            t0 = time.monotonic()
            r = c.get("/health")
            answered.append((r.status_code, time.monotonic() - t0))
            time.sleep(0.1)
    worker.join(timeout=120)
    assert result.get("status") in (200, 422), result
    assert answered, "the upload finished before /health was asked"
    assert all(status == 200 and seconds < 5.0 for status, seconds in answered), answered


# -- encodings: one reader ------------------------------------------------------------------------
ROSTER_HEADER = "姓名,身份证号,手机号,角色,网格编码\n"


def test_reader_decodes_declared_and_detected_encodings() -> None:
    text_zh = "名称,备注\n澄江街道,巡查\n"
    assert read_table(text_zh.encode("gb18030"))[1] == ["澄江街道", "巡查"]
    assert read_table(text_zh.encode("gbk"), charset="GBK")[1] == ["澄江街道", "巡查"]
    assert read_table(("\ufeff" + text_zh).encode("utf-8"))[0] == ["名称", "备注"]
    latin = "name,city\nJosé,Zürich\n".encode("latin-1")
    assert read_table(latin, charset="ISO-8859-1")[1] == ["José", "Zürich"]
    assert decode_text(b"\xef\xbb\xbfa,b\n") == "a,b\n"
    with pytest.raises(TableError):
        read_table(b"a,b\n", charset="klingon")
    with pytest.raises(TableError):
        read_table("澄江".encode("gb18030"), charset="utf-8")
    with pytest.raises(TooManyRows):
        read_table(b"h\n" + b"1\n" * 11, max_rows=10)
    gpx = '<?xml version="1.0" encoding="GBK"?><gpx><name>澄江街道巡查</name></gpx>'
    assert "澄江街道巡查" in xml_text(gpx.encode("gbk"))


def test_locate_and_roster_read_gb18030_alike(client, planner) -> None:
    points = f"lon,lat,id\n{CITY_LON},{CITY_LAT},澄江一号\n".encode("gb18030")
    for headers in ({"Content-Type": "text/csv"},
                    {"Content-Type": "text/csv; charset=GB18030"}):  # fmt: skip
        r = client.post("/api/v1/locate", content=points, headers=headers)
        assert r.status_code == 200, r.text
        assert "澄江一号" in r.text
    roster = (ROSTER_HEADER + "编码测试,,13800000000,网格员,000\n").encode("gb18030")
    for headers in ({"Content-Type": "text/csv"},
                    {"Content-Type": "text/csv; charset=GBK"}):  # fmt: skip
        r = planner.post(
            "/api/v1/staff/import", params={"dry_run": "true"}, content=roster, headers=headers
        )
        assert r.status_code == 200, r.text
        columns = {e["column"] for e in r.json()["errors"]}
        assert "id_number" in columns  # the row is read (and its empty ID number reported)
        assert "role" not in columns  # 网格员 was decoded as the role it is
    wrong = planner.post(
        "/api/v1/staff/import", params={"dry_run": "true"}, content=roster,
        headers={"Content-Type": "text/csv; charset=no-such-charset"},
    )  # fmt: skip
    assert wrong.status_code == 422 and wrong.json()["field"] == "charset"


def test_gpx_in_iso_8859_1(anon, engine, device) -> None:
    t0 = (datetime.now(UTC) - timedelta(hours=1)).replace(microsecond=0)
    gpx = (
        '<?xml version="1.0" encoding="ISO-8859-1"?>\n<gpx version="1.1" creator="Zürich GPS" '
        'xmlns="http://www.topografix.com/GPX/1/1"><trk><name>Straße</name><trkseg>'
        f'<trkpt lat="{CITY_LAT}" lon="{CITY_LON}"><time>{t0.isoformat()}</time></trkpt>'
        "</trkseg></trk></gpx>"
    ).encode("latin-1")
    r = anon.post(
        "/api/v1/ingest/gpx", params={"device": device.external_id}, content=gpx,
        headers={"Authorization": f"Bearer {device.secret}"},
    )  # fmt: skip
    assert r.status_code == 200 and r.json()["stored"] == 1, r.text
    with engine.connect() as conn:
        n = conn.execute(
            text("SELECT count(*) FROM position WHERE device_id = :d"), {"d": device.id}
        ).scalar_one()
    assert n == 1


def test_gpx_as_multipart_form(anon, engine, device) -> None:
    """``curl -F file=@x.gpx ".../ingest/gpx?device=…&key=…"``: the multipart part ``file`` is
    read as the raw body would be (one upload helper), in the charset its part declares."""
    t0 = (datetime.now(UTC) - timedelta(hours=2)).replace(microsecond=0)
    gpx = (
        '<gpx version="1.1" creator="x" xmlns="http://www.topografix.com/GPX/1/1"><trk>'
        "<name>巡查</name><trkseg>"
        f'<trkpt lat="{CITY_LAT}" lon="{CITY_LON}"><time>{t0.isoformat()}</time></trkpt>'
        f'<trkpt lat="{CITY_LAT}" lon="{CITY_LON + 0.0001}">'
        f"<time>{(t0 + timedelta(seconds=30)).isoformat()}</time></trkpt>"
        "</trkseg></trk></gpx>"
    ).encode("gbk")
    params = {"device": device.external_id, "key": device.secret}
    r = anon.post(
        "/api/v1/ingest/gpx", params=params,
        files={"file": ("x.gpx", gpx, "application/gpx+xml; charset=GBK")},
    )  # fmt: skip
    assert r.status_code == 200, r.text
    assert r.json()["stored"] == 2 and r.json()["track_name"] == "巡查"
    again = anon.post(
        "/api/v1/ingest/gpx", params=params,
        files={"file": ("x.gpx", gpx, "application/gpx+xml; charset=GBK")},
    )  # fmt: skip
    assert again.status_code == 200 and again.json()["duplicates"] == 2, again.text
    # without its charset, non-UTF-8 XML with no declaration is refused (issue 14), not guessed
    guess = anon.post(
        "/api/v1/ingest/gpx", params=params, files={"file": ("x.gpx", gpx, "application/gpx+xml")}
    )
    assert guess.status_code == 422 and "encoding" in guess.json()["detail"], guess.text
    wrong_part = anon.post("/api/v1/ingest/gpx", params=params, files={"track": ("x.gpx", gpx)})
    assert wrong_part.status_code == 422 and wrong_part.json()["field"] == "file"
    with engine.connect() as conn:
        n = conn.execute(
            text("SELECT count(*) FROM position WHERE device_id = :d"), {"d": device.id}
        ).scalar_one()
    assert n == 2


def test_hotline_file_is_read_in_its_declared_charset(live_server, tokens) -> None:
    header = "ticket_no,received_at,subclass,description,lon,lat,crs,address\n"
    body = (header + "GBK-1,昨天上午,0103,道路脏,120.28,31.91,wgs84,\n").encode("gbk")
    with httpx.Client(
        base_url=live_server, headers={"Authorization": f"Bearer {tokens['dispatcher']}"}
    ) as c:
        r = c.post(
            "/api/v1/events/import/hotline",
            files={"file": ("12345.csv", body, "text/csv; charset=GBK")},
        )
    assert r.status_code == 422 and r.json()["field"] == "received_at", r.text
    assert "昨天上午" in r.json()["detail"]  # the cell was read as the GBK text it is
