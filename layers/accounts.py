"""Accounts: users, their passwords and their page sessions.

A user is a staff member (``person_id``) or a system client (a service, the demo's admin) with a
role (:class:`layers.models.Role`), a scope (the city, a town, a village, or the grids their
person is assigned to) and, for the pages, an argon2id password (argon2-cffi's
``PasswordHasher`` defaults: RFC 9106 low-memory profile). API tokens belong to a user
(``layers/auth.py``).

A page session is a random 256-bit id kept by the browser in an HttpOnly cookie; only its
SHA-256 is stored (``user_session``), and every request checks it against the database, so
ending a session, revoking the token it was opened with or disabling the user takes effect on the
very next request.
"""

from __future__ import annotations

import enum
import hashlib
import secrets
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from typing import Any

from argon2 import PasswordHasher
from sqlalchemy import (
    Boolean,
    CheckConstraint,
    DateTime,
    Enum,
    ForeignKey,
    Index,
    Integer,
    String,
    false,
    func,
    or_,
    select,
    text,
    update,
)
from sqlalchemy.orm import Mapped, Session, mapped_column

from layers import password_gate, password_rules
from layers.db import Base
from layers.errors import AuthError, CodeConflict, DomainError, Forbidden, with_zh
from layers.models import ApiToken, Role
from layers.password_rules import password_problem
from layers.people import Person, StaffRole

SESSION_PREFIX = "ggs_"
PHONE_SESSION_PREFIX = SESSION_PREFIX + "m."
"""A phone session's cookie (the officer app): '.' is not in the random part's alphabet
(URL-safe base64), so no other session's value starts with it; the value is only known by its
SHA-256, so the kind cannot be changed by the holder."""
TOUCH_EVERY_S = 60
"""``last_seen_at`` / ``last_used_at`` are written at most once a minute per session / token."""
PASSWORD_MIN_CHARS = password_rules.MIN_CHARS
PASSWORD_MAX_CHARS = password_rules.MAX_CHARS
_HASHER = PasswordHasher()


class UserNotFound(DomainError):
    """No user with that id or name (404)."""


class InvalidAccountInput(DomainError):
    """A user name, scope, person or password that cannot be stored (422)."""


class ScopeKind(enum.StrEnum):
    CITY = "city"  # the whole city
    TOWN = "town"  # one 镇街 (9-digit code)
    VILLAGE = "village"  # one 村社区 (12-digit code)
    GRIDS = "grids"  # the grids the user's person is assigned to


@dataclass(frozen=True)
class Scope:
    """Where a user may act and see personal data: ``kind`` and, for a town or village, its
    grid code (a prefix of every grid code inside it)."""

    kind: ScopeKind = ScopeKind.CITY
    code: str | None = None

    @classmethod
    def parse(cls, value: str | None, field: str = "scope") -> Scope:
        """``city``, ``grids``, ``town:320281104`` or ``village:320281104001``."""
        if value is None or value.strip() in ("", "city"):
            return cls()
        kind_text, _, code = value.strip().partition(":")
        try:
            kind = ScopeKind(kind_text)
        except ValueError:
            raise InvalidAccountInput(
                f"scope {value!r} is unknown; use city, grids, town:CODE (9 digits) or "
                "village:CODE (12 digits)",
                field=field,
            ) from None
        digits = {ScopeKind.TOWN: 9, ScopeKind.VILLAGE: 12}.get(kind)
        if digits is None:
            if code:
                raise InvalidAccountInput(
                    f"scope {kind.value} takes no code; write {kind.value}", field=field
                )
            return cls(kind)
        if not (code.isdigit() and len(code) == digits):
            raise InvalidAccountInput(
                f"scope {value!r} needs a {digits}-digit {kind.value} code, e.g. "
                f"{kind.value}:{'320281104' if digits == 9 else '320281104001'}",
                field=field,
            )
        return cls(kind, code)

    def __str__(self) -> str:
        return f"{self.kind.value}:{self.code}" if self.code else self.kind.value

    def narrow(self, grid_codes: tuple[str, ...] | list[str]) -> tuple[str, ...]:
        """The part of ``grid_codes`` (any level) inside this scope: a code inside the scope is
        kept, a code containing the scope (a town chief scoped to one village) becomes the
        scope's code, others are dropped. ``grids`` and ``city`` keep everything."""
        if self.code is None:
            return tuple(grid_codes)
        out: list[str] = []
        for c in grid_codes:
            if c.startswith(self.code):
                out.append(c)
            elif self.code.startswith(c):
                out.append(self.code)
        return tuple(dict.fromkeys(out))


CITY = Scope()


@dataclass(frozen=True)
class Identity:
    """Who is calling, resolved from a token or a page session."""

    name: str
    role: Role
    user_id: int | None = None
    token_id: int | None = None
    person_id: int | None = None
    scope: Scope = CITY
    session_id: int | None = None
    valid_until: datetime | None = None
    """for a page session: when it expires or goes idle unless used again (a cache may keep the
    identity no longer than this)"""


IDENTITIES_CHANGED = "gridgis_identities_changed"


def mark_identities_changed(session: Session) -> None:
    """Note on ``session`` that who-may-do-what changed (a token revoked, a session ended, a
    user changed): the server drops its identity cache as soon as the transaction commits.
    (Other processes learn it from the database's NOTIFY, migration 0013.)"""
    session.info[IDENTITIES_CHANGED] = True


class AppUser(Base):
    __tablename__ = "app_user"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(100), unique=True)
    display_name: Mapped[str] = mapped_column(String(200))
    role: Mapped[Role] = mapped_column(
        Enum(Role, name="api_role", values_callable=lambda e: [m.value for m in e])
    )
    scope_kind: Mapped[str] = mapped_column(String(10), server_default="city")
    scope_code: Mapped[str | None] = mapped_column(String(15))
    person_id: Mapped[int | None] = mapped_column(ForeignKey("person.id", ondelete="SET NULL"))
    password_hash: Mapped[str | None] = mapped_column(String(200))
    system: Mapped[bool] = mapped_column(Boolean, server_default="false")
    """A service account (made by ``gridgis token create``): tokens only, no password."""
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())
    last_login_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    disabled_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))

    @property
    def scope(self) -> Scope:
        return Scope(ScopeKind(self.scope_kind), self.scope_code)

    def identity(self, *, token_id: int | None = None, session_id: int | None = None) -> Identity:
        return Identity(
            name=self.name,
            role=self.role,
            user_id=self.id,
            token_id=token_id,
            person_id=self.person_id,
            scope=self.scope,
            session_id=session_id,
        )


class UserSession(Base):
    __tablename__ = "user_session"
    __table_args__ = (
        Index("user_session_user", "user_id"),
        Index("user_session_token", "token_id"),
        CheckConstraint("user_id IS NOT NULL OR token_id IS NOT NULL", name="user_session_owner"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    id_hash: Mapped[str] = mapped_column(String(64), unique=True)
    user_id: Mapped[int | None] = mapped_column(ForeignKey("app_user.id", ondelete="CASCADE"))
    token_id: Mapped[int | None] = mapped_column(ForeignKey("api_token.id", ondelete="CASCADE"))
    """The token the session was opened with (a token login), or None (a password login)."""
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())
    last_seen_at: Mapped[datetime] = mapped_column(
        DateTime(timezone=True), server_default=func.now()
    )
    expires_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    ended_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    user_agent: Mapped[str | None] = mapped_column(String(300))


def sha256(value: str) -> str:
    return hashlib.sha256(value.encode("utf-8")).hexdigest()


# -- users and passwords ----------------------------------------------------------------------
def hash_password(password: str, field: str = "password", user_name: str | None = None) -> str:
    """An argon2id hash (``$argon2id$v=19$...``) of a password that breaks none of the rules of
    layers/password_rules.py (10..1024 characters, not a common one, not the user name):
    InvalidAccountInput naming ``field`` and the rule (``extra.rule``) otherwise."""
    if problem := password_problem(password, user_name):
        rule, message = problem
        raise InvalidAccountInput(message, field=field, extra={"rule": rule})
    return _HASHER.hash(password)


def _check_person(session: Session, person_id: int | None) -> None:
    if person_id is not None and session.get(Person, person_id) is None:
        raise InvalidAccountInput(
            f"no staff member with id {person_id}; find ids with /api/v1/teams/{{id}}/members or "
            "/api/v1/grids/{code}/responsible",
            field="person_id",
        )


class LastAdmin(CodeConflict):
    """The change would leave no enabled admin (409): nobody could manage users any more."""


def _check_scope(session: Session, scope: Scope, field: str = "scope") -> None:
    """InvalidAccountInput unless a town/village scope names a grid of the city (any
    generation: a scope may outlive a redrawing)."""
    if scope.code is None:
        return
    from layers.grids import Grid

    if session.scalar(select(Grid.id).where(Grid.code == scope.code).limit(1)) is None:
        raise InvalidAccountInput(
            f"scope {scope} names no {scope.kind.value} of the city; find codes with "
            "/api/v1/grids?level=1 (towns) or level=2 (villages)",
            field=field,
        )


def usable_admins(*, session: Session) -> Any:
    """A select of the ids of admins who can still get in: enabled, and with a password (the
    pages) or an unrevoked token (the API; tokens do not expire). A system user with no password
    and only revoked tokens is no admin anyone can be (issue 11)."""
    from layers.models import ApiToken

    live_token = (
        select(ApiToken.id)
        .where(ApiToken.user_id == AppUser.id, ApiToken.revoked_at.is_(None))
        .exists()
    )
    return select(AppUser.id).where(
        AppUser.role == Role.ADMIN,
        AppUser.disabled_at.is_(None),
        or_(AppUser.password_hash.is_not(None), live_token),
    )


def _keep_an_admin(session: Session, user: AppUser, *, field: str) -> None:
    """LastAdmin unless another admin could still get in (:func:`usable_admins`) once ``user``
    is demoted or disabled (call before either)."""
    others = session.scalar(
        select(func.count()).select_from(
            usable_admins(session=session).where(AppUser.id != user.id).subquery()
        )
    )
    if not others:
        raise LastAdmin(
            f"user {user.name} is the last enabled admin who can sign in (with a password or an "
            "unrevoked token); make another user admin first "
            f'(PATCH /api/v1/users/ID {{"role": "admin"}} or gridgis user set-role NAME admin)',
            field=field,
        )


def create_user(
    *,
    session: Session,
    name: str,
    role: Role | str,
    display_name: str | None = None,
    scope: Scope = CITY,
    person_id: int | None = None,
    password: str | None = None,
    system: bool = False,
) -> AppUser:
    """A new user; raises CodeConflict if the name is taken."""
    name = name.strip()
    if not name or len(name) > 100 or any(ch.isspace() or ord(ch) < 32 for ch in name):
        raise InvalidAccountInput(
            f"user name {name!r} must be 1 to 100 characters without spaces", field="name"
        )
    if session.scalar(select(AppUser.id).where(AppUser.name == name)) is not None:
        from layers.integrity import CONSTRAINTS  # the one wording of a taken user name

        raise with_zh(
            CodeConflict(f"user name {name!r} is taken; choose another", field="name"),
            CONSTRAINTS["app_user_name_key"][2].format(value=name),
        )
    _check_person(session, person_id)
    _check_scope(session, scope)
    if scope.kind is ScopeKind.GRIDS and person_id is None:
        raise InvalidAccountInput("scope grids needs person_id (the staff member)", field="scope")
    user = AppUser(
        name=name,
        display_name=display_name or name,
        role=Role(role),
        scope_kind=scope.kind.value,
        scope_code=scope.code,
        person_id=person_id,
        password_hash=hash_password(password, user_name=name) if password is not None else None,
        system=system,
    )
    session.add(user)
    session.flush()
    return user


def get_user(*, session: Session, user_id: int | None = None, name: str | None = None) -> AppUser:
    user = (
        session.get(AppUser, user_id)
        if user_id is not None
        else session.scalar(select(AppUser).where(AppUser.name == name))
    )
    if user is None:
        which = f"id {user_id}" if user_id is not None else f"name {name!r}"
        raise UserNotFound(
            f"no user with {which}; list users with GET /api/v1/users or `gridgis user list`",
            field="user_id" if user_id is not None else "name",
        )
    return user


def list_users(*, session: Session) -> list[AppUser]:
    return list(session.scalars(select(AppUser).order_by(AppUser.id)))


def ensure_system_user(*, session: Session, name: str, role: Role | str) -> AppUser:
    """The system user ``name`` (created if missing) for ``gridgis token create NAME``; an
    existing user of another role is refused rather than silently changed."""
    user = session.scalar(select(AppUser).where(AppUser.name == name))
    if user is None:
        return create_user(session=session, name=name, role=role, system=True)
    if user.role is not Role(role):
        raise CodeConflict(
            f"user {name!r} exists with role {user.role.value}; create the token with --role "
            f"{user.role.value}, or change the user's role first (`PATCH /api/v1/users/{user.id}`)",
            field="role",
        )
    return user


def update_user(
    *,
    session: Session,
    user: AppUser,
    role: Role | str | None = None,
    scope: Scope | None = None,
    person_id: int | bool | None = False,
    display_name: str | None = None,
    disabled: bool | None = None,
) -> AppUser:
    """Change what is given (``person_id=None`` unlinks, the default ``False`` keeps). A change
    of role, scope, person or disabling ends the user's sessions: they log in again."""
    changed = False
    was_admin = user.role is Role.ADMIN and user.disabled_at is None
    if was_admin and role is not None and Role(role) is not Role.ADMIN:
        _keep_an_admin(session, user, field="role")
    if was_admin and disabled is True:
        _keep_an_admin(session, user, field="disabled")
    if scope is not None:
        _check_scope(session, scope)
    if role is not None and Role(role) is not user.role:
        user.role, changed = Role(role), True
    if person_id is not False:
        new_person = person_id if isinstance(person_id, int) else None
        _check_person(session, new_person)
        if new_person != user.person_id:
            user.person_id, changed = new_person, True
    if scope is not None and scope != user.scope:
        user.scope_kind, user.scope_code, changed = scope.kind.value, scope.code, True
    if user.scope.kind is ScopeKind.GRIDS and user.person_id is None:
        raise InvalidAccountInput("scope grids needs person_id (the staff member)", field="scope")
    if display_name is not None:
        user.display_name = display_name
    if disabled is True and user.disabled_at is None:
        user.disabled_at, changed = datetime.now(UTC), True
    elif disabled is False:
        user.disabled_at = None
    if changed:
        end_sessions(session=session, user_id=user.id)
    mark_identities_changed(session)
    session.flush()
    return user


def disable_user(*, session: Session, user: AppUser) -> None:
    """Disable ``user``: every session ends now and its tokens are refused from now on."""
    update_user(session=session, user=user, disabled=True)


def set_password(*, session: Session, user: AppUser, password: str) -> None:
    """Store a new argon2 hash and end the user's sessions (log in again everywhere)."""
    user.password_hash = hash_password(password, user_name=user.name)
    end_sessions(session=session, user_id=user.id)
    mark_identities_changed(session)
    session.flush()


def authenticate(*, session: Session, name: str, password: str) -> AppUser:
    """The enabled user with this name and password, or AuthError (the same message and the
    same argon2 work for an unknown name and a wrong password, so names cannot be probed).

    The hash is read, then the session's connection is released (its transaction rolled back:
    call this before any write of the request) while argon2 runs
    (layers/password_gate.py; call it inside ``password_gate.slot()``)."""
    found = session.execute(
        select(AppUser.id, AppUser.password_hash, AppUser.disabled_at).where(
            AppUser.name == name.strip()
        )
    ).first()
    session.rollback()  # no connection held while hashing
    stored = found.password_hash if found is not None else None
    if not password_gate.verify(_HASHER, stored, password[:PASSWORD_MAX_CHARS]):
        raise AuthError("unknown user name or wrong password", field="password")
    assert found is not None and stored is not None  # verify() is False without a hash
    if found.disabled_at is not None:
        raise AuthError("this account is disabled; ask an administrator", field="name")
    rehash = _HASHER.hash(password) if _HASHER.check_needs_rehash(stored) else None
    user = session.get(AppUser, found.id)
    if user is None:  # deleted meanwhile
        raise AuthError("unknown user name or wrong password", field="password")
    if rehash is not None:
        user.password_hash = rehash
    user.last_login_at = datetime.now(UTC)
    return user


def user_may_act(user: AppUser | None) -> None:
    """Raise AuthError if ``user`` is disabled (its tokens and sessions are refused)."""
    if user is not None and user.disabled_at is not None:
        raise AuthError(
            f"user {user.name} is disabled; ask an administrator", field="Authorization"
        )


# -- page sessions ----------------------------------------------------------------------------
def start_session(
    *,
    session: Session,
    max_age_s: int,
    user_id: int | None = None,
    token_id: int | None = None,
    user_agent: str | None = None,
    phone: bool = False,
) -> tuple[UserSession, str]:
    """A new page session for a user (password login) or a token (token login); returns the
    row and the cookie value (shown only now; only its SHA-256 is stored). ``phone``: a
    session of the officer app, idle-timed-out by the shift (:func:`resolve_session`)."""
    value = (PHONE_SESSION_PREFIX if phone else SESSION_PREFIX) + secrets.token_urlsafe(32)
    row = UserSession(
        id_hash=sha256(value),
        user_id=user_id,
        token_id=token_id,
        expires_at=func.now() + timedelta(seconds=max_age_s),  # the same clock as created_at
        user_agent=(user_agent or "")[:300] or None,
    )
    session.add(row)
    session.flush()
    return row, value


def is_phone_session(value: str) -> bool:
    """Was the page session ``value`` opened by the officer app (:func:`start_session`)?"""
    return value.startswith(PHONE_SESSION_PREFIX)


def resolve_session(
    *, session: Session, value: str, idle_s: int, phone_idle_s: int | None = None
) -> Identity:
    """Who the page session ``value`` speaks for, or AuthError if it is unknown, ended, expired,
    idle for more than ``idle_s`` (a phone session: ``phone_idle_s`` when given, the shift),
    its token revoked or its user disabled. One indexed query."""
    if phone_idle_s is not None and is_phone_session(value):
        idle_s = phone_idle_s
    expired = with_zh(
        AuthError("your session has ended; log in again at /login", field="Authorization"),
        "登录已结束：请在 /login 重新登录",
    )
    if not value.startswith(SESSION_PREFIX) or len(value) > 100:
        raise expired
    now = datetime.now(UTC)
    found = session.execute(
        select(UserSession, AppUser, ApiToken)
        .outerjoin(AppUser, AppUser.id == UserSession.user_id)
        .outerjoin(ApiToken, ApiToken.id == UserSession.token_id)
        .where(UserSession.id_hash == sha256(value))
    ).one_or_none()
    if found is None:
        raise expired
    row, user, token = found
    if (
        row.ended_at is not None
        or row.expires_at <= now
        or row.last_seen_at <= now - timedelta(seconds=idle_s)
        or (token is not None and token.revoked_at is not None)
        or (user is not None and user.disabled_at is not None)
    ):
        raise expired
    if row.last_seen_at <= now - timedelta(seconds=TOUCH_EVERY_S):
        touch(session=session, table="user_session", column="last_seen_at", row_id=row.id)
    # idle from the last recorded use (kept to within TOUCH_EVERY_S of the real one)
    valid_until = min(row.expires_at, max(row.last_seen_at, now) + timedelta(seconds=idle_s))
    if user is not None:
        return replace(
            user.identity(token_id=row.token_id, session_id=row.id), valid_until=valid_until
        )
    assert token is not None  # the table's check: a session has a user or a token
    return Identity(
        name=token.name,
        role=token.role,
        token_id=token.id,
        person_id=token.person_id,
        session_id=row.id,
        valid_until=valid_until,
    )


def end_session(*, session: Session, value: str) -> bool:
    """End the page session ``value`` now; False if it was not live."""
    mark_identities_changed(session)
    result = session.execute(
        update(UserSession)
        .where(UserSession.id_hash == sha256(value), UserSession.ended_at.is_(None))
        .values(ended_at=func.now())
    )
    return bool(result.rowcount)  # type: ignore[attr-defined]


def end_sessions(
    *, session: Session, user_id: int | None = None, token_id: int | None = None
) -> int:
    """End every live session of ``user_id`` and/or opened with ``token_id``; how many."""
    owners = []
    if user_id is not None:
        owners.append(UserSession.user_id == user_id)
    if token_id is not None:
        owners.append(UserSession.token_id == token_id)
    if not owners:
        return 0
    mark_identities_changed(session)
    result = session.execute(
        update(UserSession)
        .where(or_(*owners), UserSession.ended_at.is_(None))
        .values(ended_at=func.now())
    )
    return int(result.rowcount)  # type: ignore[attr-defined]


def touch(*, session: Session, table: str, column: str, row_id: int) -> None:
    """Set ``table.column`` to now() unless another request holds the row (SKIP LOCKED: a
    once-a-minute timestamp never makes a request wait). Raw SQL for the row lock clause."""
    assert (table, column) in {("user_session", "last_seen_at"), ("api_token", "last_used_at")}
    if session.execute(text("SELECT current_setting('transaction_read_only')")).scalar() == "on":
        return  # a read-only database (standby, disk trouble) still answers reads
    session.execute(
        text(
            f"UPDATE {table} SET {column} = now() WHERE id = ("
            f"SELECT id FROM {table} WHERE id = :id FOR UPDATE SKIP LOCKED)"
        ),
        {"id": row_id},
    )


# -- where a user acts ------------------------------------------------------------------------
ENTITLED_STAFF_ROLES = (StaffRole.GRID_CHIEF, StaffRole.GRID_WORKER)


def scope_codes(*, session: Session, identity: Identity) -> tuple[str, ...] | None:
    """Grid-code prefixes the caller's scope allows, or None for the whole city. ``grids``: the
    grids the caller's person is assigned to today (any staff role)."""
    scope = identity.scope
    if scope.kind is ScopeKind.CITY:
        return None
    if scope.kind is ScopeKind.GRIDS:
        from layers.roster import person_grid_codes

        if identity.person_id is None:
            return ()
        return tuple(
            person_grid_codes(session=session, person_id=identity.person_id, roles=tuple(StaffRole))
        )
    assert scope.code is not None
    return (scope.code,)


def prefix_clause(column: Any, codes: tuple[str, ...] | None) -> Any:
    """A WHERE clause keeping rows whose grid-code ``column`` lies in ``codes`` (from
    :func:`scope_codes`); None for the whole city (no clause). Prefixes are literal."""
    if codes is None:
        return None
    if not codes:
        return false()
    return or_(*(column.startswith(c, autoescape=True) for c in codes))


def prefix_sql(column: str, codes: tuple[str, ...] | None) -> tuple[str, dict[str, Any]]:
    """:func:`prefix_clause` for hand-written SQL: a condition keeping rows whose grid-code
    ``column`` (SQL text, e.g. ``e.grid_code``) starts with one of ``codes`` ("TRUE" for None,
    "FALSE" for none) and its bind parameters (``scope0``, …; prefixes are literal)."""
    if codes is None:
        return "TRUE", {}
    if not codes:
        return "FALSE", {}
    params = {f"scope{i}": c for i, c in enumerate(codes)}
    cond = " OR ".join(f"left({column}, length(:{k})) = :{k}" for k in params)
    return f"({cond})", params


def in_codes(grid_code: str | None, codes: tuple[str, ...] | None) -> bool:
    """:func:`prefix_clause` for one value in Python: the one rule "in scope by grid code"
    (a code lies in the scope when one of the scope's codes prefixes it; None: the city)."""
    return codes is None or (grid_code is not None and grid_code.startswith(tuple(codes)))


def touches_codes(grid_code: str, codes: tuple[str, ...] | None) -> bool:
    """Whether the area ``grid_code`` and the scope ``codes`` overlap: the area lies inside the
    scope, or contains part of it (a town's squad for a user scoped to a village of it)."""
    return in_codes(grid_code, codes) or any(c.startswith(grid_code) for c in codes or ())


def people_in_scope(*, session: Session, codes: tuple[str, ...] | None) -> set[int] | None:
    """Ids of the people inside ``codes`` (from :func:`scope_codes`): assigned today (any role)
    to a grid inside them, or of a town inside them; None for the whole city (everyone)."""
    if codes is None:
        return None
    if not codes:
        return set()
    from layers.people import GridAssignment
    from layers.roster import _active

    today = datetime.now(UTC).date()
    assigned = select(GridAssignment.person_id).where(
        prefix_clause(GridAssignment.grid_code, codes), _active(today)
    )
    town = select(Person.id).where(prefix_clause(Person.town_code, codes))
    return set(session.scalars(assigned)) | set(session.scalars(town))


def require_person_in_scope(
    *, session: Session, identity: Identity, person_id: int | None, what: str
) -> None:
    """Forbidden unless the person ``person_id`` lies inside the caller's scope (see
    :func:`people_in_scope`); a thing of nobody (None) is visible to city-scoped callers only."""
    codes = scope_codes(session=session, identity=identity)
    allowed = people_in_scope(session=session, codes=codes)
    if allowed is not None and (person_id is None or person_id not in allowed):
        raise Forbidden(
            f"{what} belongs to someone outside your scope ({identity.scope}); ask a "
            "dispatcher of that area",
            field="scope",
        )


def require_routing_in_scope(
    *, session: Session, identity: Identity, changes: dict[str, Any]
) -> None:
    """Forbidden unless a case's new routing stays inside the caller's scope: a new unit grid
    inside it, a chief or worker among its people (:func:`people_in_scope`), a squad of a town
    it touches (the city's own teams serve everyone). Values of other types are left to the
    routing's own checks (layers.events.intake.check_routing_changes)."""
    codes = scope_codes(session=session, identity=identity)
    if codes is None:
        return
    outside = f"outside your scope ({identity.scope}); a dispatcher of that area or of the city "
    grid = changes.get("grid_code")
    if isinstance(grid, str) and not in_codes(grid, codes):
        raise Forbidden(f"grid {grid} is {outside}routes a case there", field="changes/grid_code")
    people: set[int] | None = None
    for key in ("chief_person_id", "worker_person_id"):
        pid = changes.get(key)
        if isinstance(pid, int) and not isinstance(pid, bool):
            people = people_in_scope(session=session, codes=codes) if people is None else people
            if people is not None and pid not in people:
                raise Forbidden(
                    f"person {pid} works {outside}assigns cases to them", field=f"changes/{key}"
                )
    team_id = changes.get("squad_team_id")
    if isinstance(team_id, int) and not isinstance(team_id, bool):
        from layers.people import Team

        team = session.get(Team, team_id)
        if team is not None and team.town_code and not touches_codes(team.town_code, codes):
            raise Forbidden(
                f"squad {team_id} is of town {team.town_code}, {outside}sends cases to it",
                field="changes/squad_team_id",
            )


def require_in_scope(
    *, session: Session, identity: Identity, grid_code: str, what: str, field: str = "scope"
) -> None:
    """Forbidden (403, ``field``) unless ``grid_code`` lies inside the caller's scope: the one
    rule for every write that places a thing at a point or in an area (a market entity, a
    draw, a zone, a household, an event a dispatcher files). ``grid_code`` "" is the whole
    city (a draw without an area), inside the city's scope only."""
    if not in_codes(grid_code, scope_codes(session=session, identity=identity)):
        where = f"in grid {grid_code}" if grid_code else "city-wide (no grid or area code)"
        raise Forbidden(
            f"{what} is {where}, outside your scope ({identity.scope}); place it inside your "
            "area, or ask a dispatcher or planner of that area or of the city",
            field=field,
            extra={"grid_code": grid_code or None},
        )
