"""Idempotency keys: a request sent twice with the same ``Idempotency-Key`` acts once.

A phone that loses the network after sending a report cannot know whether it arrived, so it
sends it again with the same key (a UUID it made when the officer pressed "send"). The first
request that carries a key claims it (one row in ``idempotency_key``, unique per caller and
key) in the same transaction as its work, and stores its answer there; a later request with the
same key answers that stored result and does nothing else. A request that fails leaves no
claim (its transaction rolls back), so it can be retried with the same key. Two requests racing
with one key: the second waits on the unique index until the first commits, then replays it.

The key is per caller (``owner``: their user, else their token), so one caller can neither
replay nor probe another's answers. A key reused for a different request (another path or
other fields) is refused (:class:`IdempotencyKeyReused`) rather than answered with the wrong
result. Rows are kept :data:`KEEP_DAYS` days (:func:`purge`), longer than any phone's queue.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any

import orjson
from sqlalchemy import (
    DateTime,
    Index,
    Integer,
    SmallInteger,
    String,
    UniqueConstraint,
    delete,
    func,
    select,
    update,
)
from sqlalchemy.dialects.postgresql import JSONB, insert
from sqlalchemy.orm import Mapped, Session, mapped_column

from layers.errors import DomainError
from layers.models import Base

KEY_PATTERN = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.:-]{7,99}")
KEEP_DAYS = 30


class InvalidIdempotencyKey(DomainError):
    """An ``Idempotency-Key`` header that is not 8-100 letters, digits, ``- _ . :``."""


class IdempotencyKeyReused(DomainError):
    """The key was already used by this caller for a different request."""


class IdempotencyKey(Base):
    __tablename__ = "idempotency_key"
    __table_args__ = (
        UniqueConstraint("owner", "key", name="idempotency_key_owner_key"),
        Index("idempotency_key_created_at", "created_at"),  # purge of old keys
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    owner: Mapped[str] = mapped_column(String(40))
    """``user:<id>``, or ``token:<id>`` for a token without a user."""
    key: Mapped[str] = mapped_column(String(100))
    request: Mapped[str] = mapped_column(String(300))
    """``METHOD /path sha256-of-the-fields``: what the key was first used for."""
    status_code: Mapped[int] = mapped_column(SmallInteger, server_default="200")
    response: Mapped[Any] = mapped_column(JSONB, nullable=True)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())


def check_key(value: str | None, field: str = "Idempotency-Key") -> str | None:
    """The header's key, None when absent; InvalidIdempotencyKey naming the fix otherwise."""
    if value is None or value == "":
        return None
    value = value.strip()
    if not KEY_PATTERN.fullmatch(value):
        raise InvalidIdempotencyKey(
            f"Idempotency-Key {value[:40]!r} is not 8 to 100 letters, digits or - _ . : ; "
            "send a UUID made when the user pressed send (crypto.randomUUID())",
            field=field,
        )
    return value


def owner_of(*, user_id: int | None, token_id: int | None, name: str) -> str:
    """Whose keys these are: the user (any of their tokens or sessions), else the token."""
    if user_id is not None:
        return f"user:{user_id}"
    if token_id is not None:
        return f"token:{token_id}"
    return f"name:{name}"[:40]


def fingerprint(method: str, path: str, fields: dict[str, Any]) -> str:
    """``METHOD /path`` and a SHA-256 of the request's fields (files are not part of it)."""
    digest = hashlib.sha256(orjson.dumps(fields, option=orjson.OPT_SORT_KEYS, default=str))
    return f"{method} {path}"[:230] + " " + digest.hexdigest()[:64]


def run_once(
    *,
    session: Session,
    key: str | None,
    owner: str,
    request: str,
    work: Callable[[], dict[str, Any]],
    status_code: int = 200,
) -> dict[str, Any]:
    """``work()``'s answer, done at most once per (``owner``, ``key``): a replay answers the
    stored one. No key: just ``work()``. Raises IdempotencyKeyReused if ``key`` was used for
    another ``request``. Runs in the caller's transaction (the claim commits with the work)."""
    if key is None:
        return work()
    claimed = session.execute(
        insert(IdempotencyKey)
        .values(owner=owner, key=key, request=request, status_code=status_code)
        .on_conflict_do_nothing(constraint="idempotency_key_owner_key")
        .returning(IdempotencyKey.id)
    ).scalar_one_or_none()
    if claimed is None:  # sent before (and committed): answer what it answered then
        row = session.execute(
            select(IdempotencyKey.request, IdempotencyKey.response).where(
                IdempotencyKey.owner == owner, IdempotencyKey.key == key
            )
        ).one()
        if row.request != request:
            raise IdempotencyKeyReused(
                f"Idempotency-Key {key!r} was already used for another request "
                f"({row.request.rsplit(' ', 1)[0]}); make a new key for each new request",
                field="Idempotency-Key",
            )
        return dict(row.response or {})
    answer = work()
    stored = orjson.loads(orjson.dumps(answer, default=str))
    session.execute(
        update(IdempotencyKey).where(IdempotencyKey.id == claimed).values(response=stored)
    )
    return answer


def purge(*, session: Session, older_than_days: int = KEEP_DAYS) -> int:
    """Forget keys older than ``older_than_days``; how many."""
    result = session.execute(
        delete(IdempotencyKey).where(
            IdempotencyKey.created_at < func.now() - timedelta(days=older_than_days)
        )
    )
    return int(result.rowcount)  # type: ignore[attr-defined]
