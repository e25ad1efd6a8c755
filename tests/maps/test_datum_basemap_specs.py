"""Amap (GCJ-02) and Baidu (BD-09) basemaps as specs and on folium pages: the map gets its
datum's CRS from gridgis-datum.js (linked after gridgis-common.js), Baidu tiles are numbered
northwards (tms), URLs are checked and name their setting; WGS 84 basemaps are unchanged."""

from __future__ import annotations

import pytest

from api.pages.map import basemap_from_settings
from api.settings import MapSettings
from maps.basemaps import AMAP_URL, BAIDU_URL, Basemap
from maps.grid_map import page_map


def test_amap_and_baidu_specs() -> None:
    amap = Basemap.amap()
    assert amap.datum == "gcj02" and amap.crs == "GridgisGCJ02" and amap.tiles[0].url == AMAP_URL
    assert amap.origins() == tuple(f"https://webrd0{s}.is.autonavi.com" for s in "1234")
    assert amap.tiles[0].attribution == "底图 © 高德地图"
    baidu = Basemap.baidu("http://10.1.2.3/bd/{z}/{x}/{y}.png", lang="en")
    assert baidu.datum == "bd09" and baidu.crs == "GridgisBD09"
    assert baidu.origins() == ("http://10.1.2.3",) and baidu.tiles[0].attribution.endswith(
        "Baidu Maps"
    )
    assert Basemap.baidu().tiles[0].url == BAIDU_URL
    assert baidu.tile_config()[0]["url"] == "http://10.1.2.3/bd/{z}/{x}/{y}.png"
    assert (
        Basemap.tianditu("abc123").datum == "wgs84"
        and Basemap.xyz("/t/{z}/{x}/{y}.png").crs == "EPSG3857"
    )


@pytest.mark.parametrize(
    ("kind", "setting"), [("amap", "GRIDGIS_MAP_AMAP_URL"), ("baidu", "GRIDGIS_MAP_BAIDU_URL")]
)
def test_bad_urls_name_the_setting(kind: str, setting: str) -> None:
    with pytest.raises(ValueError, match=setting):
        getattr(Basemap, kind)("ftp://tiles/{z}/{x}/{y}.png")
    with pytest.raises(ValueError, match=setting):
        getattr(Basemap, kind)("https://tiles/{z}/{x}.png")


def test_settings_choose_the_datum_basemaps() -> None:
    amap = basemap_from_settings(
        MapSettings(basemap="amap", amap_url="http://proxy.local/amap/{z}/{x}/{y}.png")
    )
    assert amap is not None and amap.datum == "gcj02"
    assert amap.origins() == ("http://proxy.local",)
    baidu = basemap_from_settings(MapSettings(basemap="baidu"))
    assert baidu is not None and baidu.tiles[0].url == BAIDU_URL


@pytest.mark.parametrize(
    ("basemap", "crs", "tms"),
    [(Basemap.amap("/amap/{z}/{x}/{y}.png"), "GridgisGCJ02", False),
     (Basemap.baidu("/bd/{z}/{x}/{y}.png"), "GridgisBD09", True),
     (Basemap.xyz("/xyz/{z}/{x}/{y}.png"), "EPSG3857", False)],
)  # fmt: skip
def test_folium_pages_get_the_datum_crs(basemap: Basemap, crs: str, tms: bool) -> None:
    html = page_map(None, basemap=basemap, title="t", lang="zh").get_root().render()
    assert f"crs: L.CRS.{crs}," in html
    assert ('"tms": true' in html) is tms
    if crs == "EPSG3857":
        assert "gridgis-datum.js" not in html
    else:
        # in the head, after gridgis-common.js (it adds GridGIS.datum) and before the map
        common = html.index("gridgis-common.js")
        datum = html.index("gridgis-datum.js")
        assert common < datum < html.index(f"L.CRS.{crs}")
