"""``/draws/{id}``: the published result of a 双随机 draw (login required, like every page).

It shows what anyone needs to check the draw: the seed, the inputs (filter, N, M, conflict
rule), the drawn entities with their inspectors, the verification (the draw re-run now, on the
recorded inputs) and the exact commands to re-run it. Personal data: inspector names only; no
phone, ID number or who made the draw.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, Path, Query, Request
from fastapi.responses import HTMLResponse, Response

from api.deps import SessionDep, current_principal
from api.pages.map import login_redirect
from api.pages.templating import render_page
from layers.errors import AuthError, GridNotFound
from layers.grids import active_generation, get_grid
from layers.market import draw_details, get_draw
from layers.workcal import SHANGHAI
from maps.styles import label, resolve_lang

router = APIRouter(tags=["pages"])


def _area_text(session: Any, area_code: str | None, lang: str) -> str:
    if not area_code:
        return label("draw_area_all", lang)
    try:
        grid = get_grid(
            session=session, generation_id=active_generation(session=session).id, code=area_code
        )
    except GridNotFound:
        return area_code
    return f"{grid.name} ({area_code})"


def _inputs(details: dict[str, Any], record: Any, area: str, lang: str) -> list[tuple[Any, ...]]:
    """(label key, value, monospaced) rows of the draw's inputs."""
    inputs = record.inputs
    category = inputs["filter"].get("category")
    excluded = sum(len(v) for v in inputs["conflicts"].values())
    return [
        ("draw_seed", record.seed, True),
        ("draw_area", area, False),
        ("draw_category", label(f"draw_cat_{category}", lang) if category else "—", False),
        ("draw_n", inputs["n_targets"], False),
        ("draw_m", inputs["inspectors_per_target"], False),
        ("draw_candidates", f"{details['candidates']:,}", False),
        ("draw_pool", f"{details['inspector_pool']:,}", False),
        ("draw_conflicts", label("draw_conflict_rule", lang, n=f"{excluded:,}"), False),
        ("draw_digest", record.digest, True),
    ]


def render_draw_page(
    request: Request, details: dict[str, Any], record: Any, area: str, lang: str
) -> str:
    """The whole HTML page (``templates/draw.html``; no script)."""
    created = datetime.fromisoformat(details["created_at"]).astimezone(SHANGHAI)
    return render_page(
        request,
        "draw.html",
        t=lambda key, **values: label(key, lang, **values),
        record=record,
        created=created.strftime("%Y-%m-%d %H:%M"),
        verified=details["verified"],
        inputs=_inputs(details, record, area, lang),
        targets=details["targets"],
        api=f"{str(request.base_url).rstrip('/')}/api/v1/draws/{record.id}",
    )


@router.get("/draws/{draw_id}", response_class=HTMLResponse, include_in_schema=False)
def draw_page(
    request: Request,
    session: SessionDep,
    draw_id: Annotated[int, Path()],
    lang: Annotated[str, Query()] = "zh",
) -> Response:
    try:
        current_principal(request, session)
    except AuthError:
        return login_redirect(request)
    lang = resolve_lang(lang)
    record = get_draw(session=session, draw_id=draw_id)
    details = draw_details(session=session, record=record)
    area = _area_text(session, record.inputs["filter"].get("area_code"), lang)
    return HTMLResponse(render_draw_page(request, details, record, area, lang))
