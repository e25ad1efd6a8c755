"""The grid map page: the three grid levels of one generation on an offline Leaflet map, drawn
from the server's vector tiles (``/tiles/grids-lN/{z}/{x}/{y}.mvt``, made by PostGIS).

``build_grid_map(source)`` returns a ``folium.Map``; ``.get_root().render()`` is the HTML; its
script is ``maps/static/gridgis-grid.js`` (on ``gridgis-tiles.js``, Leaflet.VectorGrid). The
page carries no grid geometry: only the generation's extent, its counts per level and the name
points of towns and villages (:class:`GridMapSource`); unit-grid names (from zoom
:data:`L3_LABEL_ZOOM`) and a selected grid's outline are fetched by the page for its view.
Every JS/CSS file is served by our app (see :mod:`maps.assets`); nothing is fetched from
outside unless a basemap is configured.

Drill-down: a click selects the town under the pointer, then its village, then its unit grid;
the selection is kept in the address (``?sel=<code>``) so Back and reload work.

Hooks for tests and later scripts, stable across versions:

- each level's tile layer lies in its folium group (the layer control's entry) and its
  container carries the CSS class ``gridgis-lN``; ``window.gridgisLayers`` =
  ``{level1, level2, level3}`` (the Leaflet.VectorGrid layers);
- ``window.gridgisReady`` = ``{level1: n1, level2: n2, level3: n3}``: distinct grids in the
  tiles drawn for the first view (every grid of the city once it is all in view);
- ``window.gridgisSelection`` = ``{code, level, name, children}`` once a selection is shown
  (``code`` ``""`` for the whole city); ``window.gridgisL3Labels`` = unit-grid names shown.
"""

from __future__ import annotations

import html
import math
import statistics
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date
from typing import Any

import folium
from shapely.geometry import shape
from shapely.geometry.base import BaseGeometry
from shapely.ops import polylabel

from maps.assets import localize_all
from maps.basemaps import Basemap
from maps.elements import HtmlControl, PageSetup, PermanentLabels, ViewScript, render_control
from maps.styles import GRID_LEVELS, LEVEL_STYLES, label, resolve_lang

# Where the map opens when there are no grids at all: the whole of China.
EMPTY_VIEW_LATLON = (35.0, 105.0)
EMPTY_VIEW_ZOOM = 4
# A level-2 name needs about this many pixels of its grid's width before it is shown.
L2_LABEL_MIN_WIDTH_PX = 96
L3_LABEL_ZOOM = 15
"""Unit-grid names from this zoom on (a typical unit grid is then ~150 px wide)."""
MAX_ZOOM = 19

TEXT: dict[str, dict[str, str]] = {
    "zh": {
        "generation": "网格版本：{name}（第 {id} 版，{when}）",
        "active_since": "生效于 {day}",
        "draft": "草稿，未施行",
        "submitted": "待审核，未施行",
        "approved": "已批准，未施行",
        "retired": "已停用，曾生效于 {day}",
        "hint": "点击镇街逐级查看村社区、单元网格；放大到 {z} 级显示单元网格名称",
    },
    "en": {
        "generation": "Grid generation: {name} (no. {id}, {when})",
        "active_since": "in force since {day}",
        "draft": "draft, not in force",
        "submitted": "awaiting review, not in force",
        "approved": "approved, not in force yet",
        "retired": "retired (in force from {day})",
        "hint": "Click a town, then a village, then a unit grid; unit-grid names from zoom {z}",
    },
}


def path_class(level: int) -> str:
    """The CSS class of a level (on its tile layer's container: ``gridgis-l3``)."""
    return f"gridgis-l{level}"


@dataclass(frozen=True)
class GenerationLabel:
    """The generation a page shows: id, name (``name_en`` on English pages when it has one,
    e.g. the demo generation's, layers/demo.py generation_names), status and the day it took
    effect (Shanghai)."""

    id: int
    name: str
    status: str = "active"
    effective_on: date | None = None
    name_en: str | None = None

    def text(self, lang: str) -> str:
        """The labelled generation, one language per page: ``"网格版本：演示城市 · 种子 320281
        （第 1 版，生效于 2024-01-01）"``, ``"Grid generation: Demo city · seed 320281 (no. 1,
        in force since 2024-01-01)"`` (or the status of one not in force)."""
        lang = resolve_lang(lang)
        words = TEXT[lang]
        day = self.effective_on.isoformat() if self.effective_on else "—"
        if self.status == "active":
            when = words["active_since"].format(day=day)
        elif self.status == "retired":
            when = words["retired"].format(day=day)
        else:
            when = words.get(self.status, words["draft"])
        name = self.name_en if lang == "en" and self.name_en else self.name
        return words["generation"].format(id=self.id, name=name, when=when)


@dataclass(frozen=True)
class GridMapSource:
    """What a grid page needs of a generation, without geometry.

    ``bounds``: ``[[south, west], [north, east]]`` (EPSG:4490 degrees) or ``None`` (no grids);
    ``counts``: grids per level; ``labels``: ``(lon, lat, name, code, level)`` name points of
    levels 1 and 2; ``median_width_deg``: median east-west extent of a level's grids (degrees
    of longitude), which sets the zoom from which village names fit.
    """

    generation: GenerationLabel | None = None
    bounds: list[list[float]] | None = None
    counts: dict[int, int] = field(default_factory=dict)
    labels: list[tuple[float, float, str, str, int]] = field(default_factory=list)
    median_width_deg: dict[int, float] = field(default_factory=dict)

    @classmethod
    def from_levels(
        cls, levels: Mapping[int, Mapping[str, Any]], generation: GenerationLabel | None = None
    ) -> GridMapSource:
        """From GeoJSON FeatureCollections per level (properties ``code``, ``name``; EPSG:4490),
        e.g. a file not in the database; raises ``ValueError`` naming the fix for bad input."""
        shapes: dict[int, list[BaseGeometry]] = {lvl: [] for lvl in GRID_LEVELS}
        labels: list[tuple[float, float, str, str, int]] = []
        for key, collection in levels.items():
            level = int(key)
            if level not in GRID_LEVELS:
                raise ValueError(f"grid level {key!r} is not one of {GRID_LEVELS}: use 1, 2, 3")
            if collection and collection.get("type") != "FeatureCollection":
                raise ValueError(
                    f"level {level} must be a GeoJSON FeatureCollection dict, got type "
                    f"{collection.get('type')!r}: wrap the features in "
                    '{"type": "FeatureCollection", "features": [...]}'
                )
            for feature in (collection or {}).get("features") or []:
                if not feature.get("geometry"):
                    continue
                geom = shape(feature["geometry"])
                shapes[level].append(geom)
                props = feature.get("properties") or {}
                code = str(props.get("code") or feature.get("id") or "")
                if level in (1, 2):
                    labels.append((*label_point(geom), str(props.get("name") or code), code, level))
        widths = {
            lvl: statistics.median(w)
            for lvl in GRID_LEVELS
            if (w := [g.bounds[2] - g.bounds[0] for g in shapes[lvl] if not g.is_empty])
        }
        return cls(
            generation=generation,
            bounds=leaflet_bounds([g for lvl in GRID_LEVELS for g in shapes[lvl]]),
            counts={lvl: len(shapes[lvl]) for lvl in GRID_LEVELS},
            labels=labels,
            median_width_deg=widths,
        )


def label_point(geom: BaseGeometry) -> tuple[float, float]:
    """(lon, lat) well inside the polygon (its largest part), for a name label."""
    part = geom
    if geom.geom_type == "MultiPolygon":
        part = max(geom.geoms, key=lambda g: g.area)
    if part.geom_type == "Polygon" and not part.is_empty:
        try:
            point = polylabel(part, tolerance=max(math.sqrt(part.area) / 100.0, 1e-7))
            return point.x, point.y
        except Exception:  # invalid ring: fall back to any interior point
            pass
    point = geom.representative_point()
    return point.x, point.y


def min_zoom_for_width(width_deg: float | None, width_px: float) -> int:
    """The zoom at which a grid ``width_deg`` wide (degrees of longitude) is ``width_px``."""
    if not width_deg or width_deg <= 0:
        return MAX_ZOOM
    # Web Mercator: 256 * 2**z pixels span 360 degrees of longitude at every latitude.
    zoom = math.log2(width_px * 360.0 / (256.0 * width_deg))
    return max(0, min(MAX_ZOOM, math.ceil(zoom)))


def leaflet_bounds(shapes: list[BaseGeometry]) -> list[list[float]] | None:
    """[[south, west], [north, east]] of all shapes, as Leaflet wants them."""
    boxes = [g.bounds for g in shapes if not g.is_empty]
    if not boxes:
        return None
    west = min(b[0] for b in boxes)
    south = min(b[1] for b in boxes)
    east = max(b[2] for b in boxes)
    north = max(b[3] for b in boxes)
    return [[south, west], [north, east]]


def _legend_html(counts: Mapping[int, int], lang: str) -> str:
    levels = [
        {
            "level": level,
            "text": label(f"level_{level}", lang),
            "count": label("legend_count", lang, n=f"{counts.get(level, 0):,}"),
            "color": LEVEL_STYLES[level].color,
            "fill": LEVEL_STYLES[level].fill_color if LEVEL_STYLES[level].fill else "none",
            "fill_opacity": max(LEVEL_STYLES[level].fill_opacity, 0.25),
            "weight": min(LEVEL_STYLES[level].weight_px, 3.5),
            "dash": LEVEL_STYLES[level].dash_array,
        }
        for level in GRID_LEVELS
    ]
    hint = "legend_hint" if any(counts.values()) else "no_grids"
    return render_control(
        "grid_legend.html",
        title=label("legend_title", lang),
        levels=levels,
        hint=label(hint, lang),
    )


def page_map(
    bounds: list[list[float]] | None,
    *,
    basemap: Basemap,
    title: str,
    lang: str,
) -> folium.Map:
    """A page's base map: centred on ``bounds`` (or the empty view), no tiles of folium's own,
    our page set-up (language, classes) and the configured basemap; shared by every page."""
    if bounds:
        (south, west), (north, east) = bounds
        location, zoom_start = [(south + north) / 2.0, (west + east) / 2.0], 11
    else:
        location, zoom_start = list(EMPTY_VIEW_LATLON), EMPTY_VIEW_ZOOM
    folium_map = folium.Map(
        location=location,
        zoom_start=zoom_start,
        tiles=None,
        max_zoom=MAX_ZOOM,
        control_scale=True,
        zoom_snap=0.25,
        zoom_delta=0.5,
    )
    # folium gives max_zoom to its own tile layer only; with tiles=None the map needs it too.
    folium_map.options["maxZoom"] = basemap.max_zoom() if basemap.tiles else MAX_ZOOM
    folium_map.get_root().title = title  # type: ignore[attr-defined]
    no_basemap = ["gridgis-no-basemap"] if basemap.kind == "none" else []
    PageSetup(lang, container_classes=no_basemap).add_to(folium_map)
    basemap.add_to(folium_map)
    return folium_map


def build_grid_map(
    source: GridMapSource | None = None,
    *,
    lang: str = "zh",
    assets_base: str = "/static",
    basemap: Basemap | None = None,
    title: str | None = None,
    drill_down: bool = True,
) -> folium.Map:
    """The three grid levels of ``source.generation`` on one map, drawn from vector tiles.

    Parameters
    ----------
    source
        The generation, its extent, counts and town/village name points
        (:class:`GridMapSource`); ``None`` or no generation: an empty map saying there are no
        grids (no tiles asked for).
    lang
        "zh" (default) or "en"; anything else falls back to "zh".
    assets_base
        URL prefix under which the app mounts :func:`maps.assets.static_mounts`.
    basemap
        Tiles under the grids; ``None`` means none (nothing fetched from outside).
    title
        Page and map title; defaults to the localised "网格通 · 网格地图".
    drill_down
        Whether a click selects town → village → unit grid (kept in ``?sel=``); the patrol
        pages keep their clicks for officers and tracks.
    """
    lang = resolve_lang(lang)
    source = source or GridMapSource()
    basemap = basemap or Basemap.none()
    title = title or label("grid_map_title", lang)
    generation = source.generation if source.bounds else None

    folium_map = page_map(source.bounds, basemap=basemap, title=title, lang=lang)

    # Added top level first, so the layer control lists L1, L2, L3; the script puts each
    # level's tile layer into its group and stacks L3 (bottom) < L2 < L1 (top).
    groups: dict[int, folium.FeatureGroup] = {}
    for level in GRID_LEVELS:
        group = folium.FeatureGroup(name=label(f"level_{level}", lang), show=True)
        rows = [(lon, lat, name) for lon, lat, name, _c, lvl in source.labels if lvl == level]
        if rows:
            PermanentLabels(rows, css_class=f"gridgis-label-l{level}").add_to(group)
        groups[level] = group
        group.add_to(folium_map)

    folium.LayerControl(position="topright", collapsed=False).add_to(folium_map)
    HtmlControl(html.escape(title), position="topcenter", css_class="gridgis-title").add_to(
        folium_map
    )
    if generation is not None:
        HtmlControl(
            html.escape(generation.text(lang)),
            position="topcenter",
            css_class="gridgis-generation",
        ).add_to(folium_map)
    HtmlControl(
        _legend_html(source.counts, lang), position="bottomleft", css_class="gridgis-legend"
    ).add_to(folium_map)
    options = {
        "bounds": source.bounds,
        "generation": generation.id if generation else None,
        "active": generation is not None and generation.status == "active",
        "towns": sorted([code, name] for _x, _y, name, code, lvl in source.labels if lvl == 1),
        "l2_label_zoom": min_zoom_for_width(source.median_width_deg.get(2), L2_LABEL_MIN_WIDTH_PX),
        "l3_label_zoom": L3_LABEL_ZOOM,
        "styles": {str(n): LEVEL_STYLES[n].path_options() for n in GRID_LEVELS},
        "highlight": LEVEL_STYLES[3].highlight_options(),
        "drill_down": drill_down and generation is not None,
        "hint": TEXT[lang]["hint"].format(z=L3_LABEL_ZOOM),
    }
    ViewScript(
        "grid",
        options,
        {f"group{n}": groups[n] for n in GRID_LEVELS},
        scripts=["leaflet_vectorgrid", "gridgis_tiles_js"],
    ).add_to(folium_map)

    localize_all(folium_map, assets_base)
    return folium_map
