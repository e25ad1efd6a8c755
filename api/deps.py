"""Request dependencies: the session, the caller, and one small parser per query parameter.

Each parser returns a typed value or raises ``InvalidParameter`` naming the field and the fix.
"""

from __future__ import annotations

import base64
import math
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass
from datetime import UTC, date, datetime, time
from typing import Annotated, Any

from fastapi import Depends, Query, Request
from pydantic import BaseModel, ConfigDict, field_validator
from sqlalchemy.orm import Session
from starlette.concurrency import run_in_threadpool

from api.errors import InvalidParameter
from api.security import SESSION_COOKIE
from gis.crs import DATUM_NAMES, Datum, datum_of
from layers import accounts, auth, login_throttle
from layers.calendar_tables import CALENDAR_CHANGED
from layers.calendar_tables import invalidate as invalidate_calendar
from layers.errors import AuthError, Forbidden, with_zh
from layers.grids import ACTIVE_CACHE, GENERATIONS_CHANGED
from layers.models import Role
from layers.workcal import SHANGHAI


async def get_session(request: Request) -> AsyncIterator[Session]:
    """One session per request inside one transaction (committed if the handler succeeds).

    An async dependency (no thread hop per request): a SQLAlchemy session does no I/O until it is
    first used, so a request answered from the caches (``GET /locate`` with a known token) never
    touches the database; when the handler used it, commit/rollback/close run in the thread pool.
    A committed change of who may do what, of the generation in force or of the holiday tables
    drops this process's cache of it before the response is sent (api/authcache.py,
    layers.grids.ACTIVE_CACHE, layers.calendar_tables.invalidate)."""
    session = request.app.state.sessions()
    try:
        yield session
    except BaseException:
        if session.in_transaction():
            await run_in_threadpool(session.close)  # close() rolls back
        else:
            session.close()
        if session.info.pop(CALENDAR_CHANGED, False):
            invalidate_calendar()  # the copy computed with the rolled-back table
        raise
    if session.in_transaction():
        await run_in_threadpool(_commit_and_close, session)
    else:
        session.close()  # nothing open: no I/O
    if session.info.pop(accounts.IDENTITIES_CHANGED, False):
        request.app.state.identities.invalidate()
    if session.info.pop(GENERATIONS_CHANGED, False):
        ACTIVE_CACHE.invalidate()
    if session.info.pop(CALENDAR_CHANGED, False):
        invalidate_calendar()  # holiday tables (layers/calendar_tables.py)


def _commit_and_close(session: Session) -> None:
    try:
        session.commit()
    finally:
        session.close()


# scope="function": the transaction commits before the response is sent, so a success answer
# always means the data is stored (FastAPI's default "request" scope would commit afterwards).
SessionDep = Annotated[Session, Depends(get_session, scope="function")]


# -- who is calling ---------------------------------------------------------------------------
@dataclass(frozen=True)
class Principal:
    """The caller: ``token_id`` is None for a password login; ``user_id`` None for an old token
    without a user; ``person_id`` the staff member they speak for; ``scope`` where they act."""

    token_id: int | None
    name: str
    role: Role
    user_id: int | None = None
    person_id: int | None = None
    scope: accounts.Scope = accounts.CITY
    session_id: int | None = None

    @classmethod
    def of(cls, identity: accounts.Identity) -> Principal:
        return cls(
            token_id=identity.token_id,
            name=identity.name,
            role=identity.role,
            user_id=identity.user_id,
            person_id=identity.person_id,
            scope=identity.scope,
            session_id=identity.session_id,
        )

    @property
    def identity(self) -> accounts.Identity:
        return accounts.Identity(
            name=self.name,
            role=self.role,
            user_id=self.user_id,
            token_id=self.token_id,
            person_id=self.person_id,
            scope=self.scope,
            session_id=self.session_id,
        )


def _token_from_request(request: Request) -> str | None:
    header = request.headers.get("authorization", "")
    if header.lower().startswith("bearer "):
        return header[7:].strip()
    if header.lower().startswith("basic "):
        # Desktop clients (QGIS's Basic authentication, GDAL_HTTP_USERPWD): any user name,
        # the token as the password; no token in the URL or the logs.
        try:
            decoded = base64.b64decode(header[6:].strip(), validate=True).decode("utf-8")
        except (ValueError, UnicodeDecodeError):
            decoded = ""
        return decoded.partition(":")[2].strip() or None
    if request.headers.get("x-api-token"):
        return request.headers["x-api-token"].strip()
    # Desktop GIS clients (QGIS, GDAL) can only add a query parameter in some set-ups.
    return request.query_params.get("token")


def _credential_key(request: Request) -> tuple[tuple[str, str], str] | None:
    """The cache key of the caller's credential and the credential itself: a token (header or
    ``?token=``) or the page session cookie; None when there is neither. A credential header
    that holds nothing never falls back to the page cookie (that would be a cookie write past
    the cross-site check, which trusts credential headers): AuthError."""
    token = _token_from_request(request)
    if not token and (
        request.headers.get("authorization", "").lower().startswith(("bearer ", "basic "))
        or "x-api-token" in request.headers
    ):
        raise with_zh(
            AuthError(
                "the Authorization header holds no token; send 'Authorization: Bearer <token>'",
                field="Authorization",
            ),
            "Authorization 请求头中没有令牌：请发送 “Authorization: Bearer <令牌>”",
        )
    if token:
        return ("token", auth.hash_token(token)), token
    cookie = request.cookies.get(SESSION_COOKIE)
    if cookie:
        return ("session", accounts.sha256(cookie)), cookie
    return None


def client_address(request: Request) -> str | None:
    """The client's address (uvicorn puts a trusted proxy's X-Forwarded-For here)."""
    return request.client.host if request.client else None


def _identify_throttled(request: Request, session: Session, value: str) -> accounts.Identity:
    """The token's identity. A valid token always gets through (other tokens' failures from
    the same address never refuse it); a wrong one counts per (token hash, address) and per
    address, answered 429 with Retry-After instead of 401 while either is locked
    (layers/login_throttle.py)."""
    try:
        return auth.identify(session=session, value=value)
    except AuthError:
        engine = request.app.state.engine
        attempt = login_throttle.token_keys(token=value, address=client_address(request))
        armed = login_throttle.admit(engine, attempt)  # TooManyAttempts: 429
        login_throttle.record_failure(engine, armed, what="token")
        raise


READ_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
"""Requests the identity cache may answer; every other method (a write) confirms the token or
session in the database before acting (:func:`current_principal`)."""


def current_principal(request: Request, session: Session) -> Principal:
    """The caller, checked against the database on every request (or, for a read, this
    process's cache of it, dropped at once on any change: api/authcache.py): a token (header
    or ``?token=``) or the page session cookie (an opaque id, see layers/accounts.py). A write
    (any method but GET, HEAD, OPTIONS) always reads the token or session row again (one
    unique-index query with its user), so an ended session, a revoked token, a disabled user or
    a changed role or scope never writes, in any process, even before the NOTIFY that drops the
    caches arrives. Cross-site writes with the cookie never get here (api/security.py).
    Blocking on a cache miss: call it from a thread."""
    found = _credential_key(request)
    if found is None:
        raise with_zh(
            AuthError(
                "this API needs a token: send 'Authorization: Bearer <token>' (the demo prints "
                "an admin token at start-up)",
                field="Authorization",
            ),
            "未登录或登录已过期：请在 /login 重新登录"
            "（接口调用请发送 “Authorization: Bearer <令牌>”）",
        )
    key, value = found
    cache = request.app.state.identities
    hit = cache.get(key) if request.method in READ_METHODS else None
    if hit is None:
        epoch = cache.epoch
        if key[0] == "token":
            hit = _identify_throttled(request, session, value)
        else:
            auth_settings = request.app.state.settings.auth
            hit = accounts.resolve_session(
                session=session, value=value, idle_s=auth_settings.session_idle_s,
                phone_idle_s=auth_settings.phone_session_s,
            )  # fmt: skip
        cache.put(key, hit, epoch)
    principal = Principal.of(hit)
    request.state.principal = principal  # pages: the navigation bar shows what this role may use
    return principal


async def principal_dependency(request: Request, session: SessionDep) -> Principal:
    """:func:`current_principal` as a dependency: a cached caller of a read is answered on the
    event loop (no thread hop, no database); a miss or a write is looked up in the thread pool."""
    found = _credential_key(request)
    if (
        found is not None
        and request.method in READ_METHODS
        and (hit := request.app.state.identities.get(found[0])) is not None
    ):
        principal = Principal.of(hit)
        request.state.principal = principal  # as current_principal does
        return principal
    return await run_in_threadpool(current_principal, request, session)


PrincipalDep = Annotated[Principal, Depends(principal_dependency)]

ALL_ROLES = tuple(Role)


def require(*roles: Role) -> Callable[[Principal], Awaitable[Principal]]:
    """A dependency admitting only ``roles`` (admin is always admitted)."""
    allowed = {*roles, Role.ADMIN}

    async def check(principal: PrincipalDep) -> Principal:
        if principal.role not in allowed:
            names = ", ".join(sorted(r.value for r in allowed))
            raise Forbidden(
                f"role {principal.role.value} may not do this; it needs one of: {names}",
                field="Authorization",
            )
        return principal

    return check


Reader = Annotated[Principal, Depends(require(*ALL_ROLES))]
Planner = Annotated[Principal, Depends(require(Role.PLANNER))]
Admin = Annotated[Principal, Depends(require(Role.ADMIN))]


# -- parameter parsers ------------------------------------------------------------------------
def parse_crs(value: Any, field: str = "crs") -> Datum:
    """The datum of a ``crs`` parameter or body field (gis.crs.datum_of: our names, EPSG:4490,
    EPSG:4326, their OGC URIs, OGC CRS84); CGCS2000 when absent; 422 naming ``field``."""
    if value is None or value == "":
        return Datum.CGCS2000
    if not isinstance(value, str):  # a JSON body may send a number, a list or an object
        raise InvalidParameter(
            f"{field} {str(value)[:40]!r} is not a name; use one of {DATUM_NAMES}", field=field
        )
    datum = datum_of(value)
    if datum is None:
        raise InvalidParameter(
            f"{field} {value[:60]!r} is not supported; use one of {DATUM_NAMES}", field=field
        )
    return datum


async def crs_query(
    crs: Annotated[str | None, Query(description=DATUM_NAMES)] = None,
) -> Datum:
    return parse_crs(crs)


def check_lonlat(lon: float, lat: float, *, prefix: str = "") -> None:
    """Finite and in range; a swapped pair is named as such. ``prefix`` is the JSON pointer of
    the point in a body (``points/3/``: fields ``points/3/lon``, ``points/3/lat``)."""
    for name, value in (("lon", lon), ("lat", lat)):
        if not math.isfinite(value):
            raise InvalidParameter(
                f"{prefix}{name} is {value}; give a finite number in degrees", field=prefix + name
            )
    if not -90.0 <= lat <= 90.0:
        hint = (
            "; lon and lat look swapped (lon comes first, e.g. lon=120.28&lat=31.90)"
            if -90.0 <= lon <= 90.0 and -180.0 <= lat <= 180.0
            else ""
        )
        raise InvalidParameter(f"{prefix}lat {lat} is outside -90..90{hint}", field=prefix + "lat")
    if not -180.0 <= lon <= 180.0:
        raise InvalidParameter(f"{prefix}lon {lon} is outside -180..180", field=prefix + "lon")


YEAR_MIN, YEAR_MAX = 1970, 2100
"""Dates and times the API takes (``at``, ``from``, ``to``, ``date``, ``reported_at``, …)."""


def _check_year(year: int, value: object, field: str) -> None:
    if not YEAR_MIN <= year <= YEAR_MAX:
        raise InvalidParameter(
            f"{field} {str(value)[:40]!r} is in the year {year}; give a date in "
            f"{YEAR_MIN}..{YEAR_MAX}",
            field=field,
        )


def parse_at(value: str | None, field: str = "at") -> datetime | None:
    """A date (``2026-05-01``, taken as 00:00 Asia/Shanghai) or an ISO 8601 datetime, in the
    years 1970..2100 (:data:`YEAR_MIN`, :data:`YEAR_MAX`)."""
    if value is None or value == "":
        return None
    if not isinstance(value, str):
        raise InvalidParameter(
            f"{field} {value!r} is not a date string; send ISO 8601 text, e.g. "
            '"2026-05-01T08:30:00+08:00"',
            field=field,
        )
    try:
        if len(value) > 40:
            raise ValueError
        if len(value) == 10:
            day = date.fromisoformat(value)
            _check_year(day.year, value, field)
            return datetime.combine(day, time(0), tzinfo=SHANGHAI)
        parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        raise InvalidParameter(
            f"{field} {value[:40]!r} is not a date; use ISO 8601, e.g. 2026-05-01 or "
            "2026-05-01T08:30:00+08:00",
            field=field,
        ) from None
    _check_year(parsed.year, value, field)
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=SHANGHAI).astimezone(UTC)


async def at_query(
    at: Annotated[str | None, Query(description="date or datetime (ISO 8601)")] = None,
) -> datetime | None:
    return parse_at(at)


def parse_bbox(value: str | None, field: str = "bbox") -> tuple[float, float, float, float] | None:
    """``west,south,east,north`` in degrees (EPSG:4490)."""
    if value is None or value == "":
        return None
    parts = value.split(",")
    if len(parts) not in (4, 6):
        raise InvalidParameter(
            f"bbox needs 4 numbers west,south,east,north, got {len(parts)}: {value!r}",
            field=field,
        )
    try:
        numbers = [float(p) for p in parts]
    except ValueError:
        raise InvalidParameter(
            f"bbox {value!r} has a value that is not a number; use e.g. 120.2,31.85,120.35,31.95",
            field=field,
        ) from None
    if len(numbers) == 6:  # 3-D bbox: drop the heights
        numbers = [numbers[0], numbers[1], numbers[3], numbers[4]]
    west, south, east, north = numbers
    if not all(math.isfinite(n) for n in numbers):
        raise InvalidParameter("bbox values must be finite numbers", field=field)
    if not (
        -180 <= west <= 180 and -180 <= east <= 180 and -90 <= south <= 90 and -90 <= north <= 90
    ):
        raise InvalidParameter(
            f"bbox {value!r} is out of range: longitudes -180..180, latitudes -90..90, order "
            "west,south,east,north",
            field=field,
        )
    if south > north:
        raise InvalidParameter(
            f"bbox south {south} is north of north {north}; the order is west,south,east,north",
            field=field,
        )
    if west > east:
        raise InvalidParameter(
            f"bbox west {west} is east of east {east}; the order is west,south,east,north",
            field=field,
        )
    return west, south, east, north


async def bbox_query(
    bbox: Annotated[str | None, Query(description="west,south,east,north")] = None,
) -> tuple[float, float, float, float] | None:
    return parse_bbox(bbox)


def parse_day(value: str, field: str = "date") -> date:
    """A calendar day written YYYY-MM-DD (an Asia/Shanghai day wherever days are meant), in
    the years 1970..2100."""
    try:
        day = date.fromisoformat(value[:40])
    except (TypeError, ValueError):
        raise InvalidParameter(
            f"{field} {str(value)[:40]!r} is not a date; write it as YYYY-MM-DD, e.g. 2026-03-03",
            field=field,
        ) from None
    _check_year(day.year, value, field)
    return day


def parse_shift(value: str | None, field: str = "shift") -> tuple[time, time] | None:
    """A shift ``HH:MM-HH:MM`` (past midnight if the end is not after the start); empty: none."""
    from layers.coverage import parse_shift as parse

    try:
        return parse(value)
    except ValueError as exc:
        raise InvalidParameter(str(exc), field=field) from None


def parse_resolution(value: int | str | None, field: str = "resolution") -> int | None:
    """An H3 resolution (empty: none, e.g. "the latest run's")."""
    from gis.hexgrid import MAX_RESOLUTION, MIN_RESOLUTION

    if value is None or value == "":
        return None
    number = -1 if isinstance(value, str) and not value.isdigit() else int(value)
    if not MIN_RESOLUTION <= number <= MAX_RESOLUTION:
        raise InvalidParameter(
            f"resolution {value!r} is outside {MIN_RESOLUTION}..{MAX_RESOLUTION}; use 10 or 11",
            field=field,
        )
    return number


def parse_level(value: int | None, field: str = "level") -> int | None:
    if value is not None and value not in (1, 2, 3):
        raise InvalidParameter(f"level {value} does not exist; use 1, 2 or 3", field=field)
    return value


class RequestBody(BaseModel):
    """Base of JSON request bodies: numbers finite (no NaN/Infinity, e.g. 1e400), strings at
    most 10,000 characters unless the field says less, no NUL character in a string. Flags
    and counts use ``StrictBool``/``StrictInt`` so "false" is not a boolean nor true a count.
    A field the model does not name is refused (422 naming it), never silently dropped."""

    model_config = ConfigDict(allow_inf_nan=False, str_max_length=10_000, extra="forbid")

    @field_validator("*", mode="after")
    @classmethod
    def _no_nul(cls, value: object) -> object:
        if isinstance(value, str) and "\x00" in value:
            raise ValueError("contains a NUL character (\\u0000); remove it")
        if isinstance(value, list) and any(isinstance(v, str) and "\x00" in v for v in value):
            raise ValueError("an item contains a NUL character (\\u0000); remove it")
        return value


CrsDep = Annotated[Datum, Depends(crs_query)]
AtDep = Annotated[datetime | None, Depends(at_query)]
BboxDep = Annotated[tuple[float, float, float, float] | None, Depends(bbox_query)]
