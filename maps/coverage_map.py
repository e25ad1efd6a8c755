"""The coverage page (巡查覆盖率): patrol coverage per grid level with drill-down, offline.

``build_coverage_map(index, figures, ...)`` returns a ``folium.Map``; ``.get_root().render()``
is the HTML; the page script is ``maps/static/gridgis-coverage.js``. The grids are drawn from
the vector tiles (``/tiles/grids-l{n}``, maps/static/gridgis-tiles.js) of the run's generation:
no page or page script carries a polygon of the city, only the light grid index
(layers/grid_index.py: code, name, parent, bbox, label point) and the run's figures of towns and
villages; a village's unit grids with their figures are asked for when it is opened
(``GET /api/v1/coverage/figures?parent=``, :func:`unit_grid_rows`). Each level is
coloured by its H3 share in classes fitted to that level's values (quantiles, see
:func:`share_breaks`), with the class limits in the legend; names are drawn where the grid is
wide enough on screen for them. Towns first; clicking a town shows its villages, clicking a
village its unit grids, clicking a unit grid fetches ``/api/v1/coverage/grids/{code}`` (same
origin, session cookie) and draws its blind-spot cells and its covering tracks (one colour per
officer) and lists who covered it; the side panel also shows the area's trend, the ranking of
the level shown and export links, and a panel lists the people below the duty threshold
(maps/coverage_panels.py). The area drilled into is kept in the URL (``?area=<code>``), so Back
and reload return to it. A form at the top left reloads the page for another date, shift or
threshold. Times are Asia/Shanghai and labelled so; today's run is labelled as partial
("今日（截至 HH:MM）"), never "全天".
Without a run (``run=None``) the towns are drawn grey with a message naming the command that
computes one.

Hooks for tests, stable across versions:

- SVG paths (one or more per grid: a grid crossing tile edges is drawn in each tile) carry
  ``gridgis-cov-l1`` / ``-l2`` / ``-l3`` (the level shown) and ``gridgis-code-<code>``;
  ``gridgis-cov-blind`` marks the blind cells of the selected grid; name labels are
  ``.gridgis-cov-label`` (``data-code``);
- ``window.gridgisCoverage`` is ``{level, parent, shown, selected, blind, who, missing}`` after
  every step (``blind``/``who`` are null until a unit grid's detail has arrived);
- ``window.gridgisCoverageMap`` is the Leaflet map, ``window.gridgisCoverageLayer`` the tile
  layer of the level shown (``isLoading()`` false once its tiles are drawn);
  ``.gridgis-cov-classes[data-level]`` the legend's classes of each level (only the shown
  level's is visible);
- the panels' hooks are listed in maps/coverage_panels.py.
"""

from __future__ import annotations

import html
import math
from collections.abc import Mapping, Sequence
from datetime import date, timedelta
from typing import Any

import folium

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
from maps.grid_map import page_map
from maps.styles import label, resolve_lang

# Sequential yellow-green classes of the H3 share, light to dark; 0 is its own class (grey).
SHARE_PALETTE = ("#ffffcc", "#c2e699", "#78c679", "#31a354", "#006837")
SHARE_CLASSES = len(SHARE_PALETTE)
NOT_PATROLLED = "#d9dee5"
NO_CELLS = "#ffffff"
BLIND_COLOUR = "#d7301f"
RESOLUTION_CHOICES = (10, 11)
LABEL_MIN_PX = 56
"""A grid's name is drawn when its bounding box is at least this wide on screen."""
ROW_FIELDS = ("code", "name", "parent", "fill", "h3", "buffer", "officers", "cells", "covered",
              "bbox", "point")  # fmt: skip
"""Columns of each level's rows in the page script (arrays, not objects: a third the bytes)."""

FIGURES_URL = "/api/v1/coverage/figures"
"""Where the page script asks for a village's unit grids (:func:`unit_grid_rows`)."""

# Labels the page script needs (placeholders filled in the browser).
JS_LABELS = (
    "coverage_all", "coverage_field_h3", "coverage_field_buffer", "coverage_field_officers",
    "coverage_field_cells", "coverage_field_code", "coverage_who", "coverage_who_none",
    "coverage_minutes", "coverage_metres", "coverage_blind_count", "coverage_loading",
    "load_failed", "coverage_click_town", "coverage_click_village", "coverage_click_grid",
)  # fmt: skip


def share_breaks(values: Sequence[float | None], classes: int = SHARE_CLASSES) -> list[float]:
    """Upper class limits (shares in (0, 1], inclusive) fitted to the data: quantiles of the
    positive shares, rounded up to 0.1 percentage point, strictly increasing, the last one the
    maximum. Zero and None are classes of their own (not patrolled, no H3 cells) and are left
    out. ``[]`` when no grid was patrolled. E.g. ``[0.003, 0.189]`` -> ``[0.003, 0.189]``: two
    classes, never one colour for both."""
    positive = sorted(v for v in values if v is not None and v > 0)
    if not positive:
        return []

    def up(v: float) -> float:
        return math.ceil(round(v * 1000, 6)) / 1000

    breaks: list[float] = []
    n = len(positive)
    for k in range(1, classes):
        q = up(positive[max(0, math.ceil(k * n / classes) - 1)])
        if not breaks or q > breaks[-1]:
            breaks.append(q)
    top = up(positive[-1])
    if top > breaks[-1]:
        breaks.append(top)
    return breaks


def class_palette(n: int) -> list[str]:
    """``n`` colours spread over :data:`SHARE_PALETTE` (light to dark), for ``n`` classes."""
    if n <= 1:
        return [SHARE_PALETTE[-1]] * n
    last = len(SHARE_PALETTE) - 1
    return [SHARE_PALETTE[round(i * last / (n - 1))] for i in range(n)]


def share_colour(share: float | None, breaks: Sequence[float]) -> str:
    """Fill for an H3 share in [0, 1] in the classes ``breaks``; None (a grid without H3 cells)
    is white, 0 grey."""
    if share is None:
        return NO_CELLS
    if share <= 0 or not breaks:
        return NOT_PATROLLED
    colours = class_palette(len(breaks))
    for upper, colour in zip(breaks, colours, strict=True):
        if share <= upper:
            return colour
    return colours[-1]


def _pct(value: float) -> str:
    """0.0005 -> "0.05%", 0.0714 -> "7.1%", 0.2 -> "20%"."""
    p = value * 100
    if 0 < p < 0.005:
        return "<0.01%"
    if abs(p - round(p)) < 1e-9:
        return f"{p:.0f}%"
    text = f"{p:.2f}" if p < 0.1 else f"{p:.1f}"
    return text.rstrip("0").rstrip(".") + "%"  # 0.9999 -> "1%", never "1.0%"


def _pct_places(value: float, places: int) -> str:
    """``value`` (a share) in percent with ``places`` decimals, or :func:`_pct`'s text when
    that has at least as many; never with trailing zeros ("3.85%", not "3.850%": the extra
    decimals are there to tell two figures apart, and a zero tells nothing)."""
    text = _pct(value)
    shown = len(text.rstrip("%").partition(".")[2]) if not text.startswith("<") else 9
    if shown >= places:
        return text
    return f"{value * 100:.{places}f}".rstrip("0").rstrip(".") + "%"


def _read(text: str) -> float:
    """The number a reader takes from a percentage text ("<0.01%" reads 0.01)."""
    return float(text.lstrip("<").rstrip("%"))


def class_rows(breaks: Sequence[float], values: Sequence[float | None]) -> list[tuple[str, str]]:
    """Legend rows (colour, "0.3% – 2.1%") of the classes: each names the lowest and highest
    share it holds (one value when they read the same). Bands never overlap: when a class's
    lowest share would read as the class below's highest ("3.9%" then "3.9% – 5.3%"), both are
    written with more decimals ("3.91%" then "3.94% – 5.3%"), up to four."""
    positive = sorted(v for v in values if v is not None and v > 0)
    held_by: list[tuple[str, float, float]] = []
    lower = 0.0
    for upper, colour in zip(breaks, class_palette(len(breaks)), strict=True):
        held = [v for v in positive if lower < v <= upper]
        lower = upper
        if held:
            held_by.append((colour, held[0], held[-1]))
    # decimals of each row's lowest and highest figure, raised until the rows read increasing
    # and never overlap: a row's lowest above the row below's highest, and a row's lowest never
    # above its own highest (issue 15: "3.9% – 3.85%", both ends written with different
    # decimals); at four decimals two different figures read differently.
    lo_p, hi_p = [0] * len(held_by), [0] * len(held_by)

    def text(value: float, places: int) -> str:
        return _pct_places(value, places)

    for _ in range(4 * len(held_by) + 4):
        changed = False
        for k, (_, low_v, high_v) in enumerate(held_by):
            if k and (hi_p[k - 1], lo_p[k]) != (4, 4):
                below = held_by[k - 1][2]
                if _read(text(below, hi_p[k - 1])) >= _read(text(low_v, lo_p[k])):
                    hi_p[k - 1], lo_p[k] = min(4, hi_p[k - 1] + 1), min(4, lo_p[k] + 1)
                    changed = True
            if (lo_p[k], hi_p[k]) != (4, 4) and _read(text(low_v, lo_p[k])) > _read(
                text(high_v, hi_p[k])
            ):
                lo_p[k] = hi_p[k] = min(4, max(lo_p[k], hi_p[k]) + 1)
                changed = True
        if not changed:
            break
    rows: list[tuple[str, str]] = []
    for k, (colour, low_v, high_v) in enumerate(held_by):
        if low_v == high_v:  # one figure: written once, with the decimals it needed
            lo_p[k] = hi_p[k] = max(lo_p[k], hi_p[k])
        low, high = text(low_v, lo_p[k]), text(high_v, hi_p[k])
        rows.append((colour, low if _read(low) == _read(high) else f"{low} – {high}"))
    return rows


def run_text_of(run: Mapping[str, Any], lang: str) -> str:
    """The run's line under a legend: "2026-11-30 全天 · 计算于 2026-12-01 02:00" (a partial run
    says until when). ``run``: api.pages.coverage.page_run_meta's dict."""
    shift = run.get("shift") or ""
    if run.get("partial_until"):  # the window had not ended when the run was computed
        key = "coverage_today_partial" if run.get("today") else "coverage_partial"
        shift = f"{shift} {label(key, lang, hm=run['partial_until'])}".strip()
    shift = shift or label("coverage_whole_day", lang)
    return label(
        "coverage_run", lang, date=run["date"], shift=shift, at=run.get("computed_at") or "—"
    )


def _legend_html(
    run: Mapping[str, Any] | None, levels: Mapping[int, Sequence[tuple[str, str]]], lang: str
) -> str:
    run_text, method = None, None
    if run is not None:
        run_text = run_text_of(run, lang)
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
        levels=levels,
        classes_hint=label("coverage_classes_hint", lang) if run is not None else None,
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


def _level_rows(
    grids: Sequence[Mapping[str, Any]], rows: Mapping[str, Mapping[str, Any]], with_figures: bool
) -> tuple[list[list[Any]], list[float]]:
    shares = [rows.get(str(g["code"]), {}).get("h3_share") for g in grids] if with_figures else []
    breaks = share_breaks(shares)
    out = []
    for g in grids:
        r = rows.get(str(g["code"])) or {}
        h3 = r.get("h3_share") if with_figures else None
        out.append([
            str(g["code"]), str(g.get("name") or g["code"]), str(g.get("parent") or ""),
            share_colour(h3, breaks) if with_figures else NOT_PATROLLED, h3,
            r.get("buffer_share"), r.get("officers"), r.get("cells"), r.get("covered_cells"),
            list(g["bbox"]), list(g["point"]),
        ])  # fmt: skip
    return out, breaks


def unit_grid_rows(
    grids: Sequence[Mapping[str, Any]],
    figures: Sequence[Mapping[str, Any]],
    *,
    parent: str,
) -> list[list[Any]]:
    """The unit grids (level 3) of one village as the page script reads them (columns
    :data:`ROW_FIELDS`), for ``GET /api/v1/coverage/figures`` (api/routes/coverage_figures.py):
    the page carries towns and villages only and asks for a village's unit grids when it is
    opened, so its HTML and script stay small (issue 15: the whole city's unit grids were a
    327 KB index). ``grids``: every unit grid of the generation (layers/grid_index.py rows),
    ``figures``: the run's level-3 rows the caller may see; each grid's class colour is fitted
    to the whole level (:func:`share_breaks`), as the legend's classes are."""
    rows = {str(r["code"]): r for r in figures}
    prepared, _ = _level_rows(grids, rows, True)
    return [r for r in prepared if r[2] == parent]


def _bounds(grids: Sequence[Mapping[str, Any]]) -> list[list[float]] | None:
    if not grids:
        return None
    boxes = [g["bbox"] for g in grids]
    return [
        [min(b[1] for b in boxes), min(b[0] for b in boxes)],
        [max(b[3] for b in boxes), max(b[2] for b in boxes)],
    ]


def build_coverage_map(
    index: Mapping[int, Sequence[Mapping[str, Any]]],
    figures: Mapping[int, Sequence[Mapping[str, Any]]] | None,
    *,
    generation_id: int,
    run: Mapping[str, Any] | None,
    query: Mapping[str, Any],
    lang: str = "zh",
    assets_base: str = "/static",
    basemap: Basemap | None = None,
) -> folium.Map:
    """Coverage per grid level with drill-down, drawn from vector tiles on one offline map.

    Parameters
    ----------
    index
        Level (1, 2, 3) -> ``layers.grid_index.grid_index`` rows (``code``, ``name``,
        ``parent``, ``bbox`` [west, south, east, north], ``point`` [lon, lat]; degrees,
        EPSG:4490) of ``generation_id``, whose tiles draw the grids.
    figures
        Level -> rows of ``GET /api/v1/coverage`` (``code``, ``h3_share``, ``buffer_share``,
        ``cells``, ``covered_cells``, ``officers``); None when no run exists.
    run
        The run's metadata (``date``, ``shift``, ``params``, ``computed_at`` as
        "YYYY-MM-DD HH:MM" Asia/Shanghai, ``partial_until`` "HH:MM" when it was computed before
        its window ended, ``today`` true for a run of today) or None: then the page says how
        to compute it.
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
    prepared: dict[int, list[list[Any]]] = {}
    legend_levels: dict[int, list[tuple[str, str]]] = {}
    for n in (1, 2, 3):
        rows = {str(r["code"]): r for r in (figures or {}).get(n, [])}
        prepared[n], breaks = _level_rows(index.get(n) or [], rows, has_run)
        shares = [r.get("h3_share") for r in rows.values()] if has_run else []
        legend_levels[n] = class_rows(breaks, shares)
    prepared[3] = []  # unit grids: asked per village (GET /api/v1/coverage/figures)
    bounds = _bounds(index.get(1) or [])
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
        _legend_html(run if has_run else None, legend_levels, lang),
        position="bottomleft",
        css_class="gridgis-legend gridgis-cov-legend",
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
            "fields": list(ROW_FIELDS),
            "levels": prepared,
            "figures_url": FIGURES_URL,
            "bounds": bounds,
            "tiles": {"generation": generation_id},
            "run": has_run,
            "query": api_query,
            "labels": {k: label(k, lang) for k in JS_LABELS},
            "label_min_px": LABEL_MIN_PX,
            "blind": BLIND_COLOUR,
            "panels": panels,
        },
        scripts=["leaflet_vectorgrid", "gridgis_tiles_js", "gridgis_coverage_panels_js"],
        styles=["gridgis_coverage_css"],
    ).add_to(folium_map)
    localize_all(folium_map, assets_base)
    return folium_map
