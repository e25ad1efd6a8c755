"""``/map``: the three grid levels on an offline folium map from the vector tiles, with the
drill-down town → village → unit grid (login required).

:func:`grid_map_source` is what every grid page (``/map``, ``/live``, ``/playback``) needs of a
generation: its label, extent, counts and town/village name points, no geometry."""

from __future__ import annotations

from typing import Annotated, Any
from urllib.parse import quote

from fastapi import APIRouter, Query, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from sqlalchemy.orm import Session

from api.deps import SessionDep, current_principal
from api.pages.scripts import cached_page, page_response
from api.settings import MapSettings
from layers.demo import generation_names
from layers.errors import AuthError
from layers.grid_labels import generation_outline, grid_labels
from layers.grids import GridQuery, grid_features, resolve_generation
from layers.models import Generation
from layers.workcal import SHANGHAI
from maps.basemaps import Basemap
from maps.grid_map import GenerationLabel, GridMapSource, build_grid_map
from maps.styles import resolve_lang

router = APIRouter(tags=["pages"])

SIMPLIFY_BY_LEVEL_M = {1: 5.0, 2: 3.0}


def basemap_from_settings(settings: MapSettings, lang: str = "zh") -> Basemap | None:
    if settings.basemap == "tianditu" and settings.tianditu_key:
        return Basemap.tianditu(settings.tianditu_key, annotation_lang=lang)
    if settings.basemap == "xyz" and settings.xyz_url:
        return Basemap.xyz(settings.xyz_url, settings.xyz_attribution)
    if settings.basemap == "amap":
        return Basemap.amap(settings.amap_url, settings.amap_attribution, lang=lang)
    if settings.basemap == "baidu":
        return Basemap.baidu(settings.baidu_url, settings.baidu_attribution, lang=lang)
    return None


def login_redirect(request: Request) -> RedirectResponse:
    """To the login page, back here afterwards, in this page's language."""
    target = request.url.path + (f"?{request.url.query}" if request.url.query else "")
    lang = "en" if request.query_params.get("lang") == "en" else "zh"
    return RedirectResponse(f"/login?next={quote(target)}&lang={lang}", status_code=303)


def grid_levels(
    request: Request, session: Session, generation_id: int
) -> dict[int, dict[str, Any]]:
    """The three levels as simplified FeatureCollections, built once per generation (a
    generation never changes once loaded) and shared by every page drawing grids."""
    cache = request.app.state.page_cache
    key = ("grid_levels", generation_id)
    if key not in cache:
        simplify = {**SIMPLIFY_BY_LEVEL_M, 3: request.app.state.settings.map.l3_simplify_m}
        cache[key] = {
            level: {
                "type": "FeatureCollection",
                "features": grid_features(
                    session=session,
                    query=GridQuery(
                        generation_id=generation_id, level=level, simplify_m=simplify[level]
                    ),
                ),
            }
            for level in (1, 2, 3)
        }
    return dict(cache[key])


def grid_map_source(request: Request, session: Session, gen: Generation) -> GridMapSource:
    """The generation's label, extent, counts and town/village name points (EPSG:4490), built
    once per generation content (``content_version`` changes with every edit of a draft)."""
    cache = request.app.state.page_cache
    key = ("grid_map_source", gen.id, gen.content_version, gen.status)
    if key not in cache:
        outline = generation_outline(session=session, generation_id=gen.id)
        labels = grid_labels(session=session, generation_id=gen.id, levels=(1, 2))
        effective = gen.activated_at or gen.effective_at
        names = generation_names(gen.name)  # the demo's name in the page's language
        cache[key] = GridMapSource(
            generation=GenerationLabel(
                id=gen.id,
                name=names["zh"],
                name_en=names["en"],
                status=str(gen.status.value),
                effective_on=effective.astimezone(SHANGHAI).date() if effective else None,
            ),
            bounds=outline.bounds,
            counts=outline.counts,
            labels=[(g.lon, g.lat, g.name, g.code, g.level) for g in labels],
            median_width_deg=outline.median_width_deg,
        )
    source: GridMapSource = cache[key]
    return source


@router.get("/map", response_class=HTMLResponse, include_in_schema=False)
def grid_map_page(
    request: Request,
    session: SessionDep,
    lang: Annotated[str, Query()] = "zh",
    generation: Annotated[int | None, Query()] = None,
) -> Response:
    try:
        current_principal(request, session)
    except AuthError:
        return login_redirect(request)
    lang = resolve_lang(lang)
    gen = resolve_generation(session=session, generation_id=generation)

    source = grid_map_source(request, session, gen)

    def render() -> str:
        map_settings: MapSettings = request.app.state.settings.map
        folium_map = build_grid_map(
            source,
            lang=lang,
            assets_base="/static",
            basemap=basemap_from_settings(map_settings, lang),
        )
        return str(folium_map.get_root().render())

    key = ("grid_map", gen.id, gen.content_version, lang)
    return page_response(request, cached_page(request, key, render))
