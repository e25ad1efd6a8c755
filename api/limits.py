"""Request body size limits, enforced while the body streams in (issue 11.6).

:class:`BodyLimit` is an ASGI middleware: a ``Content-Length`` over the route's limit is
answered 413 before a byte of the body is read; a body without one (chunked) is counted as
it arrives and the request is answered 413 as soon as the count passes the limit, whatever
the route was doing with it. The answer is ``application/problem+json`` with ``field: body``.

Limits are per route (method and path prefix, the first match wins); every other request
body may be at most :data:`DEFAULT_BODY_MAX_BYTES`.
"""

from __future__ import annotations

from dataclasses import dataclass

import orjson
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from api.errors import PROBLEM

MIB = 1024 * 1024
DEFAULT_BODY_MAX_BYTES = 20 * MIB


@dataclass(frozen=True)
class RouteLimit:
    """Bodies of ``method`` (None: any) requests under ``path_prefix`` up to ``max_bytes``."""

    method: str | None
    path_prefix: str
    max_bytes: int


ROUTE_LIMITS: tuple[RouteLimit, ...] = (
    # one fix per request (Traccar Client, OsmAnd, OwnTracks)
    RouteLimit(None, "/api/v1/ingest/osmand", 64 * 1024),
    RouteLimit(None, "/api/v1/ingest/owntracks", 64 * 1024),
    # files and batches
    RouteLimit("POST", "/api/v1/ingest/batch", 32 * MIB),
    RouteLimit("POST", "/api/v1/ingest/gpx", 32 * MIB),
    RouteLimit("POST", "/api/v1/staff/import", 20 * MIB),
    RouteLimit("POST", "/api/v1/events/import/hotline", 50 * MIB),
    RouteLimit("POST", "/api/v1/events", 50 * MIB),  # reports and actions with up to 9 photos
    RouteLimit("POST", "/api/v1/generations", 200 * MIB),  # a city's grids as a GeoPackage
    RouteLimit("PUT", "/api/v1/calendar", 1 * MIB),  # a year's holiday table
)


def limit_for(method: str, path: str, routes: tuple[RouteLimit, ...] = ROUTE_LIMITS) -> int:
    """The body limit in bytes of a request."""
    for route in routes:
        if (route.method is None or route.method == method) and path.startswith(route.path_prefix):
            return route.max_bytes
    return DEFAULT_BODY_MAX_BYTES


class BodyTooLarge(Exception):
    """Raised inside ``receive`` when the body passes its limit (the middleware answers)."""


def _problem(limit: int, received: int | None) -> bytes:
    said = f"the body is {received} bytes" if received is not None else "the body is too large"
    return orjson.dumps(
        {
            "type": "https://gridgis.local/problems/payload-too-large",
            "title": "Payload too large",
            "status": 413,
            "detail": f"{said}; this endpoint takes at most {limit} bytes ({limit / MIB:.2f} "
            "MiB): split the upload into smaller files or batches",
            "field": "body",
            "limit_bytes": limit,
        }
    )


class BodyLimit:
    """ASGI middleware enforcing :func:`limit_for` (or ``routes``) on every HTTP request."""

    def __init__(
        self,
        app: ASGIApp,
        routes: tuple[RouteLimit, ...] = ROUTE_LIMITS,
        extra: tuple[RouteLimit, ...] = (),
    ) -> None:
        self.app = app
        self.routes = tuple(extra) + tuple(routes)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        limit = limit_for(scope["method"], scope["path"], self.routes)
        declared = _content_length(scope)
        if declared is not None and declared > limit:
            await _answer(send, limit, declared)
            return
        total = 0
        exceeded = False
        started = False

        async def limited_receive() -> Message:
            nonlocal total, exceeded
            message = await receive()
            if message["type"] == "http.request":
                total += len(message.get("body", b""))
                if total > limit:
                    exceeded = True
                    raise BodyTooLarge
            return message

        async def guarded_send(message: Message) -> None:
            nonlocal started
            if exceeded:
                # whatever the route made of the interrupted read, the answer is ours
                if not started:
                    started = True
                    await _answer(send, limit, None)
                return
            if message["type"] == "http.response.start":
                started = True
            await send(message)

        try:
            await self.app(scope, limited_receive, guarded_send)
        except BodyTooLarge:
            if not started:
                await _answer(send, limit, None)
        except Exception:
            if not exceeded:
                raise
            if not started:
                await _answer(send, limit, None)


async def _answer(send: Send, limit: int, received: int | None) -> None:
    body = _problem(limit, received)
    await send(
        {
            "type": "http.response.start",
            "status": 413,
            "headers": [
                (b"content-type", PROBLEM.encode()),
                (b"content-length", str(len(body)).encode()),
                (b"connection", b"close"),
            ],
        }
    )
    await send({"type": "http.response.body", "body": body})


def _content_length(scope: Scope) -> int | None:
    for key, value in scope.get("headers", ()):
        if key == b"content-length":
            try:
                return int(value)
            except ValueError:
                return None
    return None
