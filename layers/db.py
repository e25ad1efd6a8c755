"""Engine and sessions. One engine per app (kept on ``app.state``); one session per request.

Layer functions take the session as a keyword argument and never commit on their own: the
caller (a request, a CLI command) owns the transaction.
"""

from __future__ import annotations

import select
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

import psycopg
from sqlalchemy import Engine, create_engine, event, exc
from sqlalchemy.orm import DeclarativeBase, Session, sessionmaker


class Base(DeclarativeBase):
    """Declarative base of every GridGIS table (schema changes go through alembic only)."""


# Sync endpoints and their session dependency share AnyIO's thread pool (40 threads). If the
# connection pool were smaller, threads waiting for a connection could starve the threads that
# would return one, and the server would stall under load until pool_timeout; so the pool may
# grow past the thread pool's size.
THREADPOOL_SIZE = 40


def make_engine(url: str, *, pool_size: int = 10, echo: bool = False) -> Engine:
    """An engine for a PostGIS database URL (``postgresql+psycopg://…``)."""
    if url.startswith("postgresql://") or url.startswith("postgres://"):
        # Accept libpq-style URLs as people paste them; we speak psycopg 3.
        url = "postgresql+psycopg://" + url.split("://", 1)[1]
    engine = create_engine(
        url,
        pool_size=pool_size,
        max_overflow=max(pool_size, THREADPOOL_SIZE + 8 - pool_size),
        # A pooled connection the server dropped (restart, failover) is replaced at checkout
        # by a one-round-trip ping, never handed to a request.
        pool_pre_ping=True,
        echo=echo,
        connect_args={"options": "-c timezone=UTC"},
    )
    follow_server_state(engine)
    return engine


# -- database faults ---------------------------------------------------------------------------
@dataclass(frozen=True)
class DatabaseFault:
    """A failure of the database server itself, not of the statement: the request may succeed
    if sent again later. ``kind`` is ``unavailable`` (unreachable, restarting, connection lost),
    ``read_only`` (SQLSTATE 25006: ``default_transaction_read_only`` or a hot standby),
    ``disk_full`` (53100), ``out_of_resources`` (other 53xxx: memory, connection slots) or
    ``conflict`` (40P01 deadlock, 40001 serialization failure: cancelled, send it again);
    ``sqlstate`` is None when no server answered; ``message`` the server's or driver's first
    line."""

    kind: str
    sqlstate: str | None
    message: str


# SQLSTATEs meaning "the server, not the statement" (PostgreSQL manual, appendix A).
_FAULT_STATES = {
    "57P01": "unavailable",  # admin_shutdown: the server is stopping (restart, fast shutdown)
    "57P02": "unavailable",  # crash_shutdown: another backend crashed, the server restarts
    "57P03": "unavailable",  # cannot_connect_now: the server is starting up or shutting down
    "25006": "read_only",  # read_only_sql_transaction
    "53100": "disk_full",
    # The server cancelled the transaction to resolve a conflict with a concurrent one: nothing
    # of it was stored and the same request may simply be sent again (a last resort: code that
    # takes several rows' locks takes them in one order, e.g. layers/login_throttle.py).
    "40P01": "conflict",  # deadlock_detected
    "40001": "conflict",  # serialization_failure
}


def database_fault(error: BaseException) -> DatabaseFault | None:
    """The database fault behind ``error`` (SQLAlchemy-wrapped or a bare psycopg error), or
    None for anything else: a programming error (bad SQL, a missing table), a constraint or
    a value the server refused stays what it is.

    Connection failures: class 08 SQLSTATEs, the shutdown ones of class 57, a psycopg
    ``OperationalError`` with no SQLSTATE (connection refused, socket missing, connection
    lost: no server answered), and whatever SQLAlchemy itself recognised as a disconnect
    (``connection_invalidated``); a pool that stays exhausted past its timeout (the server
    too slow to hand back connections) is ``unavailable`` too; a transaction the server
    cancelled to break a deadlock or a serialization failure is a ``conflict`` (send again)."""
    if isinstance(error, exc.TimeoutError):  # QueuePool limit reached, no connection in time
        return DatabaseFault("unavailable", None, str(error).splitlines()[0])
    orig: BaseException | None = error
    invalidated = False
    if isinstance(error, exc.DBAPIError):
        orig = error.orig
        invalidated = bool(error.connection_invalidated)
    if not isinstance(orig, psycopg.Error):
        return None
    state = orig.sqlstate
    message = (str(orig).strip().splitlines() or [type(orig).__name__])[0]
    if state is not None:
        kind = _FAULT_STATES.get(state)
        if kind is None and state.startswith("53"):
            kind = "out_of_resources"
        if kind is None and state.startswith("08"):
            kind = "unavailable"
        if kind is None and invalidated:
            kind = "unavailable"
        return DatabaseFault(kind, state, message) if kind else None
    if invalidated or isinstance(orig, psycopg.OperationalError):
        return DatabaseFault("unavailable", None, message)
    return None


# -- pooled connections that follow the server --------------------------------------------------
def _opened_read_only(dbapi_connection: Any) -> bool:
    """True if the server reported ``default_transaction_read_only = on`` for this connection
    (PostgreSQL >= 14 reports it at connect time; no round trip)."""
    info = getattr(dbapi_connection, "info", None)
    if info is None:
        return False
    return bool(info.parameter_status("default_transaction_read_only") == "on")


def _closed_by_server(dbapi_connection: Any) -> bool:
    """True if an idle connection's socket has something to read: the server's farewell
    (``terminating connection due to administrator command``) or end-of-file after a
    restart. Nothing else arrives on an idle connection that does not LISTEN. One
    non-blocking ``poll``, no round trip."""
    try:
        fd = dbapi_connection.fileno()
    except (psycopg.Error, ValueError, OSError):
        return True
    poller = select.poll()
    poller.register(fd, select.POLLIN | select.POLLERR | select.POLLHUP)
    return bool(poller.poll(0))


def follow_server_state(engine: Engine, *, detect_dropped: bool = False) -> None:
    """Make ``engine``'s pool follow the server:

    - a connection opened while the database was read-only (``ALTER DATABASE … SET
      default_transaction_read_only = on`` applies to new connections only) is not reused but
      replaced at its next checkout, so lifting read-only takes effect at the next request;
    - with ``detect_dropped`` (an engine without ``pool_pre_ping``), a connection the server
      closed while it sat in the pool (restart, ``pg_terminate_backend``) is replaced too,
      found without a round trip (:func:`_closed_by_server`).

    A connection is checked from its second checkout on (a new one is what the server is now).
    """

    @event.listens_for(engine, "checkout")
    def _check(dbapi_connection: Any, record: Any, proxy: Any) -> None:
        if not record.info.get("gridgis_checked_out"):  # ``info`` is per DBAPI connection
            record.info["gridgis_checked_out"] = True
            return
        if _opened_read_only(dbapi_connection):
            raise exc.DisconnectionError("connection opened read-only; reconnecting")
        if detect_dropped and _closed_by_server(dbapi_connection):
            raise exc.DisconnectionError("connection closed by the server; reconnecting")


def make_sessionmaker(engine: Engine) -> sessionmaker[Session]:
    return sessionmaker(bind=engine, expire_on_commit=False, autoflush=False)


@contextmanager
def transaction(factory: sessionmaker[Session]) -> Iterator[Session]:
    """A session inside one transaction: committed on success, rolled back on error."""
    with factory() as session, session.begin():
        yield session
