"""The grid map page as HTML: offline, every asset present, localised, basemap only on request,
no grid geometry in it (the grids come from the vector tiles)."""

from __future__ import annotations

import copy
import json
import re
from datetime import date
from typing import Any
from urllib.parse import urlsplit

import folium
import folium.plugins
import pytest
from folium.elements import JSCSSMixin

from maps.assets import ASSETS_DIR, check_installed, static_mounts
from maps.basemaps import Basemap
from maps.grid_map import GenerationLabel, GridMapSource, build_grid_map, min_zoom_for_width
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


GENERATION = GenerationLabel(
    id=7, name="江阴 2025 版", status="active", effective_on=date(2025, 3, 1)
)


def source(levels: dict[int, dict[str, Any]] | None = None) -> GridMapSource:
    return GridMapSource.from_levels(sample_levels() if levels is None else levels, GENERATION)


def render(**kwargs: Any) -> str:
    return build_grid_map(source(), **kwargs).get_root().render()


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
    for text in ("图例", "点击镇街逐级查看", "澄江街道", "君山社区"):
        assert shown(text, zh_html), text
    assert "<title>网格通 · 网格地图</title>" in zh_html
    assert '"zh-CN"' in zh_html
    assert not shown("Legend", zh_html)


def test_english_on_request() -> None:
    html = render(lang="en")
    assert "<title>GridGIS · Grid map</title>" in html
    for text in ("Level 1 grids (towns / subdistricts)", "Legend", "Click a town"):
        assert shown(text, html), text
    assert not shown("一级网格（镇街）", html) and not shown("生效于", html)
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
    folium_map = build_grid_map(source())
    folium_map.get_root().render()
    after = {cls: (cls.default_js, cls.default_css) for cls in classes}
    assert after == before
    # The map got its own lists; folium's still point at the CDN.
    assert folium_map.default_js is not folium.Map.default_js
    assert all(url.startswith("/static/") for _, url in folium_map.default_js)
    assert any("cdn.jsdelivr.net" in url for _, url in folium.Map().default_js)


def test_no_geometry_only_names_counts_and_the_generation(zh_html: str) -> None:
    assert '"coordinates"' not in zh_html and "Polygon" not in zh_html
    assert shown("网格版本：江阴 2025 版（第 7 版，生效于 2025-03-01）", zh_html)
    # the layers come from the tiles of that generation, with the level styles and the view
    assert 'GridGIS.start("grid"' in zh_html and "/static/gridgis/gridgis-grid.js" in zh_html
    assert "/static/gridgis/gridgis-tiles.js" in zh_html
    assert "leaflet.vectorgrid/dist/Leaflet.VectorGrid.bundled.min.js" in zh_html
    assert '"generation": 7' in zh_html and '"drill_down": true' in zh_html
    assert '"l3_label_zoom": 15' in zh_html
    # counts in the legend, names of towns and villages at their points
    assert shown("4 个", zh_html) and shown("12 个", zh_html) and shown("黄山社区", zh_html)
    assert '"towns": [["320281001", ' in zh_html  # the towns listed for the drill-down


def test_generation_label_in_english_and_for_drafts() -> None:
    assert "Grid generation: 江阴 2025 版 (no. 7, in force since 2025-03-01)" in render(lang="en")
    draft = GenerationLabel(id=9, name="草案", status="draft")
    assert draft.text("zh") == "网格版本：草案（第 9 版，草稿，未施行）"
    assert draft.text("en") == "Grid generation: 草案 (no. 9, draft, not in force)"
    retired = GenerationLabel(id=2, name="old", status="retired", effective_on=date(2023, 1, 1))
    assert retired.text("zh").endswith("（第 2 版，已停用，曾生效于 2023-01-01）")


def test_generation_label_names_the_generation_in_the_page_language() -> None:
    """A generation with an English name (the demo's) shows it on English pages only."""
    demo = GenerationLabel(
        id=1, name="演示城市 · 种子 320281", name_en="Demo city · seed 320281",
        effective_on=date(2024, 1, 1),
    )  # fmt: skip
    assert demo.text("zh") == "网格版本：演示城市 · 种子 320281（第 1 版，生效于 2024-01-01）"
    assert demo.text("en") == (
        "Grid generation: Demo city · seed 320281 (no. 1, in force since 2024-01-01)"
    )


def test_village_names_zoom_follows_their_width() -> None:
    narrow, wide = source().median_width_deg[2], 10 * source().median_width_deg[2]
    assert min_zoom_for_width(narrow, 96) > min_zoom_for_width(wide, 96)
    assert min_zoom_for_width(None, 96) == 19


def test_caller_data_is_not_changed() -> None:
    levels = sample_levels()
    before = copy.deepcopy(levels)
    build_grid_map(source(levels)).get_root().render()
    assert levels == before


def test_names_cannot_inject_html() -> None:
    levels = sample_levels()
    levels[2]["features"][0]["properties"]["name"] = '<img src=x onerror="alert(1)">'
    levels[1]["features"][0]["properties"]["name"] = "</script><script>alert(2)</script>"
    bad = GenerationLabel(id=1, name="<b>x</b>")
    html = build_grid_map(GridMapSource.from_levels(levels, bad)).get_root().render()
    assert "<img src=x" not in html
    assert "<script>alert(2)" not in html
    assert "<b>x</b>" not in html and "&lt;b&gt;x&lt;/b&gt;" in html


def test_missing_and_empty_levels() -> None:
    only_towns = {1: sample_levels()[1]}
    html = build_grid_map(source(only_towns)).get_root().render()
    assert shown("澄江街道", html)
    empty = build_grid_map(
        GridMapSource.from_levels({1: {"type": "FeatureCollection", "features": []}})
    )
    empty_html = empty.get_root().render()
    assert shown("没有网格数据", empty_html)
    assert '"generation": null' in empty_html  # nothing to ask tiles for


def test_bad_input_says_how_to_fix() -> None:
    with pytest.raises(ValueError, match="use 1, 2, 3"):
        GridMapSource.from_levels({4: {"type": "FeatureCollection", "features": []}})
    with pytest.raises(ValueError, match="FeatureCollection"):
        GridMapSource.from_levels({1: {"type": "Feature", "geometry": None, "properties": {}}})
