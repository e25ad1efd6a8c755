"""Panels of the coverage page (巡查覆盖率) around the drill-down map of maps/coverage_map.py.

The panels are ``maps/static/gridgis-coverage-panels.js`` (``GridGIS.coveragePanels(map,
data)``, created by the map script ``gridgis-coverage.js`` with the ``panels`` options that
``build_coverage_map`` gives it); styles in ``maps/static/gridgis-coverage.css``. The map
script calls:

- ``render(box, ctx)`` after each redraw of the side panel (``ctx``: ``level``, ``parent``,
  ``selected``, ``features`` shown): appends the selected grid's track legend, the trend of the
  area shown over the last days (inline SVG, fetched from ``/api/v1/coverage/trend``) and the
  ranking of the level shown (top and bottom grids; a click drills to the grid) with CSV/XLSX
  links;
- ``selected(code)`` / ``cleared()`` when a unit grid is chosen / let go: its covering tracks
  (``/api/v1/coverage/grids/{code}/tracks``) are drawn, one colour per officer;
- ``attach(api)`` gives it the map script's ``drill(code)``.

It also adds the compliance panel (bottom right): the people below the threshold from
``/api/v1/coverage/compliance?below_only=true``, with CSV/XLSX links.

Hooks for tests: SVG paths ``gridgis-cov-track`` (one per officer's track, ``data-device``),
``svg.gridgis-cov-trend`` (``data-points``), ``.gridgis-cov-rank-item[data-code]``,
``.gridgis-cov-compliance-row[data-person]``; ``window.gridgisCoverageExtras`` is
``{tracks, tracksCode, trend, trendCode, ranking, compliance}`` (counts; null until loaded).
"""

from __future__ import annotations

# Officers' tracks: distinct from the yellow-green shares and the red blind spots.
TRACK_PALETTE = (
    "#1f78b4", "#6a3d9a", "#ff7f00", "#e7298a", "#17becf", "#8c564b", "#1b2a6b", "#b15928",
)  # fmt: skip
TREND_DAYS = 14
RANKING_SHOWN = 5  # best and worst each; a level with up to twice as many lists them all
TREND_H3 = "#0b2e59"
TREND_BUFFER = "#31a354"

PANEL_LABELS = (
    "coverage_tracks", "coverage_tracks_none", "coverage_trend", "coverage_trend_none",
    "coverage_trend_h3", "coverage_trend_buffer", "coverage_ranking", "coverage_ranking_best",
    "coverage_ranking_worst", "coverage_export", "coverage_compliance",
    "coverage_compliance_none", "coverage_absent", "coverage_col_name", "coverage_col_inside",
    "coverage_col_outside", "coverage_col_silence", "coverage_silences", "coverage_loading",
    "load_failed", "coverage_minutes", "coverage_trend_axis",
)  # fmt: skip
