"""Sign-in throttling that holds under concurrency and cannot be turned against users, and
password checks that cannot take the server down (issue 11; layers/login_throttle.py,
layers/password_gate.py)."""

from __future__ import annotations

import contextlib
import secrets
import threading
from collections import Counter
from concurrent.futures import ThreadPoolExecutor

import httpx
import pytest
from sqlalchemy import Engine, create_engine, text
from sqlalchemy.orm import Session

from layers import accounts, login_throttle, password_gate
from layers.errors import AuthError
from tests.api.accounts_support import PASSWORD, make_user


def _address() -> str:
    return f"203.0.113.{secrets.randbelow(250) + 1}"  # TEST-NET-3, via X-Forwarded-For


def _forget(engine: Engine, attempt: list[tuple[str, str]]) -> None:
    with engine.begin() as conn:
        conn.execute(
            text("DELETE FROM login_attempt WHERE key = ANY(:k)"), {"k": [k for _, k in attempt]}
        )


def _sign_in(live_server: str, name: str, password: str, address: str) -> httpx.Response:
    with httpx.Client(base_url=live_server, timeout=120, headers={"Origin": live_server}) as c:
        return c.post(
            "/login",
            data={"username": name, "password": password, "lang": "en"},
            headers={"X-Forwarded-For": address},
        )


def test_admit_counts_atomically_whatever_the_concurrency(engine) -> None:
    attempt = login_throttle.keys(user=f"race-{secrets.token_hex(4)}", address=_address())
    start = threading.Barrier(60)

    def one(_: int) -> str:
        start.wait()
        try:
            login_throttle.admit(engine, attempt)
        except login_throttle.TooManyAttempts:
            return "refused"
        return "admitted"

    try:
        with ThreadPoolExecutor(60) as pool:
            outcome = Counter(pool.map(one, range(60)))
        assert outcome == {"admitted": 5, "refused": 55}, outcome
    finally:
        _forget(engine, attempt)


def test_parallel_guesses_over_http_evaluate_at_most_the_limit(live_server, engine) -> None:
    user = make_user(engine, "viewer")
    address = _address()
    attempt = login_throttle.keys(user=user["name"], address=address)
    try:
        with ThreadPoolExecutor(60) as pool:
            answers = list(
                pool.map(lambda _: _sign_in(live_server, user["name"], "wrong", address), range(60))
            )
        statuses = Counter(r.status_code for r in answers)
        assert set(statuses) <= {401, 429, 503}, statuses  # 503: too many checks at once
        assert 1 <= statuses[401] <= 5, statuses
        for r in answers:
            if r.status_code in (429, 503):
                assert int(r.headers["retry-after"]) >= 1
    finally:
        _forget(engine, attempt)


def test_a_locked_name_still_signs_in_from_elsewhere_and_the_lock_is_capped(
    live_server, engine
) -> None:
    user = make_user(engine, "viewer")
    attacker, owner = _address(), _address()
    attempt = login_throttle.keys(user=user["name"], address=attacker)
    try:
        for _ in range(5):
            assert _sign_in(live_server, user["name"], "wrong", attacker).status_code == 401
        assert _sign_in(live_server, user["name"], PASSWORD, attacker).status_code == 429
        # the attacker cannot lock the owner out: the right password from elsewhere signs in
        r = _sign_in(live_server, user["name"], PASSWORD, owner)
        assert r.status_code == 303, r.text
        # however many failures, the pair is locked at most 15 min
        with engine.begin() as conn:
            conn.execute(
                text(
                    "UPDATE login_attempt SET failures = 40, locked_until = now() "
                    "WHERE key_kind = 'pair' AND key = :k"
                ),
                {"k": attempt[0][1]},
            )
        assert _sign_in(live_server, user["name"], "wrong", attacker).status_code == 401
        r = _sign_in(live_server, user["name"], PASSWORD, attacker)
        assert r.status_code == 429
        assert 60 < int(r.headers["retry-after"]) <= 900
    finally:
        _forget(engine, attempt)
        _forget(engine, login_throttle.keys(user=user["name"], address=owner))


def test_a_name_guessed_from_many_addresses_is_slowed_not_locked(live_server, engine) -> None:
    user = make_user(engine, "viewer")
    name = user["name"].lower()
    address = _address()
    try:
        with engine.begin() as conn:  # 60 guesses from elsewhere: past the name's limit (50)
            conn.execute(
                text(
                    "INSERT INTO login_attempt (key_kind, key, failures, last_failed_at) "
                    "VALUES ('user', :k, 60, now())"
                ),
                {"k": name},
            )
        # at its turn, the right password still signs in (and forgets the name's count)
        assert _sign_in(live_server, user["name"], PASSWORD, address).status_code == 303
        with engine.begin() as conn:
            conn.execute(
                text(
                    "INSERT INTO login_attempt (key_kind, key, failures, last_failed_at, "
                    "locked_until) VALUES ('user', :k, 90, now(), now() + interval '30 s')"
                ),
                {"k": name},
            )
        r = _sign_in(live_server, user["name"], PASSWORD, _address())
        assert r.status_code == 429 and int(r.headers["retry-after"]) <= 30  # a short wait
    finally:
        _forget(engine, [("user", name)])
        _forget(engine, login_throttle.keys(user=user["name"], address=address))


def test_a_repeated_wrong_token_is_throttled_per_token_and_address(live_server, tokens) -> None:
    address = _address()
    wrong = f"Bearer wrong-{secrets.token_hex(8)}"
    url = f"{live_server}/api/v1/generations"
    statuses = [
        httpx.get(url, headers={"Authorization": wrong, "X-Forwarded-For": address}).status_code
        for _ in range(7)
    ]
    assert statuses == [401] * 5 + [429] * 2
    r = httpx.get(url, headers={"Authorization": wrong, "X-Forwarded-For": address})
    assert r.json()["field"] == "token"
    ok = httpx.get(
        url, headers={"Authorization": f"Bearer {tokens['viewer']}", "X-Forwarded-For": address}
    )
    assert ok.status_code == 200


def test_the_verifier_refuses_at_once_when_its_queue_is_full(monkeypatch) -> None:
    full = password_gate.SLOTS + password_gate.QUEUE
    monkeypatch.setattr(password_gate._GENERAL, "admitted", full)
    with pytest.raises(password_gate.VerifierBusy) as caught, password_gate.slot():
        pass
    assert caught.value.extra["retry_after_s"] >= 1


def test_the_verifier_gives_up_waiting_for_a_slot(monkeypatch) -> None:
    monkeypatch.setattr(password_gate._GENERAL, "slots", threading.BoundedSemaphore(1))
    monkeypatch.setattr(password_gate, "WAIT_S", 0.05)
    with password_gate.slot(), pytest.raises(password_gate.VerifierBusy), password_gate.slot():
        pass
    with password_gate.slot():  # released again
        assert password_gate.in_use() >= 1


def test_passwords_are_checked_without_a_database_connection(
    database_url, engine, monkeypatch
) -> None:
    user = make_user(engine, "viewer")
    own = create_engine(database_url)
    seen: list[int] = []
    verify = password_gate.verify

    def spy(hasher, stored, password):  # type: ignore[no-untyped-def]
        seen.append(own.pool.checkedout())  # type: ignore[attr-defined]
        return verify(hasher, stored, password)

    monkeypatch.setattr(password_gate, "verify", spy)
    try:
        for name, password in ((user["name"], PASSWORD), (user["name"], "wrong"), ("nobody", "x")):
            with Session(own) as session, contextlib.suppress(AuthError):
                accounts.authenticate(session=session, name=name, password=password)
        assert seen == [0, 0, 0]
        # an unknown name costs the same argon2 check, against a dummy hash
        assert password_gate.verify(accounts._HASHER, None, "x") is False
    finally:
        own.dispose()
