"""The FastAPI application: assembly only. Everything it serves lives in routes/ and pages/."""

from __future__ import annotations

import logging
import re
import warnings
from collections import Counter
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any
from urllib.parse import unquote

from fastapi import Depends, FastAPI
from fastapi.routing import APIRoute
from sqlalchemy import Engine, create_engine, text
from starlette.middleware.gzip import GZipMiddleware

from api.authcache import AUTH_CHANNEL, GENERATION_CHANNEL, ChangeListener, IdentityCache
from api.csp import content_security_policy, tile_origins
from api.database import database_url, open_engine, open_sessions  # noqa: F401
from api.errors import install_error_handlers
from api.http_rules import HeadAsGet, check_parameters
from api.limits import BodyLimit, RouteLimit
from api.locators import LocatorCache, warm_active
from api.openapi_accepts import document_accepted_values
from api.pages.error_pages import HtmlErrorPages
from api.periodic import start_late_fix_recompute
from api.routes import modules_with
from api.schemas.common import ERROR_RESPONSES, add_problem_schema
from api.schemas.security import add_security
from api.security import install_security
from api.settings import Settings
from api.static import CachedStaticFiles, cache_control_for
from layers.archive import PARTITION_CHANNEL
from layers.calendar_tables import CALENDAR_CHANNEL
from layers.calendar_tables import ensure_loaded as ensure_calendar_loaded
from layers.calendar_tables import invalidate as invalidate_calendar
from layers.calendar_tables import set_listening as set_calendar_listening
from layers.db import follow_server_state, make_engine, make_sessionmaker
from layers.grids import ACTIVE_CACHE
from layers.migrate import upgrade
from layers.positions import PARTITIONS
from layers.tables import shutdown_pool as shutdown_parse_pool
from maps.assets import static_mounts

log = logging.getLogger("gridgis")


MIN_POSTGIS = (3, 3)
_SECRET_IN_QUERY = re.compile(r"((?:key|token|secret)=)[^&\s\"]+", re.IGNORECASE)


class RedactSecrets(logging.Filter):
    """Access logs never show device keys or tokens sent in URLs (Traccar Client sends its key
    as a query parameter)."""

    def filter(self, record: logging.LogRecord) -> bool:
        if isinstance(record.args, tuple):
            # names percent-encoded (%74oken=) are secrets too: decode before masking
            record.args = tuple(
                _SECRET_IN_QUERY.sub(r"\1***", unquote(a)) if isinstance(a, str) else a
                for a in record.args
            )
        return True


def check_postgis(engine: Engine) -> None:
    """Refuse to start on a PostGIS older than 3.3 (the lowest we test), saying what to do."""
    with engine.connect() as conn:
        version = str(conn.execute(text("SELECT postgis_lib_version()")).scalar_one())
    numbers = tuple(int(part) for part in version.split(".")[:2])
    if numbers < MIN_POSTGIS:
        raise RuntimeError(
            f"PostGIS {version} is too old; GridGIS needs PostGIS >= 3.3. Upgrade the server "
            "or unset DATABASE_URL to use the embedded cluster"
        )


def operation_id(route: APIRoute) -> str:
    """The OpenAPI operation id: the route's tag and name (``events-list_events``). A route
    serving several methods gets the method added per operation (:func:`openapi_document`);
    tests/api/test_openapi_document.py checks that no two operations share one."""
    tag = str(route.tags[0]).replace(" ", "_") if route.tags else "default"
    return f"{tag}-{route.name}"


def _drop_json_placeholder(op: dict[str, Any]) -> None:
    """FastAPI puts an empty ``application/json`` schema on every route returning its own
    Response; where the route declares what it answers instead (GeoJSON, CSV …), drop it."""
    for response in op.get("responses", {}).values():
        content = response.get("content", {})
        if content.get("application/json") == {"schema": {}} and len(content) > 1:
            del content["application/json"]


def openapi_document(app: FastAPI) -> dict[str, Any]:
    """FastAPI's document, with ``-<method>`` added to the operation ids of routes that serve
    several methods (FastAPI gives each of their operations the same id)."""
    if app.openapi_schema is None:
        with warnings.catch_warnings():
            warnings.filterwarnings("ignore", "Duplicate Operation ID")
            doc = FastAPI.openapi(app)
        seen = Counter(
            op.get("operationId") for item in doc["paths"].values() for op in item.values()
        )
        for item in doc["paths"].values():
            for method, op in item.items():
                if seen[op.get("operationId")] > 1:
                    op["operationId"] = f"{op['operationId']}-{method}"
                _drop_json_placeholder(op)
        add_problem_schema(doc)
        add_security(app, doc)  # securitySchemes and each operation's security (Authorize)
        document_accepted_values(doc)  # app-wide bounds (int32 ids, date days): issue 11
        app.openapi_schema = doc
    return app.openapi_schema


def create_app(settings: Settings | None = None) -> FastAPI:
    settings = settings or Settings()

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        access_log = logging.getLogger("uvicorn.access")
        if not any(isinstance(f, RedactSecrets) for f in access_log.filters):
            access_log.addFilter(RedactSecrets())
        url, cluster = database_url(settings)
        started = cluster.start() if cluster is not None else False
        engine = make_engine(url, pool_size=settings.database.pool_size)
        upgrade(engine)
        check_postgis(engine)
        app.state.engine = engine
        app.state.sessions = make_sessionmaker(engine)
        with app.state.sessions() as session:  # the holiday tables, seeded and loaded once
            ensure_calendar_loaded(session)
        # Single-fix ingest (Traccar/OsmAnd) runs one statement per round trip in autocommit
        # on its own pool: no ping per checkout (a dropped connection is retried instead).
        app.state.ingest_engine = create_engine(
            engine.url, pool_size=settings.database.pool_size,
            max_overflow=settings.database.pool_size, pool_pre_ping=False,
            pool_reset_on_return=None, isolation_level="AUTOCOMMIT",
            connect_args={"options": "-c timezone=UTC"},
        )  # fmt: skip
        # ... but a connection the server closed while pooled (restart) or opened read-only is
        # replaced at checkout, found without a round trip (layers/db.py).
        follow_server_state(app.state.ingest_engine, detect_dropped=True)
        app.state.locators = LocatorCache()
        warm_active(app.state.locators, app.state.sessions)  # in the background
        app.state.identities = IdentityCache()
        listener = ChangeListener(
            engine.url.set(drivername="postgresql").render_as_string(hide_password=False),
            {AUTH_CHANNEL: app.state.identities.invalidate,
             GENERATION_CHANNEL: lambda payload: (  # and the new one's locator built
                 ACTIVE_CACHE.invalidate(payload),
                 warm_active(app.state.locators, app.state.sessions)),
             PARTITION_CHANNEL: lambda _: PARTITIONS.forget(),
             CALENDAR_CHANNEL: invalidate_calendar},
            lambda up: (app.state.identities.set_enabled(up), ACTIVE_CACHE.set_enabled(up),
                        set_calendar_listening(up)),
        )  # fmt: skip
        listener.start()
        stop_periodic = start_late_fix_recompute(
            app.state.sessions,
            settings.server.late_recompute_s,
            metric_srid=settings.geo.metric_srid,
        )
        app.state.page_cache = {}
        app.state.session_secret = settings.auth.secret(settings.database.data_dir)
        try:
            yield
        finally:
            stop_periodic()
            listener.stop()
            shutdown_parse_pool()  # the upload parsers' child processes (layers/tables.py)
            writer = getattr(app.state, "fix_writer", None)  # single fixes (api/ingest/group.py)
            if writer is not None:
                writer.close()  # its last group committed before the pool goes
            app.state.ingest_engine.dispose()
            engine.dispose()
            if started and cluster is not None:
                cluster.stop()

    app = FastAPI(
        title="GridGIS 网格通",
        version="0.1.0",
        description="Grid backbone, point-in-grid routing and maps for a grid-management "
        "command centre.",
        lifespan=lifespan,
        generate_unique_id_function=operation_id,
        docs_url=None,  # /docs and /redoc: api/pages/apidocs.py (no CDN, no inline script)
        redoc_url=None,
        # strict query booleans and integer ids on every route (api/http_rules.py)
        dependencies=[Depends(check_parameters)],
    )
    app.state.settings = settings
    app.openapi = lambda: openapi_document(app)  # type: ignore[method-assign]
    install_error_handlers(app)
    # CSRF check and security headers (api/security.py), with the pages' CSP (api/csp.py)
    install_security(app, content_security_policy(tile_origins(settings.map)))
    # Body size limits while streaming, before any route reads (api/limits.py).
    app.add_middleware(
        BodyLimit,
        extra=(RouteLimit("POST", "/api/v1/locate", settings.server.locate_batch_max * 64),),
    )
    # API routers declare the problem+json errors once (api/schemas/common.py); pages are HTML.
    for module in modules_with("api.routes", "router"):
        app.include_router(module.router, responses=ERROR_RESPONSES)
    for module in modules_with("api.pages", "router"):
        app.include_router(module.router)
    # Every JS/CSS file of the pages is served from here: pinned npm packages, folium's own
    # templates and our CSS. Nothing is loaded from a CDN.
    for url, folder in static_mounts("/static").items():
        files = CachedStaticFiles(
            directory=folder, check_dir=False, cache_control=cache_control_for(url)
        )
        app.mount(url, files, name=url.rsplit("/", 1)[-1])
    # A browser gets a bad page address as a page, API clients as problem+json.
    app.add_middleware(HtmlErrorPages)
    # Pages and JSON over ~1 KB are compressed (a 3 MB map page becomes about 0.6 MB).
    app.add_middleware(GZipMiddleware, minimum_size=1024)
    # Every GET answers HEAD (same headers, no body); outermost, so HEAD is exactly the GET.
    app.add_middleware(HeadAsGet)
    return app
