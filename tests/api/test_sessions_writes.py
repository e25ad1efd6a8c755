"""An ended session never writes, even before the server hears of it (issue 11.1).

The identity cache of each server process is dropped by the database's NOTIFY (api/authcache.py);
a second process, or a lost notification, must still never let a revoked token, an ended page
session, a disabled user or a changed role write. Here the change is made with the database's
triggers off (``session_replication_role = replica``: no NOTIFY is sent at all), as if the
notification had not arrived yet: every write must still be refused (each write confirms the
token or session in the database), while the good caller writes as before."""

from __future__ import annotations

import secrets
from typing import Any

import httpx
from sqlalchemy import Engine, text

from tests.api.accounts_support import login, make_token, make_user, problem


def _silently(engine: Engine, sql: str, **params: Any) -> None:
    """Run ``sql`` without firing any trigger: the servers are not notified."""
    with engine.begin() as conn:
        conn.execute(text("SET LOCAL session_replication_role = replica"))
        conn.execute(text(sql), params)


def _new_device(client: httpx.Client) -> httpx.Response:
    return client.post("/api/v1/devices", json={"external_id": f"w-{secrets.token_hex(6)}"})


def _bearer(live_server: str, token: str) -> httpx.Client:
    return httpx.Client(
        base_url=live_server, headers={"Authorization": f"Bearer {token}"}, timeout=60
    )


def _cached(client: httpx.Client) -> None:
    """Read twice, so the server caches the caller (when its listener is connected)."""
    for _ in range(2):
        r = client.get("/api/v1/generations")
        assert r.status_code == 200, r.text


def test_a_token_revoked_unheard_never_writes(engine: Engine, live_server: str) -> None:
    user = make_user(engine, "admin")
    token = make_token(engine, user["id"])
    keep = make_token(engine, user["id"])  # another token of the same user stays good
    with _bearer(live_server, token["token"]) as c, _bearer(live_server, keep["token"]) as k:
        _cached(c)
        _cached(k)
        assert _new_device(c).status_code == 201  # the good case: it writes
        _silently(engine, "UPDATE api_token SET revoked_at = now() WHERE id = :i", i=token["id"])
        problem(_new_device(c), 401, "Authorization")
        problem(c.delete(f"/api/v1/tokens/{keep['id']}"), 401, "Authorization")  # any write
        problem(c.patch("/api/v1/devices/1", json={"label": "x"}), 401, "Authorization")
        assert _new_device(k).status_code == 201  # the user's other token is untouched


def test_a_page_session_ended_unheard_never_writes(engine: Engine, live_server: str) -> None:
    user = make_user(engine, "admin")
    with login(live_server, user["name"]) as page, login(live_server, user["name"]) as other:
        _cached(page)
        _cached(other)
        assert _new_device(page).status_code == 201
        # the session of `page` only (the newest one is `other`'s)
        _silently(
            engine,
            "UPDATE user_session SET ended_at = now() WHERE id = (SELECT min(id) FROM "
            "(SELECT id FROM user_session WHERE user_id = :u ORDER BY id DESC LIMIT 2) s)",
            u=user["id"],
        )
        problem(_new_device(page), 401, "Authorization")
        assert _new_device(other).status_code == 201  # the other session still writes


def test_a_disabled_user_never_writes(engine: Engine, live_server: str) -> None:
    user = make_user(engine, "admin")
    token = make_token(engine, user["id"])
    with _bearer(live_server, token["token"]) as c, login(live_server, user["name"]) as page:
        _cached(c)
        _cached(page)
        _silently(engine, "UPDATE app_user SET disabled_at = now() WHERE id = :u", u=user["id"])
        problem(_new_device(c), 401, "Authorization")
        problem(_new_device(page), 401, "Authorization")


def test_a_changed_role_or_scope_writes_with_the_new_one(engine: Engine, live_server: str) -> None:
    user = make_user(engine, "admin")
    token = make_token(engine, user["id"])
    with _bearer(live_server, token["token"]) as c:
        _cached(c)
        _silently(engine, "UPDATE app_user SET role = 'viewer' WHERE id = :u", u=user["id"])
        problem(_new_device(c), 403, "Authorization")  # a viewer now
        _silently(engine, "UPDATE app_user SET role = 'admin' WHERE id = :u", u=user["id"])
        assert _new_device(c).status_code == 201  # and an admin again


def test_reads_may_come_from_the_cache_but_writes_never(engine: Engine, live_server: str) -> None:
    """The rule itself (api/deps.py): only GET, HEAD and OPTIONS are answered from the cache."""
    from api.deps import READ_METHODS

    assert READ_METHODS == {"GET", "HEAD", "OPTIONS"}
    assert not {"POST", "PUT", "PATCH", "DELETE"} & READ_METHODS


def test_a_narrowed_scope_writes_only_inside_the_new_one(
    engine: Engine, live_server: str, tokens: dict[str, str]
) -> None:
    from tests.api.test_trust_scope2 import _case_in

    with engine.connect() as conn:
        grid, other_town = conn.execute(
            text(
                "SELECT g.code, (SELECT code FROM grid WHERE level = 1 AND generation_id = "
                "g.generation_id AND code <> left(g.code, 9) ORDER BY code LIMIT 1) "
                "FROM grid g JOIN generation n ON n.id = g.generation_id "
                "WHERE n.status = 'active' AND g.level = 3 ORDER BY g.code LIMIT 1"
            )
        ).one()
    case = _case_in(live_server, tokens, engine, grid)
    user = make_user(engine, "dispatcher")  # the city's
    token = make_token(engine, user["id"])
    body = {"changes": {"department": "城管"}, "reason": "scope write"}
    with _bearer(live_server, token["token"]) as c:
        _cached(c)
        assert c.post(f"/api/v1/events/{case}/routing", json=body).status_code == 200
        _silently(
            engine,
            "UPDATE app_user SET scope_kind = 'town', scope_code = :t WHERE id = :u",
            t=other_town,
            u=user["id"],
        )
        problem(c.post(f"/api/v1/events/{case}/routing", json=body), 403, "scope")


def test_two_server_processes_on_one_database(
    engine: Engine, live_server: str, database_url: str, tokens: dict[str, str], tmp_path
) -> None:  # type: ignore[no-untyped-def]
    """Revoked through one process, refused for writes by the other at once (its cache may hold
    the caller; its NOTIFY may still be on its way)."""
    from tests.server_support import app_server

    user = make_user(engine, "admin")
    token = make_token(engine, user["id"])
    with app_server(database_url, tmp_path) as second, _bearer(second, token["token"]) as c:
        _cached(c)
        assert _new_device(c).status_code == 201
        with _bearer(live_server, tokens["admin"]) as admin:  # the first process
            assert admin.delete(f"/api/v1/tokens/{token['id']}").status_code == 204
        problem(_new_device(c), 401, "Authorization")
