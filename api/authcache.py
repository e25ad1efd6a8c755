"""Who-is-calling without a database round trip: a per-process cache of resolved tokens and page
sessions, dropped the moment anything changes in any process.

Every request used to spend a query on its token before doing its work (``GET /locate`` ran at
0.57x the rate of ``/health``). A resolved identity is now kept for at most ``ttl_s`` (30 s,
within the minute at which ``last_used_at``/``last_seen_at`` are recorded, so use is still
recorded), never past a page session's expiry or idle limit, and dropped at once when:

- this process commits a change that affects identities (``layers.accounts.
  mark_identities_changed``; checked by :func:`api.deps.get_session` after the commit, before
  the response leaves), or
- any process or client commits one: the database triggers of migration 0013 send
  ``NOTIFY gridgis_auth``, which :class:`ChangeListener` receives on its own connection.

While the listener is not connected (start-up, database restart) the cache is off and every
request is checked in the database: revocation is never delayed by a lost notification.

The cache answers **reads only** (GET, HEAD, OPTIONS): the window in which an ended session,
a revoked token, a disabled user or a changed role or scope may still read is the time its
NOTIFY takes to arrive (milliseconds), at most ``ttl_s`` (30 s) should one be lost while the
listener stays connected. Every write reads the token or session row in the database before
acting (:func:`api.deps.current_principal`), in every process, so it is refused at once.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

from layers.accounts import Identity

log = logging.getLogger("gridgis.authcache")

AUTH_CHANNEL = "gridgis_auth"
GENERATION_CHANNEL = "gridgis_generation"  # publications (migration 0014)


class IdentityCache:
    """Resolved identities by key (``("token", sha256)`` or ``("session", sha256)``)."""

    def __init__(self, *, ttl_s: float = 30.0, max_entries: int = 50_000) -> None:
        self.ttl_s = ttl_s
        self.max_entries = max_entries
        self._items: dict[tuple[str, str], tuple[Identity, float]] = {}
        self._epoch = 0
        self._enabled = False
        self._lock = threading.Lock()

    @property
    def epoch(self) -> int:
        """Take this before reading the database; :meth:`put` refuses a value read before a
        later invalidation."""
        return self._epoch

    def get(self, key: tuple[str, str]) -> Identity | None:
        if not self._enabled:
            return None
        found = self._items.get(key)
        if found is None:
            return None
        identity, stored = found
        if time.monotonic() - stored > self.ttl_s or (
            identity.valid_until is not None and identity.valid_until <= datetime.now(UTC)
        ):
            self._items.pop(key, None)
            return None
        return identity

    def put(self, key: tuple[str, str], identity: Identity, epoch: int) -> None:
        with self._lock:
            if not self._enabled or epoch != self._epoch:
                return
            if len(self._items) >= self.max_entries:
                self._items.clear()
            self._items[key] = (identity, time.monotonic())

    def invalidate(self, *_: Any) -> None:
        with self._lock:
            self._epoch += 1
            self._items.clear()

    def set_enabled(self, enabled: bool) -> None:
        with self._lock:
            self._enabled = enabled
            self._epoch += 1
            self._items.clear()


class ChangeListener:
    """A daemon thread that LISTENs on ``channels`` and calls ``handlers[channel](payload)``
    for each notification; ``on_state(True/False)`` when its connection comes up or goes down
    (reconnecting every ``retry_s``)."""

    def __init__(
        self,
        conninfo: str,
        handlers: dict[str, Callable[[str], None]],
        on_state: Callable[[bool], None],
        *,
        retry_s: float = 1.0,
    ) -> None:
        self.conninfo = conninfo
        self.handlers = handlers
        self.on_state = on_state
        self.retry_s = retry_s
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="gridgis-listen", daemon=True)

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(timeout=10)

    def _run(self) -> None:
        import psycopg

        while not self._stop.is_set():
            try:
                with psycopg.connect(self.conninfo, autocommit=True, connect_timeout=10) as conn:
                    for channel in self.handlers:
                        conn.execute(f'LISTEN "{channel}"')
                    self.on_state(True)
                    while not self._stop.is_set():
                        for note in conn.notifies(timeout=1.0):
                            self.handlers[note.channel](note.payload)
            except Exception as exc:  # any failure: cache off, reconnect
                if not self._stop.is_set():
                    log.warning("change listener disconnected (%s); retrying", exc)
            finally:
                self.on_state(False)
            self._stop.wait(self.retry_s)
