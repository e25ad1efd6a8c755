"""Small folium/branca elements shared by the map pages: page set-up, HTML controls, labels.

Each renders plain Leaflet calls; text goes into the page through ``tojson`` (escaped for
``<script>``) and, for labels, through ``textContent``, so grid names can hold any character.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from branca.element import Element, MacroElement
from folium.elements import JSCSSMixin
from folium.template import Template

from maps.assets import asset_url
from maps.styles import html_lang

ControlPosition = str  # Leaflet corners, plus "topcenter" (created on demand)
TEMPLATES_DIR = Path(__file__).parent / "templates"


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


class PageSetup(JSCSSMixin):
    """Links our page CSS, sets ``<html lang>`` and tags the map container with CSS classes.

    The attribution prefix becomes plain "Leaflet" (no link out of the intranet, no flag).

    Add it to the map first; :func:`maps.assets.localize_all` points its CSS at our server.
    """

    # Same shape as folium's own class attribute; localize() replaces it per instance.
    default_css = [("gridgis_map_css", asset_url("gridgis_map_css"))]  # noqa: RUF012

    _template = Template(
        """
        {% macro script(this, kwargs) %}
        document.documentElement.lang = {{ this.html_lang|tojson }};
        {{ this._parent.get_name() }}.attributionControl.setPrefix("Leaflet");
        {%- for name in this.container_classes %}
        L.DomUtil.addClass({{ this._parent.get_name() }}.getContainer(), {{ name|tojson }});
        {%- endfor %}
        {% endmacro %}
        """
    )

    def __init__(self, lang: str, container_classes: Sequence[str] = ()) -> None:
        super().__init__()
        self._name = "PageSetup"
        self.html_lang = html_lang(lang)
        self.container_classes = list(container_classes)


class HtmlControl(MacroElement):
    """A Leaflet control holding fixed HTML (a title, a legend) in a corner of the map.

    ``html`` must already be escaped (build it with ``html.escape``). ``position`` is a Leaflet
    corner or ``"topcenter"``. Controls stack inside their corner like Leaflet's own, and clicks
    or wheel turns on them do not move the map.
    """

    _template = Template(
        """
        {% macro script(this, kwargs) %}
        (function (map) {
            var position = {{ this.position|tojson }};
            if (!map._controlCorners[position]) {
                map._controlCorners[position] = L.DomUtil.create(
                    "div", "leaflet-top gridgis-center", map._controlContainer);
            }
            var control = L.control({position: position});
            control.onAdd = function () {
                var div = L.DomUtil.create("div", {{ this.css_class|tojson }});
                div.innerHTML = {{ this.html|tojson }};
                L.DomEvent.disableClickPropagation(div);
                L.DomEvent.disableScrollPropagation(div);
                return div;
            };
            control.addTo(map);
        })({{ this._parent.get_name() }});
        {% endmacro %}
        """
    )

    def __init__(self, html: str, *, position: ControlPosition, css_class: str) -> None:
        super().__init__()
        self._name = "HtmlControl"
        self.html = html
        self.position = position
        self.css_class = f"leaflet-control {css_class}"


class PermanentLabels(MacroElement):
    """Text labels at fixed points, added to the parent layer (a FeatureGroup or the map).

    ``rows`` are ``(lon, lat, text)``. Each label is a non-interactive marker with a DivIcon
    whose text is set by ``textContent``; CSS class ``css_class`` styles it. Being in the parent
    group, the labels come and go with it in the layer control.
    """

    _template = Template(
        """
        {% macro script(this, kwargs) %}
        (function (group) {
            var rows = {{ this.rows|tojson }};
            rows.forEach(function (row) {
                var text = document.createElement("div");
                text.className = {{ this.css_class|tojson }};
                text.textContent = row[2];
                var icon = L.divIcon({html: text, className: "gridgis-label-anchor",
                                      iconSize: [0, 0]});
                L.marker([row[1], row[0]], {icon: icon, interactive: false, keyboard: false})
                    .addTo(group);
            });
        })({{ this._parent.get_name() }});
        {% endmacro %}
        """
    )

    def __init__(self, rows: Sequence[tuple[float, float, str]], *, css_class: str) -> None:
        super().__init__()
        self._name = "PermanentLabels"
        self.rows = [[round(lon, 6), round(lat, 6), text] for lon, lat, text in rows]
        self.css_class = f"gridgis-label {css_class}"


JS_PAGE_HELPERS = """
            // t(key, {n: 3}): the label of ``key`` (from ``T``, the page's zh/en table) with
            // {n} filled in; el(tag, cls, text): a new element
            function t(key, values) {
                var s = T[key] || key;
                Object.keys(values || {}).forEach(function (k) {
                    s = s.split("{" + k + "}").join(String(values[k]));
                });
                return s;
            }
            function el(tag, cls, text) {
                var e = document.createElement(tag);
                if (cls) { e.className = cls; }
                if (text !== undefined && text !== null) { e.textContent = text; }
                return e;
            }
            // pct(0.1234) -> "12.3%" ("—" for none); getJSON(url): the body, or an Error
            // carrying the problem+json detail
            function pct(v) { return v === null || v === undefined ? "—"
                                     : (v * 100).toFixed(1) + "%"; }
            function getJSON(u) {
                return fetch(u, {credentials: "same-origin",
                                 headers: {Accept: "application/json"}})
                    .then(function (r) {
                        return r.json().then(function (body) {
                            if (!r.ok) { throw new Error(body.detail || String(r.status)); }
                            return body;
                        });
                    });
            }
"""
"""JavaScript helpers shared by the page scripts (inserted into their templates; they expect a
label table ``T`` in scope)."""
