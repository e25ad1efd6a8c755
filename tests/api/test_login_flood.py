"""A sign-in flood never answers a server error (issue 11): 60 parallel sign-ins against the live
server, right and wrong passwords of a few people from a few addresses, answer only 303 (signed
in), 401 (refused), 429 (throttled) or 503 with ``Retry-After`` (the verifier or the database is
busy: try again); never a 500. A person whose password is right always gets in once the flood
is over."""

from __future__ import annotations

import secrets
from collections import Counter
from concurrent.futures import ThreadPoolExecutor

import httpx
import psycopg
import pytest
from sqlalchemy import Engine, text
from sqlalchemy.exc import OperationalError

from tests.api.accounts_support import PASSWORD, make_user

PARALLEL = 60


def _sign_in(live_server: str, name: str, password: str, address: str) -> httpx.Response:
    with httpx.Client(base_url=live_server, timeout=300, headers={"Origin": live_server}) as c:
        return c.post(
            "/login",
            data={"username": name, "password": password, "lang": "en"},
            headers={"X-Forwarded-For": address},
        )


def _forget(engine: Engine, names: list[str]) -> None:
    """Drop the throttle counters of these names (so that other tests start clean)."""
    from layers import login_throttle

    keys = [
        k
        for n in names
        for a in [*_ADDRESSES, "198.51.100.98", "198.51.100.99"]
        for _, k in login_throttle.keys(user=n, address=a)
    ]
    with engine.begin() as conn:
        conn.execute(text("DELETE FROM login_attempt WHERE key = ANY(:k)"), {"k": keys})


_ADDRESSES = [f"198.51.100.{i}" for i in (11, 12, 13)]  # TEST-NET-2, via X-Forwarded-For


def _flood(live_server: str, attempts: list[tuple[str, str, str]]) -> list[httpx.Response]:
    with ThreadPoolExecutor(PARALLEL) as pool:
        return list(pool.map(lambda a: _sign_in(live_server, *a), attempts))


def _check(answers: list[httpx.Response]) -> Counter[int]:
    statuses = Counter(r.status_code for r in answers)
    errors = [r for r in answers if r.status_code >= 500 and r.status_code != 503]
    assert not errors, [(r.status_code, r.text[:500]) for r in errors]
    assert set(statuses) <= {303, 401, 429, 503}, statuses
    for r in answers:
        if r.status_code in (429, 503):
            assert int(r.headers["retry-after"]) >= 1, r.headers
    return statuses


def test_sixty_parallel_sign_ins_never_answer_a_server_error(
    live_server: str, engine: Engine
) -> None:
    users = [make_user(engine, "viewer", prefix="flood")["name"] for _ in range(6)]
    attempts: list[tuple[str, str, str]] = []
    for i in range(PARALLEL):
        name = users[i % len(users)]
        good = i % 3 != 0  # two right passwords for each wrong one
        password = PASSWORD if good else f"wrong-{secrets.token_hex(3)}"
        attempts.append((name, password, _ADDRESSES[i % len(_ADDRESSES)]))
    try:
        statuses = _check(_flood(live_server, attempts))
        assert statuses[303] >= 1, statuses  # the flood slows sign-ins, it does not stop them
        # afterwards: each person signs in (from a fresh address, their pairs are not locked)
        for name in users:
            r = _sign_in(live_server, name, PASSWORD, "198.51.100.99")
            assert r.status_code == 303, (r.status_code, r.text[:300])
    finally:
        _forget(engine, [*users])


def test_a_flood_of_wrong_passwords_for_one_name_never_answers_a_server_error(
    live_server: str, engine: Engine
) -> None:
    name = make_user(engine, "viewer", prefix="flood")["name"]
    attempts = [(name, "wrong" if i % 2 else PASSWORD, _ADDRESSES[0]) for i in range(PARALLEL)]
    try:
        _check(_flood(live_server, attempts))  # a success resets the pair: no count to assert
        r = _sign_in(live_server, name, PASSWORD, "198.51.100.98")
        assert r.status_code == 303, (r.status_code, r.text[:300])
    finally:
        _forget(engine, [name])


@pytest.mark.parametrize(
    "error",
    [
        psycopg.errors.DeadlockDetected("deadlock detected"),
        OperationalError("UPDATE login_attempt …", {}, psycopg.errors.DeadlockDetected("dl")),
        psycopg.errors.SerializationFailure("could not serialize access"),
    ],
)
def test_a_transaction_the_server_cancelled_is_a_503_to_send_again(error: Exception) -> None:
    """The last resort of the kind behind the flood's 500s: a deadlock or a serialization
    failure the server broke by cancelling this request's transaction (nothing stored) is a
    503 with Retry-After, never a 500."""
    from api.errors import database_problem
    from layers.db import database_fault

    fault = database_fault(error)
    assert fault is not None and fault.kind == "conflict"
    response = database_problem(fault)
    assert response.status_code == 503 and int(response.headers["retry-after"]) >= 1
    assert response.media_type == "application/problem+json"
