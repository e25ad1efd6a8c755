"""Small folium/branca elements shared by the map pages: page set-up, HTML controls, labels,
and :class:`ViewScript`, which starts a page's own script.

The code they run lives in ``maps/static/`` (``gridgis-common.js`` and one file per view); each
element only writes one call with its options, from a template in ``maps/templates/``. Text goes
into the page through ``tojson`` (escaped for ``<script>``) and is shown through
``textContent``, so names can hold any character.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from branca.element import Element
from folium.elements import JSCSSMixin
from folium.template import Template
from jinja2 import Environment, FileSystemLoader

from maps.assets import asset_url
from maps.styles import html_lang

ControlPosition = str  # Leaflet corners, plus "topcenter" (created on demand)
TEMPLATES_DIR = Path(__file__).parent / "templates"


CONTROLS = Environment(loader=FileSystemLoader(TEMPLATES_DIR), autoescape=True)


def render_control(name: str, **values: Any) -> str:
    """The HTML of a map control (legend, form) from ``maps/templates/controls/<name>``,
    every value escaped; for :class:`HtmlControl`."""
    return CONTROLS.get_template(f"controls/{name}").render(**values)


def macro_template(name: str) -> Template:
    """A folium macro template kept as a file in ``maps/templates/``."""
    return Template((TEMPLATES_DIR / name).read_text(encoding="utf-8"))


class ViewScript(JSCSSMixin):
    """Starts the page script ``maps/static/gridgis-<view>.js`` on the parent map.

    Links ``gridgis-common.js`` (fetch, escaping, messages) and the view's file, then calls
    ``GridGIS.start(view, map, options, layers)`` from the map's set-up script. ``options``
    must be JSON-serializable; they reach the script through ``tojson`` (no value can end the
    script). ``layers`` names folium elements (layers, groups) the view works on: the script
    gets their Leaflet objects under the same keys.
    """

    _template = macro_template("view_script.js.j2")

    def __init__(
        self,
        view: str,
        options: Mapping[str, Any] | None = None,
        layers: Mapping[str, Element] | None = None,
        *,
        scripts: Sequence[str] = (),
        styles: Sequence[str] = (),
    ) -> None:
        """``scripts``/``styles``: names of further :data:`maps.assets.ASSETS` the view uses
        (loaded after ``gridgis-common.js``, before the view's own file)."""
        super().__init__()
        self._name = "ViewScript"
        self.view = view
        self.options = dict(options or {})
        self.layers = dict(layers or {})
        js = ["gridgis_common_js", *scripts, f"gridgis_{view}_js"]
        self.default_js = [(name, asset_url(name)) for name in js]
        self.default_css = [(name, asset_url(name)) for name in styles]


COMMON_JS = ("gridgis_common_js", asset_url("gridgis_common_js"))


class PageSetup(JSCSSMixin):
    """Links our page CSS and the shared page script, sets ``<html lang>`` and tags the map
    container with CSS classes; the attribution prefix becomes plain "Leaflet" (no link out of
    the intranet, no flag) (``GridGIS.pageSetup``).

    Add it to the map first; :func:`maps.assets.localize_all` points its files at our server.
    """

    # Same shape as folium's own class attributes; localize() replaces them per instance.
    default_js = [COMMON_JS]  # noqa: RUF012
    default_css = [("gridgis_map_css", asset_url("gridgis_map_css"))]  # noqa: RUF012
    _template = macro_template("call.js.j2")

    def __init__(self, lang: str, container_classes: Sequence[str] = ()) -> None:
        super().__init__()
        self._name = "PageSetup"
        self.function = "pageSetup"
        self.options = {"lang": html_lang(lang), "classes": list(container_classes)}


class HtmlControl(JSCSSMixin):
    """A Leaflet control holding fixed HTML (a title, a legend) in a corner of the map.

    ``html`` must already be escaped (build it with ``html.escape``); it goes into the page as
    an inert ``<template>`` that ``GridGIS.htmlControl`` moves into the control, so no HTML
    passes through a script. ``position`` is a Leaflet corner or ``"topcenter"``. Controls
    stack inside their corner like Leaflet's own, and clicks or wheel turns on them do not
    move the map.
    """

    default_js = [COMMON_JS]  # noqa: RUF012
    _template = macro_template("html_control.j2")

    def __init__(self, html: str, *, position: ControlPosition, css_class: str) -> None:
        super().__init__()
        self._name = "HtmlControl"
        self.html = html
        self.options = {
            "source": self.get_name(),
            "position": position,
            "css_class": f"leaflet-control {css_class}",
        }


class PermanentLabels(JSCSSMixin):
    """Text labels at fixed points, added to the parent layer (a FeatureGroup or the map).

    ``rows`` are ``(lon, lat, text)``. Each label is a non-interactive marker with a DivIcon
    whose text is set by ``textContent`` (``GridGIS.permanentLabels``); CSS class
    ``css_class`` styles it. Being in the parent group, the labels come and go with it in the
    layer control.
    """

    default_js = [COMMON_JS]  # noqa: RUF012
    _template = macro_template("call.js.j2")

    def __init__(self, rows: Sequence[tuple[float, float, str]], *, css_class: str) -> None:
        super().__init__()
        self._name = "PermanentLabels"
        self.function = "permanentLabels"
        self.options = {
            "rows": [[round(lon, 6), round(lat, 6), text] for lon, lat, text in rows],
            "css_class": f"gridgis-label {css_class}",
        }
