"""Planners' grid files: layers, derived parents, Shapefile field names, bad input."""

from __future__ import annotations

import zipfile
from pathlib import Path

import geopandas as gpd
import pyogrio
import pytest
import shapely

from gis.gridfiles import PLACEHOLDER_NAME, GridFileError, read_grid_file, to_shapefile
from gis.hierarchy import validate_hierarchy


@pytest.fixture(scope="module")
def town(demo_grids):  # type: ignore[no-untyped-def]
    """One town with its villages and unit grids (a small, valid 3-level city)."""
    code = "320281001"
    return demo_grids[demo_grids.code.str.startswith(code)].reset_index(drop=True)


def test_multi_layer_geopackage_needs_a_layer_choice(town, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    path = tmp_path / "city.gpkg"
    for level, layer in ((1, "towns"), (2, "villages"), (3, "units")):
        town[town.level == level].to_file(path, layer=layer)
    with pytest.raises(GridFileError) as err:
        read_grid_file(path)
    assert err.value.field == "layer"
    # the layers to choose from (name, geometry type, count); no command-line wording
    assert [(x["name"], x["features"]) for x in err.value.layers] == [
        ("towns", 1), ("villages", int((town.level == 2).sum())),
        ("units", int((town.level == 3).sum())),
    ]  # fmt: skip
    assert all(x["geometry_type"] in ("Polygon", "MultiPolygon") for x in err.value.layers)
    assert "towns (" in err.value.detail and "--layer" not in err.value.detail
    only_towns = read_grid_file(path, layer="towns")
    assert set(only_towns.frame.level) == {1}  # the caller chose it; drafts refuse it later
    every = read_grid_file(path, layer="all")
    assert len(every.frame) == len(town)
    assert validate_hierarchy(every.frame).ok
    with pytest.raises(GridFileError, match="no layer 'roads'"):
        read_grid_file(path, layer="roads")


def test_l3_only_file_gets_its_parents_from_the_codes(town, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    path = tmp_path / "units.geojson"
    town[town.level == 3].to_file(path, driver="GeoJSON")
    names = dict(zip(town.code, town.name, strict=True))
    one_village = town[town.level == 2].code.iloc[0]
    del names[one_village]  # a village the active generation does not know
    got = read_grid_file(path, known_names=names)
    frame = got.frame
    assert got.derived == {2: (town.level == 2).sum(), 1: 1}
    assert validate_hierarchy(frame).ok
    assert got.placeholders == [one_village]
    row = frame[frame.code == one_village].iloc[0]
    assert row["name"] == PLACEHOLDER_NAME.format(code=one_village)
    assert any(one_village in n and "rename" in n for n in got.notes)
    known = frame[frame.code == "320281001"].iloc[0]
    assert known["name"] == "澄江街道"
    # the derived town is the union of its unit grids, i.e. the town itself
    original = town[town.code == "320281001"].geometry.iloc[0]
    assert shapely.symmetric_difference(known.geometry, original).area < 1e-12


def test_zipped_shapefile_round_trip_maps_parent_cod(town, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    path = to_shapefile(town, tmp_path / "grids.zip")
    names = zipfile.ZipFile(path).namelist()
    assert {"grids.shp", "grids.dbf", "grids.prj", "grids.cpg"} <= set(names)
    raw = pyogrio.read_dataframe(path)
    assert "parent_cod" in raw.columns and "parent_code" not in raw.columns
    got = read_grid_file(path).frame
    assert list(got.columns) == ["code", "level", "parent_code", "name", "geometry"]
    back = got.set_index("code")
    for row in town.itertuples():
        parent = back.loc[row.code, "parent_code"]
        assert (parent if isinstance(parent, str) else None) == row.parent_code
        assert back.loc[row.code, "name"] == row.name
    assert validate_hierarchy(got).ok


def _write(frame: gpd.GeoDataFrame, path: Path) -> Path:
    frame.to_file(path)
    return path


@pytest.mark.parametrize(
    ("change", "field", "words"),
    [
        ("empty_parent", "parent_code", "empty parent_code; fill it with"),
        ("short_code", "code", "has 14 digits; an L3 code has 15 digits"),
        ("wrong_prefix", "parent_code", "make code and parent_code agree"),
        ("invalid", "geometry", "Fix geometries"),
        ("missing_column", "columns", "lacks the column(s) name"),
        ("level_text", "level", "is not 1, 2 or 3"),
    ],
)
def test_bad_files_name_the_fix(town, tmp_path: Path, change: str, field: str, words: str) -> None:  # type: ignore[no-untyped-def]
    bad = town.copy()
    k = bad.index[bad.level == 3][0]
    if change == "empty_parent":
        bad.loc[k, "parent_code"] = ""
    elif change == "short_code":
        bad.loc[k, "code"] = bad.loc[k, "code"][:-1]
    elif change == "wrong_prefix":
        bad.loc[k, "parent_code"] = "320281001999"
    elif change == "invalid":
        x, y = bad.geometry[k].representative_point().coords[0]
        d = 1e-4
        bad.loc[k, "geometry"] = shapely.Polygon(
            [(x, y), (x + d, y + d), (x + d, y), (x, y + d), (x, y)]
        )  # a bow-tie
    elif change == "missing_column":
        bad = bad.drop(columns=["name"])
    elif change == "level_text":
        bad["level"] = bad["level"].astype(str)
        bad.loc[k, "level"] = "unit"
    with pytest.raises(GridFileError) as err:
        read_grid_file(_write(bad, tmp_path / "bad.gpkg"))
    assert err.value.field == field
    assert words in err.value.detail


def test_3d_geometries_lose_their_heights(town, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    three_d = town.copy()
    three_d["geometry"] = shapely.force_3d(three_d.geometry.values, 12.5)
    got = read_grid_file(_write(three_d, tmp_path / "z.gpkg"))
    assert not shapely.has_z(got.frame.geometry.values).any()
    assert any("Z values" in n for n in got.notes)
    assert validate_hierarchy(got.frame).ok


def test_a_file_without_crs_is_refused_unless_stated(town, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    bare = gpd.GeoDataFrame(town.drop(columns="geometry"), geometry=list(town.geometry))
    path = tmp_path / "nocrs.gpkg"
    bare.to_file(path)
    with pytest.raises(GridFileError) as err:
        read_grid_file(path)
    assert err.value.field == "crs" and "crs=EPSG:4490" in err.value.detail
    assert len(read_grid_file(path, crs="EPSG:4490").frame) == len(town)
    # a GeoJSON without a crs member states nothing either
    gj = tmp_path / "nocrs.geojson"
    town.to_crs(4326).to_file(gj, driver="GeoJSON", RFC7946="YES")
    with pytest.raises(GridFileError, match="does not state its CRS"):
        read_grid_file(gj)
    with pytest.raises(GridFileError) as err:
        read_grid_file(path, crs="EPSG:99999999")
    assert err.value.field == "crs"


def test_a_stated_projected_crs_is_reprojected_to_cgcs2000(town, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    path = _write(town.to_crs(4549), tmp_path / "metric.gpkg")
    got = read_grid_file(path)
    assert got.frame.crs.to_epsg() == 4490 and got.source_crs == "EPSG:4549"
    assert any("reprojected" in n for n in got.notes)
    a = got.frame.set_index("code").geometry["320281001"]
    b = town.set_index("code").geometry["320281001"]
    assert shapely.hausdorff_distance(a, b) < 1e-7  # ~1 cm


def test_unreadable_files_and_attribute_tables(tmp_path: Path) -> None:
    import pandas as pd

    table = tmp_path / "attr.gpkg"
    pyogrio.write_dataframe(pd.DataFrame({"code": ["1"]}), table, layer="table", driver="GPKG")
    with pytest.raises(GridFileError, match="has no geometry") as err:
        read_grid_file(table, crs="EPSG:4490")
    assert err.value.field == "layer"
    broken = tmp_path / "broken.geojson"
    broken.write_text("{not json")
    empty = tmp_path / "empty.zip"
    with zipfile.ZipFile(empty, "w") as zf:
        zf.writestr("readme.txt", "no shapefile here")
    for path in (broken, empty):
        with pytest.raises(GridFileError, match="zipped Shapefile") as err:
            read_grid_file(path)
        assert err.value.field == "file" and str(tmp_path) not in err.value.detail


@pytest.mark.parametrize("columns", [["code", "name"], ["code", "level", "name"]])
def test_l3_only_file_without_parent_code_reads_it_from_the_codes(  # type: ignore[no-untyped-def]
    town, tmp_path: Path, columns: list[str]
) -> None:
    units = town[town.level == 3][[*columns, "geometry"]]
    path = tmp_path / "units.gpkg"
    units.to_file(path)
    got = read_grid_file(path)
    assert validate_hierarchy(got.frame).ok
    l3 = got.frame[got.frame.level == 3].set_index("code")
    want = town[town.level == 3].set_index("code")
    assert (l3.parent_code == want.parent_code.loc[l3.index]).all()
    assert len(l3) == len(want) and got.derived[2] == (town.level == 2).sum()
    assert any("parent_code" in n and "read from the codes" in n for n in got.notes)


def test_columns_that_cannot_be_derived_are_refused(town, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    units = town[town.level == 3][["code", "name", "geometry"]].copy()
    units.loc[units.index[0], "code"] = "3202810012"  # 10 digits: no level has that length
    path = tmp_path / "bad.gpkg"
    units.to_file(path)
    with pytest.raises(GridFileError) as err:
        read_grid_file(path)
    assert err.value.field == "code" and "3202810012" in err.value.detail
    assert "level cannot be read" in err.value.detail
    nameless = tmp_path / "nameless.gpkg"
    town[town.level == 3][["code", "geometry"]].to_file(nameless)
    with pytest.raises(GridFileError) as err:
        read_grid_file(nameless)
    assert err.value.field == "columns" and "lacks the column(s) name" in err.value.detail
    assert "parent_code" not in err.value.detail.split("(it has")[0]


def test_unreadable_files_say_what_they_should_hold(tmp_path: Path) -> None:
    junk = tmp_path / "网格 junk.zip"
    junk.write_bytes(b"not a zip at all")
    with pytest.raises(GridFileError) as err:
        read_grid_file(junk)
    detail = err.value.detail
    assert detail.startswith("网格 junk.zip cannot be read") and "not a zip archive" in detail
    assert "does not exist" not in detail and str(tmp_path) not in detail
    assert ".shp" in detail and "不是 zip 压缩包" in str(err.value.detail_zh)
    empty = tmp_path / "empty.zip"
    with zipfile.ZipFile(empty, "w") as zf:
        zf.writestr("readme.txt", "no shapefile here")
    with pytest.raises(GridFileError, match=r"holds no Shapefile \(\.shp\); it holds: readme"):
        read_grid_file(empty)
