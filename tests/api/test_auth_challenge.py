"""A 401 names every scheme the API accepts (RFC 9110 §11.6.1): Bearer, and Basic with the
token as the password (QGIS's Basic authentication); a page's own script fetches get Bearer
only (a Basic challenge would make the browser open a password dialog over the page)."""

from __future__ import annotations

import base64

import httpx
import pytest


@pytest.mark.parametrize(
    "path", ["/api/v1/generations", "/ogc/collections", "/api/v1/grids?level=1"]
)
def test_401_advertises_bearer_and_basic(anon: httpx.Client, path: str) -> None:
    r = anon.get(path)
    assert r.status_code == 401
    challenge = r.headers["www-authenticate"]
    assert challenge.startswith('Bearer realm="gridgis"'), challenge
    assert 'Basic realm="gridgis"' in challenge, challenge
    assert r.headers["content-type"].startswith("application/problem+json")


def test_wrong_basic_password_is_401_with_both_schemes(anon: httpx.Client) -> None:
    bad = base64.b64encode(b"qgis:ggt_nope").decode()
    r = anon.get("/ogc/collections", headers={"Authorization": f"Basic {bad}"})
    assert r.status_code == 401
    assert "Basic" in r.headers["www-authenticate"]
    assert "Bearer" in r.headers["www-authenticate"]


def test_basic_with_the_token_as_password_is_accepted(
    anon: httpx.Client, tokens: dict[str, str]
) -> None:
    basic = base64.b64encode(f"qgis:{tokens['planner']}".encode()).decode()
    r = anon.get("/ogc/collections", headers={"Authorization": f"Basic {basic}"})
    assert r.status_code == 200, r.text


def test_a_page_script_gets_bearer_only(anon: httpx.Client) -> None:
    r = anon.get(
        "/api/v1/generations",
        headers={"Sec-Fetch-Dest": "empty", "Sec-Fetch-Site": "same-origin"},
    )
    assert r.status_code == 401
    assert r.headers["www-authenticate"] == 'Bearer realm="gridgis"'
