"""Basemap tiles under the grids: none (the default), Tianditu with a key, any XYZ server,
Amap (GCJ-02) or Baidu (BD-09).

Built from plain arguments; the api layer reads the settings and passes them in. With no
basemap a page loads nothing from outside: the grids sit on a plain light background.

Tianditu ('w' tile matrix set) is Web Mercator, EPSG:3857, like Leaflet's default CRS, and
its coordinates are CGCS2000, which agrees with WGS84 to centimetres: our EPSG:4490 grids go
on it without any shift. Amap's tiles show the city in GCJ-02 (460-510 m off over Jiangyin)
and Baidu's in BD-09 (about 1.1 km off) on Baidu's own Mercator and tile numbering: for them
the map gets a Leaflet CRS of that datum (``maps/static/gridgis-datum.js``,
``L.CRS.GridgisGCJ02`` / ``L.CRS.GridgisBD09``) that shifts every overlay for display and every
click back to WGS 84, and vector tiles are asked for in that datum (``?datum=``). The page
scripts keep working in WGS 84 throughout. Tile URLs are settings, since intranets proxy them.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Literal
from urllib.parse import urlsplit

import folium
from folium.elements import JSCSSMixin
from folium.template import Template

from maps.assets import asset_url
from maps.styles import Lang, label, resolve_lang

BasemapKind = Literal["none", "tianditu", "xyz", "amap", "baidu"]
BasemapDatum = Literal["wgs84", "gcj02", "bd09"]

DATUM_CRS: dict[str, str] = {"gcj02": "GridgisGCJ02", "bd09": "GridgisBD09"}
"""Leaflet CRS (``L.CRS.<name>``, defined by gridgis-datum.js) of a basemap datum; WGS 84
basemaps keep Leaflet's EPSG3857."""

AMAP_URL = (
    "https://webrd0{s}.is.autonavi.com/appmaptile?lang=zh_cn&size=1&scale=1&style=8"
    "&x={x}&y={y}&z={z}"
)
"""Amap's public road map (GCJ-02, Web Mercator quad); an intranet proxy's URL replaces it."""
AMAP_SUBDOMAINS = "1234"
BAIDU_URL = (
    "https://maponline{s}.bdimg.com/tile/?qt=vtile&x={x}&y={y}&z={z}&styles=pl&scaler=1"
    "&udt=20240101"
)
"""Baidu's public road map (BD-09 on Baidu Mercator; ``{y}`` counted northwards from the
equator, as Baidu numbers its tiles)."""
BAIDU_SUBDOMAINS = "0123"
BAIDU_MAX_ZOOM = 19

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
    datum: BasemapDatum = "wgs84"
    """The datum the tiles show places in; overlays are shifted to it for display."""

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
        url = _checked_url(url, "XYZ", "GRIDGIS_MAP_XYZ_URL")
        parts = urlsplit(url)
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

    @classmethod
    def amap(
        cls,
        url: str | None = None,
        attribution: str = "",
        *,
        subdomains: str | None = None,
        max_zoom: int = 18,
        lang: Lang = "zh",
    ) -> Basemap:
        """Amap (高德) road map tiles, in GCJ-02 on the Web Mercator quad (``{z}/{x}/{y}``).

        ``url`` defaults to Amap's public server (:data:`AMAP_URL`); an intranet's proxy of it
        is given the same way (http(s):// or a /path, with ``{z}``, ``{x}``, ``{y}``).
        """
        return cls._shifted("amap", "gcj02", url, AMAP_URL, AMAP_SUBDOMAINS, attribution,
                            subdomains, max_zoom, lang)  # fmt: skip

    @classmethod
    def baidu(
        cls,
        url: str | None = None,
        attribution: str = "",
        *,
        subdomains: str | None = None,
        max_zoom: int = BAIDU_MAX_ZOOM,
        lang: Lang = "zh",
    ) -> Basemap:
        """Baidu (百度) road map tiles: BD-09 on Baidu Mercator, Baidu's tile numbering (2^(18-z)
        m per pixel, origin at the equator and 0°, ``{y}`` counted northwards).

        ``url`` defaults to Baidu's public server (:data:`BAIDU_URL`); an intranet's proxy
        takes the same ``{z}``, ``{x}``, ``{y}``.
        """
        return cls._shifted("baidu", "bd09", url, BAIDU_URL, BAIDU_SUBDOMAINS, attribution,
                            subdomains, max_zoom, lang)  # fmt: skip

    @classmethod
    def _shifted(
        cls, kind: BasemapKind, datum: BasemapDatum, url: str | None, default_url: str,
        default_subdomains: str, attribution: str, subdomains: str | None, max_zoom: int,
        lang: Lang,
    ) -> Basemap:  # fmt: skip
        setting = f"GRIDGIS_MAP_{kind.upper()}_URL"
        url = _checked_url(url or default_url, kind.capitalize(), setting)
        if "{s}" in url and not subdomains:
            subdomains = default_subdomains if url == default_url else "abc"
        return cls(
            kind,
            (
                TileSource(
                    name=kind,
                    url=url,
                    attribution=attribution.strip() or label(f"{kind}_attribution", lang),
                    subdomains=subdomains if "{s}" in url else None,
                    max_zoom=max_zoom,
                ),
            ),
            datum,
        )

    @property
    def crs(self) -> str:
        """The Leaflet CRS name of the map (``L.CRS.<crs>``): EPSG3857 unless shifted."""
        return DATUM_CRS.get(self.datum, "EPSG3857")

    def tile_config(self) -> list[dict[str, object]]:
        """The tile layers as the hand-written pages' scripts take them
        (``GridGIS.datum.addBasemap(map, tiles)``): url, attribution, subdomains, max_zoom."""
        return [
            {"url": t.url, "attribution": t.attribution, "subdomains": t.subdomains,
             "max_zoom": t.max_zoom, "overlay": t.overlay}
            for t in self.tiles
        ]  # fmt: skip

    def max_zoom(self, default: int = 18) -> int:
        """The deepest zoom all tile layers serve (``default`` without tiles)."""
        return min((tile.max_zoom for tile in self.tiles), default=default)

    def origins(self) -> tuple[str, ...]:
        """Every outside server the page will fetch tiles from; empty for :meth:`none`."""
        return tuple(dict.fromkeys(o for tile in self.tiles for o in tile.origins()))

    def add_to(self, folium_map: folium.Map) -> None:
        """Add the tile layers to ``folium_map``, under everything, out of the layer control.

        A GCJ-02 or BD-09 basemap also gives the map its datum's CRS and links
        gridgis-datum.js, which defines it: every overlay then follows (see the module doc).
        """
        if self.datum != "wgs84":
            folium_map.crs = self.crs
            DatumScript().add_to(folium_map)
        for tile in self.tiles:
            folium.TileLayer(
                tiles=tile.url,
                attr=tile.attribution,
                name=tile.name,
                max_zoom=tile.max_zoom,
                overlay=tile.overlay,
                control=False,
                subdomains=tile.subdomains or "abc",  # only used when the URL has {s}
                tms=self.datum == "bd09",  # Baidu's y runs northwards: Leaflet's "-y"
            ).add_to(folium_map)


class DatumScript(JSCSSMixin):
    """Links ``gridgis-datum.js`` (the GCJ-02/BD-09 CRSs) into a folium page's head, so the
    map's set-up script can name ``L.CRS.GridgisGCJ02``; it writes no script of its own."""

    default_js = [("gridgis_datum_js", asset_url("gridgis_datum_js"))]  # noqa: RUF012
    _template = Template("")

    def __init__(self) -> None:
        super().__init__()
        self._name = "DatumScript"


def _checked_url(url: str | None, what: str, setting: str) -> str:
    """A tile URL template: http(s):// or a /path on our server, with {z}, {x} and {y}."""
    url = (url or "").strip()
    parts = urlsplit(url)
    placeholders_ok = "{z}" in url and "{x}" in url and ("{y}" in url or "{-y}" in url)
    location_ok = parts.scheme in ("http", "https") or (not parts.scheme and url[:1] == "/")
    if not (placeholders_ok and location_ok):
        raise ValueError(
            f"{what} basemap URL {url!r} must be http(s):// or a /path and contain "
            f"{{z}}, {{x}} and {{y}}: fix {setting}, or choose GRIDGIS_MAP_BASEMAP=none"
        )
    return url
