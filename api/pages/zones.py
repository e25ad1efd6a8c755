"""``/zones``: enforcement zones and household counts (per unit grid, per H3 cell) on one
offline map (login required), the shapes drawn from the vector tiles of the active generation.
``?resolution=6..9`` (H3 cells, default 8), ``?show=zones|grid|h3`` (what is filled; kept by
the page script), ``?lang=en``. Households are only ever counted, never drawn one by one."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, Request
from fastapi.responses import HTMLResponse, Response

from api.deps import SessionDep, current_principal
from api.errors import InvalidParameter
from api.pages.map import basemap_from_settings, login_redirect
from api.pages.scripts import page_response
from api.settings import MapSettings
from layers.errors import AuthError
from layers.grids import resolve_generation
from layers.households import counts_by_grid, counts_by_h3
from layers.tiles import city_bounds
from layers.zones import zone_features
from maps.styles import resolve_lang
from maps.zones_map import build_zones_map

router = APIRouter(tags=["pages"])

# H3 resolutions a city map can carry: 6 (36 km²) to 9 (0.1 km²); finer would put tens of
# thousands of cells into the page and come close to showing single buildings.
MAP_RESOLUTIONS = range(6, 10)
DEFAULT_RESOLUTION = 8
ZONE_SIMPLIFY_M = 3.0


@router.get("/zones", response_class=HTMLResponse, include_in_schema=False)
def zones_map_page(
    request: Request,
    session: SessionDep,
    lang: Annotated[str, Query()] = "zh",
    resolution: Annotated[int, Query(description="H3 resolution, 6-9")] = DEFAULT_RESOLUTION,
) -> Response:
    try:
        current_principal(request, session)
    except AuthError:
        return login_redirect(request)
    if resolution not in MAP_RESOLUTIONS:
        raise InvalidParameter(
            f"resolution {resolution} is outside {min(MAP_RESOLUTIONS)}..{max(MAP_RESOLUTIONS)} "
            "for the map; 8 (about 0.7 km² a cell) suits the whole city",
            field="resolution",
        )
    lang = resolve_lang(lang)
    gen = resolve_generation(session=session, generation_id=None)
    map_settings: MapSettings = request.app.state.settings.map

    zones = zone_features(session=session, generation_id=gen.id, simplify_m=ZONE_SIMPLIFY_M)
    folium_map = build_zones_map(
        {"type": "FeatureCollection", "features": zones},
        {r["code"]: int(r["households"]) for r in counts_by_grid(session=session, level=3)},
        counts_by_h3(session=session, resolution=resolution),
        bounds=city_bounds(session=session, generation_id=gen.id),
        generation_id=gen.id,
        resolution=resolution,
        lang=lang,
        basemap=basemap_from_settings(map_settings, lang),
    )
    return page_response(request, folium_map.get_root().render())
