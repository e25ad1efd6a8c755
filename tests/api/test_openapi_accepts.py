"""The OpenAPI document says what the server accepts (issue 11, third trial, schemathesis
ST202): integer path/query parameters carry PostgreSQL ``integer`` bounds, ``date`` query
parameters the YYYY-MM-DD pattern of 1970..2100, and ``PATCH /devices/{id}`` does not offer
``null`` for ``speed_unit`` and ``active`` (refused). Each rule is checked on the document and
on the server: a value the document allows is taken, one it does not is refused (422)."""

from __future__ import annotations

import re
import secrets
from typing import Any

import httpx
import pytest

from api.http_rules import INT_MAX, INT_MIN
from api.main import create_app
from api.openapi_accepts import DAY_PATTERN
from tests.api.accounts_support import problem


@pytest.fixture(scope="module")
def document() -> dict[str, Any]:
    return create_app().openapi()


def _params(doc: dict[str, Any]) -> list[tuple[str, dict[str, Any]]]:
    return [
        (f"{method.upper()} {path}", param)
        for path, item in doc["paths"].items()
        for method, op in item.items()
        if isinstance(op, dict)
        for param in op.get("parameters", [])
        if param.get("in") in ("path", "query")
    ]


def _branches(schema: dict[str, Any]) -> list[dict[str, Any]]:
    return [b for b in schema.get("anyOf", [schema]) if isinstance(b, dict)]


def test_integer_parameters_are_bounded_to_int32(document: dict[str, Any]) -> None:
    seen = 0
    for where, param in _params(document):
        for branch in _branches(param["schema"]):
            if branch.get("type") == "integer":
                seen += 1
                low = branch.get("minimum", branch.get("exclusiveMinimum"))
                high = branch.get("maximum", branch.get("exclusiveMaximum"))
                assert low is not None and low >= INT_MIN, (where, param["name"], branch)
                assert high is not None and high <= INT_MAX, (where, param["name"], branch)
    assert seen > 20


def test_date_parameters_carry_the_day_pattern(document: dict[str, Any]) -> None:
    dates = [(w, p) for w, p in _params(document) if p["in"] == "query" and p["name"] == "date"]
    assert dates
    for where, param in dates:
        strings = [b for b in _branches(param["schema"]) if b.get("type") == "string"]
        assert strings and all("pattern" in b for b in strings), (where, param)
        empty_ok = all(re.match(b["pattern"], "") for b in strings)
        assert empty_ok is not bool(param.get("required")), (where, param)
    day = re.compile(DAY_PATTERN)
    assert day.match("1970-01-01") and day.match("2100-12-31") and day.match("2026-05-31")
    for bad in ("", "1969-12-31", "2101-01-01", "2026-13-01", "2026-01-00", "0001-01-01"):
        assert not day.match(bad), bad


def test_device_patch_offers_no_null(document: dict[str, Any]) -> None:
    schema = document["components"]["schemas"]["DeviceUpdate"]["properties"]
    for name in ("speed_unit", "active"):
        assert "null" not in str(schema[name]), schema[name]
    assert "null" in str(schema["label"])  # label may be cleared


def test_the_server_takes_what_the_document_allows(
    live_server: str, tokens: dict[str, str]
) -> None:
    with httpx.Client(
        base_url=live_server, headers={"Authorization": f"Bearer {tokens['admin']}"}, timeout=300
    ) as a:
        r = a.get(f"/api/v1/events/{INT_MAX}/photos/{INT_MAX}")
        problem(r, 404, "photo_id")  # in range: looked up, not there
        problem(a.get(f"/api/v1/events/1/photos/{INT_MAX + 1}"), 422, "photo_id")
        # a required day: empty is refused; an optional one: empty is the default day
        problem(a.get("/api/v1/coverage", params={"date": ""}), 422, "date")
        assert a.get("/api/v1/patrol/daily", params={"date": ""}).status_code == 200
        r = a.get("/api/v1/patrol/daily", params={"date": "1970-01-01"})
        assert r.status_code == 200, r.text
        problem(a.get("/api/v1/patrol/daily", params={"date": "1969-12-31"}), 422, "date")
        made = a.post("/api/v1/devices", json={"external_id": f"acc-{secrets.token_hex(4)}"})
        assert made.status_code == 201, made.text
        device = made.json()["id"]
        for name in ("speed_unit", "active"):
            problem(a.patch(f"/api/v1/devices/{device}", json={name: None}), 422, name)
        r = a.patch(f"/api/v1/devices/{device}", json={"speed_unit": "mps", "label": None})
        assert r.status_code == 200 and r.json()["speed_unit"] == "mps", r.text


def test_a_coverage_run_too_fine_for_memory_is_refused(
    live_server: str, tokens: dict[str, str]
) -> None:
    """With ``date`` now generated as real days, schemathesis ran ``pixel_m=0.5`` over the
    whole city: a 16 GB raster, the server killed. Now a 422 naming pixel_m."""
    with httpx.Client(
        base_url=live_server, headers={"Authorization": f"Bearer {tokens['planner']}"}, timeout=300
    ) as p:
        params = {"date": "1970-01-01", "pixel_m": 0.5, "distance_m": 1000}
        body = problem(p.post("/api/v1/coverage/runs", params=params), 422, "pixel_m")
        assert "use pixel_m" in body["detail"], body
        assert p.get("/health").status_code == 200
