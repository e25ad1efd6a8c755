"""Local asset table, localisation of folium elements, labels and basemap specs."""

from __future__ import annotations

import json
from pathlib import Path

import folium
import folium.plugins
import pytest

from maps.assets import (
    ASSETS,
    ASSETS_DIR,
    DROPPED,
    FOLIUM_TEMPLATES_DIR,
    STATIC_DIR,
    UnknownAsset,
    check_installed,
    local_js_css,
    localize,
    static_mounts,
)
from maps.basemaps import Basemap
from maps.styles import LABELS, format_area_km2, label, resolve_lang

PACKAGE_JSON = Path(__file__).resolve().parents[2] / "maps" / "assets" / "package.json"


def test_assets_are_installed() -> None:
    problems = check_installed()
    assert problems == [], "\n".join(problems)


def test_npm_packages_are_pinned_exactly() -> None:
    manifest = json.loads(PACKAGE_JSON.read_text())
    assert manifest["private"] is True
    for name, version in manifest["dependencies"].items():
        assert version[0].isdigit(), f"{name} must be pinned to an exact version, not {version}"
    assert manifest["dependencies"]["leaflet"] == "1.9.4"
    lock = json.loads(PACKAGE_JSON.with_name("package-lock.json").read_text())
    for name, version in manifest["dependencies"].items():
        assert lock["packages"][f"node_modules/{name}"]["version"] == version


def test_every_vendor_asset_comes_from_a_declared_package() -> None:
    declared = set(json.loads(PACKAGE_JSON.read_text())["dependencies"])
    for asset in ASSETS.values():
        if asset.root == "vendor":
            package = "/".join(asset.path.split("/")[: 2 if asset.path.startswith("@") else 1])
            assert package in declared, f"{asset.path} is not from a package in package.json"


def test_local_js_css_matches_folium_names_minus_glyphicons() -> None:
    js, css = local_js_css("/static")
    assert [name for name, _ in js] == [name for name, _ in folium.Map.default_js]
    expected_css = [n for n, _ in folium.Map.default_css if n not in DROPPED]
    assert [name for name, _ in css] == expected_css
    assert all(url.startswith("/static/") for _, url in js + css)
    assert dict(js)["leaflet"] == "/static/vendor/leaflet/dist/leaflet.js"


def test_mount_prefixes_are_parameters() -> None:
    mounts = static_mounts("/assets/", {"vendor": "npm"})
    assert mounts == {
        "/assets/npm": ASSETS_DIR,
        "/assets/folium": FOLIUM_TEMPLATES_DIR,
        "/assets/gridgis": STATIC_DIR,
    }
    js, _ = local_js_css("/assets", {"vendor": "npm"})
    assert dict(js)["jquery"] == "/assets/npm/jquery/dist/jquery.min.js"


def test_localize_plugin_per_instance() -> None:
    cluster = localize(folium.plugins.MarkerCluster(), "/static")
    assert all(
        url.startswith("/static/vendor/leaflet.markercluster/")
        for _, url in cluster.default_js + cluster.default_css
    )
    assert folium.plugins.MarkerCluster.default_js[0][1].startswith("https://")
    heat = localize(folium.plugins.HeatMap([[31.9, 120.3]]), "/static")
    assert heat.default_js == [("leaflet-heat.js", "/static/folium/leaflet_heat.min.js")]


def test_localize_refuses_assets_we_do_not_serve() -> None:
    with pytest.raises(UnknownAsset, match=r"package\.json"):
        localize(folium.plugins.Fullscreen(), "/static")


def test_labels_have_both_languages() -> None:
    for key, texts in LABELS.items():
        assert set(texts) == {"zh", "en"}, key
        assert all(t.strip() for t in texts.values()), key


def test_label_lookup_and_fallback() -> None:
    assert label("level_1") == "一级网格（镇街）"
    assert label("level_2", "zh") == "二级网格（村社区）"
    assert label("level_3", "zh") == "三级网格（单元网格）"
    assert label("field_code", "en") == "Code"
    assert label("field_name", "xx") == "名称"
    assert label("legend_count", "zh", n=12) == "12 个"
    assert resolve_lang(None) == "zh" and resolve_lang("en") == "en"
    with pytest.raises(KeyError, match=r"maps\.styles\.LABELS"):
        label("no_such_label")


def test_area_in_square_kilometres() -> None:
    assert format_area_km2(1_234_567.0) == "1.23 平方公里"
    assert format_area_km2(5_000.0, "en") == "0.005 km²"
    assert format_area_km2(None) == "—"


def test_basemap_specs() -> None:
    assert Basemap.none().tiles == () and Basemap.none().origins() == ()
    tianditu = Basemap.tianditu("abc123", annotation_lang="en")
    assert [t.name for t in tianditu.tiles] == ["tianditu_vec", "tianditu_eva"]
    assert tianditu.tiles[1].overlay and "LAYER=eva" in tianditu.tiles[1].url
    assert len(tianditu.origins()) == 8 and tianditu.max_zoom() == 18
    own = Basemap.xyz("/tiles/{z}/{x}/{y}.png")
    assert own.origins() == ()  # served by our own app


@pytest.mark.parametrize(
    "bad",
    [
        lambda: Basemap.tianditu(""),
        lambda: Basemap.tianditu("key with spaces"),
        lambda: Basemap.xyz("https://tiles.example/{z}/{x}.png"),
        lambda: Basemap.xyz("ftp://tiles.example/{z}/{x}/{y}.png"),
    ],
)
def test_basemap_errors_name_the_setting(bad) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(ValueError, match="GRIDGIS_MAP_"):
        bad()
