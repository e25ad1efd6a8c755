"""Accounts for administrators: create, list, read and change users, set their password.

A user is a staff member (``person_id``) or a system client with a role, a scope (``city``,
``grids``, ``town:CODE``, ``village:CODE``) and an argon2 password for the pages. Changing a
user's role, scope or person, disabling them or setting their password ends their page sessions.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, Body, Response
from pydantic import BaseModel, ConfigDict, Field, StrictBool, StrictInt

from api.deps import Admin, RequestBody, SessionDep
from api.errors import STATUS
from layers import accounts
from layers.models import Role

STATUS.setdefault(accounts.UserNotFound, (404, "User not found"))
STATUS.setdefault(accounts.InvalidAccountInput, (422, "Invalid parameter"))

router = APIRouter(prefix="/api/v1/users", tags=["users"])

SCOPE_HELP = "city | grids | town:CODE (9 digits) | village:CODE (12 digits)"


class UserCreate(RequestBody):
    model_config = ConfigDict(extra="forbid")

    name: str = Field(min_length=1, max_length=100, description="log-in name, unique")
    display_name: str | None = Field(default=None, max_length=200)
    role: Role
    scope: str = Field(default="city", max_length=30, description=SCOPE_HELP)
    person_id: StrictInt | None = Field(default=None, ge=1, le=2**31 - 1)
    password: str | None = Field(
        default=None,
        min_length=accounts.PASSWORD_MIN_CHARS,
        max_length=accounts.PASSWORD_MAX_CHARS,
        description="for the pages; none: the user only has API tokens",
    )


class UserUpdate(RequestBody):
    model_config = ConfigDict(extra="forbid")

    display_name: str | None = Field(default=None, max_length=200)
    role: Role | None = None
    scope: str | None = Field(default=None, max_length=30, description=SCOPE_HELP)
    person_id: StrictInt | None = Field(
        default=None, ge=1, le=2**31 - 1, description="null unlinks"
    )
    disabled: StrictBool | None = None


class PasswordSet(RequestBody):
    model_config = ConfigDict(extra="forbid")

    password: str = Field(
        min_length=accounts.PASSWORD_MIN_CHARS, max_length=accounts.PASSWORD_MAX_CHARS
    )


class UserPublic(BaseModel):
    id: int
    name: str
    display_name: str
    role: Role
    scope: str
    person_id: int | None
    system: bool
    has_password: bool
    created_at: datetime
    last_login_at: datetime | None
    disabled_at: datetime | None


class UsersPublic(BaseModel):
    data: list[UserPublic]
    count: int


def user_public(user: accounts.AppUser) -> UserPublic:
    return UserPublic(
        id=user.id,
        name=user.name,
        display_name=user.display_name,
        role=user.role,
        scope=str(user.scope),
        person_id=user.person_id,
        system=user.system,
        has_password=user.password_hash is not None,
        created_at=user.created_at,
        last_login_at=user.last_login_at,
        disabled_at=user.disabled_at,
    )


@router.post("", status_code=201, summary="Create a user (admin)")
def create_user(session: SessionDep, _: Admin, body: UserCreate) -> UserPublic:
    user = accounts.create_user(
        session=session,
        name=body.name,
        display_name=body.display_name,
        role=body.role,
        scope=accounts.Scope.parse(body.scope),
        person_id=body.person_id,
        password=body.password,
    )
    session.refresh(user)
    return user_public(user)


@router.get("", summary="List users (admin)")
def read_users(session: SessionDep, _: Admin) -> UsersPublic:
    data = [user_public(u) for u in accounts.list_users(session=session)]
    return UsersPublic(data=data, count=len(data))


@router.get("/{user_id}", summary="One user (admin)")
def read_user(session: SessionDep, _: Admin, user_id: int) -> UserPublic:
    return user_public(accounts.get_user(session=session, user_id=user_id))


@router.patch("/{user_id}", summary="Change a user's role, scope, person, name; disable (admin)")
def update_user(session: SessionDep, _: Admin, user_id: int, body: UserUpdate) -> UserPublic:
    user = accounts.get_user(session=session, user_id=user_id)
    given: dict[str, Any] = body.model_dump(exclude_unset=True)
    accounts.update_user(
        session=session,
        user=user,
        role=given.get("role"),
        scope=accounts.Scope.parse(given["scope"]) if given.get("scope") else None,
        person_id=given.get("person_id", False),  # absent: keep; null: unlink
        display_name=given.get("display_name"),
        disabled=given.get("disabled"),
    )
    session.refresh(user)
    return user_public(user)


@router.put("/{user_id}/password", status_code=204, summary="Set a user's password (admin)")
def set_password(
    session: SessionDep, _: Admin, user_id: int, body: Annotated[PasswordSet, Body()]
) -> Response:
    user = accounts.get_user(session=session, user_id=user_id)
    accounts.set_password(session=session, user=user, password=body.password)
    return Response(status_code=204)
