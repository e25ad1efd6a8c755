"""Basemap tiles under the grids: none (the default), Tianditu with a key, or any XYZ server.

Built from plain arguments; the api layer reads the settings and passes them in. With no
basemap a page loads nothing from outside: the grids sit on a plain light background.

Tianditu ('w' tile matrix set) is Web Mercator, EPSG:3857, like Leaflet's default CRS, and
its coordinates are CGCS2000, which agrees with WGS84 to centimetres: our EPSG:4490 grids go
on it without any shift (unlike GCJ-02 basemaps, see ``gis.crs``).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Literal
from urllib.parse import urlsplit

import folium

from maps.styles import Lang, label, resolve_lang

BasemapKind = Literal["none", "tianditu", "xyz"]

TIANDITU_SUBDOMAINS = "01234567"
TIANDITU_MAX_ZOOM = 18
_TIANDITU_URL = (
    "https://t{{s}}.tianditu.gov.cn/{layer}_w/wmts?SERVICE=WMTS&REQUEST=GetTile&VERSION=1.0.0"
    "&LAYER={layer}&STYLE=default&TILEMATRIXSET=w&FORMAT=tiles"
    "&TILEMATRIX={{z}}&TILEROW={{y}}&TILECOL={{x}}&tk={key}"
)
_KEY_RE = re.compile(r"^[A-Za-z0-9]+$")


@dataclass(frozen=True)
class TileSource:
    """One Leaflet tile layer: URL template (``{z}/{x}/{y}``, optional ``{s}``), attribution."""

    name: str
    url: str
    attribution: str
    subdomains: str | None = None
    max_zoom: int = 18
    overlay: bool = False

    def origins(self) -> tuple[str, ...]:
        """``scheme://host[:port]`` of every server this layer fetches from (for CSP, tests)."""
        parts = urlsplit(self.url)
        if not parts.scheme:  # a path on our own server
            return ()
        hosts = [parts.netloc]
        if "{s}" in parts.netloc:
            hosts = [parts.netloc.replace("{s}", s) for s in (self.subdomains or "abc")]
        return tuple(f"{parts.scheme}://{h}" for h in hosts)


@dataclass(frozen=True)
class Basemap:
    """What lies under the grids. Build with :meth:`none`, :meth:`tianditu` or :meth:`xyz`."""

    kind: BasemapKind
    tiles: tuple[TileSource, ...] = ()

    @classmethod
    def none(cls) -> Basemap:
        """No tiles: a plain light background, nothing fetched from anywhere."""
        return cls("none")

    @classmethod
    def tianditu(cls, key: str, *, annotation_lang: Lang = "zh") -> Basemap:
        """Tianditu vector map (``vec_w``) with its annotation layer on top.

        ``key`` is the browser key (``tk``) from the Tianditu console. The annotation layer is
        ``cva_w`` (Chinese) or ``eva_w`` (English) after ``annotation_lang``.
        """
        key = (key or "").strip()
        if not _KEY_RE.match(key):
            raise ValueError(
                "Tianditu needs its browser key (letters and digits, e.g. 32 hex characters): "
                "set GRIDGIS_MAP_TIANDITU_KEY, or choose GRIDGIS_MAP_BASEMAP=none"
            )
        lang = resolve_lang(annotation_lang)
        attribution = label("tianditu_attribution", lang)
        annotation = "cva" if lang == "zh" else "eva"
        return cls(
            "tianditu",
            (
                TileSource(
                    name="tianditu_vec",
                    url=_TIANDITU_URL.format(layer="vec", key=key),
                    attribution=attribution,
                    subdomains=TIANDITU_SUBDOMAINS,
                    max_zoom=TIANDITU_MAX_ZOOM,
                ),
                TileSource(
                    name=f"tianditu_{annotation}",
                    url=_TIANDITU_URL.format(layer=annotation, key=key),
                    attribution=attribution,
                    subdomains=TIANDITU_SUBDOMAINS,
                    max_zoom=TIANDITU_MAX_ZOOM,
                    overlay=True,
                ),
            ),
        )

    @classmethod
    def xyz(
        cls,
        url: str,
        attribution: str = "",
        *,
        subdomains: str | None = None,
        max_zoom: int = 18,
    ) -> Basemap:
        """Any XYZ tile server, e.g. the city's own: ``https://tiles.city.gov/{z}/{x}/{y}.png``.

        The URL may also be a path on our own server (``/tiles/{z}/{x}/{y}.png``). Its tiles
        must be in EPSG:3857 and WGS84/CGCS2000 coordinates (a GCJ-02 server would shift the
        grids by hundreds of metres). Without ``attribution`` the server's host is shown.
        """
        url = (url or "").strip()
        parts = urlsplit(url)
        placeholders_ok = "{z}" in url and "{x}" in url and ("{y}" in url or "{-y}" in url)
        location_ok = parts.scheme in ("http", "https") or (not parts.scheme and url[:1] == "/")
        if not (placeholders_ok and location_ok):
            raise ValueError(
                f"XYZ basemap URL {url!r} must be http(s):// or a /path and contain "
                "{z}, {x} and {y}: fix GRIDGIS_MAP_XYZ_URL, or choose GRIDGIS_MAP_BASEMAP=none"
            )
        if "{s}" in url and not subdomains:
            subdomains = "abc"
        return cls(
            "xyz",
            (
                TileSource(
                    name="xyz",
                    url=url,
                    attribution=attribution.strip() or parts.netloc or url,
                    subdomains=subdomains,
                    max_zoom=max_zoom,
                ),
            ),
        )

    def max_zoom(self, default: int = 18) -> int:
        """The deepest zoom all tile layers serve (``default`` without tiles)."""
        return min((tile.max_zoom for tile in self.tiles), default=default)

    def origins(self) -> tuple[str, ...]:
        """Every outside server the page will fetch tiles from; empty for :meth:`none`."""
        return tuple(dict.fromkeys(o for tile in self.tiles for o in tile.origins()))

    def add_to(self, folium_map: folium.Map) -> None:
        """Add the tile layers to ``folium_map``, under everything, out of the layer control."""
        for tile in self.tiles:
            folium.TileLayer(
                tiles=tile.url,
                attr=tile.attribution,
                name=tile.name,
                max_zoom=tile.max_zoom,
                overlay=tile.overlay,
                control=False,
                subdomains=tile.subdomains or "abc",  # only used when the URL has {s}
            ).add_to(folium_map)
