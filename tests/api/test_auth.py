"""Tokens, roles and the page session cookie (accounts and sessions in depth:
test_accounts.py, test_sessions.py)."""

from __future__ import annotations

import httpx
import pytest


@pytest.mark.parametrize(
    "path",
    [
        "/api/v1/locate?lon=120.3&lat=31.9",
        "/api/v1/grids?level=1",
        "/api/v1/generations",
        "/ogc/collections",
        "/ogc/conformance",
    ],
)
def test_api_needs_a_token(anon, path) -> None:  # type: ignore[no-untyped-def]
    r = anon.get(path)
    assert r.status_code == 401
    assert r.headers["content-type"].startswith("application/problem+json")
    assert r.headers["www-authenticate"].startswith("Bearer")
    assert r.json()["field"] == "Authorization"


def test_wrong_token_is_401(anon) -> None:  # type: ignore[no-untyped-def]
    r = anon.get("/api/v1/generations", headers={"Authorization": "Bearer ggt_nope"})
    assert r.status_code == 401
    assert "unknown or revoked token" in r.json()["detail"]


def test_health_and_ogc_landing_are_open(anon) -> None:  # type: ignore[no-untyped-def]
    assert anon.get("/health").json()["status"] == "ok"
    assert anon.get("/ogc").status_code == 200
    icon = anon.get("/favicon.ico")  # browsers ask for it on every page
    assert icon.status_code == 200 and icon.headers["content-type"] == "image/svg+xml"


@pytest.mark.parametrize("role", ["viewer", "dispatcher", "officer", "planner", "admin"])
def test_every_role_reads(live_server, tokens, role) -> None:  # type: ignore[no-untyped-def]
    r = httpx.get(f"{live_server}/api/v1/generations", headers={"X-API-Token": tokens[role]})
    assert r.status_code == 200


def test_tokens_are_stored_hashed(engine, tokens) -> None:  # type: ignore[no-untyped-def]
    from sqlalchemy import text

    with engine.connect() as conn:
        stored = conn.execute(text("SELECT token_hash FROM api_token")).scalars().all()
    assert tokens["admin"] not in stored
    assert all(len(h) == 64 for h in stored)


def test_revoked_token_is_refused(live_server, engine) -> None:  # type: ignore[no-untyped-def]
    from layers.auth import create_token, revoke_token
    from layers.db import make_sessionmaker, transaction

    with transaction(make_sessionmaker(engine)) as session:
        row, value = create_token(session=session, name="to revoke", role="viewer")
    headers = {"Authorization": f"Bearer {value}"}
    assert httpx.get(f"{live_server}/api/v1/generations", headers=headers).status_code == 200
    with transaction(make_sessionmaker(engine)) as session:
        revoke_token(session=session, token_id=row.id)
    assert httpx.get(f"{live_server}/api/v1/generations", headers=headers).status_code == 401


def test_login_sets_a_session_cookie_for_pages_and_api(live_server, tokens) -> None:  # type: ignore[no-untyped-def]
    with httpx.Client(base_url=live_server, headers={"Origin": live_server}) as browser:
        first = browser.get("/map")
        assert first.status_code == 303 and first.headers["location"].startswith("/login")
        bad = browser.post("/login", data={"token": "wrong", "next": "/map"})
        assert bad.status_code == 401 and "令牌无效" in bad.text
        ok = browser.post("/login", data={"token": tokens["viewer"], "next": "/map"})
        assert ok.status_code == 303 and ok.headers["location"] == "/map"
        assert browser.get("/api/v1/generations").status_code == 200
        browser.cookies.set("gridgis_session", "forged.cookie.value")
        forged = browser.get("/api/v1/generations")
        assert forged.status_code == 401 and "log in again" in forged.json()["detail"]


def test_login_never_redirects_off_site(live_server, tokens) -> None:  # type: ignore[no-untyped-def]
    with httpx.Client(base_url=live_server) as browser:
        r = browser.post("/login", data={"token": tokens["viewer"], "next": "//evil.example/x"})
        assert r.headers["location"] == "/"  # the front page


def test_unknown_path_is_a_problem(anon) -> None:  # type: ignore[no-untyped-def]
    r = anon.get("/api/v1/nothing-here")
    assert r.status_code == 404
    assert r.headers["content-type"].startswith("application/problem+json")


def test_access_log_redacts_secrets_in_urls() -> None:
    import logging

    from api.main import RedactSecrets

    record = logging.LogRecord(
        "uvicorn.access", logging.INFO, __file__, 1, '%s - "%s %s HTTP/%s" %d',
        ("127.0.0.1", "GET", "/api/v1/ingest/osmand?id=d1&key=ggd_s3cret&lat=1", "1.1", 200),
        None,
    )  # fmt: skip
    RedactSecrets().filter(record)
    message = record.getMessage()
    assert "ggd_s3cret" not in message and "key=***" in message and "id=d1" in message


def test_access_log_redacts_percent_encoded_secret_names() -> None:
    import logging

    from api.main import RedactSecrets

    for path in ("/api/v1/generations?a=1&%74oken=ggt_hidden", "/x?id=d&%6Bey=ggd_hidden"):
        record = logging.LogRecord(
            "uvicorn.access", logging.INFO, __file__, 1, '%s - "%s %s HTTP/%s" %d',
            ("127.0.0.1", "GET", path, "1.1", 200), None,
        )  # fmt: skip
        RedactSecrets().filter(record)
        assert "hidden" not in record.getMessage(), record.getMessage()


def test_an_empty_credential_header_never_falls_back_to_the_page_cookie(
    live_server, engine
) -> None:  # type: ignore[no-untyped-def]
    from tests.api.accounts_support import login, make_user

    user = make_user(engine, "admin")
    with login(live_server, user["name"]) as page:
        for header in ("Basic Og==", "Basic OiAgIA=="):  # Basic of ":" and ":   ": no token
            evil = {"Authorization": header, "Origin": "http://evil.example"}
            r = page.post("/api/v1/devices", json={"external_id": "csrf-probe"}, headers=evil)
            assert r.status_code in (401, 403), r.text
