"""A stored GPX track is the file's track, or nothing (issue 11.6, over real HTTP).

Proves: a track big enough to be parsed in the parse pool's child process (over
layers.tables.PARSE_IN_PROCESS_MAX_BYTES) is stored point for point as the file has it (time,
lon, lat, elevation); a file whose second half is broken XML stores nothing (422 field body);
a file whose second half has unusable times stores the first half and names each refused
point by its index (the documented per-point rule of docs/ingest.md); a resend stores nothing
twice; the long per-point error list of the answer is the whole list (api/big_json.py); a
batch over the same limit, read in the child too, is stored as sent (seq, attributes) with its
bad items named.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import orjson
import pytest
from sqlalchemy import Engine, text

from api.big_json import render_json
from layers.tables import PARSE_IN_PROCESS_MAX_BYTES
from tests.tracks_support import CITY_LAT, CITY_LON, StaffDevice, make_device

N = 4000  # points: about 400 KB, over the in-process limit (parsed in the child)
HEAD = (
    '<?xml version="1.0" encoding="UTF-8"?>\n<gpx version="1.1" creator="test" '
    'xmlns="http://www.topografix.com/GPX/1/1"><trk><name>巡查 track</name><trkseg>\n'
)
TAIL = "</trkseg></trk></gpx>\n"


@pytest.fixture
def device(engine: Engine, demo_generation: int) -> StaffDevice:
    return make_device(engine)


def _start() -> datetime:
    return (datetime.now(UTC) - timedelta(hours=3)).replace(microsecond=0)


def _point(i: int, t0: datetime, time_text: str | None = None) -> str:
    t = time_text if time_text is not None else (t0 + timedelta(seconds=i)).isoformat()
    return (f'<trkpt lat="{CITY_LAT + (i % 7) * 1e-5:.7f}" lon="{CITY_LON + i * 1e-6:.7f}">'
            f"<ele>{i % 50}.5</ele><time>{t}</time></trkpt>\n")  # fmt: skip


def _post(anon, device: StaffDevice, content: bytes):  # type: ignore[no-untyped-def]
    return anon.post(
        "/api/v1/ingest/gpx", params={"device": device.external_id}, content=content,
        headers={"Authorization": f"Bearer {device.secret}",
                 "Content-Type": "application/gpx+xml"},
    )  # fmt: skip


def _stored(engine: Engine, device_id: int) -> list[tuple[datetime, float, float, float]]:
    with engine.connect() as conn:
        return [
            (r.fix_time, r.raw_lon, r.raw_lat, r.altitude_m)
            for r in conn.execute(
                text("SELECT fix_time, raw_lon, raw_lat, altitude_m FROM position "
                     "WHERE device_id = :d ORDER BY fix_time"),
                {"d": device_id},
            )
        ]  # fmt: skip


def test_a_stored_track_is_the_files_track(anon, engine, device) -> None:
    t0 = _start()
    content = (HEAD + "".join(_point(i, t0) for i in range(N)) + TAIL).encode()
    assert len(content) > PARSE_IN_PROCESS_MAX_BYTES
    r = _post(anon, device, content)
    assert r.status_code == 200, r.text
    body = r.json()
    assert (body["received"], body["stored"], body["duplicates"]) == (N, N, 0)
    assert body["errors"] == [] and body["track_name"] == "巡查 track"
    expected = [
        (t0 + timedelta(seconds=i), float(f"{CITY_LON + i * 1e-6:.7f}"),
         float(f"{CITY_LAT + (i % 7) * 1e-5:.7f}"), i % 50 + 0.5)
        for i in range(N)
    ]  # fmt: skip
    stored = _stored(engine, device.id)
    assert [s[0] for s in stored] == [e[0] for e in expected]
    for got, want in zip(stored, expected, strict=True):
        assert got[1] == pytest.approx(want[1], abs=1e-9)
        assert got[2] == pytest.approx(want[2], abs=1e-9)
        assert got[3] == pytest.approx(want[3], abs=1e-3)  # a 4-byte real
    again = _post(anon, device, content)  # a resend stores nothing twice
    assert again.status_code == 200 and again.json()["stored"] == 0
    assert again.json()["duplicates"] == N
    assert len(_stored(engine, device.id)) == N


def test_a_track_whose_second_half_is_broken_xml_stores_nothing(anon, engine, device) -> None:
    t0 = _start()
    good = "".join(_point(i, t0) for i in range(N // 2))
    broken = "".join(_point(i, t0) for i in range(N // 2, N)).replace("</trkpt>", "</trk pt>")
    r = _post(anon, device, (HEAD + good + broken + TAIL).encode())
    assert r.status_code == 422, r.text
    assert r.headers["content-type"].startswith("application/problem+json")
    assert r.json()["field"] == "body" and "GPX" in r.json()["detail"]
    truncated = (HEAD + good + "".join(_point(i, t0) for i in range(N // 2, N)))[:-5000]
    cut = _post(anon, device, truncated.encode())
    assert cut.status_code == 422 and cut.json()["field"] == "body", cut.text
    assert _stored(engine, device.id) == []


def test_a_track_whose_second_half_has_bad_times_stores_the_first_half(
    anon, engine, device
) -> None:
    """The documented rule (docs/ingest.md): each point is stored or refused by its index."""
    t0 = _start()
    points = [_point(i, t0) for i in range(N // 2)]
    points += [_point(i, t0, "not a time" if i % 2 else "1899-01-01T00:00:00Z")
               for i in range(N // 2, N)]  # fmt: skip
    r = _post(anon, device, (HEAD + "".join(points) + TAIL).encode())
    assert r.status_code == 200, r.text
    body = r.json()
    assert (body["received"], body["stored"], body["rejected"]) == (N, N // 2, N // 2)
    assert [e["index"] for e in body["errors"]] == list(range(N // 2, N))  # every one listed
    assert body["errors"][0]["field"] == f"trkpt/{N // 2}/time"
    assert [s[0] for s in _stored(engine, device.id)] == [
        t0 + timedelta(seconds=i) for i in range(N // 2)
    ]
    all_bad = [_point(i, t0, "not a time") for i in range(N)]
    none = _post(anon, device, (HEAD + "".join(all_bad) + TAIL).encode())
    assert none.status_code == 422 and none.json()["field"] == "body", none.text


@pytest.mark.parametrize("items", [0, 1, 1999, 2000, 2001, 9000])
def test_long_answers_render_as_one_document(items: int) -> None:
    body = {"received": items, "errors": [{"index": i, "detail": f"点 {i}"} for i in range(items)],
            "track_name": None}  # fmt: skip
    assert orjson.loads(render_json(body, long_list="errors")) == body
    assert orjson.loads(render_json({"errors": []}, long_list="errors")) == {"errors": []}


def test_a_big_batch_read_in_the_child_is_stored_as_sent(anon, engine, device) -> None:
    """A batch over the in-process limit is read in the parse child: the same answer."""
    t0 = _start()
    fixes = [
        {"time": (t0 + timedelta(seconds=i)).isoformat(), "lon": CITY_LON + i * 1e-6,
         "lat": CITY_LAT, "accuracy_m": 5.0, "seq": i,
         "attributes": {"n": i, "tag": "巡查"} if i % 3 == 0 else None}
        for i in range(N)
    ]  # fmt: skip
    fixes[7]["time"] = "not a time"
    fixes[N - 1]["lat"] = 95.0
    content = orjson.dumps({"device": device.external_id, "fixes": fixes})
    assert len(content) > PARSE_IN_PROCESS_MAX_BYTES
    r = anon.post("/api/v1/ingest/batch", content=content,
                  headers={"Authorization": f"Bearer {device.secret}",
                           "Content-Type": "application/json"})  # fmt: skip
    assert r.status_code == 200, r.text
    body = r.json()
    assert (body["received"], body["stored"], body["rejected"]) == (N, N - 2, 2)
    assert [(e["index"], e["field"]) for e in body["errors"]] == [
        (7, "fixes/7/time"),
        (N - 1, "fixes/3999/lat"),
    ]
    with engine.connect() as conn:
        stored = conn.execute(
            text("SELECT seq, attributes FROM position WHERE device_id = :d ORDER BY fix_time"),
            {"d": device.id},
        ).all()
    assert [s.seq for s in stored] == [i for i in range(N - 1) if i != 7]
    assert {s.seq: s.attributes for s in stored}[3] == {"n": 3, "tag": "巡查"}
    assert {s.seq: s.attributes for s in stored}[4] is None
