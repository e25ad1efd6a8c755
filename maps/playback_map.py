"""``/playback``: one device's track replayed over the grid levels (play/pause, speed, slider,
stops with their durations)."""

from __future__ import annotations

import folium

from maps.assets import localize_all
from maps.basemaps import Basemap
from maps.elements import ViewScript
from maps.grid_map import GridMapSource, build_grid_map
from maps.styles import resolve_lang

TEXT = {"zh": {"title": "网格通 · 轨迹回放"}, "en": {"title": "GridGIS · Track playback"}}


def build_playback_map(
    source: GridMapSource | None,
    *,
    lang: str = "zh",
    assets_base: str = "/static",
    basemap: Basemap | None = None,
) -> folium.Map:
    """The grid map with the track of the page's ``?device=`` (and ``date``, or ``from``/``to``),
    fetched from the devices track API by the page itself (``maps/static/gridgis-playback.js``):
    one page serves every device; the officer and day picker (``gridgis-picker.js``, API
    ``/api/v1/patrol/officers``) changes them in place."""
    lang = resolve_lang(lang)
    folium_map = build_grid_map(
        source,
        lang=lang,
        assets_base=assets_base,
        basemap=basemap,
        title=TEXT[lang]["title"],
        drill_down=False,
    )
    ViewScript("playback", scripts=["gridgis_picker_js"]).add_to(folium_map)
    localize_all(folium_map, assets_base)
    return folium_map
