"""Local JS/CSS for every folium page: served by the app itself, never from a CDN.

Command centres sit on intranets, so a page may load nothing from outside. folium's elements
name their assets as ``(name, url)`` pairs in the class attributes ``default_js`` and
``default_css``, all pointing at CDNs. :func:`localize` gives one element *its own* lists with
the same names pointing at our URLs; folium's class-wide lists are never touched, so other code
in the process (and folium's own tests) keeps folium's behaviour.

Where the files come from (three folders, three URL mounts under ``base_url``):

=========  =====================================  ==============================================
mount      folder                                 what
=========  =====================================  ==============================================
vendor     ``maps/assets/node_modules``           npm packages pinned in
                                                  ``maps/assets/package-lock.json``, installed
                                                  by ``./run.sh setup`` (``npm ci``)
folium     ``folium/templates`` (pip package)     JS that folium ships itself (HeatMap)
gridgis    ``maps/static``                        our own CSS, in git
=========  =====================================  ==============================================

The app mounts them with :func:`static_mounts` (``/static/vendor``, ``/static/folium``,
``/static/gridgis`` by default).

Glyphicons: folium also links Bootstrap 3's ``bootstrap-glyphicons.css`` for
``folium.Icon(prefix="glyphicon")``. No maintained npm package ships that CSS alone, and the
full Bootstrap 3 CSS would fight Bootstrap 5, so it is dropped (:data:`DROPPED`): our pages use
Font Awesome icons (``folium.Icon(prefix="fa")``). folium's ``leaflet.awesome.rotate.min.css``
(``Icon(angle=...)``) is not in the folium wheel, so ``maps/static`` has an equivalent file.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Literal, TypeVar

import folium
from branca.element import Element
from folium.elements import JSCSSMixin

Root = Literal["vendor", "folium", "gridgis"]

ASSETS_DIR = Path(__file__).parent / "assets" / "node_modules"
FOLIUM_TEMPLATES_DIR = Path(folium.__file__).parent / "templates"
STATIC_DIR = Path(__file__).parent / "static"

ROOT_DIRS: dict[Root, Path] = {
    "vendor": ASSETS_DIR,
    "folium": FOLIUM_TEMPLATES_DIR,
    "gridgis": STATIC_DIR,
}
# URL path segment under ``base_url`` where the app mounts each folder.
DEFAULT_PREFIXES: dict[Root, str] = {"vendor": "vendor", "folium": "folium", "gridgis": "gridgis"}

FIX_HINT = "run ./run.sh setup (it runs `npm ci --prefix maps/assets`)"


@dataclass(frozen=True)
class Asset:
    """One file served to the browser: which mounted folder, and its path inside it."""

    root: Root
    path: str

    @property
    def file(self) -> Path:
        return ROOT_DIRS[self.root] / self.path


# folium's asset names -> our files. The names are folium's own (see folium.Map.default_js,
# folium.plugins.MarkerCluster.default_css, ...), so :func:`localize` can swap by name.
ASSETS: dict[str, Asset] = {
    # folium.Map
    "leaflet": Asset("vendor", "leaflet/dist/leaflet.js"),
    "jquery": Asset("vendor", "jquery/dist/jquery.min.js"),
    "bootstrap": Asset("vendor", "bootstrap/dist/js/bootstrap.bundle.min.js"),
    "awesome_markers": Asset("vendor", "leaflet.awesome-markers/dist/leaflet.awesome-markers.js"),
    "leaflet_css": Asset("vendor", "leaflet/dist/leaflet.css"),
    "bootstrap_css": Asset("vendor", "bootstrap/dist/css/bootstrap.min.css"),
    "awesome_markers_font_css": Asset("vendor", "@fortawesome/fontawesome-free/css/all.min.css"),
    "awesome_markers_css": Asset(
        "vendor", "leaflet.awesome-markers/dist/leaflet.awesome-markers.css"
    ),
    "awesome_rotate_css": Asset("gridgis", "leaflet.awesome.rotate.css"),
    # folium.plugins.MarkerCluster and FastMarkerCluster
    "markerclusterjs": Asset("vendor", "leaflet.markercluster/dist/leaflet.markercluster.js"),
    "markerclustercss": Asset("vendor", "leaflet.markercluster/dist/MarkerCluster.css"),
    "markerclusterdefaultcss": Asset(
        "vendor", "leaflet.markercluster/dist/MarkerCluster.Default.css"
    ),
    # folium.plugins.HeatMap
    "leaflet-heat.js": Asset("folium", "leaflet_heat.min.js"),
    # vector tiles of grids, zones, coverage (api/routes/tiles.py); with gridgis_tiles_js
    "leaflet_vectorgrid": Asset(
        "vendor", "leaflet.vectorgrid/dist/Leaflet.VectorGrid.bundled.min.js"
    ),
    "gridgis_tiles_js": Asset("gridgis", "gridgis-tiles.js"),
    # the planning page's edit tools (/plan, api/pages/plan.py)
    "leaflet_geoman_js": Asset(
        "vendor", "@geoman-io/leaflet-geoman-free/dist/leaflet-geoman.min.js"
    ),
    "leaflet_geoman_css": Asset("vendor", "@geoman-io/leaflet-geoman-free/dist/leaflet-geoman.css"),
    # our own pages: styles, the shared helpers (fetch, escaping, messages), one script per view
    "gridgis_map_css": Asset("gridgis", "gridgis-map.css"),
    "gridgis_common_js": Asset("gridgis", "gridgis-common.js"),
    "gridgis_datum_js": Asset("gridgis", "gridgis-datum.js"),  # GCJ-02/BD-09 basemaps
    "gridgis_live_js": Asset("gridgis", "gridgis-live.js"),
    "gridgis_playback_js": Asset("gridgis", "gridgis-playback.js"),
    "gridgis_picker_js": Asset("gridgis", "gridgis-picker.js"),  # officer + day picker
    "gridgis_events_js": Asset("gridgis", "gridgis-events.js"),
    "gridgis_events_css": Asset("gridgis", "gridgis-events.css"),
    "gridgis_events_case_js": Asset("gridgis", "gridgis-events-case.js"),
    "gridgis_grid_js": Asset("gridgis", "gridgis-grid.js"),
    "gridgis_coverage_js": Asset("gridgis", "gridgis-coverage.js"),
    "gridgis_coverage_panels_js": Asset("gridgis", "gridgis-coverage-panels.js"),
    "gridgis_coverage_css": Asset("gridgis", "gridgis-coverage.css"),
    "gridgis_zones_js": Asset("gridgis", "gridgis-zones.js"),
    "gridgis_zones_css": Asset("gridgis", "gridgis-zones.css"),
}

# folium asset names we deliberately do not load (see the module docstring).
DROPPED: frozenset[str] = frozenset({"glyphicons_css"})
# folium.Map links jQuery and Bootstrap on every page, but neither folium's Leaflet code nor our
# page scripts use them: dropped from every page.
UNUSED_BY_PAGES: frozenset[str] = frozenset({"jquery", "bootstrap", "bootstrap_css"})
# Only folium.Icon (Leaflet.awesome-markers with Font Awesome glyphs) needs these: dropped from
# a page that has no such icon.
ICON_ASSETS: frozenset[str] = frozenset(
    {"awesome_markers", "awesome_markers_css", "awesome_markers_font_css", "awesome_rotate_css"}
)

# Files that the CSS above pulls in by relative url(...): checked too, so a half-installed
# package is caught before a page shows empty icons.
_CSS_DEPENDENCIES: tuple[Asset, ...] = (
    Asset("vendor", "leaflet/dist/images/layers.png"),
    Asset("vendor", "leaflet/dist/images/marker-icon.png"),
    Asset("vendor", "@fortawesome/fontawesome-free/webfonts/fa-solid-900.woff2"),
    Asset("vendor", "leaflet.awesome-markers/dist/images/markers-soft.png"),
)


class UnknownAsset(KeyError):
    """A folium element asks for a JS/CSS file that has no local copy in :data:`ASSETS`."""

    def __str__(self) -> str:  # KeyError would quote the whole message
        return str(self.args[0])


def _prefixes(prefixes: Mapping[Root, str] | None) -> dict[Root, str]:
    return {**DEFAULT_PREFIXES, **(prefixes or {})}


def _join(base_url: str, *parts: str) -> str:
    # base_url may be a path ("/static") or an absolute URL of the app ("https://gis.local/s").
    return base_url.rstrip("/") + "/" + "/".join(p.strip("/") for p in parts)


def asset_url(
    name: str, base_url: str = "/static", prefixes: Mapping[Root, str] | None = None
) -> str:
    """The URL path of asset ``name`` under ``base_url``, e.g. ``/static/vendor/leaflet/...``."""
    try:
        asset = ASSETS[name]
    except KeyError:
        raise UnknownAsset(
            f"no local copy of folium asset {name!r}: add its npm package to "
            "maps/assets/package.json (npm install --prefix maps/assets PACKAGE@VERSION) "
            "and its file to maps.assets.ASSETS"
        ) from None
    return _join(base_url, _prefixes(prefixes)[asset.root], asset.path)


def static_mounts(
    base_url: str = "/static", prefixes: Mapping[Root, str] | None = None
) -> dict[str, Path]:
    """URL path -> folder, for the app to mount (``app.mount(url, StaticFiles(directory=...))``).

    With the defaults: ``/static/vendor`` -> :data:`ASSETS_DIR`, ``/static/folium`` ->
    :data:`FOLIUM_TEMPLATES_DIR`, ``/static/gridgis`` -> :data:`STATIC_DIR`.
    """
    chosen = _prefixes(prefixes)
    return {_join(base_url, chosen[root]): folder for root, folder in ROOT_DIRS.items()}


def check_installed() -> list[str]:
    """Problems with the local assets, one line each; empty when every file is in place."""
    wanted = [*ASSETS.values(), *_CSS_DEPENDENCIES]
    missing = [a for a in wanted if not a.file.is_file()]
    if not missing:
        return []
    problems = [f"missing map asset {a.file}" for a in missing]
    if any(a.root == "vendor" for a in missing):
        problems.append(f"the pinned front-end packages are not installed: {FIX_HINT}")
    return problems


def _local_pairs(
    pairs: list[tuple[str, str]], base_url: str, prefixes: Mapping[Root, str] | None
) -> list[tuple[str, str]]:
    return [(name, asset_url(name, base_url, prefixes)) for name, _ in pairs if name not in DROPPED]


def local_js_css(
    base_url: str = "/static", prefixes: Mapping[Root, str] | None = None
) -> tuple[list[tuple[str, str]], list[tuple[str, str]]]:
    """``folium.Map``'s ``(default_js, default_css)`` with every URL local.

    Same names and order as folium's lists, minus :data:`DROPPED`; URLs are paths on our own
    server under ``base_url`` (``/static/vendor/leaflet/dist/leaflet.js`` and so on).
    """
    return (
        _local_pairs(folium.Map.default_js, base_url, prefixes),
        _local_pairs(folium.Map.default_css, base_url, prefixes),
    )


E = TypeVar("E", bound=JSCSSMixin)


def localize(
    element: E, base_url: str = "/static", prefixes: Mapping[Root, str] | None = None
) -> E:
    """Point this one element's JS/CSS at our server; returns the element.

    Sets *instance* attributes ``default_js``/``default_css`` (fresh lists), so the class-wide
    lists of folium stay as folium ships them. Raises :class:`UnknownAsset` when the element
    wants a file we do not serve, rather than letting a CDN link slip into the page.
    """
    element.default_js = _local_pairs(element.default_js, base_url, prefixes)
    element.default_css = _local_pairs(element.default_css, base_url, prefixes)
    return element


def _walk(element: Element) -> Iterator[Element]:
    yield element
    for child in element._children.values():
        yield from _walk(child)


def localize_all(
    root: Element, base_url: str = "/static", prefixes: Mapping[Root, str] | None = None
) -> None:
    """:func:`localize` every element of the tree under ``root`` that links JS or CSS.

    Call it once a page is assembled (the map and all its layers, controls and plugins). Also
    drops the vendor files the page does not use (:data:`UNUSED_BY_PAGES`, and
    :data:`ICON_ASSETS` when no ``folium.Icon`` is on the page).
    """
    elements = list(_walk(root))
    unused = set(UNUSED_BY_PAGES)
    if not any(isinstance(e, folium.Icon) for e in elements):
        unused |= ICON_ASSETS
    for element in elements:
        if isinstance(element, JSCSSMixin):
            localize(element, base_url, prefixes)
            element.default_js = [p for p in element.default_js if p[0] not in unused]
            element.default_css = [p for p in element.default_css if p[0] not in unused]
