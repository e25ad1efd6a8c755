"""Jinja2 templates of the pages (``api/pages/templates/``) and the one navigation bar.

Pages that are not a folium map extend ``base.html`` (:func:`render_page`); folium builds the
map pages, and :func:`with_nav` puts the same bar (``nav.html``) into folium's page. Labels:
zh by default, en with ``?lang=en``.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any
from urllib.parse import urlencode

from fastapi import Request
from jinja2 import Environment, FileSystemLoader, select_autoescape
from markupsafe import Markup

from maps.assets import STATIC_DIR, static_mounts

TEMPLATES = Environment(
    loader=FileSystemLoader(Path(__file__).parent / "templates"),
    autoescape=select_autoescape(["html"]),
)
STATIC_URL = next(u for u, d in static_mounts("/static").items() if d == STATIC_DIR)
NAV_CSS = f'<link rel="stylesheet" href="{STATIC_URL}/gridgis-nav.css"/>'

# Views only some roles may use: the bar leaves them out for the others (the page itself
# refuses them too). Roles by their value (layers.models.Role).
VIEW_ROLES: dict[str, frozenset[str]] = {"/plan": frozenset({"planner", "admin"})}

# (path, label key): the views of the command centre, in the bar's order
VIEWS = (
    ("/", "home"),
    ("/map", "map"), ("/live", "live"), ("/playback", "playback"), ("/coverage", "coverage"),
    ("/zones", "zones"), ("/events/map", "events"), ("/plan", "plan"),
)  # fmt: skip
TEXT: dict[str, dict[str, str]] = {
    "zh": {
        "home": "指挥中心",
        "brand": "网格通", "nav": "页面导航", "map": "网格地图", "live": "实时位置",
        "playback": "轨迹回放", "coverage": "巡查覆盖率", "zones": "执法片区与户数",
        "events": "事件地图", "plan": "网格调整", "switch": "English", "logout": "退出登录",
    },
    "en": {
        "home": "Command centre",
        "brand": "GridGIS", "nav": "Pages", "map": "Grid map", "live": "Live",
        "playback": "Playback", "coverage": "Coverage", "zones": "Zones & households",
        "events": "Events", "plan": "Planning", "switch": "中文", "logout": "Sign out",
    },
}  # fmt: skip


def page_lang(request: Request) -> str:
    return "en" if request.query_params.get("lang") == "en" else "zh"


def nav_html(request: Request) -> Markup:
    """The navigation bar for this request's page and language."""
    lang = page_lang(request)
    other = "zh" if lang == "en" else "en"
    suffix = "?lang=en" if lang == "en" else ""
    principal = getattr(request.state, "principal", None)
    role = getattr(getattr(principal, "role", None), "value", None)
    items = [
        {"href": path + suffix, "text": TEXT[lang][key], "current": request.url.path == path}
        for path, key in VIEWS
        if path not in VIEW_ROLES or role is None or role in VIEW_ROLES[path]
    ]
    query = [(k, v) for k, v in request.query_params.multi_items() if k != "lang"]
    if other == "en":
        query.append(("lang", "en"))
    switch_href = request.url.path + (f"?{urlencode(query)}" if query else "")
    return Markup(
        TEMPLATES.get_template("nav.html").render(
            t=TEXT[lang], lang=lang, other_lang=other, items=items, switch_href=switch_href
        )
    )


def with_nav(request: Request, html: str) -> str:
    """folium's page with the navigation bar at the top of its body (and its styles)."""
    html = html.replace("</head>", NAV_CSS + "\n</head>", 1)
    return html.replace("<body>", f'<body class="gridgis-map-page">\n{nav_html(request)}', 1)


def render_page(request: Request, template: str, **values: Any) -> str:
    """``template`` (extending ``base.html``) with the bar, the language and ``values``."""
    lang = page_lang(request)
    return TEMPLATES.get_template(template).render(
        lang=lang,
        html_lang="zh-CN" if lang == "zh" else "en",
        static=STATIC_URL,
        nav=nav_html(request),
        **values,
    )
