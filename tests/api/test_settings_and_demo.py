"""Configuration reaches the pages; the demo command registers the configured admin token."""

from __future__ import annotations

import httpx
from typer.testing import CliRunner

from api.cli import app
from api.pages.map import basemap_from_settings
from api.settings import MapSettings


def test_basemap_is_none_unless_configured() -> None:
    assert basemap_from_settings(MapSettings()) is None
    assert basemap_from_settings(MapSettings(basemap="tianditu")) is None  # no key: stay offline
    tianditu = basemap_from_settings(MapSettings(basemap="tianditu", tianditu_key="k123"))
    assert tianditu is not None and any("tianditu" in o for o in tianditu.origins())
    xyz = basemap_from_settings(
        MapSettings(basemap="xyz", xyz_url="http://tiles.city.local/{z}/{x}/{y}.png")
    )
    assert xyz is not None and list(xyz.origins()) == ["http://tiles.city.local"]


def test_demo_uses_the_configured_admin_token(
    monkeypatch, database_url, engine, demo_generation, live_server, tmp_path
) -> None:  # type: ignore[no-untyped-def]
    token = "ggt_configured-admin-token-for-test"
    monkeypatch.setenv("DATABASE_URL", database_url)
    monkeypatch.setenv("GRIDGIS_DATA_DIR", str(tmp_path))
    monkeypatch.setenv("GRIDGIS_ADMIN_TOKEN", token)
    result = CliRunner().invoke(app, ["demo", "--no-serve", "--city-only"], terminal_width=200)
    assert result.exit_code == 0, result.output
    assert token in result.output and "already loaded" in result.output
    r = httpx.get(f"{live_server}/api/v1/generations", headers={"Authorization": f"Bearer {token}"})
    assert r.status_code == 200
    # the printed administrator logs in on the page with user name and password
    password = (tmp_path / "admin-password").read_text().strip()
    assert password in result.output
    login = httpx.post(
        f"{live_server}/login",
        data={"username": "admin", "password": password, "next": "/map"},
        headers={"Origin": live_server},
    )
    assert login.status_code == 303 and login.headers["location"] == "/map"
    refused = httpx.post(
        f"{live_server}/login",
        data={"username": "admin", "password": password + "x", "next": "/map"},
        headers={"Origin": live_server},
    )
    assert refused.status_code == 401


def test_serve_refuses_zero_workers() -> None:
    result = CliRunner().invoke(app, ["serve", "--workers", "0"])
    assert result.exit_code == 2 and "at least 1" in result.output
