"""HTTP rules every route follows, kept in one place instead of in each route (issue 11).

- **HEAD**: every GET route answers HEAD with the status and headers its GET would send
  (``Content-Length`` included) and no body (:class:`HeadAsGet`, the outermost middleware).
- **Query booleans** are ``true`` or ``false`` (any case), or ``1`` / ``0``; anything else
  (``yes``, ``on``, ``t``, an empty value) is a 422 problem naming the parameter
  (:func:`check_parameters`). Pydantic alone would also take ``yes``/``on``/``y``/``t``.
- **Integers in the path or the query** that do not declare both bounds of their own must fit
  PostgreSQL's ``integer`` (−2147483648 … 2147483647), the type of every id column: a larger
  id is a 422 naming the parameter (``event_id``), never a database error about "body".

:func:`check_parameters` is an app-wide dependency (``FastAPI(dependencies=[...])`` in
api/main.py): it runs before the route's own parameters are validated and reads only the raw
query string and path, so it adds nothing to the OpenAPI document.
"""

from __future__ import annotations

from dataclasses import dataclass
from types import NoneType, UnionType
from typing import Any, Union, get_args, get_origin

from fastapi import Request
from fastapi.exceptions import RequestValidationError
from starlette.types import ASGIApp, Message, Receive, Scope, Send

INT_MIN, INT_MAX = -(2**31), 2**31 - 1  # PostgreSQL integer, the type of every id column
BOOL_WORDS = {"true": True, "false": False, "1": True, "0": False}


class HeadAsGet:
    """ASGI middleware: a HEAD request runs as the GET of its URL; the status and headers go
    out unchanged and the body is dropped (RFC 9110 §9.3.2). Add it last (outermost), so that
    compression and every other middleware treat it exactly as the GET."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["method"] != "HEAD":
            await self.app(scope, receive, send)
            return

        async def send_without_body(message: Message) -> None:
            if message["type"] == "http.response.body":
                if message.get("more_body", False):
                    return  # a streamed GET body: nothing of it is sent
                message = {"type": "http.response.body", "body": b"", "more_body": False}
            await send(message)

        await self.app({**scope, "method": "GET"}, receive, send_without_body)


@dataclass(frozen=True)
class _Checks:
    booleans: tuple[str, ...]  # query parameter names (aliases) typed bool
    query_ints: tuple[str, ...]  # query integers without bounds of their own
    path_ints: tuple[str, ...]  # path integers without bounds of their own


_CHECKS: dict[int, _Checks] = {}


def _types(annotation: Any) -> set[Any]:
    """The types of an annotation, ``X | None`` and ``Optional[X]`` unpacked."""
    if get_origin(annotation) in (Union, UnionType):
        return {t for arg in get_args(annotation) for t in _types(arg)} - {NoneType}
    return {annotation}


def _has_bounds(field: Any) -> bool:
    """Whether the parameter declares both a lower and an upper bound (``ge=0`` alone is not
    enough: ``offset=10**21`` would reach the database)."""
    names = {
        n for m in field.field_info.metadata for n in ("ge", "gt", "le", "lt") if hasattr(m, n)
    }
    if bool(names & {"ge", "gt"}) and bool(names & {"le", "lt"}):
        return True
    # a documented range the route enforces itself, e.g. OGC API's ``limit``, which a value
    # over the maximum must not fail but be served as the maximum (/req/core/fc-limit-response-1)
    extra = field.field_info.json_schema_extra
    return isinstance(extra, dict) and "minimum" in extra and "maximum" in extra


def _checks_of(route: Any) -> _Checks:
    """What to check for ``route`` (computed once per route from its dependency tree)."""
    cached = _CHECKS.get(id(route))
    if cached is not None:
        return cached
    booleans: list[str] = []
    query_ints: list[str] = []
    path_ints: list[str] = []
    stack = [route.dependant]
    while stack:
        dependant = stack.pop()
        stack.extend(dependant.dependencies)
        for field in dependant.query_params:
            types = _types(field.field_info.annotation)
            if bool in types:
                booleans.append(field.alias)
            elif int in types and not _has_bounds(field):
                query_ints.append(field.alias)
        for field in dependant.path_params:
            if int in _types(field.field_info.annotation) and not _has_bounds(field):
                path_ints.append(field.alias)
    checks = _Checks(tuple(booleans), tuple(query_ints), tuple(path_ints))
    _CHECKS[id(route)] = checks
    return checks


def _error(where: str, name: str, kind: str, message: str, value: str) -> RequestValidationError:
    return RequestValidationError(
        [{"type": kind, "loc": (where, name), "msg": message, "input": value}]
    )


def _check_int(where: str, name: str, raw: str) -> None:
    try:
        value = int(raw)
    except ValueError:
        return  # not a number: the route's own validation names it
    if not INT_MIN <= value <= INT_MAX:
        raise _error(
            where,
            name,
            "int_out_of_range",
            f"{value} is outside {INT_MIN} … {INT_MAX}; no object has such an id or count — "
            "check the number",
            raw,
        )


async def check_parameters(request: Request) -> None:
    """Refuse (422, the parameter named) a NUL character in any query or path parameter
    (PostgreSQL cannot store or compare it), a query boolean other than true/false/1/0 and an
    unbounded integer parameter outside PostgreSQL's integer range."""
    # the device protocols answer a bad fix themselves, with Traccar's 400 (api/routes/ingest.py)
    protocol = request.url.path.startswith("/api/v1/ingest/")
    for where, items in (("query", () if protocol else request.query_params.multi_items()),
                         ("path", request.path_params.items())):  # fmt: skip
        for name, raw in items:
            if isinstance(raw, str) and "\x00" in raw:
                raise _error(
                    where, name, "string_nul",
                    f"{name} contains a NUL character (%00); remove it", raw.replace("\x00", "")
                )  # fmt: skip
    route = request.scope.get("route")
    if route is None or not hasattr(route, "dependant"):
        return
    checks = _checks_of(route)
    query = request.query_params
    for name in checks.booleans:
        for raw in query.getlist(name):
            if raw.lower() not in BOOL_WORDS:
                raise _error(
                    "query",
                    name,
                    "bool_parsing",
                    f"{raw!r} is not a boolean; send {name}=true or {name}=false (or 1 / 0)",
                    raw,
                )
    for name in checks.query_ints:
        for raw in query.getlist(name):
            _check_int("query", name, raw)
    for name in checks.path_ints:
        raw = request.path_params.get(name)
        if isinstance(raw, str):
            _check_int("path", name, raw)
