"""API tokens. Tokens are shown once at creation; only their SHA-256 is stored.

A token belongs to a user (``layers/accounts.py``) and speaks with that user's role, person and
scope; an old token without a user keeps its own role and person.
"""

from __future__ import annotations

import hashlib
import secrets
from datetime import UTC, datetime, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from layers import accounts
from layers.errors import AuthError
from layers.models import ApiToken, Role

TOKEN_PREFIX = "ggt_"


def hash_token(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


def new_token_value() -> str:
    """A fresh 256-bit token, URL-safe, recognisable by its prefix in logs and secret scanners."""
    return TOKEN_PREFIX + secrets.token_urlsafe(32)


def create_token(
    *,
    session: Session,
    name: str,
    role: Role | str | None = None,
    value: str | None = None,
    user: accounts.AppUser | None = None,
) -> tuple[ApiToken, str]:
    """Store a token; returns the row and the plain value (shown only now). With ``user`` the
    token belongs to that user (role and person are the user's); without, ``role`` is needed."""
    if user is None and role is None:
        raise ValueError("create_token needs a user or a role")
    value = value or new_token_value()
    row = ApiToken(
        name=name,
        role=user.role if user is not None else Role(role),  # type: ignore[arg-type]
        token_hash=hash_token(value),
        user_id=user.id if user is not None else None,
        person_id=user.person_id if user is not None else None,
    )
    session.add(row)
    session.flush()
    return row, value


def ensure_token(*, session: Session, name: str, role: Role | str, value: str) -> ApiToken:
    """Idempotently register a known token value (e.g. GRIDGIS_ADMIN_TOKEN)."""
    existing = session.scalar(select(ApiToken).where(ApiToken.token_hash == hash_token(value)))
    if existing is not None:
        existing.revoked_at = None
        existing.role = Role(role)
        accounts.mark_identities_changed(session)
        return existing
    row, _ = create_token(session=session, name=name, role=role, value=value)
    return row


REFUSED = (
    "unknown or revoked token; ask an administrator for a token "
    "(`gridgis token create --role viewer NAME`)"
)


def verify_token(*, session: Session, value: str) -> ApiToken:
    """The live token with this value, or AuthError (also when its user is disabled)."""
    row = session.scalar(select(ApiToken).where(ApiToken.token_hash == hash_token(value)))
    if row is None or row.revoked_at is not None:
        raise AuthError(REFUSED, field="Authorization")
    if row.user_id is not None:
        accounts.user_may_act(session.get(accounts.AppUser, row.user_id))
    return row


def token_identity(*, session: Session, row: ApiToken) -> accounts.Identity:
    """Who a live token speaks for: its user (role, person, scope), or the token itself."""
    user = session.get(accounts.AppUser, row.user_id) if row.user_id is not None else None
    return _identity(row, user)


def _identity(row: ApiToken, user: accounts.AppUser | None) -> accounts.Identity:
    if user is not None:
        return user.identity(token_id=row.id)
    return accounts.Identity(name=row.name, role=row.role, token_id=row.id, person_id=row.person_id)


def identify(*, session: Session, value: str) -> accounts.Identity:
    """Who the token ``value`` speaks for, checked in one indexed query (token and user), or
    AuthError; records the use at most once a minute per token, never waiting for a lock."""
    found = session.execute(
        select(ApiToken, accounts.AppUser)
        .outerjoin(accounts.AppUser, accounts.AppUser.id == ApiToken.user_id)
        .where(ApiToken.token_hash == hash_token(value))
    ).one_or_none()
    if found is None or found[0].revoked_at is not None:
        raise AuthError(REFUSED, field="Authorization")
    row, user = found
    accounts.user_may_act(user)
    now = datetime.now(UTC)
    if row.last_used_at is None or row.last_used_at <= now - timedelta(
        seconds=accounts.TOUCH_EVERY_S
    ):
        accounts.touch(session=session, table="api_token", column="last_used_at", row_id=row.id)
    return _identity(row, user)


def revoke_token(*, session: Session, token_id: int) -> ApiToken | None:
    """Revoke a token now; every page session opened with it, and every session of its user,
    ends with it. None if there is no such token."""
    row = session.get(ApiToken, token_id)
    if row is not None and row.revoked_at is None:
        row.revoked_at = datetime.now(UTC)
        accounts.mark_identities_changed(session)
        accounts.end_sessions(session=session, user_id=row.user_id, token_id=row.id)
        session.flush()
    return row


def list_tokens(*, session: Session, user_id: int | None = None) -> list[ApiToken]:
    stmt = select(ApiToken).order_by(ApiToken.id)
    if user_id is not None:
        stmt = stmt.where(ApiToken.user_id == user_id)
    return list(session.scalars(stmt))
