"""Content-Security-Policy of every HTML page (issue 11.3): no inline script, nothing from
outside but the configured basemap's tile servers.

The pages can forbid inline script because every script they run is a file of our own server:
page code in ``maps/static/``, folium's map set-up extracted into ``/page-scripts/<hash>.js``
(:mod:`api.pages.scripts`). ``style-src`` keeps ``'unsafe-inline'``: Leaflet and folium position
panes, markers and tooltips with ``style`` attributes and ``<style>`` blocks.

``api/main.py`` gives the policy to :func:`api.security.install_security`, whose middleware
sends it with every response together with the other security headers.
"""

from __future__ import annotations

from collections.abc import Iterable

from api.settings import MapSettings


def tile_origins(settings: MapSettings) -> tuple[str, ...]:
    """``scheme://host`` of every server the configured basemap loads tiles from (both page
    languages: Tianditu's annotation layer differs by language)."""
    from api.pages.map import basemap_from_settings  # not at import time: api.pages needs the app

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
