"""Issue 13 (user trial): a phone's session lasts the shift. A sign-in to the officer app
(``next=/m/…``) is not ended by the command centre's 2 h idle rule (``session_idle_s``): it
lasts ``phone_session_s`` (12 h), idle included; a command-centre session keeps the 2 h rule;
the centre still ends a phone session at once (disable the user, end their sessions)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import httpx
from sqlalchemy import Engine, text

from api.pages.login import is_phone_app
from api.security import SESSION_COOKIE
from api.settings import AuthSettings
from layers import accounts
from tests.api.accounts_support import PASSWORD, browser, make_user, problem


def _sign_in(client: httpx.Client, name: str, next_url: str) -> str:
    """Sign in on /login returning to ``next_url``; the session cookie's value."""
    r = client.post("/login", data={"username": name, "password": PASSWORD, "next": next_url})
    assert r.status_code == 303, r.text
    cookie = r.cookies.get(SESSION_COOKIE)
    assert cookie
    return cookie


def _idle_for(engine: Engine, cookie: str, idle: timedelta) -> None:
    """Move the session's last use back by ``idle`` (instead of waiting)."""
    with engine.begin() as conn:
        n = conn.execute(
            text("UPDATE user_session SET last_seen_at = :t WHERE id_hash = :h"),
            {"t": datetime.now(UTC) - idle, "h": accounts.sha256(cookie)},
        ).rowcount
    assert n == 1


def _max_age(r: httpx.Response) -> int:
    cookie = next(v for k, v in r.headers.multi_items() if k == "set-cookie")
    return int(next(p.split("=")[1] for p in cookie.split("; ") if p.lower().startswith("max-age")))


def test_which_sign_ins_are_the_phone_apps() -> None:
    assert is_phone_app("/m/") and is_phone_app("/m") and is_phone_app("/m/?lang=en")
    assert not is_phone_app("/map") and not is_phone_app("/") and not is_phone_app("/mobile")
    assert AuthSettings().phone_session_s == 12 * 3600 > AuthSettings().session_idle_s


def test_a_phone_session_outlasts_the_idle_rule_a_desk_session_does_not(
    live_server: str, engine: Engine, tokens: dict[str, str]
) -> None:
    user = make_user(engine, "officer", prefix="shift")
    with browser(live_server) as phone, browser(live_server) as desk:
        r = phone.post("/login", data={"username": user["name"], "password": PASSWORD,
                                       "next": "/m/?lang=en"})  # fmt: skip
        assert r.status_code == 303 and r.headers["location"].startswith("/m/")
        assert _max_age(r) == 12 * 3600  # the cookie lasts the shift
        phone_cookie = r.cookies[SESSION_COOKIE]
        desk_cookie = _sign_in(desk, user["name"], "/map")
        assert accounts.is_phone_session(phone_cookie)
        assert not accounts.is_phone_session(desk_cookie)
        # both unused for 3 h (the phone in a pocket): the phone's stays, the desk's ends
        _idle_for(engine, phone_cookie, timedelta(hours=3))
        _idle_for(engine, desk_cookie, timedelta(hours=3))
        assert phone.get("/api/v1/me").status_code == 200
        assert phone.get("/m/").status_code == 200  # the app itself, not the login page
        problem(desk.get("/api/v1/me"), 401, "Authorization")
        # a write on the phone, checked in the database (never by the cache), goes through
        write = phone.post("/api/v1/events", json={})
        assert write.status_code != 401, write.text
        # a whole shift unused: the phone's ends too (a write reads the session again)
        _idle_for(engine, phone_cookie, timedelta(hours=12, minutes=1))
        problem(phone.post("/api/v1/events", json={}), 401, "Authorization")


def test_the_centre_still_ends_a_phone_session(
    live_server: str, engine: Engine, tokens: dict[str, str]
) -> None:
    users = [make_user(engine, "officer", prefix="shift") for _ in range(2)]
    with browser(live_server) as one, browser(live_server) as two:
        cookies = [_sign_in(c, u["name"], "/m/") for c, u in ((one, users[0]), (two, users[1]))]
        for cookie in cookies:
            _idle_for(engine, cookie, timedelta(hours=3))
        assert one.get("/api/v1/me").status_code == 200
        assert two.get("/api/v1/me").status_code == 200
        headers = {"Authorization": f"Bearer {tokens['admin']}"}
        with httpx.Client(base_url=live_server, headers=headers, timeout=60) as admin:
            r = admin.patch(f"/api/v1/users/{users[0]['id']}", json={"disabled": True})
            assert r.status_code == 200, r.text
        from layers.db import make_sessionmaker, transaction

        with transaction(make_sessionmaker(engine)) as session:
            assert accounts.end_sessions(session=session, user_id=users[1]["id"]) >= 1
        problem(one.get("/api/v1/me"), 401, "Authorization")
        _refused_soon(two)


def _refused_soon(client: httpx.Client, timeout_s: float = 30) -> None:
    """Ended outside the server's process: its identity cache drops it on NOTIFY."""
    import time

    deadline = time.monotonic() + timeout_s
    while (status := client.get("/api/v1/me").status_code) != 401:
        assert status == 200 and time.monotonic() < deadline, status
        time.sleep(0.1)
