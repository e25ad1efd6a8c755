"""The API's interactive documentation, ``/docs`` (Swagger UI) and ``/redoc`` (ReDoc), served
entirely from this app so that they work under the Content-Security-Policy (api/csp.py: no
inline script, nothing from a CDN).

FastAPI's own pages load their bundles from a CDN and start them with an inline script; they
are switched off in api/main.py (``docs_url=None, redoc_url=None``). Here the bundles come from
the pinned npm packages ``swagger-ui-dist`` and ``redoc`` (``maps/assets/package.json``, served
under ``/static/vendor`` like the map's vendor files, maps/assets.py), the page is
``templates/apidocs.html`` and the start-up code ``maps/static/gridgis-apidocs.js``.
"""

from __future__ import annotations

from pathlib import Path

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse
from jinja2 import Environment, FileSystemLoader, select_autoescape

from maps.assets import ASSETS_DIR, STATIC_DIR, static_mounts

router = APIRouter(tags=["pages"])

TEMPLATES = Environment(
    loader=FileSystemLoader(Path(__file__).parent / "templates"),
    autoescape=select_autoescape(["html"]),
)
_MOUNTS = static_mounts("/static")
VENDOR_URL = next(u for u, d in _MOUNTS.items() if d == ASSETS_DIR)
STATIC_URL = next(u for u, d in _MOUNTS.items() if d == STATIC_DIR)
INIT_URL = f"{STATIC_URL}/gridgis-apidocs.js"

# kind -> (bundle, stylesheet or None), paths inside maps/assets/node_modules
BUNDLES: dict[str, tuple[str, str | None]] = {
    "swagger": ("swagger-ui-dist/swagger-ui-bundle.js", "swagger-ui-dist/swagger-ui.css"),
    "redoc": ("redoc/bundles/redoc.standalone.js", None),
}


def _page(request: Request, kind: str, title: str) -> HTMLResponse:
    bundle, css = BUNDLES[kind]
    html = TEMPLATES.get_template("apidocs.html").render(
        kind=kind,
        title=f"{request.app.title} · {title}",
        openapi_url=request.app.openapi_url or "/openapi.json",
        bundle_url=f"{VENDOR_URL}/{bundle}",
        css_url=f"{VENDOR_URL}/{css}" if css else None,
        init_url=INIT_URL,
    )
    return HTMLResponse(html)


@router.get("/docs", response_class=HTMLResponse, include_in_schema=False)
def swagger_ui(request: Request) -> HTMLResponse:
    """Swagger UI over ``/openapi.json`` (try the operations with a token)."""
    return _page(request, "swagger", "Swagger UI")


@router.get("/redoc", response_class=HTMLResponse, include_in_schema=False)
def redoc(request: Request) -> HTMLResponse:
    """ReDoc over ``/openapi.json`` (reading; search off: it needs a blob: worker)."""
    return _page(request, "redoc", "ReDoc")
