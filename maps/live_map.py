"""``/live``: officers' last positions over the grid levels, refreshed by polling."""

from __future__ import annotations

import folium

from maps.assets import localize_all
from maps.basemaps import Basemap
from maps.elements import ViewScript
from maps.grid_map import GridMapSource, build_grid_map
from maps.styles import ROLE_NAMES, resolve_lang

TEXT = {"zh": {"title": "网格通 · 实时位置"}, "en": {"title": "GridGIS · Live"}}


def build_live_map(
    source: GridMapSource | None,
    *,
    lang: str = "zh",
    assets_base: str = "/static",
    basemap: Basemap | None = None,
    latest_url: str = "/api/v1/positions/latest",
    poll_ms: int = 5000,
) -> folium.Map:
    """The grid map with a layer of officers fetched from ``latest_url`` every ``poll_ms``
    (``maps/static/gridgis-live.js``; its labels are in that file, the role names are
    maps.styles.ROLE_NAMES of ``lang``)."""
    lang = resolve_lang(lang)
    folium_map = build_grid_map(
        source,
        lang=lang,
        assets_base=assets_base,
        basemap=basemap,
        title=TEXT[lang]["title"],
        drill_down=False,
    )
    options = {"url": latest_url, "poll_ms": poll_ms, "roles": ROLE_NAMES[lang]}
    ViewScript("live", options, scripts=["gridgis_picker_js"]).add_to(folium_map)
    localize_all(folium_map, assets_base)
    return folium_map
