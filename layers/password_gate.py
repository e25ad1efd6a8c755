"""Bounded password verification (issue 11): argon2 never piles up, never holds a connection.

Each argon2id verification costs ~64 MiB and tens of milliseconds of one core
(argon2-cffi's RFC 9106 low-memory profile, layers/accounts.py). A login flood used to run them
all at once, each while holding a database connection, until the pool (and ``/health``) starved.
Here:

- at most :data:`SLOTS` verifications run at once in this process (2 × cores), at most
  :data:`QUEUE` more wait for a slot, each at most :data:`WAIT_S` seconds; an attempt beyond
  that is refused at once with :class:`VerifierBusy` (503, ``Retry-After``), before it counts as
  an attempt or touches the database;
- a sign-in with a valid device cookie for that user (api/device_cookie.py: a browser that
  signed in as them before) takes a free general slot if there is one at once, else waits in a
  lane of its own (:data:`RESERVED_SLOTS` slots, :data:`RESERVED_QUEUE` waiting), so a flood of
  cookieless attempts, which fills the general slots and queue, never refuses the people who
  work here (issue 11: 40 % of right-password sign-ins got 503 during a flood). A flood from
  one's own device cookie is slowed by that device's own throttle (layers/login_throttle.py);
- callers look the hash up, release their connection, then call :func:`verify`;
- the hashing itself runs on :data:`SLOTS` threads of their own at a lower CPU priority
  (:data:`HASHING_NICE`), so that a flood slows the sign-ins, not ``/health`` or the other
  requests (measured: bench/bench_health_busy.py);
- an unknown user (``stored_hash`` None) is verified against a dummy hash of the same
  parameters, so an unknown name takes as long as a wrong password (no timing oracle).
"""

from __future__ import annotations

import contextlib
import os
import secrets
import threading
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass
from functools import cache

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

from layers.errors import DomainError

SLOTS = 2 * (os.cpu_count() or 1)
QUEUE = 4 * SLOTS
WAIT_S = 10.0
RETRY_AFTER_S = 2

RESERVED_SLOTS = max(2, SLOTS // 2)
"""Verifications reserved for sign-ins from a known device (a valid device cookie)."""
RESERVED_QUEUE = 2 * RESERVED_SLOTS


@dataclass
class _Lane:
    """A bounded set of slots: at most ``limit`` callers running or waiting."""

    slots: threading.BoundedSemaphore
    limit: int
    admitted: int = 0  # running + waiting


_lock = threading.Lock()
_GENERAL = _Lane(threading.BoundedSemaphore(SLOTS), SLOTS + QUEUE)
_RESERVED = _Lane(threading.BoundedSemaphore(RESERVED_SLOTS), RESERVED_SLOTS + RESERVED_QUEUE)


class VerifierBusy(DomainError):
    """Too many sign-ins being checked at once in this process (503 with ``Retry-After``)."""

    def __init__(self) -> None:
        super().__init__(
            f"the server is checking too many sign-ins at once; try again in {RETRY_AFTER_S} s",
            field="password",
            extra={"retry_after_s": RETRY_AFTER_S},
        )
        self.retry_after_s = RETRY_AFTER_S


def in_use() -> int:
    """Verifications running or waiting in this process now (both lanes)."""
    return _GENERAL.admitted + _RESERVED.admitted


@contextmanager
def _hold(lane: _Lane, *, wait: bool = True) -> Iterator[bool]:
    """Hold one slot of ``lane``: yields True when held; :class:`VerifierBusy` when the lane is
    full or no slot frees within :data:`WAIT_S` (``wait`` False: yields False at once instead
    of waiting or refusing)."""
    with _lock:
        if lane.admitted >= lane.limit:
            if not wait:
                yield False
                return
            raise VerifierBusy()
        lane.admitted += 1
    try:
        if not lane.slots.acquire(blocking=wait, timeout=WAIT_S if wait else None):
            if not wait:
                yield False
                return
            raise VerifierBusy()
        try:
            yield True
        finally:
            lane.slots.release()
    finally:
        with _lock:
            lane.admitted -= 1


@contextmanager
def slot(*, known_device: bool = False) -> Iterator[None]:
    """Hold one verification slot; :class:`VerifierBusy` at once when the queue is full, or
    after :data:`WAIT_S` without a free slot. Hold no database connection while waiting.
    ``known_device``: the sign-in carries a valid device cookie for that user — a free general
    slot if there is one now, else a slot of the reserved lane (see the module's docstring)."""
    if not known_device:
        with _hold(_GENERAL):
            yield
        return
    with _hold(_GENERAL, wait=False) as held:
        if held:
            yield
            return
    with _hold(_RESERVED):
        yield


@cache
def _dummy_hash(hasher: PasswordHasher) -> str:
    return hasher.hash(secrets.token_urlsafe(24))


def verify(hasher: PasswordHasher, stored_hash: str | None, password: str) -> bool:
    """Whether ``password`` matches ``stored_hash`` (an argon2 hash; None for an unknown user,
    checked against a dummy hash and always False). Call inside :func:`slot`, without a
    database connection."""
    target = stored_hash if stored_hash is not None else _dummy_hash(hasher)
    try:
        ok = _hashing().submit(hasher.verify, target, password).result()
    except (VerificationError, InvalidHashError):
        return False
    return bool(ok) and stored_hash is not None


HASHING_NICE = 10
"""How much lower the hashing threads' CPU priority is than the server's other threads."""


def _lower_priority() -> None:
    """Run this thread at :data:`HASHING_NICE` (Linux: per thread; elsewhere nothing)."""
    with contextlib.suppress(AttributeError, OSError):  # no per-thread priority: run as it is
        os.setpriority(os.PRIO_PROCESS, threading.get_native_id(), HASHING_NICE)


@cache
def _hashing() -> ThreadPoolExecutor:
    """The process's :data:`SLOTS` hashing threads, at a lower CPU priority: argon2 (which
    releases the GIL) gets the cores the event loop, ``/health`` and PostgreSQL leave, so a
    login flood slows sign-ins, not the rest of the server."""
    return ThreadPoolExecutor(  # one thread per slot of either lane: none waits for a thread
        max_workers=SLOTS + RESERVED_SLOTS,
        thread_name_prefix="gridgis-argon2",
        initializer=_lower_priority,
    )
