"""Login throttling (issue 11): atomic, per (user name, address) pair, never a lock-out tool.

Design (OWASP Authentication Cheat Sheet, "Protect against automated attacks" / account
lockout; NIST SP 800-63B §5.2.2 "Rate Limiting (Throttling)"):

- **Per (user name, address) pair** (:data:`PAIR`): 5 attempts are evaluated; each further
  one locks the pair for ``30 s * 2**(n - 5)``, **capped at 15 min**. A lock refuses only that
  name *from that address*: an attacker elsewhere cannot lock the real user out, and the right
  password from another address still signs in.
- **Per user name across addresses** (:data:`USER`): a much higher limit (50 attempts an hour)
  after which attempts are *slowed*, not refused: each further attempt waits
  ``1 s * 2**(n - 50)``, at most 30 s (429 with ``Retry-After``), so a distributed guesser gets
  at most ~120 guesses an hour while the real user waits seconds, never an hour.
- **Per address, password sign-ins** (:data:`ADDRESS`): 200 an hour (an office behind one NAT
  holds many people), then slowed the same way (at most 30 s). A success gives its attempt back.
- **Tokens** are checked first (a SHA-256 lookup, no hashing cost); a **valid token is never
  refused** because of other tokens' failures. An invalid one counts against its own
  (token hash, address) pair (:data:`TOKEN`, 5, then locked up to 15 min) and against the
  address's token failures (:data:`TOKEN_ADDRESS`, 20, then slowed, at most 30 s): the answer
  is 429 instead of 401 while one of these is locked.

- **Device cookies** (:data:`DEVICE`, after OWASP's "Slow Down Online Guessing Attacks with
  Device Cookies"): a browser that signed in as the user before holds a signed device cookie
  (api/device_cookie.py); its attempts count against that cookie only (5, then locked up to
  15 min), never against the name or the address: an attacker's failures, from any address
  (an office NAT, a local proxy), never lock the real user's browser out, and attempts without
  a valid device cookie keep the limits above.

**Atomic check-and-count**: :func:`admit` counts the attempt *before* the password is verified,
in one short transaction holding each counter row ``FOR UPDATE`` (rows taken in a fixed order,
so two attempts never deadlock). Once an attempt reaches a limit it arms the lock in the same
transaction, so every concurrent attempt after it is refused: whatever the concurrency, at most
the limit of attempts is evaluated. A success deletes the pair's and the name's counts
(:func:`reset`); failures older than ``window_s`` start the count again. Each lock a failed
attempt armed is recorded in ``auth_audit`` (when, which key, after how many attempts, until).

The state lives in PostgreSQL (``login_attempt``, migration 0020), shared by every worker and
server. Keys: a pair is ``sha256(name|address)`` (bounded length), a token pair
``sha256(token)[:32]@address``. Addresses: the peer address as uvicorn reports it
(``X-Forwarded-For`` only from the proxies of ``GRIDGIS_FORWARDED_ALLOW_IPS``, none by
default: api/settings.py ``ServerSettings.forwarded_allow_ips``); a loopback peer (a local
proxy that did not forward the client's address) is never throttled by address alone.
"""

from __future__ import annotations

import hashlib
import ipaddress
import logging
import math
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import DateTime, Engine, Integer, String, Text, func, text
from sqlalchemy.exc import DBAPIError
from sqlalchemy.orm import Mapped, mapped_column

from layers.db import Base, database_fault
from layers.errors import DomainError

log = logging.getLogger("gridgis.auth")

PAIR = "pair"
USER = "user"
ADDRESS = "address"
TOKEN = "token"
TOKEN_ADDRESS = "tokenaddr"
DEVICE = "device"
KEY_MAX_CHARS = 100


@dataclass(frozen=True)
class ThrottlePolicy:
    """``free`` attempts are evaluated in ``window_s``; from then on each attempt locks the key
    for ``base_s * 2**(n - free)`` seconds (n the attempts so far), at most ``max_s``."""

    free: int
    base_s: int
    max_s: int
    window_s: int = 3600


POLICY: dict[str, ThrottlePolicy] = {
    PAIR: ThrottlePolicy(free=5, base_s=30, max_s=900),
    USER: ThrottlePolicy(free=50, base_s=1, max_s=30),
    ADDRESS: ThrottlePolicy(free=200, base_s=1, max_s=30),
    TOKEN: ThrottlePolicy(free=5, base_s=30, max_s=900),
    TOKEN_ADDRESS: ThrottlePolicy(free=20, base_s=1, max_s=30),
    DEVICE: ThrottlePolicy(free=5, base_s=30, max_s=900),
}
FIELD = {PAIR: "username", USER: "username", ADDRESS: "address", TOKEN: "token",
         TOKEN_ADDRESS: "address", DEVICE: "device"}  # fmt: skip


class TooManyAttempts(DomainError):
    """A user name or client address locked after repeated failures (429, ``Retry-After``)."""

    def __init__(self, retry_after_s: int, field: str) -> None:
        super().__init__(
            f"too many sign-in attempts; try again in {retry_after_s} s (each further failure "
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


def _routable(address: str | None) -> bool:
    if not address:
        return False
    try:
        return not ipaddress.ip_address(address).is_loopback
    except ValueError:
        return True


def keys(*, user: str | None, address: str | None) -> list[tuple[str, str]]:
    """The keys of a password attempt: the (user name, address) pair, the user name (stripped,
    lower-cased) and the address unless it is loopback (see the module's docstring)."""
    out: list[tuple[str, str]] = []
    if user and user.strip():
        name = user.strip().lower()
        pair = hashlib.sha256(f"{name}|{address or ''}".encode()).hexdigest()
        out += [(PAIR, pair), (USER, name[:KEY_MAX_CHARS])]
    if _routable(address):
        out.append((ADDRESS, str(address)[:KEY_MAX_CHARS]))
    return out


def device_keys(*, nonce: str) -> list[tuple[str, str]]:
    """The one key of a password attempt from a browser holding a valid device cookie for the
    user (api/device_cookie.py, after OWASP's device cookies): its failures count against that
    cookie only, never against the user name or the address, so nobody else's failures lock it
    and its own failures lock only it."""
    return [(DEVICE, hashlib.sha256(nonce.encode()).hexdigest()[:KEY_MAX_CHARS])]


def token_keys(*, token: str, address: str | None) -> list[tuple[str, str]]:
    """The keys of a failed token: (token hash, address) and the address's token failures."""
    digest = hashlib.sha256(token.encode("utf-8", "surrogatepass")).hexdigest()[:32]
    out = [(TOKEN, f"{digest}@{address or ''}"[:KEY_MAX_CHARS])]
    if _routable(address):
        out.append((TOKEN_ADDRESS, str(address)[:KEY_MAX_CHARS]))
    return out


@dataclass(frozen=True)
class Armed:
    """A lock that this attempt set (written to ``auth_audit`` if the attempt fails)."""

    kind: str
    key: str
    attempts: int
    locked_until: datetime


def admit(engine: Engine, attempt_keys: list[tuple[str, str]]) -> list[Armed]:
    """Count one attempt against every key atomically, or raise :class:`TooManyAttempts`
    (nothing counted) if one of them is locked now. Returns the locks this attempt armed
    (it is still evaluated; the attempts after it are refused).

    The count is the only write before the password is checked, and it is the throttle's own
    (it is what bounds parallel guessing; nothing of the sign-in is written before the check).
    While the database takes no writes (read-only, a standby, disk full:
    :func:`layers.db.database_fault`), attempts cannot be counted: the locks already armed are
    still enforced (:func:`check_locked`, a read) and the attempt is evaluated uncounted."""
    try:
        return _count(engine, attempt_keys)
    except DBAPIError as exc:
        fault = database_fault(exc)
        if fault is None or fault.kind not in NO_WRITES:
            raise
    log.warning("sign-in attempts not counted: the database takes no writes; locks enforced")
    check_locked(engine, attempt_keys)
    return []


NO_WRITES = ("read_only", "disk_full")
"""Database faults in which the throttle reads its locks but counts nothing."""


def check_locked(engine: Engine, attempt_keys: list[tuple[str, str]]) -> None:
    """:class:`TooManyAttempts` if one of the keys is locked now (a read only)."""
    if not attempt_keys:
        return
    with engine.connect() as conn:
        rows = conn.execute(
            text(
                "SELECT key_kind, extract(epoch FROM locked_until - clock_timestamp()) AS left_s "
                "FROM login_attempt WHERE (key_kind, key) IN (SELECT * FROM "
                "unnest(CAST(:kinds AS text[]), CAST(:keys AS text[]))) "
                "AND locked_until > clock_timestamp() ORDER BY left_s DESC LIMIT 1"
            ),
            {"kinds": [k for k, _ in attempt_keys], "keys": [v for _, v in attempt_keys]},
        ).first()
    if rows is not None:
        raise TooManyAttempts(max(1, math.ceil(float(rows.left_s))), FIELD[rows.key_kind])


def _count(engine: Engine, attempt_keys: list[tuple[str, str]]) -> list[Armed]:
    ordered = sorted(set(attempt_keys))  # one lock order for every transaction: no deadlock
    armed: list[Armed] = []
    refused: tuple[float, str] | None = None
    with engine.connect() as conn, conn.begin() as tx:
        for kind, key in ordered:
            policy = POLICY[kind]
            # One statement that always yields the row, locked: a separate INSERT … DO NOTHING
            # then SELECT … FOR UPDATE found nothing when a successful sign-in (reset) deleted
            # the row in between (a 500 during a login flood); the no-op DO UPDATE locks it.
            row = conn.execute(
                text(
                    "INSERT INTO login_attempt (key_kind, key, failures, last_failed_at) "
                    "VALUES (:kind, :key, 0, clock_timestamp()) "
                    "ON CONFLICT (key_kind, key) DO UPDATE SET key_kind = EXCLUDED.key_kind "
                    "RETURNING failures, last_failed_at, locked_until, clock_timestamp() AS now"
                ),
                {"kind": kind, "key": key},
            ).one()
            now = row.now
            if row.locked_until is not None and row.locked_until > now:
                left_s = (row.locked_until - now).total_seconds()
                if refused is None or left_s > refused[0]:
                    refused = (left_s, kind)
                continue
            stale = row.last_failed_at < now - timedelta(seconds=policy.window_s)
            n = 1 if stale or row.failures <= 0 else row.failures + 1
            until = None
            if n >= policy.free:
                wait_s = min(policy.max_s, policy.base_s * 2 ** min(n - policy.free, 30))
                until = now + timedelta(seconds=wait_s)
                armed.append(Armed(kind, key, n, until))
            conn.execute(
                text(
                    "UPDATE login_attempt SET failures = :n, last_failed_at = :now, "
                    "locked_until = :until WHERE key_kind = :kind AND key = :key"
                ),
                {"n": n, "now": now, "until": until, "kind": kind, "key": key},
            )
        if refused is not None:
            tx.rollback()
            raise TooManyAttempts(max(1, math.ceil(refused[0])), FIELD[refused[1]])
    return armed


def record_failure(engine: Engine, armed: list[Armed], *, what: str = "password") -> None:
    """After a failed attempt (already counted by :func:`admit`): each lock it armed goes to
    ``auth_audit`` and the server log."""
    if not armed:
        return
    with engine.begin() as conn:
        for lock in armed:
            conn.execute(
                text(
                    "INSERT INTO auth_audit (event, key_kind, key, failures, locked_until, "
                    "detail) VALUES ('lockout', :kind, :key, :n, :until, :detail)"
                ),
                {"kind": lock.kind, "key": lock.key, "n": lock.attempts,
                 "until": lock.locked_until, "detail": f"{lock.attempts} {what} sign-ins"},
            )  # fmt: skip
            log.warning(
                "sign-in locked: %s %r after %d attempts, until %s",
                lock.kind, lock.key, lock.attempts, lock.locked_until.isoformat(),
            )  # fmt: skip


def reset(engine: Engine, attempt_keys: list[tuple[str, str]]) -> None:
    """After a successful sign-in: forget the pair's and the name's attempts, and give the
    address its attempt back (an office's sign-ins never add up to a slowdown)."""
    try:
        _reset(engine, attempt_keys)
    except DBAPIError as exc:  # the sign-in stands; its counts are forgotten by age instead
        fault = database_fault(exc)
        if fault is None or fault.kind not in NO_WRITES:
            raise
        log.warning("sign-in counts not reset: the database takes no writes")


def purge(engine: Engine) -> int:
    """Forget the counts no throttle reads any more: last failure older than the longest
    window of :data:`POLICY` and no lock in force (``auth_audit`` keeps the locks); how many.
    Run by the server's periodic work (api/periodic.py)."""
    longest_s = max(p.window_s for p in POLICY.values())
    with engine.begin() as conn:
        result = conn.execute(
            text(
                "DELETE FROM login_attempt WHERE last_failed_at < clock_timestamp() - "
                "make_interval(secs => :s) AND (locked_until IS NULL OR locked_until < "
                "clock_timestamp())"
            ),
            {"s": longest_s},
        )
    return int(result.rowcount)


def _reset(engine: Engine, attempt_keys: list[tuple[str, str]]) -> None:
    own = [(k, v) for k, v in attempt_keys if k in (PAIR, USER, TOKEN, DEVICE)]
    shared = [(k, v) for k, v in attempt_keys if k not in (PAIR, USER, TOKEN, DEVICE)]
    pairs = "(SELECT * FROM unnest(CAST(:kinds AS text[]), CAST(:keys AS text[])))"
    with engine.begin() as conn:
        # Lock the rows first, one by one in the order of :func:`_count` (sorted keys): the
        # DELETE of the pair and the name followed by the UPDATE of the address took them in
        # the opposite order to a concurrent attempt's count, and PostgreSQL broke the
        # deadlock with an error (the 500s of a login flood with right and wrong passwords).
        for kind, key in sorted(set(attempt_keys)):
            conn.execute(
                text(
                    "SELECT 1 FROM login_attempt WHERE key_kind = :kind AND key = :key FOR UPDATE"
                ),
                {"kind": kind, "key": key},
            )
        if own:
            conn.execute(
                text(f"DELETE FROM login_attempt WHERE (key_kind, key) IN {pairs}"),
                {"kinds": [k for k, _ in own], "keys": [v for _, v in own]},
            )
        if shared:
            conn.execute(
                text(
                    "UPDATE login_attempt SET failures = GREATEST(failures - 1, 0) "
                    f"WHERE (key_kind, key) IN {pairs} AND failures > 0"
                ),
                {"kinds": [k for k, _ in shared], "keys": [v for _, v in shared]},
            )
