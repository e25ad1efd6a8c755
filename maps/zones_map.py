"""The zones page: enforcement zones (执法片区) and household counts on one offline map.

``build_zones_map(...)`` returns a ``folium.Map``; ``.get_root().render()`` is the HTML; the page
script is ``maps/static/gridgis-zones.js``, its styles ``gridgis-zones.css``. The shapes come
from the vector tiles (zones, town outlines, unit grids; maps/static/gridgis-tiles.js): the page
carries no polygon, only per-zone colours and facts, label points, per-grid counts and the H3
cells' centres.

One thing is filled at a time, chosen top right (``?show=zones|grid|h3`` in the URL, so Back
and reload keep it): the zones (default), households per unit grid (a choropleth; the zones are
then outlines), or households per H3 cell (graduated circles at the cells' centres over the
zone outlines). The legend shows exactly the sections of what is drawn.
Households appear only as counts: the builder is given counts, never households, and counts
below :data:`MIN_SHOWN` are shown as "< 5", so no single household can be read off the map.

Hooks for tests, stable across versions:

- SVG paths carry the CSS classes ``gridgis-zone`` (zone fills), ``gridgis-zone-outline``
  (zones as outlines), ``gridgis-zone-town`` (town outlines), ``gridgis-hh-grid``
  (households per unit grid) and ``gridgis-hh-h3`` (circles per cell), plus
  ``gridgis-code-<code>`` on tile-drawn paths (a shape crossing tiles has a path per tile);
- ``window.gridgisZonesReady`` is ``{zones, grids, cells, labels, mode}`` (zones known, unit
  grids with households, cells with households, zone labels, the mode shown) after each
  change of mode, ``window.gridgisZonesLayers`` the Leaflet groups by mode.
"""

from __future__ import annotations

import html
import math
from collections.abc import Mapping, Sequence
from typing import Any

import folium
import h3
from shapely.geometry import shape
from shapely.strtree import STRtree

from gis import hexgrid
from maps.assets import localize_all
from maps.basemaps import Basemap
from maps.elements import HtmlControl, ViewScript, render_control
from maps.grid_map import label_point, page_map
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
SQUAD_PREFIX = "综合执法局"
LEGEND_MAX_RADIUS_PX = 13
"""Radius of the largest class's circle in the legend; the others scale by area."""
CELL_COLOUR = "#7a0177"
MODES = ("zones", "grid", "h3")
"""What the fills show: the zones (default), households per unit grid, households per H3 cell
(circles); in the household modes the zones are drawn as outlines only, so the two never mix."""


def _strip(text: str, prefix: str) -> str:
    return text[len(prefix) :] if prefix and text.startswith(prefix) and text != prefix else text


def _zone_rows(
    zones: Mapping[str, Any], lang: str
) -> tuple[dict[str, list[str]], list[tuple[float, float, str]]]:
    """Zone code -> [colour, name, town, squad, members, unit grids, area]; and label rows
    (lon, lat, text). Geometry is only read here (colours, label points), never sent."""
    given = [f for f in zones.get("features") or [] if f.get("geometry")]
    colours = zone_colours(given)
    out: dict[str, list[str]] = {}
    rows = []
    for feature, colour in zip(given, colours, strict=True):
        p = feature.get("properties") or {}
        name = str(p.get("name") or p.get("code") or "")
        squad = str(p.get("squad_name") or label("zones_no_squad", lang))
        town = str(p.get("town_name") or p.get("town_code") or "")
        out[str(p.get("code") or "")] = [
            colour, name, town, squad, f"{int(p.get('member_count') or 0):,}",
            f"{int(p.get('grid_count') or 0):,}", format_area_km2(p.get("area_m2"), lang),
        ]  # fmt: skip
        # Labels drop what the town outline already says ("澄江街道第1执法片区" reads
        # "第1执法片区", its squad "第1中队"); the tooltip has the full names.
        lon, lat = label_point(shape(feature["geometry"]))
        text = f"{_strip(name, town)}\n{_strip(_strip(squad, town), SQUAD_PREFIX)}"
        rows.append((round(lon, 5), round(lat, 5), text))
    return out, rows


def _grid_rows(counts: Mapping[str, int], lang: str) -> tuple[dict[str, list[str]], list[int]]:
    """Unit grid code -> [fill, count as shown]; grids without households are left out (drawn
    in :data:`NO_HOUSEHOLDS`)."""
    breaks = count_breaks(list(counts.values()))
    return {
        code: [count_colour(n, breaks), shown_count(n, lang)] for code, n in counts.items() if n > 0
    }, breaks


def cell_radius_m(resolution: int, k: int, classes: int) -> float:
    """Radius in metres of the circle of count class ``k`` (0-based) of ``classes``: its area
    grows with the class, and the largest fits inside the cell (0.95 of the hexagon's inner
    radius, from h3's average edge length at ``resolution``), so circles never overlap."""
    inner = float(h3.average_hexagon_edge_length(resolution, unit="m")) * math.sqrt(3) / 2
    return round(0.95 * inner * math.sqrt((k + 1) / max(classes, 1)), 1)


def _cell_rows(
    cells: Sequence[Mapping[str, Any]], resolution: int, lang: str
) -> tuple[list[list[Any]], list[int]]:
    """[lon, lat, radius m, count as shown, cell id] per H3 cell with households (its centre:
    a graduated symbol, never the hexagon), largest first so small circles stay on top."""
    breaks = count_breaks([int(c["households"]) for c in cells])
    if not cells:
        return [], breaks
    ids = [int(str(c["cell"]), 16) for c in cells]
    lons, lats = hexgrid.cell_centres(ids)
    out = []
    for c, lon, lat in zip(cells, lons.tolist(), lats.tolist(), strict=True):
        n = int(c["households"])
        k = next((i for i, upper in enumerate(breaks) if n <= upper), len(breaks) - 1)
        out.append([round(lon, 5), round(lat, 5), cell_radius_m(resolution, k, len(breaks)),
                    shown_count(n, lang), str(c["cell"])])  # fmt: skip
    out.sort(key=lambda r: -float(r[2]))
    return out, breaks


# -- legend -------------------------------------------------------------------------------------
def _count_rows(breaks: Sequence[int], lang: str) -> list[tuple[str, str]]:
    rows, lower = [], 1
    for i, upper in enumerate(breaks):
        rows.append((COUNT_PALETTE[i], f"{lower:,}–{upper:,}" if upper > lower else f"{upper:,}"))
        lower = upper + 1
    rows.append((NO_HOUSEHOLDS, label("zones_legend_none", lang)))
    return rows


def _cell_legend(breaks: Sequence[int], lang: str) -> list[tuple[float, str]]:
    """(radius px, "12–40") per class of the H3 circles, sized as on the map (by area)."""
    rows = _count_rows(breaks, lang)[:-1]  # the last row is "none": no circle is drawn
    n = len(rows)
    return [
        (round(LEGEND_MAX_RADIUS_PX * math.sqrt((i + 1) / n), 1), text)
        for i, (_, text) in enumerate(rows)
    ]


def _legend_html(
    n_zones: int, grid_breaks: Sequence[int], cell_breaks: Sequence[int], resolution: int, lang: str
) -> str:
    words = {
        "title": label("legend_title", lang),
        "zones": label("zones_layer", lang),
        "zone_count": label("zones_legend_zone", lang, n=n_zones),
        "labels": label("zones_legend_labels", lang),
        "outline": label("zones_outline", lang),
        "town": label("zones_legend_town", lang),
        "grid_counts": label("zones_households_grid", lang),
        "cell_counts": label("zones_households_h3", lang, r=resolution),
        "cells_hint": label("zones_cells_hint", lang),
        "privacy": label("zones_privacy", lang, n=MIN_SHOWN),
        "hint": label("zones_hint", lang),
    }
    return render_control(
        "zones_legend.html",
        t=words,
        zone_colours=ZONE_PALETTE[:4],
        grid_rows=_count_rows(grid_breaks, lang),
        cell_rows=_cell_legend(cell_breaks, lang),
        cell_colour=CELL_COLOUR,
    )


def build_zones_map(
    zones: Mapping[str, Any],
    grid_counts: Mapping[str, int],
    cell_counts: Sequence[Mapping[str, Any]],
    *,
    bounds: tuple[float, float, float, float] | None,
    generation_id: int,
    resolution: int,
    lang: str = "zh",
    assets_base: str = "/static",
    basemap: Basemap | None = None,
    title: str | None = None,
) -> folium.Map:
    """Zones, town outlines and household counts (per unit grid, per H3 cell) on one map, the
    shapes drawn from the vector tiles of ``generation_id`` (``/tiles/zones``,
    ``/tiles/grids-l1``, ``/tiles/grids-l3``).

    Parameters
    ----------
    zones
        GeoJSON FeatureCollection dict, geometry in EPSG:4490 (lon, lat), properties ``code``,
        ``name``, ``town_code``, ``town_name``, ``squad_name``, ``member_count``,
        ``grid_count``, ``area_m2`` (m²). Its geometry is used here for the colours (touching
        zones differ) and label points only; the page gets none of it.
    grid_counts
        Unit grid code -> households. ``cell_counts``: ``{"cell": hex id, "households": n}``
        at H3 ``resolution``, drawn as circles at the cells' centres. Only counts: never pass
        households; counts below :data:`MIN_SHOWN` are shown as "< 5".
    bounds
        (west, south, east, north) degrees of the city, to fit the first view.
    lang
        "zh" (default) or "en".
    """
    lang = resolve_lang(lang)
    basemap = basemap or Basemap.none()
    title = title or label("zones_map_title", lang)
    zone_rows, label_rows = _zone_rows(zones, lang)
    grid_rows, grid_breaks = _grid_rows(grid_counts, lang)
    cell_rows, cell_breaks = _cell_rows(cell_counts, resolution, lang)
    view = [[bounds[1], bounds[0]], [bounds[3], bounds[2]]] if bounds else None
    folium_map = page_map(view, basemap=basemap, title=title, lang=lang)
    HtmlControl(html.escape(title), position="topcenter", css_class="gridgis-title").add_to(
        folium_map
    )
    HtmlControl(
        _legend_html(len(zone_rows), grid_breaks, cell_breaks, resolution, lang),
        position="bottomleft",
        css_class="gridgis-legend gridgis-zones-legend",
    ).add_to(folium_map)
    fields = ("name", "code", "town", "squad", "members", "grids", "area", "households",
              "cell", "resolution")  # fmt: skip
    ViewScript(
        "zones",
        {
            "bounds": view,
            "label_zoom": 10.5,
            "tiles": {"generation": generation_id},
            "resolution": resolution,
            "zones": zone_rows,
            "labels": label_rows,
            "grids": grid_rows,
            "cells": cell_rows,
            "colours": {"none": NO_HOUSEHOLDS, "cell": CELL_COLOUR},
            "modes": list(MODES),
            "words": {
                "zones": label("zones_layer", lang),
                "grid": label("zones_households_grid", lang),
                "h3": label("zones_households_h3", lang, r=resolution),
                "towns": label("zones_legend_town", lang),
                "show": label("zones_show", lang),
                **{f: label(f"zones_field_{f}", lang) for f in fields},
            },
        },
        scripts=["leaflet_vectorgrid", "gridgis_tiles_js"],
        styles=["gridgis_zones_css"],
    ).add_to(folium_map)
    localize_all(folium_map, assets_base)
    return folium_map
