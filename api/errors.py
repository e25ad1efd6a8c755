"""One table from exception to HTTP status; every error leaves as application/problem+json
(RFC 9457) with ``type``, ``title``, ``status``, ``detail`` and the offending ``field``."""

from __future__ import annotations

import logging
from http import HTTPStatus
from typing import Any

import psycopg
from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from sqlalchemy.exc import DataError, DBAPIError, IntegrityError
from sqlalchemy.exc import TimeoutError as PoolTimeout
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.routing import Match

from layers.coverage import CoverageNotComputed
from layers.db import DatabaseFault, database_fault
from layers.errors import (
    AuthError,
    CodeConflict,
    DomainError,
    Forbidden,
    GenerationNotFound,
    GridNotFound,
    InvalidGeometry,
    InvalidState,
    NotFound,
    ZoneNotFound,
)
from layers.events.dictionary import DictionaryFileError, InvalidEventInput, SubclassNotFound
from layers.events.intake import PhotoTooLarge, PhotoWrongType, PossibleDuplicate
from layers.login_throttle import TooManyAttempts

# uvicorn's logging config disables loggers created before it runs; its error logger is
# always configured, so unexpected errors land in the server log with their traceback.
log = logging.getLogger("uvicorn.error")
PROBLEM = "application/problem+json"


class InvalidParameter(DomainError):
    """A request parameter or body value that is malformed or out of range."""


class PayloadTooLarge(DomainError):
    """A batch over the configured limit."""


class UnsupportedMediaType(DomainError):
    """A body in a format the endpoint does not take."""


STATUS: dict[type[DomainError], tuple[int, str]] = {
    InvalidParameter: (422, "Invalid parameter"),
    PayloadTooLarge: (413, "Payload too large"),
    UnsupportedMediaType: (415, "Unsupported media type"),
    NotFound: (404, "Not found"),
    GridNotFound: (404, "Grid not found"),
    ZoneNotFound: (404, "Zone not found"),
    GenerationNotFound: (404, "Generation not found"),
    CodeConflict: (409, "Code conflict"),
    InvalidGeometry: (422, "Invalid geometry"),
    InvalidState: (409, "Invalid state"),
    AuthError: (401, "Authentication required"),
    Forbidden: (403, "Forbidden"),
    # events (issue 5)
    SubclassNotFound: (422, "Unknown event subclass"),
    InvalidEventInput: (422, "Invalid parameter"),
    DictionaryFileError: (422, "Malformed file"),
    PhotoTooLarge: (413, "Photo too large"),
    PhotoWrongType: (415, "Not a photo"),
    PossibleDuplicate: (409, "Possible duplicate"),
    CoverageNotComputed: (404, "Coverage not computed"),
    TooManyAttempts: (429, "Too many attempts"),
}


PROBLEM_BASE = "https://gridgis.local/problems/"
# The problem ``type`` names the kind of problem, one stable URI per kind (never the request's
# path or values: those go to ``instance`` and ``detail``); ``title`` says which problem of the
# kind (e.g. "Grid not found"). Documented in docs/problems.md.
PROBLEM_KINDS: dict[int, str] = {
    400: "bad-request",
    401: "unauthorized",
    403: "forbidden",
    404: "not-found",
    405: "method-not-allowed",
    409: "conflict",
    412: "precondition-failed",
    413: "payload-too-large",
    415: "unsupported-media-type",
    422: "validation",
    428: "precondition-required",
    429: "too-many-requests",
    500: "internal",
    503: "unavailable",
}


def problem_type(status: int) -> str:
    """The stable ``type`` URI of a problem answered with ``status``."""
    return PROBLEM_BASE + PROBLEM_KINDS.get(status, "bad-request" if status < 500 else "internal")


def problem(
    status: int,
    title: str,
    detail: str,
    *,
    field: str | None = None,
    instance: str | None = None,
    **extra: Any,
) -> JSONResponse:
    """A problem+json answer (RFC 9457): ``type`` by :func:`problem_type`, ``field`` the
    parameter name or the JSON pointer of the body field (``fixes/0/time``), ``instance`` the
    request path."""
    body: dict[str, Any] = {
        "type": problem_type(status),
        "title": title,
        "status": status,
        "detail": detail,
    }
    if field is not None:
        body["field"] = field
    if instance is not None:
        body["instance"] = instance
    body.update(extra)
    headers = {"WWW-Authenticate": CHALLENGE} if status == 401 else None
    return JSONResponse(body, status_code=status, media_type=PROBLEM, headers=headers)


# Every scheme a 401 accepts (RFC 9110 §11.6.1): a token as Bearer, or HTTP Basic with the
# token as the password (QGIS, GDAL; api/deps.py reads both).
CHALLENGE = 'Bearer realm="gridgis", Basic realm="gridgis", charset="UTF-8"'

# A browser answers a Basic challenge to its own page's fetch() with a password dialog over the
# page: a page's scripts (Fetch Metadata: same-origin, destination "empty") get Bearer only and
# show their own "signed out" message.
PAGE_CHALLENGE = 'Bearer realm="gridgis"'


def _page_script(request: Request) -> bool:
    return (
        request.headers.get("sec-fetch-dest") == "empty"
        and request.headers.get("sec-fetch-site") == "same-origin"
    )


def _status_for(exc: DomainError) -> tuple[int, str]:
    for cls in type(exc).__mro__:
        if cls in STATUS:
            return STATUS[cls]  # type: ignore[index]
    return 400, "Bad request"


def _localized(request: Request, exc: DomainError) -> str:
    """``exc.detail``, or its Chinese text (``exc.detail_zh``, set where one was written) when
    the request asks for Chinese explicitly (``?lang=zh`` or ``Accept-Language``, api/lang.py);
    clients that name no language keep the English detail."""
    zh = getattr(exc, "detail_zh", None)
    if not zh:
        return exc.detail
    from api.lang import accept_language

    asked = request.query_params.get("lang") or accept_language(
        request.headers.get("accept-language")
    )
    return str(zh) if str(asked or "").startswith("zh") else exc.detail


def _ogc_query(request: Request) -> bool:
    """A read of the OGC API: its parameter errors answer 400, not 422 (OGC API - Features -
    Part 1, /req/core/query-param-invalid)."""
    return request.method in ("GET", "HEAD") and (
        request.url.path == "/ogc" or request.url.path.startswith("/ogc/")
    )


async def _domain_error(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, DomainError)
    status, title = _status_for(exc)
    if status == 422 and isinstance(exc, InvalidParameter) and _ogc_query(request):
        status = 400
    extra = {"instance": request.url.path, **exc.extra}
    response = problem(status, title, _localized(request, exc), field=exc.field, **extra)
    if status == 401 and _page_script(request):
        response.headers["WWW-Authenticate"] = PAGE_CHALLENGE
    if "retry_after_s" in exc.extra:  # e.g. a locked sign-in (429)
        response.headers["Retry-After"] = str(exc.extra["retry_after_s"])
    return response


BODY_TYPE_ERRORS = ("model_attributes_type", "model_type", "dict_type", "missing")


def _field_of(loc: tuple[Any, ...] | list[Any], kind: str | None = None) -> str:
    """The offending field of a validation error: a parameter's name (``event_id``,
    ``limit``), or the JSON pointer of a body field without its leading slash
    (``fixes/0/time``); ``body`` for the body as a whole."""
    if kind == "json_invalid" or (tuple(loc) == ("body",) and kind in BODY_TYPE_ERRORS):
        return "body"  # the body itself (a json_invalid loc's number is a character position)
    loc = tuple(loc)
    if loc and loc[0] in ("query", "path", "header", "cookie"):
        return str(loc[1]) if len(loc) > 1 else str(loc[0])
    rest = loc[1:] if loc and loc[0] == "body" else loc
    # RFC 6901 escapes: "~" as "~0", "/" as "~1"
    return "/".join(str(p).replace("~", "~0").replace("/", "~1") for p in rest) or "body"


async def _validation_error(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, RequestValidationError)
    errors = exc.errors()
    first = errors[0] if errors else {"loc": (), "msg": "invalid request"}
    field = _field_of(first.get("loc", ()), first.get("type"))
    detail = f"{field}: {first.get('msg')}"
    if first.get("type") == "missing":
        detail = f"{field} is required; add it to the request"
    invalid = [
        {"field": _field_of(e.get("loc", ()), e.get("type")), "message": e.get("msg")}
        for e in errors
    ]
    status = 400 if _ogc_query(request) else 422
    return problem(
        status, "Invalid parameter", detail, field=field, instance=request.url.path, errors=invalid
    )


# the messages of starlette.formparsers.MultiPartException
FORM_FAILURES = (
    "Part exceeded",
    "Field exceeded",
    "Too many",
    "Missing boundary",
    "Invalid multipart",
    "The Content-Disposition",
)


async def _http_error(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, StarletteHTTPException)
    detail = str(exc.detail)
    if exc.status_code == 404:
        detail = f"nothing at {request.url.path}; see /docs for the API"
    elif exc.status_code == 405:
        detail = f"{request.method} is not allowed on {request.url.path}; see /docs"
    elif exc.status_code == 400 and detail.startswith(FORM_FAILURES):
        # Starlette's form parser (a route reading Form(...) itself; API routes read forms
        # through api/forms.py, which names the part)
        too_large = "maximum" in detail
        return problem(
            413 if too_large else 422,
            "Form part too large" if too_large else "Malformed form",
            f"the form cannot be read: {detail} Shorten the part or send a well-formed form",
            field="body",
            instance=request.url.path,
        )
    elif exc.status_code == 400 and "parsing the body" in detail:
        # FastAPI's answer to a body it cannot parse (e.g. JSON nested too deep)
        return problem(
            400,
            "Unreadable body",
            "the body cannot be parsed (malformed, or nested too deep); send a plain JSON object",
            field="body",
        )
    # the title names the kind (HTTP's reason phrase), never the path: that is the instance
    try:
        title = HTTPStatus(exc.status_code).phrase
    except ValueError:
        title = "Error"
    response = problem(exc.status_code, title, detail, instance=request.url.path)
    for name, value in (exc.headers or {}).items():
        response.headers.setdefault(name, value)
    if exc.status_code == 405:  # every method of every route at the path (Starlette names one)
        response.headers["Allow"] = ", ".join(_allowed_methods(request))
    return response


def _allowed_methods(request: Request) -> list[str]:
    """The methods some route fully serves at the request's path (HEAD with GET)."""
    methods = {
        method
        for method in ("GET", "POST", "PUT", "PATCH", "DELETE", "OPTIONS")
        if any(
            route.matches({**request.scope, "method": method})[0] == Match.FULL
            for route in request.app.routes
        )
    }
    if "GET" in methods:
        methods.add("HEAD")
    return sorted(methods)


async def _integrity_error(request: Request, exc: Exception) -> JSONResponse:
    """A database constraint refused the write (e.g. a duplicate code): nothing was stored."""
    assert isinstance(exc, IntegrityError)
    from api.lang import accept_language
    from layers.integrity import describe_integrity

    words = describe_integrity(exc)  # the field and the fix, never the constraint or SQL
    asked = request.query_params.get("lang") or accept_language(
        request.headers.get("accept-language")
    )
    if str(asked or "").startswith("zh"):
        return problem(409, "Conflict", f"{words.zh}；未保存任何内容", field=words.field)
    return problem(409, "Conflict", f"{words.en}; nothing was stored", field=words.field)


async def _data_error(request: Request, exc: Exception) -> JSONResponse:
    """The database refused a value itself (too long for its column, out of range): a bad
    request, not a server fault; nothing was stored."""
    assert isinstance(exc, DataError)
    diag = getattr(exc.orig, "diag", None)
    column = getattr(diag, "column_name", None)
    first = str(exc.orig).splitlines()[0] if exc.orig is not None else str(exc)
    return problem(
        422,
        "Invalid parameter",
        f"a value does not fit: {first}; nothing was stored — shorten or correct it and send "
        "it again",
        field=column or "body",
    )


# A fault of the database server (not of the request): 503 with Retry-After (s), by kind.
DATABASE_FAULTS: dict[str, tuple[str, int, str]] = {
    "unavailable": ("Database unavailable", 5,
                    "the database cannot be reached (it may be restarting)"),
    "read_only": ("Database read-only", 30,
                  "the database accepts no writes at the moment (read-only or a standby)"),
    "disk_full": ("Database disk full", 60, "the database's disk is full"),
    "out_of_resources": ("Database out of resources", 10,
                         "the database is out of resources (memory or connections)"),
    "conflict": ("Database conflict", 1,
                 "the database cancelled this request to resolve a conflict with a concurrent "
                 "one (a deadlock or a serialization failure)"),
}  # fmt: skip


def database_problem(fault: DatabaseFault) -> JSONResponse:
    """503 problem+json naming the cause, with ``Retry-After``; the request's transaction was
    rolled back (api/deps.py get_session), so nothing of it is half-written."""
    title, retry_after_s, cause = DATABASE_FAULTS[fault.kind]
    response = problem(
        503,
        title,
        f"{cause}: the request was not carried out and nothing of it was stored; send it "
        f"again in {retry_after_s} s",
        database=fault.kind,
        sqlstate=fault.sqlstate,
        retry_after_s=retry_after_s,
    )
    response.headers["Retry-After"] = str(retry_after_s)
    return response


def _fault_in_chain(exc: BaseException) -> DatabaseFault | None:
    """The database fault behind ``exc`` or any exception it was raised from."""
    seen: set[int] = set()
    current: BaseException | None = exc
    while current is not None and id(current) not in seen:
        seen.add(id(current))
        if (fault := database_fault(current)) is not None:
            return fault
        current = current.__cause__ or current.__context__
    return None


async def _database_error(request: Request, exc: Exception) -> JSONResponse:
    """A database error: 503 if the server failed (:func:`layers.db.database_fault`), else a
    genuine bug (bad SQL, a missing table) and a logged 500."""
    fault = database_fault(exc)
    if fault is None:
        return await _unexpected(request, exc)
    log.warning("database %s on %s %s: %s", fault.kind, request.method, request.url.path,
                fault.message)  # fmt: skip
    return database_problem(fault)


async def _unexpected(request: Request, exc: Exception) -> JSONResponse:
    if (fault := _fault_in_chain(exc)) is not None:  # e.g. raised from a lost connection
        log.warning("database %s on %s %s: %s", fault.kind, request.method, request.url.path,
                    fault.message)  # fmt: skip
        return database_problem(fault)
    log.exception("unhandled error on %s %s", request.method, request.url.path)
    return problem(500, "Internal error", "an unexpected error occurred; it has been logged")


def install_error_handlers(app: FastAPI) -> None:
    app.add_exception_handler(DomainError, _domain_error)
    app.add_exception_handler(RequestValidationError, _validation_error)
    app.add_exception_handler(StarletteHTTPException, _http_error)
    app.add_exception_handler(IntegrityError, _integrity_error)
    app.add_exception_handler(DataError, _data_error)
    app.add_exception_handler(DBAPIError, _database_error)  # SQLAlchemy-wrapped
    app.add_exception_handler(psycopg.Error, _database_error)  # direct connections (ingest)
    app.add_exception_handler(PoolTimeout, _database_error)
    app.add_exception_handler(Exception, _unexpected)
