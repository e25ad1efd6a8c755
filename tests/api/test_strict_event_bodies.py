"""Event bodies are read strictly (issue 11): every key of a reroute's ``changes`` has a type, a
range and an existing id, or a 422 naming ``changes/<key>``; nothing is coerced or stored half."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from tests.api.accounts_support import problem
from tests.people_fixtures import *  # noqa: F403  (people_demo)


def _as(live_server: str, token: str) -> httpx.Client:
    headers = {"Authorization": f"Bearer {token}"}
    return httpx.Client(base_url=live_server, headers=headers, timeout=60)


@pytest.fixture(scope="module")
def case(live_server, tokens, demo_grids, people_demo) -> dict[str, Any]:  # type: ignore[no-untyped-def]
    l3 = demo_grids[demo_grids.level == 3].iloc[57]
    point = l3.geometry.representative_point()
    with _as(live_server, tokens["dispatcher"]) as d:
        body = {"lon": point.x, "lat": point.y, "subclass": "0401", "description": "strict",
                "ignore_duplicates": True}  # fmt: skip
        r = d.post("/api/v1/events", json=body)
        assert r.status_code == 201, r.text
        return {"id": r.json()["id"], "grid": l3.code, "lon": point.x, "lat": point.y}


BAD_CHANGES = [
    ("department", {"a": {"b": 1}}),
    ("department", ["x"]),
    ("department", ""),
    ("department", None),
    ("department", 7),
    ("department", "d" * 101),
    ("squad_team_id", [1]),
    ("squad_team_id", 2147483647),
    ("chief_person_id", True),
    ("chief_person_id", "abc"),
    ("chief_person_id", 99999999999),
    ("chief_person_id", -1),
    ("chief_person_id", 0),
    ("chief_person_id", 1.5),
    ("worker_person_id", "1"),
    ("worker_person_id", 2147483647),
    ("grid_code", 320281001001001),
    ("grid_code", "3202810010010"),
    ("grid_code", "999999999999999"),
]


def test_every_key_of_changes_is_checked(live_server, tokens, case) -> None:  # type: ignore[no-untyped-def]
    url = f"/api/v1/events/{case['id']}/routing"
    with _as(live_server, tokens["dispatcher"]) as d:
        before = d.get(f"/api/v1/events/{case['id']}").json()
        for key, value in BAD_CHANGES:
            r = d.post(url, json={"changes": {key: value}, "reason": "r"})
            body = problem(r, 422, f"changes/{key}")
            assert "body" not in body["detail"] and "constraint" not in body["detail"], body
        after = d.get(f"/api/v1/events/{case['id']}").json()
        assert after["routing"] == before["routing"] and after["version"] == before["version"]
        # the good ones still work, null clears an assignment
        r = d.post(url, json={"changes": {"department": "市住建局"}, "reason": "属住建"})
        assert r.status_code == 200, r.text
        assert r.json()["routing"]["department"] == "市住建局"
        r = d.post(url, json={"changes": {"chief_person_id": None}, "reason": "无"})
        assert r.status_code == 200, r.text


def test_the_document_describes_the_changes(live_server) -> None:  # type: ignore[no-untyped-def]
    doc = httpx.get(f"{live_server}/openapi.json", timeout=60).json()
    op = doc["paths"]["/api/v1/events/{event_id}/routing"]["post"]
    schema = op["requestBody"]["content"]["application/json"]["schema"]
    changes = schema["properties"]["changes"]
    assert changes["additionalProperties"] is False
    assert changes["properties"]["department"]["maxLength"] == 100
    assert changes["properties"]["chief_person_id"]["maximum"] == 2**31 - 1


def _report(case: dict[str, Any], **extra: Any) -> dict[str, Any]:
    return {"lon": case["lon"], "lat": case["lat"], "subclass": "0401", "description": "x"} | extra


@pytest.mark.parametrize(
    ("extra", "field"),
    [
        ({"ignore_duplicates": "true"}, "ignore_duplicates"),
        ({"ignore_duplicates": "yes"}, "ignore_duplicates"),
        ({"ignore_duplicates": 1}, "ignore_duplicates"),
        ({"description": {"a": 1}}, "description"),
        ({"description": "d" * 4001}, "description"),
        ({"address": "a" * 501}, "address"),
        ({"lon": "120.3"}, "lon"),
        ({"lat": True}, "lat"),
        ({"reporter_name": 5}, "reporter_name"),
    ],
)
def test_a_report_takes_json_values_of_their_type(live_server, tokens, case, extra, field) -> None:  # type: ignore[no-untyped-def]
    with _as(live_server, tokens["dispatcher"]) as d:
        before = d.get("/api/v1/events", params={"limit": 1}).json()["count"]
        problem(d.post("/api/v1/events", json=_report(case, **extra)), 422, field)
        assert d.get("/api/v1/events", params={"limit": 1}).json()["count"] == before


def test_a_form_flag_is_true_false_1_or_0(live_server, tokens, case) -> None:  # type: ignore[no-untyped-def]
    form = {k: str(v) for k, v in _report(case).items()}
    with _as(live_server, tokens["dispatcher"]) as d:
        for bad in ("yes", "on", "TRUE "):
            fields = form | {"ignore_duplicates": bad}
            r = d.post("/api/v1/events", files={k: (None, v) for k, v in fields.items()})
            problem(r, 422, "ignore_duplicates")
        for good in ("1", "true"):
            r = d.post("/api/v1/events", files={k: (None, v) for k, v in
                       (form | {"ignore_duplicates": good}).items()})  # fmt: skip
            assert r.status_code == 201, r.text
        # the document and the server share the limits
        r = d.post("/api/v1/events", json=_report(case, description="d" * 4000, address="a" * 500,
                                                  ignore_duplicates=True))  # fmt: skip
        assert r.status_code == 201, r.text
    doc = httpx.get(f"{live_server}/openapi.json", timeout=60).json()
    schema = doc["paths"]["/api/v1/events"]["post"]["requestBody"]["content"]
    props = schema["application/json"]["schema"]["properties"]
    assert props["description"]["maxLength"] == 4000 and props["address"]["maxLength"] == 500


@pytest.mark.parametrize(
    ("extra", "field"),
    [
        ({"version": True}, "version"),
        ({"version": "x"}, "version"),
        ({"version": 1.5}, "version"),
        ({"version": -1}, "version"),
        ({"extension": 1e39}, "extension"),
        ({"extension": -5}, "extension"),
        ({"extension": 0}, "extension"),
        ({"extension": "2"}, "extension"),
        ({"note": ["n"]}, "note"),
    ],
)
def test_an_action_takes_strict_values(live_server, tokens, case, extra, field) -> None:  # type: ignore[no-untyped-def]
    url = f"/api/v1/events/{case['id']}/actions"
    with _as(live_server, tokens["dispatcher"]) as d:
        before = d.get(f"/api/v1/events/{case['id']}").json()["version"]
        problem(d.post(url, json={"action": "accept"} | extra), 422, field)
        assert d.get(f"/api/v1/events/{case['id']}").json()["version"] == before


def test_form_action_values_and_missing_event(live_server, tokens, case) -> None:  # type: ignore[no-untyped-def]
    url = f"/api/v1/events/{case['id']}/actions"
    with _as(live_server, tokens["dispatcher"]) as d:
        bad = [({"version": "x"}, "version"), ({"version": "1.0"}, "version")] + [
            ({"extension": v}, "extension") for v in ("1e39", "-5", "nan", "0")
        ]
        for extra, field in bad:
            r = d.post(url, files={k: (None, v) for k, v in ({"action": "accept"} | extra).items()})
            problem(r, 422, field)
        problem(d.get("/api/v1/events/-1"), 404, "event_id")
        problem(d.get("/api/v1/events/2147483647"), 404, "event_id")


@pytest.mark.parametrize(
    ("path", "field"),
    [
        ("/api/v1/events?subclass=01%0001", "subclass"),
        ("/api/v1/market-entities?area=%00", "area"),
        ("/api/v1/zones/1%00", "code"),
        ("/api/v1/event-dictionary/subclasses/01%000", "code"),
    ],
)
def test_a_nul_in_a_parameter_is_named(live_server, tokens, path, field) -> None:  # type: ignore[no-untyped-def]
    with _as(live_server, tokens["viewer"]) as v:
        body = problem(v.get(path), 422, field)
        assert "NUL" in body["detail"]


def test_a_token_for_an_unknown_user_names_user(live_server, tokens) -> None:  # type: ignore[no-untyped-def]
    with _as(live_server, tokens["admin"]) as admin:
        problem(admin.post("/api/v1/tokens", json={"user": "nosuch-xyz"}), 404, "user")
        problem(admin.post("/api/v1/tokens", json={"user_id": 2147483647}), 404, "user_id")


def test_a_batch_fix_time_with_a_nul_is_refused_by_index(live_server, engine) -> None:  # type: ignore[no-untyped-def]
    from tests.tracks_support import make_device

    device = make_device(engine, grid_code=None, name="nul")
    fixes = [
        {"time": "2026-05-01T08:30:00Z", "lon": 120.3, "lat": 31.9},
        {"time": "2026-05-01\x0008:31:00", "lon": 120.3, "lat": 31.9},
    ]
    r = httpx.post(f"{live_server}/api/v1/ingest/batch",
                   json={"device": device.external_id, "fixes": fixes},
                   headers={"Authorization": f"Bearer {device.secret}"}, timeout=60)  # fmt: skip
    assert r.status_code == 200, r.text
    answer = r.json()
    assert answer["stored"] == 1, answer
    assert [e["field"] for e in answer["errors"]] == ["fixes/1/time"], answer


def test_the_batch_limit_is_the_documented_one(live_server) -> None:  # type: ignore[no-untyped-def]
    from api.schemas.bodies import BATCH_MAX_FIXES

    doc = httpx.get(f"{live_server}/openapi.json", timeout=60).json()
    op = doc["paths"]["/api/v1/ingest/batch"]["post"]["requestBody"]["content"]
    assert op["application/json"]["schema"]["properties"]["fixes"]["maxItems"] == BATCH_MAX_FIXES


def test_open311_ids_beyond_integers_are_not_found(live_server) -> None:  # type: ignore[no-untyped-def]
    for rid in ("99999999999", "2147483648", "١٢"):
        r = httpx.get(f"{live_server}/open311/v2/requests/{rid}.json", timeout=60)
        assert r.status_code == 404, r.text
        assert "out of range" not in r.text and "integer" not in r.text
