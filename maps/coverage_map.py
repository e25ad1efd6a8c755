"""The coverage page (巡查覆盖率): patrol coverage per grid level with drill-down, offline.

``build_coverage_map(levels, figures, ...)`` returns a ``folium.Map``; ``.get_root().render()``
is the HTML; the page script is ``maps/static/gridgis-coverage.js``. Towns are coloured by their
H3 coverage share; clicking a town shows its villages,
clicking a village its unit grids, clicking a unit grid fetches
``/api/v1/coverage/grids/{code}`` (same origin, session cookie) and draws its blind-spot cells
and its covering tracks (one colour per officer) and lists who covered it; the side panel also
shows the area's trend, the ranking of the level shown and export links, and a panel lists the
people below the duty threshold (maps/coverage_panels.py). A form at the top left reloads the
page for another date, shift or threshold.
Without a run (``run=None``) the towns are drawn grey with a message naming the command that
computes one.

Hooks for tests, stable across versions:

- SVG paths carry ``gridgis-cov-l1`` / ``-l2`` / ``-l3`` (the level shown), ``gridgis-cov-blind``
  (blind cells of the selected grid) and a ``data-code`` attribute with the grid code;
- ``window.gridgisCoverage`` is ``{level, parent, shown, selected, blind, who, missing}`` after
  every step (``blind``/``who`` are null until a unit grid's detail has arrived);
- ``window.gridgisCoverageMap`` is the Leaflet map;
- the panels' hooks are listed in maps/coverage_panels.py.
"""

from __future__ import annotations

import html
from collections.abc import Mapping, Sequence
from datetime import date, timedelta
from typing import Any

import folium
from shapely.geometry import shape

from maps.assets import localize_all
from maps.basemaps import Basemap
from maps.coverage_panels import (
    PANEL_LABELS,
    RANKING_SHOWN,
    TRACK_PALETTE,
    TREND_BUFFER,
    TREND_DAYS,
    TREND_H3,
)
from maps.elements import HtmlControl, ViewScript, render_control
from maps.grid_map import leaflet_bounds, page_map
from maps.styles import label, resolve_lang

# Sequential yellow-green classes of the H3 share (upper bounds, inclusive); 0 is its own class.
SHARE_BREAKS = (0.2, 0.4, 0.6, 0.8, 1.0)
SHARE_PALETTE = ("#ffffcc", "#c2e699", "#78c679", "#31a354", "#006837")
NOT_PATROLLED = "#d9dee5"
NO_CELLS = "#ffffff"
BLIND_COLOUR = "#d7301f"
LEGEND_WIDTH_PX = 300
PANEL_WIDTH_PX = 300
RESOLUTION_CHOICES = (10, 11)

# Labels the page script needs (placeholders filled in the browser).
JS_LABELS = (
    "coverage_all", "coverage_field_h3", "coverage_field_buffer", "coverage_field_officers",
    "coverage_field_cells", "coverage_field_code", "coverage_who", "coverage_who_none",
    "coverage_minutes", "coverage_metres", "coverage_blind_count", "coverage_loading",
    "load_failed", "coverage_click_town", "coverage_click_village", "coverage_click_grid",
)  # fmt: skip


def share_colour(share: float | None) -> str:
    """Fill for an H3 share in [0, 1]; None (a grid without H3 cells) is white."""
    if share is None:
        return NO_CELLS
    if share <= 0:
        return NOT_PATROLLED
    for upper, colour in zip(SHARE_BREAKS, SHARE_PALETTE, strict=True):
        if share <= upper:
            return colour
    return SHARE_PALETTE[-1]


def _features(
    collection: Mapping[str, Any], rows: Mapping[str, Mapping[str, Any]], with_figures: bool
) -> list[dict[str, Any]]:
    out = []
    for f in collection.get("features") or []:
        if not f.get("geometry"):
            continue
        p = f.get("properties") or {}
        code = str(p.get("code") or f.get("id") or "")
        row = rows.get(code) or {}
        h3 = row.get("h3_share") if with_figures else None
        out.append(
            {
                "type": "Feature",
                "geometry": f["geometry"],
                "properties": {
                    "code": code,
                    "name": str(p.get("name") or code),
                    "parent": str(p.get("parent_code") or ""),
                    "fill": share_colour(h3) if with_figures else NOT_PATROLLED,
                    "h3": h3,
                    "buffer": row.get("buffer_share"),
                    "officers": row.get("officers"),
                    "cells": row.get("cells"),
                    "covered": row.get("covered_cells"),
                },
            }
        )
    return out


def _pct(value: float) -> str:
    return f"{value * 100:.0f}%"


def _legend_html(run: Mapping[str, Any] | None, lang: str) -> str:
    classes, lower = [], 0.0
    for upper, colour in zip(SHARE_BREAKS, SHARE_PALETTE, strict=True):
        low = f"> {_pct(lower)}" if lower == 0 else _pct(lower)  # 0 % is its own class
        classes.append((colour, f"{low} – {_pct(upper)}"))
        lower = upper
    run_text, method = None, None
    if run is not None:
        shift = run.get("shift") or label("coverage_whole_day", lang)
        at = str(run.get("computed_at") or "")[:16].replace("T", " ")
        run_text = label("coverage_run", lang, date=run["date"], shift=shift, at=at)
        p = run["params"]
        method = {
            "title": label("coverage_method", lang),
            "lines": [
                label("coverage_method_h3", lang, r=p["resolution"], d=f"{p['distance_m']:g}"),
                label("coverage_method_buffer", lang, d=f"{p['distance_m']:g}"),
                label("coverage_method_gap", lang, s=f"{p['max_gap_s']:g}"),
            ],
            "hint": label("coverage_hint", lang),
        }
    return render_control(
        "coverage_legend.html",
        title=label("coverage_legend_title", lang),
        run_text=run_text,
        classes=classes,
        zero=(NOT_PATROLLED, label("coverage_legend_zero", lang)),
        nodata=(NO_CELLS, label("coverage_legend_nodata", lang)),
        blind=(BLIND_COLOUR, label("coverage_legend_blind", lang)),
        tracks=(list(TRACK_PALETTE[:3]), label("coverage_legend_tracks", lang)),
        method=method,
    )


def _form_html(query: Mapping[str, Any], lang: str) -> str:
    words = ("date", "shift", "shift_hint", "resolution", "resolution_auto", "threshold",
             "threshold_hint", "show")  # fmt: skip
    return render_control(
        "coverage_form.html",
        t={w: label(f"coverage_{w}", lang) for w in words},
        lang=lang,
        date=str(query.get("date") or ""),
        shift=str(query.get("shift") or ""),
        resolution=query.get("resolution"),
        resolutions=RESOLUTION_CHOICES,
        threshold=f"{float(query['threshold']):g}",
    )


def _missing_html(query: Mapping[str, Any], lang: str) -> str:
    day = str(query.get("date") or "")
    shift = str(query.get("shift") or "")
    command = f"gridgis coverage --date {day}" + (f" --shift {shift}" if shift else "")
    if query.get("resolution"):
        command += f" --resolution {query['resolution']}"
    what = label(
        "coverage_no_run", lang, date=day, shift=shift or label("coverage_whole_day", lang)
    )
    return render_control(
        "coverage_missing.html",
        what=what,
        fix=label("coverage_no_run_fix", lang),
        command=command,
    )


def build_coverage_map(
    levels: Mapping[int, Mapping[str, Any]],
    figures: Mapping[int, Sequence[Mapping[str, Any]]] | None,
    *,
    run: Mapping[str, Any] | None,
    query: Mapping[str, Any],
    lang: str = "zh",
    assets_base: str = "/static",
    basemap: Basemap | None = None,
) -> folium.Map:
    """Coverage per grid level with drill-down, on one offline map.

    Parameters
    ----------
    levels
        Level (1, 2, 3) -> GeoJSON FeatureCollection, geometry in EPSG:4490 (lon, lat),
        properties ``code``, ``name``, ``parent_code`` (simplified: every vertex is in the page).
    figures
        Level -> rows of ``GET /api/v1/coverage`` (``code``, ``h3_share``, ``buffer_share``,
        ``cells``, ``covered_cells``, ``officers``); None when no run exists.
    run
        The run's metadata (``date``, ``shift``, ``params``, ``computed_at``) or None: then the
        page says how to compute it (``gridgis coverage --date D``).
    query
        ``date``, ``shift``, ``resolution`` as asked: fill the form and the detail requests;
        ``threshold`` (required: share of the duty inside own grids, checked by the page) for
        the compliance panel.
    lang
        "zh" (default) or "en".
    """
    lang = resolve_lang(lang)
    basemap = basemap or Basemap.none()
    title = label("coverage_map_title", lang)
    has_run = run is not None and figures is not None
    prepared = {
        n: _features(
            levels.get(n) or {},
            {str(r["code"]): r for r in (figures or {}).get(n, [])},
            has_run,
        )
        for n in (1, 2, 3)
    }
    bounds = leaflet_bounds([shape(f["geometry"]) for f in prepared[1]])
    folium_map = page_map(bounds, basemap=basemap, title=title, lang=lang)

    HtmlControl(html.escape(title), position="topcenter", css_class="gridgis-title").add_to(
        folium_map
    )
    HtmlControl(
        _form_html(query, lang), position="topleft", css_class="gridgis-cov-form-box"
    ).add_to(folium_map)
    if not has_run:
        HtmlControl(
            _missing_html(query, lang), position="topcenter",
            css_class="gridgis-legend gridgis-cov-missing",
        ).add_to(folium_map)  # fmt: skip
    HtmlControl(
        _legend_html(run if has_run else None, lang),
        position="bottomleft",
        css_class="gridgis-legend",
    ).add_to(folium_map)
    api_query = {
        k: str(v) for k, v in (("date", query.get("date")), ("shift", query.get("shift")),
                               ("resolution", query.get("resolution"))) if v
    }  # fmt: skip
    if has_run and run is not None:  # detail requests ask for exactly the run shown
        api_query["resolution"] = str(run["params"]["resolution"])
    last = date.fromisoformat(str(run["date"] if run else query.get("date")))
    panels = {
        "run": has_run,
        "query": api_query,
        "threshold": float(query["threshold"]),
        "trend_days": TREND_DAYS,
        "trend_from": (last - timedelta(days=TREND_DAYS - 1)).isoformat(),
        "trend_to": last.isoformat(),
        "ranking_shown": RANKING_SHOWN,
        "palette": list(TRACK_PALETTE),
        "colours": {"h3": TREND_H3, "buffer": TREND_BUFFER},
        "labels": {k: label(k, lang) for k in PANEL_LABELS},
    }
    ViewScript(
        "coverage",
        {
            "levels": prepared,
            "run": has_run,
            "query": api_query,
            "labels": {k: label(k, lang) for k in JS_LABELS},
            "legend_px": LEGEND_WIDTH_PX,
            "panel_px": PANEL_WIDTH_PX,
            "blind": BLIND_COLOUR,
            "panels": panels,
        },
        scripts=["gridgis_coverage_panels_js"],
        styles=["gridgis_coverage_css"],
    ).add_to(folium_map)
    localize_all(folium_map, assets_base)
    return folium_map
