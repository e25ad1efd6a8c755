"""The grid map page as HTML: offline, every asset present, localised, basemap only on request."""

from __future__ import annotations

import copy
import json
import re
from typing import Any
from urllib.parse import urlsplit

import folium
import folium.plugins
import pytest
from folium.elements import JSCSSMixin

from maps.assets import ASSETS_DIR, check_installed, static_mounts
from maps.basemaps import Basemap
from maps.grid_map import build_grid_map, layer_name
from maps.styles import LEVEL_STYLES
from tests.maps.grid_samples import sample_levels

# Absolute URLs anywhere in the page (attributes, JS strings, CSS), and protocol-relative ones
# in src/href attributes.
ABSOLUTE_URL = re.compile(r"""\b(?:https?|wss?|ftp)://[^\s"'<>()\\]+""", re.IGNORECASE)
LINKED = re.compile(r"""\b(?:src|href)\s*=\s*["']([^"']+)["']""", re.IGNORECASE)
STATIC_PATH = re.compile(r"""["'](/static/[^"'\s]+)["']""")


def shown(text: str, html: str) -> bool:
    """Whether ``text`` is in the page, as is or as an HTML-safe JSON string inside a script."""
    as_json = json.dumps(text)[1:-1]
    for char, escape in (("&", "\\u0026"), ("<", "\\u003c"), (">", "\\u003e"), ("'", "\\u0027")):
        as_json = as_json.replace(char, escape)
    return text in html or as_json in html


def render(**kwargs: Any) -> str:
    return build_grid_map(sample_levels(), **kwargs).get_root().render()


@pytest.fixture(scope="module")
def zh_html() -> str:
    return render()


def local_file_for(url_path: str) -> Any:
    for prefix, folder in static_mounts("/static").items():
        if url_path.startswith(prefix + "/"):
            return folder / url_path[len(prefix) + 1 :]
    return None


def test_page_has_no_outside_url_without_basemap(zh_html: str) -> None:
    assert ABSOLUTE_URL.findall(zh_html) == []
    assert [u for u in LINKED.findall(zh_html) if u.startswith("//")] == []


def test_every_linked_asset_is_a_file_we_serve(zh_html: str) -> None:
    problems = check_installed()
    assert not problems, "\n".join(problems)
    linked = set(LINKED.findall(zh_html)) | set(STATIC_PATH.findall(zh_html))
    assert linked, "the page links no JS/CSS at all"
    for url in sorted(linked):
        assert url.startswith("/static/"), f"{url} is not served by the app"
        target = local_file_for(url)
        assert target is not None and target.is_file(), (
            f"{url} has no file behind it ({target}); run ./run.sh setup"
        )
    # The Map's own libraries and our page CSS are among them.
    assert "/static/vendor/leaflet/dist/leaflet.js" in linked
    assert "/static/gridgis/gridgis-map.css" in linked
    assert not any("glyphicons" in url for url in linked)


def test_assets_base_moves_every_link() -> None:
    html = render(assets_base="/gis/assets")
    linked = LINKED.findall(html)
    assert linked and all(url.startswith("/gis/assets/") for url in linked)
    assert ASSETS_DIR.name == "node_modules"


def test_chinese_by_default(zh_html: str) -> None:
    for text in (
        "网格通 · 网格地图",
        "一级网格（镇街）",
        "二级网格（村社区）",
        "三级网格（单元网格）",
    ):
        assert shown(text, zh_html), text
    for text in ("图例", "编码", "名称", "面积", "平方公里", "澄江街道", "君山社区"):
        assert shown(text, zh_html), text
    assert "<title>网格通 · 网格地图</title>" in zh_html
    assert '"zh-CN"' in zh_html
    assert not shown("Legend", zh_html)


def test_english_on_request() -> None:
    html = render(lang="en")
    assert "<title>GridGIS · Grid map</title>" in html
    for text in ("Level 1 grids (towns / subdistricts)", "Legend", "Code", "Area", "km²"):
        assert shown(text, html), text
    assert not shown("一级网格（镇街）", html) and not shown("平方公里", html)
    # Grid names are data, not labels: they stay as they are.
    assert shown("澄江街道", html)


def test_unknown_language_falls_back_to_chinese() -> None:
    assert "<title>网格通 · 网格地图</title>" in render(lang="fr")


def test_custom_title() -> None:
    html = render(title="江阴市网格")
    assert "<title>江阴市网格</title>" in html


def test_tianditu_only_when_configured(zh_html: str) -> None:
    assert "tianditu" not in zh_html.lower()
    basemap = Basemap.tianditu("0123456789abcdef0123456789abcdef")
    html = render(basemap=basemap)
    assert "t{s}.tianditu.gov.cn/vec_w/wmts" in html
    assert "t{s}.tianditu.gov.cn/cva_w/wmts" in html
    assert "tk=0123456789abcdef0123456789abcdef" in html
    assert "TILEMATRIXSET=w" in html
    # The tiles are the only outside URLs, and they belong to the configured basemap.
    origins = set(basemap.origins())
    for url in ABSOLUTE_URL.findall(html):
        host = urlsplit(url.replace("{s}", "0")).netloc
        assert f"https://{host}" in origins, url
    assert "gridgis-no-basemap" not in html


def test_xyz_basemap() -> None:
    basemap = Basemap.xyz("https://tiles.city.example/{z}/{x}/{y}.png", "市测绘院")
    html = render(basemap=basemap)
    assert "https://tiles.city.example/{z}/{x}/{y}.png" in html
    assert basemap.origins() == ("https://tiles.city.example",)
    assert {urlsplit(u).netloc for u in ABSOLUTE_URL.findall(html)} == {"tiles.city.example"}


def test_class_wide_folium_lists_are_untouched() -> None:
    classes = [folium.Map, folium.plugins.MarkerCluster, folium.plugins.HeatMap, JSCSSMixin]
    before = {
        cls: (copy.deepcopy(cls.default_js), copy.deepcopy(cls.default_css)) for cls in classes
    }
    folium_map = build_grid_map(sample_levels())
    folium_map.get_root().render()
    after = {cls: (cls.default_js, cls.default_css) for cls in classes}
    assert after == before
    # The map got its own lists; folium's still point at the CDN.
    assert folium_map.default_js is not folium.Map.default_js
    assert all(url.startswith("/static/") for _, url in folium_map.default_js)
    assert any("cdn.jsdelivr.net" in url for _, url in folium.Map().default_js)


def test_one_static_style_per_level(zh_html: str) -> None:
    # style_function would be serialised per feature if it varied; ours is one dict per level.
    weight = f'"weight": {LEVEL_STYLES[3].weight_px}'
    assert zh_html.count(weight) == 1


def test_layers_carry_known_names_and_the_ready_hook() -> None:
    folium_map = build_grid_map(sample_levels())
    names = set()
    stack = list(folium_map._children.values())
    while stack:
        element = stack.pop()
        if isinstance(element, folium.GeoJson):
            names.add(element.layer_name)
        stack.extend(element._children.values())
    assert names == {layer_name(1), layer_name(2), layer_name(3)}
    html = folium_map.get_root().render()
    # the grid view (maps/static/gridgis-grid.js) sets window.gridgisReady
    assert 'GridGIS.start("grid"' in html and "/static/gridgis/gridgis-grid.js" in html
    for level in (1, 2, 3):
        assert f'"className": "gridgis-l{level}"' in html


def test_caller_data_is_not_changed() -> None:
    levels = sample_levels()
    before = copy.deepcopy(levels)
    build_grid_map(levels).get_root().render()
    assert levels == before


def test_names_cannot_inject_html() -> None:
    levels = sample_levels()
    levels[3]["features"][0]["properties"]["name"] = '<img src=x onerror="alert(1)">'
    levels[1]["features"][0]["properties"]["name"] = "</script><script>alert(2)</script>"
    html = build_grid_map(levels).get_root().render()
    assert "<img src=x" not in html
    assert "<script>alert(2)" not in html
    assert shown("&lt;img src=x", html)  # escaped for the tooltip's innerHTML


def test_missing_and_empty_levels() -> None:
    only_towns = {1: sample_levels()[1]}
    html = build_grid_map(only_towns).get_root().render()
    assert shown("澄江街道", html)
    empty = build_grid_map({1: {"type": "FeatureCollection", "features": []}})
    assert shown("没有网格数据", empty.get_root().render())


def test_bad_input_says_how_to_fix() -> None:
    with pytest.raises(ValueError, match="levels 1, 2, 3"):
        build_grid_map({4: {"type": "FeatureCollection", "features": []}})
    with pytest.raises(ValueError, match="FeatureCollection"):
        build_grid_map({1: {"type": "Feature", "geometry": None, "properties": {}}})
