"""How the API is authenticated, in the OpenAPI document (issue 11, task S part 5): the schemes
in ``components.securitySchemes`` and, on every operation that needs a caller, its ``security``
(so Swagger UI at /docs shows "Authorize" and sends the credential).

- ``bearer``: ``Authorization: Bearer <token>`` (an API token: ``gridgis token create``);
- ``basic``: HTTP Basic, any user name and the token as the password (QGIS and GDAL's
  Basic authentication on the OGC API);
- ``session``: the page session cookie ``gridgis_session`` (``/login``; writes need this site's
  Origin, api/security.py);
- ``deviceKey``: a device's secret as ``?key=`` (Traccar Client / OsmAnd), besides ``bearer``,
  ``basic`` and ``X-Device-Secret`` on the ingest endpoints.

Which operations: those whose dependencies include :func:`api.deps.principal_dependency` (the
one check of a caller), and the ingest endpoints (devices authenticate with their secret).
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from typing import Any

from fastapi import FastAPI
from fastapi.dependencies.models import Dependant
from fastapi.routing import APIRoute

from api.security import SESSION_COOKIE

SCHEMES: dict[str, dict[str, Any]] = {
    "bearer": {"type": "http", "scheme": "bearer", "description": "an API token"},
    "basic": {
        "type": "http",
        "scheme": "basic",
        "description": "any user name, the API token as the password (QGIS, GDAL: OGC API)",
    },
    "session": {
        "type": "apiKey",
        "in": "cookie",
        "name": SESSION_COOKIE,
        "description": "the page session of /login (writes need this site's Origin)",
    },
    "deviceKey": {
        "type": "apiKey",
        "in": "query",
        "name": "key",
        "description": "a device's secret (Traccar Client / OsmAnd); or Bearer, Basic, "
        "X-Device-Secret",
    },
}
CALLER = [{"bearer": []}, {"basic": []}, {"session": []}]
DEVICE = [{"bearer": []}, {"basic": []}, {"deviceKey": []}]
INGEST_PREFIX = "/api/v1/ingest/"


def _calls(dependant: Dependant) -> Iterable[Any]:
    stack = [dependant]
    while stack:
        node = stack.pop()
        yield node.call
        stack.extend(node.dependencies)


def _routes(app: FastAPI) -> Iterator[Any]:
    """Every route of ``app`` with its effective path, methods and dependencies: APIRoutes, and
    the routes of included routers (FastAPI keeps those as contexts of the including app)."""
    for route in app.routes:
        contexts = getattr(route, "effective_route_contexts", None)
        if contexts is not None:
            yield from contexts()
        elif isinstance(route, APIRoute):
            yield route


def needs_caller(route: Any) -> bool:
    """Whether the route authenticates its caller (:func:`api.deps.principal_dependency`)."""
    from api.deps import principal_dependency

    dependant = getattr(route, "dependant", None)
    return dependant is not None and any(c is principal_dependency for c in _calls(dependant))


def add_security(app: FastAPI, doc: dict[str, Any]) -> None:
    """``components.securitySchemes`` and each authenticated operation's ``security`` in the
    OpenAPI document ``doc`` of ``app`` (in place)."""
    doc.setdefault("components", {})["securitySchemes"] = SCHEMES
    paths = doc.get("paths", {})
    for route in _routes(app):
        path_format = getattr(route, "path_format", "")
        if not getattr(route, "include_in_schema", False) or path_format not in paths:
            continue
        if path_format.startswith(INGEST_PREFIX):
            security = DEVICE
        elif needs_caller(route):
            security = CALLER
        else:
            continue
        for method in getattr(route, "methods", None) or ():
            op = paths[path_format].get(method.lower())
            if op is not None:
                op["security"] = security
