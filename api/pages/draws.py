"""``/draws/{id}``: the published result of a 双随机 draw (login required, like every page).

It shows what anyone needs to check the draw: the seed, the inputs (filter, N, M, conflict
rule), the drawn entities with their inspectors, the verification (the draw re-run now, on the
recorded inputs) and the exact commands to re-run it. Personal data: inspector names only; no
phone, ID number or who made the draw.
"""

from __future__ import annotations

import html
from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, Path, Query, Request
from fastapi.responses import HTMLResponse, Response

from api.deps import SessionDep, current_principal
from api.pages.map import login_redirect
from layers.errors import AuthError, GridNotFound
from layers.grids import active_generation, get_grid
from layers.market import draw_details, get_draw
from layers.workcal import SHANGHAI
from maps.styles import html_lang, label

router = APIRouter(tags=["pages"])

PAGE_CSS = """
body { font-family: "Noto Sans CJK SC", "Microsoft YaHei", "Helvetica Neue", Arial, sans-serif;
       margin: 0; background: #eef2f6; color: #1d2b3a; }
header { background: #0b2e59; color: #fff; padding: 18px 32px; border-bottom: 4px solid #e07a1f; }
header h1 { margin: 0; font-size: 22px; letter-spacing: .04em; }
header p { margin: 4px 0 0; color: #c9d6e3; font-size: 13px; }
header a { color: #9cc7ff; float: right; font-size: 13px; }
main { max-width: 1180px; margin: 20px auto 40px; padding: 0 20px; }
section { background: #fff; border-radius: 8px; box-shadow: 0 1px 6px rgba(15,37,55,.12);
          padding: 14px 22px 18px; margin-bottom: 18px; }
h2 { font-size: 16px; color: #0b2e59; margin: 4px 0 10px; border-bottom: 1px solid #d5dde6;
     padding-bottom: 6px; }
table { border-collapse: collapse; width: 100%; font-size: 14px; }
th, td { text-align: left; padding: 6px 10px; border-bottom: 1px solid #e4e9ef;
         vertical-align: middle; }
th { color: #4a5d70; font-weight: 600; background: #f6f8fa; }
table.inputs th { width: 190px; background: none; }
code, .mono { font-family: "DejaVu Sans Mono", Consolas, monospace; font-size: 13px; }
pre { background: #0f2537; color: #e8eef3; padding: 10px 14px; border-radius: 6px;
      overflow-x: auto; font-size: 13px; margin: 4px 0 12px; }
.badge { display: inline-block; padding: 6px 14px; border-radius: 16px; font-weight: 700; }
.ok { background: #e3f4e6; color: #1d6b2f; border: 1px solid #9fd3a9; }
.bad { background: #fde6e6; color: #9b1c1c; border: 1px solid #f0a3a3; }
.muted { color: #6b7b8c; font-size: 13px; }
td.num { color: #6b7b8c; width: 36px; }
.inspector { display: inline-block; background: #eaf1fb; color: #0b2e59; border-radius: 4px;
             padding: 1px 8px; margin: 1px 4px 1px 0; }
"""


def _e(value: object) -> str:
    return html.escape(str(value))


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


def _inputs_rows(details: dict[str, Any], record: Any, area: str, lang: str) -> str:
    inputs = record.inputs
    category = inputs["filter"].get("category")
    excluded = sum(len(v) for v in inputs["conflicts"].values())
    rows = [
        ("draw_seed", f'<span class="mono">{_e(record.seed)}</span>'),
        ("draw_area", _e(area)),
        ("draw_category", _e(label(f"draw_cat_{category}", lang) if category else "—")),
        ("draw_n", _e(inputs["n_targets"])),
        ("draw_m", _e(inputs["inspectors_per_target"])),
        ("draw_candidates", _e(f"{details['candidates']:,}")),
        ("draw_pool", _e(f"{details['inspector_pool']:,}")),
        ("draw_conflicts", _e(label("draw_conflict_rule", lang, n=f"{excluded:,}"))),
        ("draw_digest", f'<span class="mono">{_e(record.digest)}</span>'),
    ]
    return "".join(f"<tr><th>{_e(label(k, lang))}</th><td>{v}</td></tr>" for k, v in rows)


def _result_rows(details: dict[str, Any], lang: str) -> str:
    rows = []
    for i, t in enumerate(details["targets"], start=1):
        names = "".join(
            f'<span class="inspector">{_e(p["name"] or p["person_id"])}</span>'
            for p in t["inspectors"]
        )
        category = label(f"draw_cat_{t['category']}", lang)
        rows.append(
            f'<tr class="draw-target"><td class="num">{i}</td><td>{_e(t["name"])}</td>'
            f'<td class="mono">{_e(t["credit_code"])}</td>'
            f"<td>{_e(category)}</td>"
            f'<td class="mono">{_e(t["grid_code"])}</td><td>{names}</td></tr>'
        )
    return "".join(rows)


def render_draw_page(
    details: dict[str, Any], record: Any, area: str, base_url: str, lang: str
) -> str:
    """The whole HTML page (no script, no external file)."""
    other = "en" if lang == "zh" else "zh"
    created = datetime.fromisoformat(details["created_at"]).astimezone(SHANGHAI)
    ok = details["verified"]
    mark, css, key = ("✓", "ok", "draw_verified") if ok else ("✗", "bad", "draw_not_verified")
    badge = f'<span class="badge {css}" id="verified">{mark} {_e(label(key, lang))}</span>'
    api = f"{base_url}/api/v1/draws/{record.id}"
    head = "\n".join(
        f"<th>{_e(label(k, lang))}</th>"
        for k in ("draw_no", "draw_entity", "draw_credit_code", "draw_category", "draw_grid",
                  "draw_inspectors")
    )  # fmt: skip
    return f"""<!doctype html>
<html lang="{html_lang(lang)}"><head><meta charset="utf-8">
<title>{_e(label("draw_page_title", lang))} · {_e(record.title)}</title>
<meta name="viewport" content="width=device-width, initial-scale=1">
<style>{PAGE_CSS}</style></head><body>
<header><a href="?lang={other}">{_e(label("switch_language", lang))}</a>
<h1>{_e(label("draw_page_title", lang))} · {_e(record.title)}</h1>
<p>{_e(label("draw_published", lang, id=record.id, at=created.strftime("%Y-%m-%d %H:%M")))}</p>
</header><main>
<section id="verification"><h2>{_e(label("draw_verification", lang))}</h2>
<p>{badge}</p><p class="muted">{_e(label("draw_verification_hint", lang))}</p></section>
<section id="inputs"><h2>{_e(label("draw_inputs", lang))}</h2>
<table class="inputs">{_inputs_rows(details, record, area, lang)}</table></section>
<section id="result"><h2>{_e(label("draw_result", lang, n=len(details["targets"])))}</h2>
<table><thead><tr>{head}</tr></thead><tbody>{_result_rows(details, lang)}</tbody></table>
</section>
<section id="rerun"><h2>{_e(label("draw_rerun", lang))}</h2>
<p>{_e(label("draw_rerun_api", lang))}</p>
<pre>curl -H "Authorization: Bearer $TOKEN" {_e(api)}/verify</pre>
<p>{_e(label("draw_rerun_offline", lang))}</p>
<pre>curl -H "Authorization: Bearer $TOKEN" {_e(api)}/record -o draw-{record.id}.json
gridgis draws rerun draw-{record.id}.json</pre>
<p>{_e(label("draw_rerun_cli", lang))}</p>
<pre>gridgis draws verify {record.id}</pre>
<p class="muted">{_e(label("draw_method", lang))}</p>
</section></main></body></html>"""


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
    lang = "en" if lang == "en" else "zh"
    record = get_draw(session=session, draw_id=draw_id)
    details = draw_details(session=session, record=record)
    area = _area_text(session, record.inputs["filter"].get("area_code"), lang)
    base_url = str(request.base_url).rstrip("/")
    return HTMLResponse(render_draw_page(details, record, area, base_url, lang))
