"""API tokens with roles. Tokens are shown once at creation; only their SHA-256 is stored."""

from __future__ import annotations

import hashlib
import secrets
from datetime import UTC, datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from layers.errors import AuthError
from layers.models import ApiToken, Role

TOKEN_PREFIX = "ggt_"


def hash_token(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


def new_token_value() -> str:
    """A fresh 256-bit token, URL-safe, recognisable by its prefix in logs and secret scanners."""
    return TOKEN_PREFIX + secrets.token_urlsafe(32)


def create_token(
    *, session: Session, name: str, role: Role | str, value: str | None = None
) -> tuple[ApiToken, str]:
    """Store a token for ``role``; returns the row and the plain value (shown only now)."""
    value = value or new_token_value()
    row = ApiToken(name=name, role=Role(role), token_hash=hash_token(value))
    session.add(row)
    session.flush()
    return row, value


def ensure_token(*, session: Session, name: str, role: Role | str, value: str) -> ApiToken:
    """Idempotently register a known token value (e.g. GRIDGIS_ADMIN_TOKEN)."""
    existing = session.scalar(select(ApiToken).where(ApiToken.token_hash == hash_token(value)))
    if existing is not None:
        existing.revoked_at = None
        existing.role = Role(role)
        return existing
    row, _ = create_token(session=session, name=name, role=role, value=value)
    return row


def verify_token(*, session: Session, value: str) -> ApiToken:
    """The live token with this value, or AuthError."""
    row = session.scalar(select(ApiToken).where(ApiToken.token_hash == hash_token(value)))
    if row is None or row.revoked_at is not None:
        raise AuthError(
            "unknown or revoked token; ask an administrator for a token "
            "(`gridgis token create --role viewer NAME`)",
            field="Authorization",
        )
    return row


def revoke_token(*, session: Session, token_id: int) -> None:
    row = session.get(ApiToken, token_id)
    if row is not None and row.revoked_at is None:
        row.revoked_at = datetime.now(UTC)


def list_tokens(*, session: Session) -> list[ApiToken]:
    return list(session.scalars(select(ApiToken).order_by(ApiToken.id)))
