"""The zones page: enforcement zones (执法片区) and household counts on one offline map.

``build_zones_map(...)`` returns a ``folium.Map``; ``.get_root().render()`` is the HTML; the page
script is ``maps/static/gridgis-zones.js``, its styles ``gridgis-zones.css``.
Households appear only as counts, per unit grid or per H3 cell: the builder is given counts,
never households, and counts below :data:`MIN_SHOWN` are shown as "< 5", so no single
household can be read off the map.

Hooks for tests, stable across versions:

- SVG paths carry the CSS classes ``gridgis-zone`` (zones), ``gridgis-zone-town`` (town
  outlines), ``gridgis-hh-grid`` (households per unit grid) and ``gridgis-hh-h3`` (per cell);
- once the layers are built, ``window.gridgisZonesReady`` is ``{zones, towns, grids, cells,
  labels}`` (features per layer) and ``window.gridgisZonesLayers`` the Leaflet groups.
"""

from __future__ import annotations

import html
from collections.abc import Mapping, Sequence
from typing import Any

import folium
from shapely.geometry import mapping, shape
from shapely.strtree import STRtree

from gis import hexgrid
from maps.assets import localize_all
from maps.basemaps import Basemap
from maps.elements import HtmlControl, PermanentLabels, ViewScript, render_control
from maps.grid_map import label_point, leaflet_bounds, page_map
from maps.styles import format_area_km2, label, resolve_lang

# Soft qualitative colours: neighbouring zones (and all zones of one town) differ.
ZONE_PALETTE = (
    "#4e79a7",
    "#f28e2b",
    "#59a14f",
    "#e15759",
    "#b07aa1",
    "#76b7b2",
    "#edc948",
    "#9c755f",
)
# Sequential (light to dark purple-red) for household counts; grey for none.
COUNT_PALETTE = ("#f1eef6", "#d4b9da", "#c994c7", "#df65b0", "#dd1c77", "#980043")
NO_HOUSEHOLDS = "#e9edf1"
LEGEND_WIDTH_PX = 280  # the view is fitted to the right of the legend
MIN_SHOWN = 5  # counts below this are shown as "< 5": a cell may hold one household


# -- colours ------------------------------------------------------------------------------------
def zone_colours(features: Sequence[Mapping[str, Any]]) -> list[str]:
    """A palette colour per zone: zones of one town, and zones that touch, never share one.

    Greedy colouring in code order over the conflict graph (same town or touching).
    """
    shapes = [shape(f["geometry"]) for f in features]
    towns = [str((f.get("properties") or {}).get("town_code")) for f in features]
    tree = STRtree(shapes)
    colours: list[str] = []
    for i, geom in enumerate(shapes):
        near = {int(j) for j in tree.query(geom, predicate="intersects") if j < i}
        near |= {j for j in range(i) if towns[j] == towns[i]}
        taken = {colours[j] for j in near}
        free = [c for c in ZONE_PALETTE if c not in taken]
        colours.append(free[0] if free else ZONE_PALETTE[i % len(ZONE_PALETTE)])
    return colours


def count_breaks(values: Sequence[int], classes: int = len(COUNT_PALETTE)) -> list[int]:
    """Upper bounds of up to ``classes`` classes (quantiles of the non-zero values, rounded to
    1-2 significant digits, strictly increasing, the first at least ``MIN_SHOWN - 1``); the
    last one is the maximum."""
    positive = sorted(v for v in values if v > 0)
    if not positive:
        return []
    breaks: list[int] = []
    for k in range(1, classes):
        q = positive[min(len(positive) - 1, (k * len(positive)) // classes)]
        step = 10 ** max(0, len(str(q)) - 2)
        # the first class holds every count below MIN_SHOWN: colour must not tell 1 from 3
        rounded = max(MIN_SHOWN - 1, round(q / step) * step)
        if not breaks or rounded > breaks[-1]:
            breaks.append(rounded)
    if positive[-1] > breaks[-1]:
        breaks.append(positive[-1])
    return breaks


def count_colour(n: int, breaks: Sequence[int]) -> str:
    if n <= 0 or not breaks:
        return NO_HOUSEHOLDS
    for i, upper in enumerate(breaks):
        if n <= upper:
            return COUNT_PALETTE[i]
    return COUNT_PALETTE[len(breaks) - 1]


def shown_count(n: int, lang: str) -> str:
    """The count as people read it; small counts are not shown exactly."""
    if n <= 0:
        return "0"
    if n < MIN_SHOWN:
        return label("zones_count_few", lang, n=MIN_SHOWN)
    return f"{n:,}"


# -- layers -------------------------------------------------------------------------------------
def _tooltip(fields: Sequence[str], lang: str) -> folium.GeoJsonTooltip:
    return folium.GeoJsonTooltip(
        fields=list(fields), aliases=[label(f"zones_field_{f}", lang) for f in fields], sticky=True
    )


def _layer(
    features: list[dict[str, Any]], name: str, css: str, fields: Sequence[str], lang: str
) -> folium.GeoJson:
    return folium.GeoJson(
        {"type": "FeatureCollection", "features": features},
        name=name,
        control=False,
        style_function=lambda f: f["properties"]["_style"],
        highlight_function=lambda f: {"weight": 3, "color": "#0b2e59", "fillOpacity": 0.75},
        tooltip=_tooltip(fields, lang) if features else None,
        smooth_factor=1.0,
        className=css,
    )


def _style(
    fill: str, *, opacity: float, line: str = "#ffffff", weight: float = 0.6
) -> dict[str, object]:
    return {
        "color": line,
        "weight": weight,
        "opacity": 0.9,
        "fillColor": fill,
        "fillOpacity": opacity,
        "lineJoin": "round",
    }


SQUAD_PREFIX = "综合执法局"


def _strip(text: str, prefix: str) -> str:
    return text[len(prefix) :] if prefix and text.startswith(prefix) and text != prefix else text


def _zone_features(zones: Mapping[str, Any], lang: str) -> tuple[list[dict[str, Any]], list[Any]]:
    given = [f for f in zones.get("features") or [] if f.get("geometry")]
    colours = zone_colours(given)
    out, rows = [], []
    for feature, colour in zip(given, colours, strict=True):
        p = feature.get("properties") or {}
        name = str(p.get("name") or p.get("code") or "")
        squad = str(p.get("squad_name") or label("zones_no_squad", lang))
        town = str(p.get("town_name") or p.get("town_code") or "")
        out.append(
            {
                "type": "Feature",
                "id": p.get("code"),
                "geometry": feature["geometry"],
                "properties": {
                    "_style": _style(colour, opacity=0.5, weight=1.2),
                    "name": html.escape(name),
                    "code": html.escape(str(p.get("code") or "")),
                    "town": html.escape(town),
                    "squad": html.escape(squad),
                    "members": f"{int(p.get('member_count') or 0):,}",
                    "grids": f"{int(p.get('grid_count') or 0):,}",
                    "area": html.escape(format_area_km2(p.get("area_m2"), lang)),
                },
            }
        )
        # Labels drop what the town outline already says ("澄江街道第1执法片区" reads
        # "第1执法片区", its squad "第1中队"); the tooltip has the full names.
        rows.append(
            (
                *label_point(shape(feature["geometry"])),
                f"{_strip(name, town)}\n{_strip(_strip(squad, town), SQUAD_PREFIX)}",
            )
        )
    return out, rows


def _grid_features(
    grids: Mapping[str, Any], counts: Mapping[str, int], lang: str
) -> tuple[list[dict[str, Any]], list[int]]:
    given = [f for f in grids.get("features") or [] if f.get("geometry")]
    breaks = count_breaks([counts.get(str(f.get("id")), 0) for f in given])
    out = []
    for f in given:
        p = f.get("properties") or {}
        code = str(p.get("code") or f.get("id") or "")
        n = int(counts.get(code, 0))
        out.append(
            {
                "type": "Feature",
                "id": code,
                "geometry": f["geometry"],
                "properties": {
                    "_style": _style(count_colour(n, breaks), opacity=0.8, weight=0.4),
                    "name": html.escape(str(p.get("name") or code)),
                    "code": html.escape(code),
                    "households": shown_count(n, lang),
                },
            }
        )
    return out, breaks


def _cell_features(
    cells: Sequence[Mapping[str, Any]], resolution: int, lang: str
) -> tuple[list[dict[str, Any]], list[int]]:
    breaks = count_breaks([int(c["households"]) for c in cells])
    out = []
    for c in cells:
        n = int(c["households"])
        polygon = hexgrid.cell_polygon(int(str(c["cell"]), 16))
        out.append(
            {
                "type": "Feature",
                "id": str(c["cell"]),
                "geometry": mapping(polygon),
                "properties": {
                    "_style": _style(count_colour(n, breaks), opacity=0.8, weight=0.4),
                    "cell": html.escape(str(c["cell"])),
                    "resolution": str(resolution),
                    "households": shown_count(n, lang),
                },
            }
        )
    return out, breaks


# -- legend -------------------------------------------------------------------------------------
def _count_rows(breaks: Sequence[int], lang: str) -> list[tuple[str, str]]:
    rows, lower = [], 1
    for i, upper in enumerate(breaks):
        rows.append((COUNT_PALETTE[i], f"{lower:,}–{upper:,}" if upper > lower else f"{upper:,}"))
        lower = upper + 1
    rows.append((NO_HOUSEHOLDS, label("zones_legend_none", lang)))
    return rows


def _legend_html(
    n_zones: int, grid_breaks: Sequence[int], cell_breaks: Sequence[int], resolution: int, lang: str
) -> str:
    words = {
        "title": label("legend_title", lang),
        "zones": label("zones_layer", lang),
        "zone_count": label("zones_legend_zone", lang, n=n_zones),
        "labels": label("zones_legend_labels", lang),
        "town": label("zones_legend_town", lang),
        "grid_counts": label("zones_households_grid", lang),
        "cell_counts": label("zones_households_h3", lang, r=resolution),
        "privacy": label("zones_privacy", lang, n=MIN_SHOWN),
        "hint": label("zones_hint", lang),
    }
    return render_control(
        "zones_legend.html",
        t=words,
        zone_colours=ZONE_PALETTE[:4],
        grid_rows=_count_rows(grid_breaks, lang),
        cell_rows=_count_rows(cell_breaks, lang),
    )


def build_zones_map(
    zones: Mapping[str, Any],
    towns: Mapping[str, Any],
    unit_grids: Mapping[str, Any],
    grid_counts: Mapping[str, int],
    cell_counts: Sequence[Mapping[str, Any]],
    *,
    resolution: int,
    lang: str = "zh",
    assets_base: str = "/static",
    basemap: Basemap | None = None,
    title: str | None = None,
) -> folium.Map:
    """Zones, town outlines and household counts (per unit grid, per H3 cell) on one map.

    Parameters
    ----------
    zones, towns, unit_grids
        GeoJSON FeatureCollection dicts, geometry in EPSG:4490 (lon, lat). Zones carry
        ``code``, ``name``, ``town_code``, ``town_name``, ``squad_name``, ``member_count``,
        ``grid_count``, ``area_m2`` (m²); grids ``code`` and ``name``.
    grid_counts
        Unit grid code -> households. ``cell_counts``: ``{"cell": hex id, "households": n}``
        at H3 ``resolution``. Only counts: never pass households.
    lang
        "zh" (default) or "en".
    """
    lang = resolve_lang(lang)
    basemap = basemap or Basemap.none()
    title = title or label("zones_map_title", lang)
    zone_features, label_rows = _zone_features(zones, lang)
    town_features = [f for f in towns.get("features") or [] if f.get("geometry")]
    grid_features, grid_breaks = _grid_features(unit_grids, grid_counts, lang)
    cell_features, cell_breaks = _cell_features(cell_counts, resolution, lang)
    bounds = leaflet_bounds([shape(f["geometry"]) for f in (town_features or zone_features)])
    folium_map = page_map(bounds, basemap=basemap, title=title, lang=lang)

    # Layer control order = this order. Households start hidden: the zones are the subject.
    specs = [
        ("grids", label("zones_households_grid", lang), grid_features, "gridgis-hh-grid",
         ("name", "code", "households"), False),
        ("cells", label("zones_households_h3", lang, r=resolution), cell_features,
         "gridgis-hh-h3", ("cell", "resolution", "households"), False),
        ("zones", label("zones_layer", lang), zone_features, "gridgis-zone",
         ("name", "code", "town", "squad", "members", "grids", "area"), True),
    ]  # fmt: skip
    groups: dict[str, folium.FeatureGroup] = {}
    layers: dict[str, folium.GeoJson] = {}
    for key, name, features, css, fields, show in specs:
        groups[key] = folium.FeatureGroup(name=name, show=show)
        layers[key] = _layer(features, f"gridgis_{key}", css, fields, lang)
        layers[key].add_to(groups[key])
        if key == "zones" and label_rows:
            PermanentLabels(label_rows, css_class="gridgis-label-zone").add_to(groups[key])
        groups[key].add_to(folium_map)
    town_style = {"color": "#0b2e59", "weight": 2.5, "opacity": 1.0, "fill": False}
    groups["towns"] = folium.FeatureGroup(name=label("zones_legend_town", lang), show=True)
    layers["towns"] = folium.GeoJson(
        {"type": "FeatureCollection", "features": town_features},
        name="gridgis_towns",
        control=False,
        style_function=lambda _f: town_style,
        interactive=False,
        className="gridgis-zone-town",
    )
    layers["towns"].add_to(groups["towns"])
    groups["towns"].add_to(folium_map)

    folium.LayerControl(position="topright", collapsed=False).add_to(folium_map)
    HtmlControl(html.escape(title), position="topcenter", css_class="gridgis-title").add_to(
        folium_map
    )
    HtmlControl(
        _legend_html(len(zone_features), grid_breaks, cell_breaks, resolution, lang),
        position="bottomleft",
        css_class="gridgis-legend",
    ).add_to(folium_map)
    ViewScript(
        "zones",
        {"bounds": bounds, "legend_width_px": LEGEND_WIDTH_PX, "n_labels": len(label_rows),
         "label_zoom": 10.5},
        {**{f"group:{k}": g for k, g in groups.items()},
         **{f"layer:{k}": g for k, g in layers.items()}},
        styles=["gridgis_zones_css"],
    ).add_to(folium_map)  # fmt: skip
    localize_all(folium_map, assets_base)
    return folium_map
