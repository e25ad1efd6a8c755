"""``/live``: officers' last positions over the grid levels, refreshed by polling."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import folium

from maps.assets import localize_all
from maps.basemaps import Basemap
from maps.grid_map import build_grid_map
from maps.styles import resolve_lang
from maps.tracks_js import LIVE_JS, TrackScript

TEXT = {
    "zh": {"title": "网格通 · 实时位置", "grid": "网格", "age": "距今", "playback": "轨迹回放"},
    "en": {"title": "GridGIS · Live", "grid": "Grid", "age": "Age", "playback": "Playback"},
}


def build_live_map(
    levels: Mapping[int, Mapping[str, Any]],
    *,
    lang: str = "zh",
    assets_base: str = "/static",
    basemap: Basemap | None = None,
    latest_url: str = "/api/v1/positions/latest",
    poll_ms: int = 5000,
) -> folium.Map:
    """The grid map with a layer of officers fetched from ``latest_url`` every ``poll_ms``."""
    lang = resolve_lang(lang)
    folium_map = build_grid_map(
        levels, lang=lang, assets_base=assets_base, basemap=basemap, title=TEXT[lang]["title"]
    )
    TrackScript(
        LIVE_JS, {"url": latest_url, "poll_ms": poll_ms, "lang": lang, "labels": TEXT[lang]}
    ).add_to(folium_map)
    localize_all(folium_map, assets_base)
    return folium_map
