"""API tokens for administrators: create one for a user (its value is shown once), list them
with their last use, revoke one (its page sessions and its user's end with it)."""

from __future__ import annotations

from datetime import datetime

from fastapi import APIRouter, Response
from pydantic import BaseModel, ConfigDict, Field, StrictInt, model_validator

from api.deps import Admin, RequestBody, SessionDep
from api.errors import STATUS
from layers import accounts, auth
from layers.errors import DomainError
from layers.models import ApiToken, Role

router = APIRouter(prefix="/api/v1/tokens", tags=["tokens"])


class TokenNotFound(DomainError):
    """No token with that id (404)."""


STATUS.setdefault(TokenNotFound, (404, "Token not found"))


class TokenCreate(RequestBody):
    model_config = ConfigDict(extra="forbid")

    user_id: StrictInt | None = Field(default=None, ge=1, le=2**31 - 1)
    user: str | None = Field(default=None, max_length=100, description="user name (or user_id)")
    name: str | None = Field(
        default=None, max_length=200, description="what it is for, e.g. 'QGIS on PC-12'"
    )

    @model_validator(mode="after")
    def one_user(self) -> TokenCreate:
        if (self.user_id is None) == (self.user is None):
            raise ValueError("give the user as user_id or as user (its name), not both")
        return self


class TokenPublic(BaseModel):
    id: int
    name: str
    role: Role
    user_id: int | None
    user: str | None
    person_id: int | None
    created_at: datetime
    last_used_at: datetime | None
    """Updated at most once a minute."""
    revoked_at: datetime | None


class TokenCreated(TokenPublic):
    token: str
    """The value: shown only in this answer; only its SHA-256 is stored."""


class TokensPublic(BaseModel):
    data: list[TokenPublic]
    count: int


def token_public(row: ApiToken, user: accounts.AppUser | None) -> TokenPublic:
    return TokenPublic(
        id=row.id,
        name=row.name,
        role=user.role if user is not None else row.role,
        user_id=row.user_id,
        user=user.name if user is not None else None,
        person_id=user.person_id if user is not None else row.person_id,
        created_at=row.created_at,
        last_used_at=row.last_used_at,
        revoked_at=row.revoked_at,
    )


@router.post("", status_code=201, summary="Create a token for a user (admin); shown once")
def create_token(session: SessionDep, _: Admin, body: TokenCreate) -> TokenCreated:
    try:
        user = accounts.get_user(session=session, user_id=body.user_id, name=body.user)
    except accounts.UserNotFound as exc:  # named as this body names it
        raise accounts.UserNotFound(
            exc.detail, field="user_id" if body.user_id is not None else "user"
        ) from None
    row, value = auth.create_token(session=session, name=body.name or user.name, user=user)
    session.refresh(row)
    return TokenCreated(**token_public(row, user).model_dump(), token=value)


@router.get("", summary="List tokens with their last use (admin); never their values")
def read_tokens(session: SessionDep, _: Admin, user_id: int | None = None) -> TokensPublic:
    users = {u.id: u for u in accounts.list_users(session=session)}
    rows = auth.list_tokens(session=session, user_id=user_id)
    data = [token_public(t, users.get(t.user_id) if t.user_id else None) for t in rows]
    return TokensPublic(data=data, count=len(data))


@router.delete("/{token_id}", status_code=204, summary="Revoke a token (admin)")
def revoke_token(session: SessionDep, _: Admin, token_id: int) -> Response:
    if auth.revoke_token(session=session, token_id=token_id) is None:
        raise TokenNotFound(
            f"no token {token_id}; list tokens with GET /api/v1/tokens", field="token_id"
        )
    return Response(status_code=204)
