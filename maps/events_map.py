"""The events map: every event as a dot coloured by status (red when overdue), clustered when
zoomed out, town outlines for orientation; a click opens the case's timeline.

``build_events_map(events, towns)`` returns a ``folium.Map``; the page script is
``maps/static/gridgis-events.js``. The timeline is fetched when a
popup opens (``GET /api/v1/events/{id}``, the page's session cookie authenticates), so the page
carries only one small row per event.

Hooks for tests: ``window.gridgisEventsReady`` is ``{events: n, overdue: m}`` once the dots are
on the map; every popup's root element has the CSS class ``gridgis-event-popup``.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import folium
from folium.plugins import MarkerCluster

from maps.assets import localize_all
from maps.basemaps import Basemap
from maps.elements import HtmlControl, PageSetup, ViewScript, render_control
from maps.styles import label, resolve_lang

OVERDUE_COLOR = "#d7191c"
STATUS_COLORS: dict[str, str] = {
    "reported": "#2b83ba",
    "accepted": "#3a9bd9",
    "dispatched": "#fdae61",
    "in_handling": "#f29e2e",
    "extension_requested": "#c77c02",
    "returned": "#9e62c4",
    "handled": "#80cdc1",
    "verified": "#35978f",
    "rework": "#e45a9b",
    "parked": "#7f7f7f",
    "closed": "#1a9641",
    "rejected": "#bdbdbd",
}
EVENT_FIELDS = ("id", "lon", "lat", "status", "overdue", "subclass", "reported_at")


def _legend(counts: Mapping[str, int], overdue: int, lang: str) -> str:
    rows = [(OVERDUE_COLOR, label("event_overdue", lang), f"{overdue:,}")]
    rows += [
        (c, label(f"event_status_{s}", lang), f"{counts.get(s, 0):,}")
        for s, c in STATUS_COLORS.items()
    ]
    total = sum(counts.values())
    return render_control(
        "events_legend.html",
        title=label("legend_title", lang),
        rows=rows,
        total=label("event_count", lang, n=f"{total:,}"),
    )


def build_events_map(
    events: Sequence[Mapping[str, Any]],
    towns: Mapping[str, Any] | None = None,
    *,
    lang: str = "zh",
    assets_base: str = "/static",
    basemap: Basemap | None = None,
) -> folium.Map:
    """Events on an offline map.

    Parameters
    ----------
    events
        Dicts with ``id``, ``lon``, ``lat`` (EPSG:4490 degrees), ``status``, ``overdue`` (bool),
        ``subclass`` (display name), ``reported_at`` (ISO string).
    towns
        Optional GeoJSON FeatureCollection (EPSG:4490) of the towns, drawn as thin outlines.
    """
    lang = resolve_lang(lang)
    basemap = basemap or Basemap.none()
    rows = [{k: e[k] for k in EVENT_FIELDS} for e in events]
    if rows:
        lons = [r["lon"] for r in rows]
        lats = [r["lat"] for r in rows]
        bounds = [[min(lats), min(lons)], [max(lats), max(lons)]]
        center = [(bounds[0][0] + bounds[1][0]) / 2, (bounds[0][1] + bounds[1][1]) / 2]
    else:
        bounds, center = None, [31.85, 120.3]
    folium_map = folium.Map(
        location=center, zoom_start=11, tiles=None, max_zoom=19, control_scale=True
    )
    folium_map.options["maxZoom"] = basemap.max_zoom() if basemap.tiles else 19
    no_basemap = ["gridgis-no-basemap"] if basemap.kind == "none" else []
    PageSetup(lang, container_classes=no_basemap).add_to(folium_map)
    basemap.add_to(folium_map)
    folium_map.get_root().title = label("events_map_title", lang)  # type: ignore[attr-defined]
    if towns and towns.get("features"):
        folium.GeoJson(
            dict(towns),
            name="towns",
            control=False,
            style_function=lambda _f: {"color": "#555", "weight": 1.2, "fill": False},
        ).add_to(folium_map)
    cluster = MarkerCluster(
        name="events",
        control=False,
        options={"disableClusteringAtZoom": 17, "chunkedLoading": True},
    )
    cluster.add_to(folium_map)
    words = {
        "status": {s: label(f"event_status_{s}", lang) for s in STATUS_COLORS},
        "overdue": label("event_overdue", lang),
        "timeline": label("event_timeline", lang),
        "unconfirmed": label("event_calendar_unconfirmed", lang, years="{years}"),
        "loading": label("event_loading", lang),
        "failed": label("load_failed", lang, e="{e}"),
    }
    counts: dict[str, int] = {}
    for r in rows:
        counts[r["status"]] = counts.get(r["status"], 0) + 1
    overdue = sum(1 for r in rows if r["overdue"])
    HtmlControl(
        _legend(counts, overdue, lang), position="bottomright", css_class="gridgis-legend"
    ).add_to(folium_map)
    ViewScript(
        "events",
        {"rows": rows, "colors": {**STATUS_COLORS, "overdue": OVERDUE_COLOR}, "words": words,
         "bounds": bounds},
        {"cluster": cluster},
    ).add_to(folium_map)  # fmt: skip
    localize_all(folium_map.get_root(), assets_base)
    return folium_map
