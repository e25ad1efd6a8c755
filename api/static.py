"""Static files with caching headers: the pinned vendor packages and our page scripts/styles.

Starlette's ``StaticFiles`` already answers ``ETag``/``Last-Modified`` and 304s; this adds a
``Cache-Control``: vendor files change only when ``maps/assets/package-lock.json`` does, so
browsers keep them a day without asking; our own files (``maps/static``) change with every
deploy, so they are kept briefly and then revalidated by ETag (a 304 costs one round trip).
"""

from __future__ import annotations

from starlette.responses import Response
from starlette.staticfiles import StaticFiles

VENDOR_CACHE = "public, max-age=86400"
OWN_CACHE = "public, max-age=60, must-revalidate"


class CachedStaticFiles(StaticFiles):
    """``StaticFiles`` sending ``cache_control`` with every file it serves."""

    def __init__(self, *args: object, cache_control: str = OWN_CACHE, **kwargs: object) -> None:
        super().__init__(*args, **kwargs)  # type: ignore[arg-type]
        self.cache_control = cache_control

    def file_response(self, *args: object, **kwargs: object) -> Response:
        response = super().file_response(*args, **kwargs)  # type: ignore[arg-type]
        response.headers.setdefault("Cache-Control", self.cache_control)
        return response


def cache_control_for(url: str) -> str:
    """Which policy the mount at ``url`` gets (``/static/vendor`` and ``/static/folium`` hold
    pinned third-party files)."""
    return VENDOR_CACHE if url.endswith(("/vendor", "/folium")) else OWN_CACHE
