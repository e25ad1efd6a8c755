"""Faults schemathesis found, each as a plain test.

- Open311 ``POST /requests`` with a JSON body whose ``api_key`` (or any field) was a list was a
  500; a NUL in a form field or a query value reached the database: now a GeoReport 400 naming
  the field.
- ``GET /generations/{id}/problems`` answers its declared schema (counts by level).
"""

from __future__ import annotations

import httpx
import pytest


def _georeport_400(r: httpx.Response, field: str) -> None:
    assert r.status_code == 400, r.text
    (error,) = r.json()
    assert error["code"] == 400 and field in error["description"]


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"api_key": ["x"], "service_code": "0101", "description": "d"}, "api_key"),
        ({"service_code": {"a": 1}, "description": "d"}, "service_code"),
        ({"service_code": "0101", "description": ["d"]}, "description"),
        ({"service_code": "0101", "description": "nul\x00here"}, "description"),
    ],
)
def test_open311_request_fields_must_be_single_values(
    live_server: str, tokens: dict[str, str], body: dict, field: str
) -> None:
    r = httpx.post(
        f"{live_server}/open311/v2/requests.json",
        json={"api_key": tokens["viewer"], **body} if field != "api_key" else body,
        timeout=30,
    )
    _georeport_400(r, field)


def test_open311_nul_in_a_form_field_or_query_is_a_400(
    live_server: str, tokens: dict[str, str]
) -> None:
    form = {"api_key": tokens["viewer"], "service_code": "01\x0001", "description": "x"}
    _georeport_400(httpx.post(f"{live_server}/open311/v2/requests.json", data=form), "service_code")
    r = httpx.get(
        f"{live_server}/open311/v2/requests.json",
        params={"api_key": tokens["viewer"], "service_code": "01\x0001"},
    )
    _georeport_400(r, "service_code")


def test_generation_problems_answer_counts_by_level(
    client: httpx.Client, demo_generation: int
) -> None:
    r = client.get(f"/api/v1/generations/{demo_generation}/problems")
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["generation"] == demo_generation
    assert set(body["counts"]) == {"1", "2", "3"}
    assert all(isinstance(n, int) for n in body["counts"].values())


@pytest.mark.parametrize("crs", [{}, ["wgs84"], 4326, True])
def test_a_crs_that_is_not_a_name_is_a_422(
    live_server: str, tokens: dict[str, str], crs: object
) -> None:
    """``POST /api/v1/events`` with ``"crs": {}`` was a 500 (the shared crs parser assumed text)."""
    r = httpx.post(
        f"{live_server}/api/v1/events",
        json={"lon": 120.3, "lat": 31.9, "crs": crs, "subclass": "0101", "description": "x"},
        headers={"Authorization": f"Bearer {tokens['officer']}"},
        timeout=30,
    )
    assert r.status_code == 422, r.text
    assert r.headers["content-type"].startswith("application/problem+json")
    assert r.json()["field"] == "crs"
