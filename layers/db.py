"""Engine and sessions. One engine per app (kept on ``app.state``); one session per request.

Layer functions take the session as a keyword argument and never commit on their own: the
caller (a request, a CLI command) owns the transaction.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from sqlalchemy import Engine, create_engine
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
    return create_engine(
        url,
        pool_size=pool_size,
        max_overflow=max(pool_size, THREADPOOL_SIZE + 8 - pool_size),
        pool_pre_ping=True,
        echo=echo,
        connect_args={"options": "-c timezone=UTC"},
    )


def make_sessionmaker(engine: Engine) -> sessionmaker[Session]:
    return sessionmaker(bind=engine, expire_on_commit=False, autoflush=False)


@contextmanager
def transaction(factory: sessionmaker[Session]) -> Iterator[Session]:
    """A session inside one transaction: committed on success, rolled back on error."""
    with factory() as session, session.begin():
        yield session
