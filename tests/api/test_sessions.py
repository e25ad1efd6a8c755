"""Page sessions (issue 11.1, 11.3): an opaque id checked on every request, ended by logout,
token revocation or disabling the user; cookie-authenticated writes only from this origin."""

from __future__ import annotations

import re
from contextlib import ExitStack
from datetime import UTC, datetime, timedelta

import httpx
import pytest
from sqlalchemy import text

from api.security import SESSION_COOKIE
from tests.api.accounts_support import PASSWORD, browser, login, make_token, make_user, problem


def _admin(live_server: str, tokens: dict[str, str]) -> httpx.Client:
    headers = {"Authorization": f"Bearer {tokens['admin']}"}
    return httpx.Client(base_url=live_server, headers=headers, timeout=60)


def test_revoking_a_token_ends_the_browser_session_made_with_it_at_once(
    live_server, engine, tokens
) -> None:  # type: ignore[no-untyped-def]
    user = make_user(engine, "admin")
    token = make_token(engine, user["id"])
    with browser(live_server) as page, login(live_server, user["name"]) as other:
        r = page.post("/login", data={"token": token["token"], "next": "/map"})
        assert r.status_code == 303
        assert page.get("/api/v1/generations").status_code == 200
        assert other.get("/api/v1/generations").status_code == 200  # password session
        with _admin(live_server, tokens) as admin:
            assert admin.delete(f"/api/v1/tokens/{token['id']}").status_code == 204
        # the very next request is refused, for writes too (no 12 h of life left)
        problem(page.get("/api/v1/generations"), 401, "Authorization")
        problem(page.post("/api/v1/devices", json={"name": "x"}), 401, "Authorization")
        # ... and every session of the token's user ends with it
        problem(other.get("/api/v1/generations"), 401, "Authorization")
        # the token itself is refused
        bearer = {"Authorization": f"Bearer {token['token']}"}
        assert httpx.get(f"{live_server}/api/v1/generations", headers=bearer).status_code == 401


def test_revoking_an_old_token_without_user_ends_its_session(live_server, engine) -> None:  # type: ignore[no-untyped-def]
    from layers.auth import create_token, revoke_token
    from layers.db import make_sessionmaker, transaction

    with transaction(make_sessionmaker(engine)) as session:
        row, value = create_token(session=session, name="old token", role="viewer")
    with browser(live_server) as page:
        assert page.post("/login", data={"token": value}).status_code == 303
        assert page.get("/api/v1/generations").status_code == 200
        with transaction(make_sessionmaker(engine)) as session:  # `gridgis token revoke`
            revoke_token(session=session, token_id=row.id)
        assert page.get("/api/v1/generations").status_code == 401


def test_the_cookie_is_an_opaque_httponly_lax_session_id(live_server, engine) -> None:  # type: ignore[no-untyped-def]
    user = make_user(engine, "viewer")
    with browser(live_server) as page:
        r = page.post("/login", data={"username": user["name"], "password": PASSWORD})
        cookie = r.headers["set-cookie"]
        assert cookie.startswith(f"{SESSION_COOKIE}=ggs_")
        assert "HttpOnly" in cookie and "SameSite=lax" in cookie and "Path=/" in cookie
        assert "Secure" not in cookie  # served over http here; https sets Secure
        value = page.cookies[SESSION_COOKIE]
        assert user["name"] not in value and "viewer" not in value  # nothing to read or forge
    with engine.connect() as conn:
        stored = conn.execute(
            text(
                "SELECT s.id_hash, s.user_agent, s.expires_at - s.created_at AS life "
                "FROM user_session s JOIN app_user u ON u.id = s.user_id WHERE u.name = :n"
            ),
            {"n": user["name"]},
        ).one()
    assert stored.id_hash != value and len(stored.id_hash) == 64  # only its SHA-256 is kept
    assert stored.user_agent.startswith("python-httpx")
    assert stored.life == timedelta(hours=12)  # settings.auth.session_max_age_s


def test_logout_is_a_post_that_ends_the_session_server_side(live_server, engine) -> None:  # type: ignore[no-untyped-def]
    user = make_user(engine, "viewer")
    with login(live_server, user["name"]) as page:
        cookie = page.cookies[SESSION_COOKIE]
        # GET /logout only shows a page with a button (a link or <img> cannot log anyone out)
        shown = page.get("/logout", params={"lang": "en"})
        assert shown.status_code == 200 and 'action="/logout"' in shown.text
        assert "Sign out" in shown.text and user["name"] in shown.text
        assert page.get("/api/v1/generations").status_code == 200
        csrf = re.search(r'name="csrf_token" value="([0-9a-f]+)"', shown.text)
        assert csrf is not None
        # without the form's token: 403, the sign-out page with the reason; the session stays
        refused = page.post("/logout", data={"csrf_token": "0" * 64, "lang": "en"})
        assert refused.status_code == 403 and "still signed in" in refused.text
        assert page.get("/api/v1/generations").status_code == 200
        out = page.post("/logout", data={"csrf_token": csrf.group(1), "lang": "en"})
        assert out.status_code == 303 and out.headers["location"] == "/login?lang=en"
        assert SESSION_COOKIE not in page.cookies  # the browser dropped it
    # the old cookie, replayed, is refused: the session ended in the database
    with browser(live_server) as thief:
        thief.cookies.set(SESSION_COOKIE, cookie)
        r = thief.get("/api/v1/generations")
        problem(r, 401, "Authorization")
        assert "log in again" in r.json()["detail"]
        assert thief.get("/logout").headers["location"].startswith("/login")


def test_expired_idle_and_disabled_sessions_are_refused(live_server, engine, tokens) -> None:  # type: ignore[no-untyped-def]
    users = [make_user(engine, "viewer") for _ in range(3)]
    with ExitStack() as stack:
        pages = [stack.enter_context(login(live_server, u["name"])) for u in users]
        with engine.begin() as conn:
            past = datetime.now(UTC) - timedelta(seconds=5)
            conn.execute(
                text("UPDATE user_session SET expires_at = :t WHERE user_id = :u"),
                {"t": past, "u": users[0]["id"]},
            )
            conn.execute(  # idle longer than settings.auth.session_idle_s (2 h)
                text("UPDATE user_session SET last_seen_at = :t WHERE user_id = :u"),
                {"t": past - timedelta(hours=3), "u": users[1]["id"]},
            )
        with _admin(live_server, tokens) as admin:
            r = admin.patch(f"/api/v1/users/{users[2]['id']}", json={"disabled": True})
            assert r.status_code == 200 and r.json()["disabled_at"] is not None
        for page in pages:
            problem(page.get("/api/v1/generations"), 401, "Authorization")


def test_cross_origin_cookie_writes_are_refused(live_server, engine, tokens) -> None:  # type: ignore[no-untyped-def]
    admin_user = make_user(engine, "admin")
    port = int(live_server.rsplit(":", 1)[1])
    other_port = f"http://127.0.0.1:{port + 1}"  # same site, another port: another origin
    body = lambda: {"name": f"csrf-{datetime.now().timestamp()}", "role": "viewer"}  # noqa: E731
    with login(live_server, admin_user["name"]) as page:
        for origin in (other_port, "https://evil.example", "null"):
            r = page.post("/api/v1/users", json=body(), headers={"Origin": origin})
            assert problem(r, 403, "Origin")["title"] == "Cross-site request refused"
        # a form from another origin with only a Referer, and a write with neither header
        page.headers.pop("Origin")
        r = page.post("/api/v1/users", json=body(), headers={"Referer": f"{other_port}/x"})
        problem(r, 403, "Origin")
        problem(page.post("/api/v1/users", json=body()), 403, "Origin")
        problem(page.delete("/api/v1/tokens/999999999"), 403, "Origin")
        # same origin (by Origin, or by Referer) works
        same = page.post("/api/v1/users", json=body(), headers={"Origin": live_server})
        assert same.status_code == 201, same.text
        by_ref = page.post("/api/v1/users", json=body(), headers={"Referer": f"{live_server}/map"})
        assert by_ref.status_code == 201, by_ref.text
        # reads with the cookie are never refused
        assert page.get("/api/v1/users", headers={"Origin": other_port}).status_code == 200
    # a login form posted from another origin is refused too (login CSRF)
    with browser(live_server) as page:
        r = page.post(
            "/login",
            data={"username": admin_user["name"], "password": PASSWORD},
            headers={"Origin": other_port},
        )
        assert r.status_code == 403 and SESSION_COOKIE not in page.cookies


def test_bearer_token_calls_are_unaffected_by_the_origin_check(live_server, tokens) -> None:  # type: ignore[no-untyped-def]
    for headers in (
        {"Authorization": f"Bearer {tokens['admin']}", "Origin": "https://elsewhere.example"},
        {"X-API-Token": tokens["admin"]},
    ):
        body = {"name": f"bearer-{datetime.now().timestamp()}", "role": "viewer"}
        r = httpx.post(f"{live_server}/api/v1/users", json=body, headers=headers)
        assert r.status_code == 201, r.text


def test_security_headers_on_every_answer(anon) -> None:  # type: ignore[no-untyped-def]
    for path in ("/health", "/login", "/api/v1/generations", "/static/gridgis/gridgis-login.css"):
        r = anon.get(path)
        assert r.headers["x-content-type-options"] == "nosniff", path
        assert r.headers["x-frame-options"] == "DENY", path
        assert r.headers["referrer-policy"] == "same-origin", path


def test_the_login_page_keeps_lang_and_next(anon) -> None:  # type: ignore[no-untyped-def]
    page = anon.get("/login", params={"lang": "en", "next": "/live?x=1"})
    assert page.status_code == 200 and 'lang="en"' in page.text and "User name" in page.text
    assert page.text.count('name="next" value="/live?x=1"') == 2  # both forms
    assert page.text.count('name="lang" value="en"') == 2
    assert "<script" not in page.text and "<style" not in page.text  # CSS is a static file
    failed = anon.post(
        "/login",
        data={"username": "nobody", "password": "wrong password", "next": "/live", "lang": "en"},
        headers={"Origin": str(anon.base_url).rstrip("/")},
    )
    assert failed.status_code == 401 and "wrong password" in failed.text
    assert 'name="next" value="/live"' in failed.text and 'lang="en"' in failed.text
    # a crafted next never leaves the site; markup in it is escaped
    evil = anon.get("/login", params={"next": '/"><img src=x onerror=alert(1)>'})
    assert "<img" not in evil.text


@pytest.mark.browser
def test_a_person_signs_in_and_out_in_chromium(browser, live_server, engine) -> None:  # type: ignore[no-untyped-def]
    user = make_user(engine, "viewer")
    context = browser.new_context()
    try:
        page = context.new_page()
        page.goto(f"{live_server}/login?lang=en&next=/logout%3Flang%3Den")
        page.fill("#username", user["name"])
        page.fill("#password", PASSWORD)
        page.click("#sign-in")
        page.wait_for_selector("#logout")  # /logout shows a button; it does not log out
        (cookie,) = [c for c in context.cookies() if c["name"] == SESSION_COOKIE]
        assert cookie["httpOnly"] and cookie["sameSite"] == "Lax"
        assert page.evaluate("document.cookie") == ""  # no script can read the session
        page.click("#logout")  # a POST from this origin, with the form's token
        page.wait_for_url("**/login?lang=en")
        assert [c for c in context.cookies() if c["name"] == SESSION_COOKIE] == []
    finally:
        context.close()
    replay = httpx.get(
        f"{live_server}/api/v1/generations", cookies={SESSION_COOKIE: cookie["value"]}
    )
    assert replay.status_code == 401


def test_origin_rule_compares_scheme_host_and_port() -> None:
    from api.security import is_cross_site_write

    def refused(method: str, scheme: str, host: str, **headers: str) -> bool:
        scope = {"method": method, "scheme": scheme}
        cookie = {"cookie": f"{SESSION_COOKIE}=ggs_x"}
        return is_cross_site_write(scope, {"host": host, **cookie, **headers}) is not None

    assert not refused("POST", "http", "gis.local", origin="http://gis.local:80")
    assert not refused("POST", "https", "gis.local", origin="https://GIS.local")
    assert refused("POST", "https", "gis.local", origin="http://gis.local")  # scheme
    assert refused("POST", "http", "gis.local:8000", origin="http://gis.local:8001")  # port
    assert refused("POST", "http", "gis.local", origin="http://gis.local.evil.example")
    assert refused("PUT", "http", "gis.local", referer="http://evil.example/gis.local")
    assert refused("DELETE", "http", "gis.local")  # cookie, neither header
    assert not refused("GET", "http", "gis.local", origin="http://evil.example")
    assert not refused("POST", "http", "gis.local", authorization="Bearer ggt_x")
    assert not refused("POST", "http", "gis.local", authorization="Basic dTpw")
    assert not refused("POST", "http", "gis.local", **{"x-api-token": "ggt_x"})
    assert is_cross_site_write({"method": "POST", "scheme": "http"}, {"host": "a"}) is None
