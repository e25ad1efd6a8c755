"""A person on a browser they signed in from before gets in during a login flood (issue 11, task
S2 part 3: 40 % of right-password sign-ins got 503 while cookieless attempts flooded the password
checks): a sign-in with a valid device cookie for that user has a lane of its own in the
verifier (layers/password_gate.py); cookieless attempts beyond the general slots and queue are
still refused with 503 at once."""

from __future__ import annotations

import secrets
import threading
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import ExitStack, contextmanager

import httpx
import pytest

from layers import password_gate
from tests.api.accounts_support import PASSWORD, make_user

FLOOD = 240
PARALLEL = 60


@contextmanager
def _general_lane_full() -> Iterator[None]:
    """Every general slot held and its queue full (threads parked inside ``slot()``)."""
    release = threading.Event()
    inside = threading.Semaphore(0)

    def hold() -> None:
        with password_gate.slot():
            inside.release()
            release.wait(30)

    threads = [threading.Thread(target=hold) for _ in range(password_gate.SLOTS)]
    for t in threads:
        t.start()
    for _ in threads:
        assert inside.acquire(timeout=30)
    with ExitStack() as stack:  # the queue: counted as waiting, never started
        stack.callback(release.set)
        stack.enter_context(_queue_full())
        try:
            yield
        finally:
            release.set()
            for t in threads:
                t.join(30)


@contextmanager
def _queue_full() -> Iterator[None]:
    lane = password_gate._GENERAL
    with password_gate._lock:
        extra = lane.limit - lane.admitted
        lane.admitted += extra
    try:
        yield
    finally:
        with password_gate._lock:
            lane.admitted -= extra


def test_a_known_device_gets_a_slot_when_the_general_lane_is_full() -> None:
    with _general_lane_full():
        with pytest.raises(password_gate.VerifierBusy), password_gate.slot():
            pass  # a cookieless attempt: refused at once
        with password_gate.slot(known_device=True):
            assert password_gate.in_use() > password_gate.SLOTS
        with password_gate.slot(known_device=True):  # released again
            pass
    with password_gate.slot(known_device=True):  # a free general slot first, when there is one
        assert password_gate._RESERVED.admitted == 0


def test_the_reserved_lane_is_bounded_too(monkeypatch) -> None:  # type: ignore[no-untyped-def]
    monkeypatch.setattr(password_gate._RESERVED, "admitted", password_gate._RESERVED.limit)
    with (
        _general_lane_full(),
        pytest.raises(password_gate.VerifierBusy),
        password_gate.slot(known_device=True),
    ):
        pass


def _sign_in(base: str, name: str, password: str, address: str) -> int:
    with httpx.Client(base_url=base, timeout=300, headers={"Origin": base}) as c:
        r = c.post("/login", data={"username": name, "password": password, "lang": "en"},
                   headers={"X-Forwarded-For": address})  # fmt: skip
        return r.status_code


def test_a_cookie_holder_signs_in_during_a_flood(live_server: str, engine) -> None:  # type: ignore[no-untyped-def]
    user = make_user(engine, "viewer", prefix="flood")
    with httpx.Client(base_url=live_server, timeout=300, headers={"Origin": live_server}) as me:
        first = me.post("/login", data={"username": user["name"], "password": PASSWORD})
        assert first.status_code == 303, first.text  # the browser now holds a device cookie
        attempts = [
            (f"nobody-{secrets.token_hex(4)}", "wrong password here", f"198.51.100.{i % 200 + 20}")
            for i in range(FLOOD)
        ]
        with ThreadPoolExecutor(PARALLEL) as pool:
            flood = [pool.submit(_sign_in, live_server, *a) for a in attempts]
            mine = []
            for _ in range(3):  # while the flood runs
                r = me.post("/login", data={"username": user["name"], "password": PASSWORD})
                mine.append(r.status_code)
            statuses = [f.result() for f in flood]
        assert mine == [303, 303, 303], mine
        assert set(statuses) <= {401, 429, 503}, set(statuses)  # never a 500, nobody let in
