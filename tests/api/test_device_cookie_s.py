"""Nobody sharing the address can lock the real user out (issue 11, task S part 1; OWASP's
device cookies, api/device_cookie.py): an attacker fails 20 times for an admin from the admin's
own address; the admin's browser, holding the device cookie of an earlier sign-in, signs in at
once; a browser without it (or with a forged one, or one issued for another user) gets 429."""

from __future__ import annotations

import secrets

import httpx
from sqlalchemy import Engine

from api.device_cookie import DEVICE_COOKIE
from tests.api.accounts_support import PASSWORD, make_user


def _address() -> str:
    return f"198.51.100.{secrets.randbelow(250) + 1}"  # TEST-NET-2, via X-Forwarded-For


def _browser(live_server: str) -> httpx.Client:
    return httpx.Client(base_url=live_server, timeout=120, headers={"Origin": live_server})


def _sign_in(c: httpx.Client, name: str, password: str, address: str) -> httpx.Response:
    return c.post(
        "/login",
        data={"username": name, "password": password, "lang": "en", "next": "/map"},
        headers={"X-Forwarded-For": address},
    )


def test_an_attackers_failures_never_lock_the_browser_that_signed_in_before(
    live_server: str, engine: Engine
) -> None:
    admin = make_user(engine, "admin", prefix="dev")["name"]
    other = make_user(engine, "viewer", prefix="dev")["name"]
    office = _address()  # everybody behind one NAT (or a local proxy)
    with _browser(live_server) as mine, _browser(live_server) as attacker:
        first = _sign_in(mine, admin, PASSWORD, office)
        assert first.status_code == 303, first.text
        cookie = first.cookies.get(DEVICE_COOKIE)
        [header] = [h for h in first.headers.get_list("set-cookie")
                    if h.startswith(DEVICE_COOKIE + "=")]  # fmt: skip
        assert cookie and "httponly" in header.lower() and "samesite=strict" in header.lower()
        assert "path=/login" in header.lower() and admin.lower() not in header.lower()
        answers = [_sign_in(attacker, admin, "wrong password!", office).status_code
                   for _ in range(20)]  # fmt: skip
        assert answers[:5] == [401] * 5 and set(answers[5:]) == {429}, answers
        again = _sign_in(mine, admin, PASSWORD, office)
        assert again.status_code == 303, again.text  # at once: the device cookie counts alone
        assert again.cookies.get(DEVICE_COOKIE) not in (None, cookie)  # a new one each time
    with _browser(live_server) as fresh:
        refused = _sign_in(fresh, admin, PASSWORD, office)
        assert refused.status_code == 429 and int(refused.headers["Retry-After"]) >= 1
    with _browser(live_server) as forged:
        forged.cookies.set(DEVICE_COOKIE, cookie[:-4] + "AAAA", path="/login")
        assert _sign_in(forged, admin, PASSWORD, office).status_code == 429
    with _browser(live_server) as theirs:  # the other user's device cookie is not the admin's
        assert _sign_in(theirs, other, PASSWORD, _address()).status_code == 303
        assert _sign_in(theirs, admin, PASSWORD, office).status_code == 429


def test_a_device_cookies_own_failures_lock_only_that_cookie(
    live_server: str, engine: Engine
) -> None:
    name = make_user(engine, "viewer", prefix="dev")["name"]
    address = _address()
    with _browser(live_server) as c:
        assert _sign_in(c, name, PASSWORD, address).status_code == 303
        answers = [_sign_in(c, name, "not the password", address).status_code
                   for _ in range(6)]  # fmt: skip
        assert answers[:5] == [401] * 5 and answers[5] == 429, answers
        assert _sign_in(c, name, PASSWORD, address).status_code == 429  # this cookie is locked
    with _browser(live_server) as elsewhere:  # the untrusted path was never counted
        assert _sign_in(elsewhere, name, PASSWORD, address).status_code == 303


def test_forwarded_addresses_are_believed_only_from_configured_proxies() -> None:
    from api.settings import ServerSettings

    assert ServerSettings().proxy_options() == {"proxy_headers": False,
                                                "forwarded_allow_ips": None}  # fmt: skip
    behind = ServerSettings(forwarded_allow_ips="127.0.0.1, 10.0.0.0/8")
    assert behind.proxy_options() == {"proxy_headers": True,
                                      "forwarded_allow_ips": "127.0.0.1, 10.0.0.0/8"}  # fmt: skip
