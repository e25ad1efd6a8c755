"""Login throttling (issue 11): failed logins limited per user name and per client address.

Policy (:data:`POLICY`): a key (a user name, lower-cased; or a client address) may fail
``free`` times in a row; each further failure locks it for ``base_s * 2**(n - free)`` seconds
(n the failures so far), at most ``max_s``. While a key is locked every attempt with it is
refused at once (HTTP 429 with ``Retry-After``) without looking at the password or token, so
guessing goes no faster. Failures older than ``window_s`` start the count again; a successful
login resets the user name and the address. Page logins count against both keys; API tokens
(Bearer, Basic, ``X-API-Token``, ``?token=``) have no user name and count against the address.

The state lives in PostgreSQL (``login_attempt``, migration 0020), so every worker process
and every server sees the same counts; it is written in its own short transaction (the
request's own transaction is rolled back when the login fails). Each lock is recorded in
``auth_audit`` (when, which key, after how many failures, until when).

Addresses: the peer address as uvicorn reports it (``X-Forwarded-For`` from a trusted proxy,
``--forwarded-allow-ips``). A loopback peer is never throttled by address: it is a proxy on
this host that did not forward the client's address, and locking it would lock everyone out.
"""

from __future__ import annotations

import ipaddress
import logging
import math
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import DateTime, Engine, Integer, String, Text, func, text
from sqlalchemy.orm import Mapped, mapped_column

from layers.db import Base
from layers.errors import DomainError

log = logging.getLogger("gridgis.auth")

USER = "user"
ADDRESS = "address"
KEY_MAX_CHARS = 100


@dataclass(frozen=True)
class ThrottlePolicy:
    """How many failures a key may have before it is locked, and for how long (seconds)."""

    free: int
    base_s: int = 30
    max_s: int = 3600
    window_s: int = 3600


POLICY: dict[str, ThrottlePolicy] = {
    USER: ThrottlePolicy(free=5),
    ADDRESS: ThrottlePolicy(free=20),  # an office behind one address holds many users
}


class TooManyAttempts(DomainError):
    """A user name or client address locked after repeated failures (429, ``Retry-After``)."""

    def __init__(self, retry_after_s: int, field: str) -> None:
        super().__init__(
            f"too many failed sign-ins; try again in {retry_after_s} s (each further failure "
            "doubles the wait)",
            field=field,
            extra={"retry_after_s": retry_after_s},
        )
        self.retry_after_s = retry_after_s


class LoginAttempt(Base):
    """Consecutive failed logins of one key (a user name or a client address)."""

    __tablename__ = "login_attempt"

    key_kind: Mapped[str] = mapped_column(String(10), primary_key=True)
    key: Mapped[str] = mapped_column(String(KEY_MAX_CHARS), primary_key=True)
    failures: Mapped[int] = mapped_column(Integer, nullable=False)
    last_failed_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), nullable=False)
    locked_until: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))


class AuthAudit(Base):
    """Security events of sign-in: each lock of a user name or an address."""

    __tablename__ = "auth_audit"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    at: Mapped[datetime] = mapped_column(
        DateTime(timezone=True), nullable=False, server_default=func.now()
    )
    event: Mapped[str] = mapped_column(String(20), nullable=False)
    key_kind: Mapped[str] = mapped_column(String(10), nullable=False)
    key: Mapped[str] = mapped_column(String(KEY_MAX_CHARS), nullable=False)
    failures: Mapped[int] = mapped_column(Integer, nullable=False)
    locked_until: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    detail: Mapped[str | None] = mapped_column(Text)


def keys(*, user: str | None, address: str | None) -> list[tuple[str, str]]:
    """The throttling keys of an attempt: the user name (stripped, lower-cased) and the client
    address unless it is loopback (see the module's docstring)."""
    out: list[tuple[str, str]] = []
    if user and user.strip():
        out.append((USER, user.strip().lower()[:KEY_MAX_CHARS]))
    if address:
        try:
            loopback = ipaddress.ip_address(address).is_loopback
        except ValueError:
            loopback = False
        if not loopback:
            out.append((ADDRESS, address[:KEY_MAX_CHARS]))
    return out


def check(engine: Engine, attempt_keys: list[tuple[str, str]]) -> None:
    """Raise :class:`TooManyAttempts` if any of ``attempt_keys`` is locked now (one indexed
    read; the field names ``username`` or ``address``)."""
    if not attempt_keys:
        return
    with engine.connect() as conn:
        rows = conn.execute(
            text(
                # the primary key index; the seconds left rounded up
                "SELECT key_kind, EXTRACT(EPOCH FROM locked_until - now()) AS left_s "
                "FROM login_attempt WHERE (key_kind, key) IN "
                "(SELECT * FROM unnest(CAST(:kinds AS text[]), CAST(:keys AS text[]))) "
                "AND locked_until > now() ORDER BY left_s DESC LIMIT 1"
            ),
            {"kinds": [k for k, _ in attempt_keys], "keys": [v for _, v in attempt_keys]},
        ).first()
    if rows is not None:
        field = "username" if rows.key_kind == USER else "address"
        raise TooManyAttempts(max(1, math.ceil(float(rows.left_s))), field)


# One failure: the count goes up (or starts again after the window), and from ``free``
# failures on the key is locked for base * 2^(n - free) seconds, at most max_s.
_FAIL = text(
    """
    INSERT INTO login_attempt AS a (key_kind, key, failures, last_failed_at, locked_until)
    VALUES (:kind, :key, 1, now(),
            CASE WHEN 1 >= :free THEN now() + make_interval(secs => :base) END)
    ON CONFLICT (key_kind, key) DO UPDATE SET
        failures = CASE WHEN a.last_failed_at < now() - make_interval(secs => :window)
                        THEN 1 ELSE a.failures + 1 END,
        last_failed_at = now(),
        locked_until = CASE
            WHEN (CASE WHEN a.last_failed_at < now() - make_interval(secs => :window)
                       THEN 1 ELSE a.failures + 1 END) >= :free
            THEN now() + make_interval(secs => LEAST(:max, :base * power(2,
                 (CASE WHEN a.last_failed_at < now() - make_interval(secs => :window)
                       THEN 1 ELSE a.failures + 1 END) - :free)))
            END
    RETURNING failures, locked_until
    """
)


def record_failure(
    engine: Engine, attempt_keys: list[tuple[str, str]], *, what: str = "password"
) -> None:
    """Count one failed attempt against each key (own transaction); a key that becomes
    locked is written to ``auth_audit`` and the server log."""
    if not attempt_keys:
        return
    with engine.begin() as conn:
        for kind, key in attempt_keys:
            policy = POLICY[kind]
            row = conn.execute(
                _FAIL,
                {"kind": kind, "key": key, "free": policy.free, "base": policy.base_s,
                 "max": policy.max_s, "window": policy.window_s},
            ).one()  # fmt: skip
            if row.locked_until is not None:
                conn.execute(
                    text(
                        "INSERT INTO auth_audit (event, key_kind, key, failures, locked_until, "
                        "detail) VALUES ('lockout', :kind, :key, :n, :until, :detail)"
                    ),
                    {"kind": kind, "key": key, "n": row.failures, "until": row.locked_until,
                     "detail": f"{row.failures} failed {what} sign-ins in a row"},
                )  # fmt: skip
                log.warning(
                    "sign-in locked: %s %r after %d failures, until %s",
                    kind, key, row.failures, row.locked_until.isoformat(),
                )  # fmt: skip


def reset(engine: Engine, attempt_keys: list[tuple[str, str]]) -> None:
    """Forget the failures of ``attempt_keys`` after a successful sign-in. Reads first and
    writes only if there is something to forget (a read-only database still signs in)."""
    if not attempt_keys:
        return
    params = {"kinds": [k for k, _ in attempt_keys], "keys": [v for _, v in attempt_keys]}
    pairs = "(SELECT * FROM unnest(CAST(:kinds AS text[]), CAST(:keys AS text[])))"
    with engine.connect() as conn:
        present = conn.execute(
            text(f"SELECT 1 FROM login_attempt WHERE (key_kind, key) IN {pairs} LIMIT 1"), params
        ).first()
    if present is not None:
        with engine.begin() as conn:
            conn.execute(
                text(f"DELETE FROM login_attempt WHERE (key_kind, key) IN {pairs}"), params
            )
