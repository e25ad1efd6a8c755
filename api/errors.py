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


# The titles in Chinese, for a request that asks for Chinese (:func:`asks_zh`). RFC 9457 §3.1.3:
# a title does not change from occurrence to occurrence "except for localization". Every title
# of STATUS, of the database faults and of HTTP's reason phrases the API answers with is here
# (tests/api/test_problem_titles_zh.py checks it); an unknown title stays in English.
TITLES_ZH: dict[str, str] = {
    "Bad request": "请求有误", "Fix refused": "定位点被拒收",
    "Invalid tile address": "瓦片地址无效",
    "Unsupported CRS": "不支持的坐标参照系", "Authentication required": "需要登录",
    "Unauthorized": "需要登录", "Forbidden": "无权操作", "Review refused": "审核被拒绝",
    "Cross-site request refused": "跨站请求被拒绝",
    "Calendar year not loaded": "该年度工作日历未导入", "Collection not found": "图层集合不存在",
    "Coverage not computed": "覆盖率尚未计算", "Device not found": "设备不存在",
    "Draw not found": "抽签记录不存在", "Event not found": "事件不存在",
    "Feature not found": "要素不存在", "Generation not found": "网格版本不存在",
    "Grid not found": "网格不存在", "Household not found": "住户不存在", "Not found": "未找到",
    "Page script not found": "页面脚本不存在", "Photo not found": "照片不存在",
    "Team not found": "队伍不存在", "Tile not found": "瓦片不存在", "Token not found": "令牌不存在",
    "Unknown tile layer": "未知的瓦片图层", "User not found": "用户不存在",
    "Zone not found": "片区不存在", "Method not allowed": "不允许的请求方法",
    "Method Not Allowed": "不允许的请求方法", "Not Found": "未找到",
    "Conflict": "数据冲突", "Code conflict": "编码冲突", "Invalid state": "状态不允许此操作",
    "Newer publications would be reverted": "将撤销更新的发布",
    "Possible duplicate": "疑似重复事件", "Rebase conflict": "变基冲突",
    "Version conflict": "版本冲突", "Generation superseded": "网格版本已被取代",
    "Precondition failed": "前提条件不满足", "Precondition Failed": "前提条件不满足",
    "Form part too large": "表单字段过大", "Payload too large": "请求体过大",
    "Photo too large": "照片过大", "Too many rows": "行数过多", "Not a photo": "不是照片",
    "Unsupported media type": "不支持的内容类型", "Unsupported Media Type": "不支持的内容类型",
    "Draft refused": "草稿被拒绝", "Idempotency key reused": "幂等键已用于其他请求",
    "Invalid calendar table": "工作日历表无效", "Invalid draft": "草稿无效",
    "Invalid draw": "抽签参数无效", "Invalid edit": "编辑无效", "Invalid geometry": "几何图形无效",
    "Invalid grid file": "网格文件无效", "Invalid parameter": "参数无效",
    "Invalid roster rows": "名册行无效", "Invalid zoning": "片区划分无效",
    "Malformed file": "文件格式错误", "Malformed form": "表单格式错误",
    "Unknown event subclass": "未知的事件小类", "Unreadable file": "无法读取文件",
    "Unreadable roster": "无法读取名册", "Unreadable body": "无法解析请求体",
    "Precondition required": "缺少前提条件", "Precondition Required": "缺少前提条件",
    "Too many attempts": "尝试次数过多", "Too Many Requests": "请求过于频繁",
    "Database unavailable": "数据库不可用", "Database read-only": "数据库只读",
    "Database disk full": "数据库磁盘已满", "Database out of resources": "数据库资源不足",
    "Database conflict": "数据库并发冲突", "Internal error": "服务器内部错误",
    "Service Unavailable": "服务暂不可用", "Bad Request": "请求有误",
    "Unprocessable Content": "参数无效", "Unprocessable Entity": "参数无效",
    "Request Entity Too Large": "请求体过大", "Content Too Large": "请求体过大",
    "Gone": "已不存在", "Not Acceptable": "无法提供所请求的格式",
}  # fmt: skip


def asks_zh(request: Request) -> bool:
    """Does the request ask for Chinese explicitly (``?lang=zh…`` or ``Accept-Language``,
    api/lang.py)? Clients that name no language get English problems."""
    from api.lang import accept_language

    asked = request.query_params.get("lang") or accept_language(
        request.headers.get("accept-language")
    )
    return str(asked or "").startswith("zh")


def problem(
    status: int,
    title: str,
    detail: str,
    *,
    field: str | None = None,
    instance: str | None = None,
    request: Request | None = None,
    **extra: Any,
) -> JSONResponse:
    """A problem+json answer (RFC 9457): ``type`` by :func:`problem_type`, ``field`` the
    parameter name or the JSON pointer of the body field (``fixes/0/time``), ``instance`` the
    request path. Given the ``request``, the title is in Chinese when it asks for Chinese
    (:data:`TITLES_ZH`); the ``detail`` is the caller's, already in the request's language."""
    body: dict[str, Any] = {
        "type": problem_type(status),
        "title": TITLES_ZH.get(title, title) if request is not None and asks_zh(request) else title,
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
    return str(zh) if asks_zh(request) else exc.detail


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
    response = problem(
        status, title, _localized(request, exc), field=exc.field, request=request, **extra
    )
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
        status,
        "Invalid parameter",
        detail,
        field=field,
        instance=request.url.path,
        request=request,
        errors=invalid,
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
            request=request,
        )
    elif exc.status_code == 400 and "parsing the body" in detail:
        # FastAPI's answer to a body it cannot parse (e.g. JSON nested too deep)
        return problem(
            400,
            "Unreadable body",
            "the body cannot be parsed (malformed, or nested too deep); send a plain JSON object",
            field="body",
            request=request,
        )
    # the title names the kind (HTTP's reason phrase), never the path: that is the instance
    try:
        title = HTTPStatus(exc.status_code).phrase
    except ValueError:
        title = "Error"
    response = problem(exc.status_code, title, detail, instance=request.url.path, request=request)
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
    from layers.integrity import describe_integrity

    words = describe_integrity(exc)  # the field and the fix, never the constraint or SQL
    zh = asks_zh(request)
    detail = f"{words.zh}；未保存任何内容" if zh else f"{words.en}; nothing was stored"
    return problem(409, "Conflict", detail, field=words.field, request=request)


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
        request=request,
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


def database_problem(fault: DatabaseFault, request: Request | None = None) -> JSONResponse:
    """503 problem+json naming the cause, with ``Retry-After``; the request's transaction was
    rolled back (api/deps.py get_session), so nothing of it is half-written. The title is in
    Chinese when the ``request`` asks for it (:func:`problem`)."""
    title, retry_after_s, cause = DATABASE_FAULTS[fault.kind]
    response = problem(
        503,
        title,
        f"{cause}: the request was not carried out and nothing of it was stored; send it "
        f"again in {retry_after_s} s",
        request=request,
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
    return database_problem(fault, request)


async def _unexpected(request: Request, exc: Exception) -> JSONResponse:
    if (fault := _fault_in_chain(exc)) is not None:  # e.g. raised from a lost connection
        log.warning("database %s on %s %s: %s", fault.kind, request.method, request.url.path,
                    fault.message)  # fmt: skip
        return database_problem(fault, request)
    log.exception("unhandled error on %s %s", request.method, request.url.path)
    return problem(
        500, "Internal error", "an unexpected error occurred; it has been logged", request=request
    )


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
