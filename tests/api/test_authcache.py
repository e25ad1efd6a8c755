"""The per-process identity cache never outlives a revocation: not one made through the API of
the same process, not one made by another client (CLI, SQL) that the process only hears of by
the database's NOTIFY, and not a page session past its expiry."""

from __future__ import annotations

import time

import httpx
from sqlalchemy import Engine, text

from layers.db import make_sessionmaker, transaction
from tests.api.accounts_support import login, make_token, make_user


def _status(live_server: str, token: str) -> int:
    r = httpx.get(f"{live_server}/api/v1/generations", headers={"Authorization": f"Bearer {token}"})
    return r.status_code


def _refused_within(live_server: str, token: str, seconds: float) -> bool:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if _status(live_server, token) == 401:
            return True
        time.sleep(0.05)
    return False


def test_revoked_through_the_api_is_refused_by_the_very_next_request(
    engine: Engine, live_server: str, tokens: dict[str, str]
) -> None:
    user = make_user(engine, "viewer")
    token = make_token(engine, user["id"])
    for _ in range(3):  # resolved once, then served from the cache
        assert _status(live_server, token["token"]) == 200
    r = httpx.delete(
        f"{live_server}/api/v1/tokens/{token['id']}",
        headers={"Authorization": f"Bearer {tokens['admin']}"},
    )
    assert r.status_code == 204
    assert _status(live_server, token["token"]) == 401


def test_revoked_by_another_client_is_refused_once_the_notification_arrives(
    engine: Engine, live_server: str
) -> None:
    user = make_user(engine, "viewer")
    token = make_token(engine, user["id"])
    assert _status(live_server, token["token"]) == 200
    assert _status(live_server, token["token"]) == 200  # cached now
    with engine.begin() as conn:  # as `gridgis token revoke` or a DBA would
        conn.execute(text("UPDATE api_token SET revoked_at = now() WHERE id = :i"),
                     {"i": token["id"]})  # fmt: skip
    # NOTIFY is delivered on commit; the server hears it within milliseconds (generous bound,
    # the machine may be busy): never the cache's 60 s
    assert _refused_within(live_server, token["token"], 10)


def test_disabled_user_and_changed_role_take_effect_at_once(
    engine: Engine, live_server: str
) -> None:
    from layers import accounts

    user = make_user(engine, "planner")
    token = make_token(engine, user["id"])
    assert _status(live_server, token["token"]) == 200
    with transaction(make_sessionmaker(engine)) as session:
        row = accounts.get_user(session=session, user_id=user["id"])
        accounts.disable_user(session=session, user=row)
    assert _refused_within(live_server, token["token"], 10)


def test_a_page_session_ended_elsewhere_is_refused(engine: Engine, live_server: str) -> None:
    user = make_user(engine, "viewer")
    with login(live_server, user["name"]) as browser:
        assert browser.get("/api/v1/generations").status_code == 200
        assert browser.get("/api/v1/generations").status_code == 200
        with engine.begin() as conn:
            conn.execute(text("UPDATE user_session SET ended_at = now() WHERE user_id = :u"),
                         {"u": user["id"]})  # fmt: skip
        deadline = time.monotonic() + 10
        while browser.get("/api/v1/generations").status_code != 401:
            assert time.monotonic() < deadline, "an ended session was still accepted after 10 s"
            time.sleep(0.05)


def test_cache_rules() -> None:
    from datetime import UTC, datetime, timedelta

    from api.authcache import IdentityCache
    from layers.accounts import Identity
    from layers.models import Role

    cache = IdentityCache(ttl_s=60)
    who = Identity(name="a", role=Role.VIEWER, user_id=1)
    key = ("token", "h")
    cache.put(key, who, cache.epoch)
    assert cache.get(key) is None  # off until the listener is connected
    cache.set_enabled(True)
    epoch = cache.epoch
    cache.put(key, who, epoch)
    assert cache.get(key) == who
    stale = cache.epoch
    cache.invalidate()
    assert cache.get(key) is None
    cache.put(key, who, stale)  # read before the invalidation: refused
    assert cache.get(key) is None
    ending = Identity(name="s", role=Role.VIEWER, valid_until=datetime.now(UTC) - timedelta(1))
    cache.put(("session", "x"), ending, cache.epoch)
    assert cache.get(("session", "x")) is None  # never past a session's end
    cache.put(key, who, cache.epoch)
    cache.set_enabled(False)  # the listener lost its connection: everything checked again
    assert cache.get(key) is None
