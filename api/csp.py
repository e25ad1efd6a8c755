"""Content-Security-Policy of every HTML page (issue 11.3): no inline script, nothing from
outside but the configured basemap's tile servers.

The pages can forbid inline script because every script they run is a file of our own server:
page code in ``maps/static/``, folium's map set-up extracted into ``/page-scripts/<hash>.js``
(:mod:`api.pages.scripts`). ``style-src`` keeps ``'unsafe-inline'``: Leaflet and folium position
panes, markers and tooltips with ``style`` attributes and ``<style>`` blocks.

Kept as one function plus one middleware so that :mod:`api.security` (the security-headers
module of the sessions work) can absorb it: call :func:`content_security_policy` there and drop
:func:`install_csp`.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Iterable

from fastapi import FastAPI, Request, Response

from api.settings import MapSettings


def tile_origins(settings: MapSettings) -> tuple[str, ...]:
    """``scheme://host`` of every server the configured basemap loads tiles from (both page
    languages: Tianditu's annotation layer differs by language)."""
    from api.pages.map import basemap_from_settings  # pages import this module's app

    origins: dict[str, None] = {}
    for lang in ("zh", "en"):
        basemap = basemap_from_settings(settings, lang)
        if basemap is not None:
            origins.update(dict.fromkeys(basemap.origins()))
    return tuple(origins)


def content_security_policy(tile_hosts: Iterable[str] = ()) -> str:
    """The policy sent with every HTML page; ``tile_hosts`` are added to ``img-src``."""
    img = " ".join(["'self'", "data:", "blob:", *tile_hosts])
    return "; ".join(
        [
            "default-src 'self'",
            "script-src 'self'",
            "style-src 'self' 'unsafe-inline'",
            f"img-src {img}",
            "connect-src 'self'",
            "font-src 'self' data:",
            "frame-ancestors 'none'",
            "object-src 'none'",
            "base-uri 'self'",
            "form-action 'self'",
        ]
    )


def install_csp(app: FastAPI, map_settings: MapSettings) -> None:
    """Send :func:`content_security_policy` with every ``text/html`` answer of ``app``."""
    policy = content_security_policy(tile_origins(map_settings))

    @app.middleware("http")
    async def add_csp(
        request: Request, call_next: Callable[[Request], Awaitable[Response]]
    ) -> Response:
        response = await call_next(request)
        if response.headers.get("content-type", "").startswith("text/html"):
            response.headers.setdefault("Content-Security-Policy", policy)
        return response
