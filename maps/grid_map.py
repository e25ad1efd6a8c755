"""The grid map page: the three grid levels of one generation on an offline Leaflet map.

``build_grid_map(levels)`` returns a ``folium.Map``; ``.get_root().render()`` is the HTML; its
script is ``maps/static/gridgis-grid.js``.
Every JS/CSS file is served by our app (see :mod:`maps.assets`); nothing is fetched from
outside unless a basemap is configured.

Hooks for tests and later scripts, stable across versions:

- each level's GeoJSON layer is named ``gridgis_level_N`` and its SVG paths carry the CSS class
  ``gridgis-lN``;
- once the layers are on the map, ``window.gridgisReady`` is
  ``{level1: n1, level2: n2, level3: n3}`` (features drawn per level) and
  ``window.gridgisLayers`` holds the three Leaflet GeoJSON layers.
"""

from __future__ import annotations

import html
import math
import statistics
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import folium
from shapely.geometry import shape
from shapely.geometry.base import BaseGeometry
from shapely.ops import polylabel

from maps.assets import localize_all
from maps.basemaps import Basemap
from maps.elements import HtmlControl, PageSetup, PermanentLabels, ViewScript, render_control
from maps.styles import (
    GRID_LEVELS,
    LEVEL_STYLES,
    format_area_km2,
    label,
    resolve_lang,
)

# Where the map opens when there are no grids at all: the whole of China.
EMPTY_VIEW_LATLON = (35.0, 105.0)
EMPTY_VIEW_ZOOM = 4
# A level-2 name needs about this many pixels of its grid's width before it is shown.
L2_LABEL_MIN_WIDTH_PX = 96
MAX_ZOOM = 19
TOOLTIP_FIELDS = ("level", "name", "code", "area")


def layer_name(level: int) -> str:
    """The stable name of a level's GeoJSON layer (``gridgis_level_3``)."""
    return f"gridgis_level_{level}"


def path_class(level: int) -> str:
    """The CSS class on every SVG path of a level (``gridgis-l3``)."""
    return f"gridgis-l{level}"


def _checked_levels(levels: Mapping[int, Mapping[str, Any]]) -> dict[int, Mapping[str, Any]]:
    checked: dict[int, Mapping[str, Any]] = {}
    for key, collection in levels.items():
        level = int(key)
        if level not in GRID_LEVELS:
            raise ValueError(f"grid level {key!r} is not one of {GRID_LEVELS}: pass levels 1, 2, 3")
        if collection and collection.get("type") != "FeatureCollection":
            raise ValueError(
                f"level {level} must be a GeoJSON FeatureCollection dict, got type "
                f"{collection.get('type')!r}: wrap the features in "
                '{"type": "FeatureCollection", "features": [...]}'
            )
        checked[level] = collection or {}
    return checked


@dataclass
class _Level:
    """One level as the page needs it: slim features, their shapes and plain-text names."""

    features: list[dict[str, Any]] = field(default_factory=list)
    shapes: list[BaseGeometry] = field(default_factory=list)
    names: list[str] = field(default_factory=list)


def _prepare_level(collection: Mapping[str, Any], level: int, lang: str) -> _Level:
    """Copy the features with only what the page shows; the caller's dicts stay as they were.

    folium's tooltip puts property values into ``innerHTML``, so they are HTML-escaped here;
    the permanent labels use ``textContent`` and get the plain names.
    """
    prepared = _Level()
    level_text = html.escape(label(f"level_{level}_short", lang))
    for feature in collection.get("features") or []:
        geometry = feature.get("geometry")
        if not geometry:
            continue
        props = feature.get("properties") or {}
        code = str(props.get("code") or feature.get("id") or "")
        name = str(props.get("name") or code)
        prepared.features.append(
            {
                "type": "Feature",
                "id": code,
                "geometry": geometry,
                "properties": {
                    "level": level_text,
                    "name": html.escape(name),
                    "code": html.escape(code),
                    "area": html.escape(format_area_km2(props.get("area_m2"), lang)),
                },
            }
        )
        prepared.shapes.append(shape(geometry))
        prepared.names.append(name)
    return prepared


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


def _min_zoom_for_width(shapes: list[BaseGeometry], width_px: float) -> int:
    """The zoom at which a typical grid (median width) is ``width_px`` wide on screen."""
    widths_deg = [g.bounds[2] - g.bounds[0] for g in shapes if not g.is_empty]
    widths_deg = [w for w in widths_deg if w > 0]
    if not widths_deg:
        return MAX_ZOOM
    # Web Mercator: 256 * 2**z pixels span 360 degrees of longitude at every latitude.
    zoom = math.log2(width_px * 360.0 / (256.0 * statistics.median(widths_deg)))
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


def _level_layer(features: list[dict[str, Any]], level: int, lang: str) -> folium.GeoJson:
    style = LEVEL_STYLES[level]
    path_options = style.path_options()
    highlight = style.highlight_options()
    return folium.GeoJson(
        {"type": "FeatureCollection", "features": features},
        name=layer_name(level),
        control=False,
        # One style for the whole level: folium emits it once, not per feature.
        style_function=lambda _feature: path_options,
        highlight_function=lambda _feature: highlight,
        # folium checks the tooltip's fields against the first feature: none for an empty level.
        tooltip=folium.GeoJsonTooltip(
            fields=list(TOOLTIP_FIELDS),
            aliases=[label(f"field_{f}", lang) for f in TOOLTIP_FIELDS],
            sticky=True,
        )
        if features
        else None,
        smooth_factor=1.0,
        className=path_class(level),
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
    levels: Mapping[int, Mapping[str, Any]],
    *,
    lang: str = "zh",
    assets_base: str = "/static",
    basemap: Basemap | None = None,
    title: str | None = None,
) -> folium.Map:
    """The three grid levels on one map, ready to render as a self-hosted HTML page.

    Parameters
    ----------
    levels
        Level (1, 2, 3) -> GeoJSON FeatureCollection dict, geometry in EPSG:4490 (lon, lat),
        properties ``code``, ``name``, ``level``, ``parent_code``, ``area_m2`` (m²). Pass
        simplified geometries: every vertex goes into the page. A missing level draws nothing.
    lang
        "zh" (default) or "en"; anything else falls back to "zh".
    assets_base
        URL prefix under which the app mounts :func:`maps.assets.static_mounts`.
    basemap
        Tiles under the grids; ``None`` means none (nothing fetched from outside).
    title
        Page and map title; defaults to the localised "网格通 · 网格地图".
    """
    lang = resolve_lang(lang)
    basemap = basemap or Basemap.none()
    title = title or label("grid_map_title", lang)

    given = _checked_levels(levels)
    prepared = {lvl: _prepare_level(given.get(lvl) or {}, lvl, lang) for lvl in GRID_LEVELS}
    bounds = leaflet_bounds([g for lvl in GRID_LEVELS for g in prepared[lvl].shapes])

    folium_map = page_map(bounds, basemap=basemap, title=title, lang=lang)

    # Added top level first, so the layer control lists L1, L2, L3; GridMapScript then stacks
    # the paths L3 (bottom) < L2 < L1 (top).
    layers: dict[int, folium.GeoJson] = {}
    groups: dict[int, folium.FeatureGroup] = {}
    for level in GRID_LEVELS:
        group = folium.FeatureGroup(name=label(f"level_{level}", lang), show=True)
        data = prepared[level]
        layers[level] = _level_layer(data.features, level, lang)
        layers[level].add_to(group)
        if level in (1, 2) and data.features:
            rows = [
                (*label_point(geom), name)
                for geom, name in zip(data.shapes, data.names, strict=True)
            ]
            PermanentLabels(rows, css_class=f"gridgis-label-l{level}").add_to(group)
        groups[level] = group
        group.add_to(folium_map)

    folium.LayerControl(position="topright", collapsed=False).add_to(folium_map)
    HtmlControl(html.escape(title), position="topcenter", css_class="gridgis-title").add_to(
        folium_map
    )
    counts = {lvl: len(prepared[lvl].features) for lvl in GRID_LEVELS}
    HtmlControl(
        _legend_html(counts, lang), position="bottomleft", css_class="gridgis-legend"
    ).add_to(folium_map)
    l2_label_zoom = _min_zoom_for_width(prepared[2].shapes, L2_LABEL_MIN_WIDTH_PX)
    ViewScript(
        "grid",
        {"bounds": bounds, "l2_label_zoom": l2_label_zoom},
        {**{f"level{n}": layers[n] for n in GRID_LEVELS},
         **{f"group{n}": groups[n] for n in GRID_LEVELS}},
    ).add_to(folium_map)  # fmt: skip

    localize_all(folium_map, assets_base)
    return folium_map
