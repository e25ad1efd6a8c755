"""Pure algorithms of issue 3: identifiers and masks, credit codes, zone tiling, the seeded
draw, H3 cells and random points in polygons."""

from __future__ import annotations

import numpy as np
import pytest
import shapely
from hypothesis import given
from hypothesis import strategies as st
from shapely.geometry import Polygon

from gis import demopeople, hexgrid
from gis.creditcode import credit_code_problem, make_code
from gis.masking import id_number_problem, mask_id_number, mask_name, mask_phone, mobile_problem
from gis.sampling import DrawImpossible, draw
from gis.scatter import points_in_polygons
from gis.zoning import check_zone_tiling


def test_masks() -> None:
    assert mask_name("张三丰") == "张**"
    assert mask_name("张三") == "张*"
    assert mask_name("欧阳娜娜") == "欧阳**"
    assert mask_phone("13812341234") == "138****1234"
    assert mask_id_number("11010519491231002X") == "110105********002X"
    assert mask_name(None) is None and mask_phone("") == ""


def test_id_numbers() -> None:
    assert id_number_problem("11010519491231002X") is None  # the standard's example
    assert "check character" in (id_number_problem("110105194912310021") or "")
    assert "18 characters" in (id_number_problem("12345") or "")
    rng = np.random.default_rng(1)
    assert all(id_number_problem(v) is None for v in demopeople.id_numbers(200, rng))


def test_mobiles() -> None:
    assert mobile_problem("13812341234") is None
    assert mobile_problem("+86 138-1234-1234") is None
    assert mobile_problem("12812341234") is not None
    assert mobile_problem("1381234123") is not None


def test_credit_codes() -> None:
    assert credit_code_problem("91350100M000100Y43") is None  # a published example
    assert "check character" in (credit_code_problem("91350100M000100Y44") or "")
    assert "18 characters" in (credit_code_problem("9135010") or "")
    assert "never used" in (credit_code_problem("91350100M000I00Y43") or "")
    assert credit_code_problem(make_code("91320281MA1ABCDE0")) is None


TOWN = "320281104"
GRIDS = [f"{TOWN}{v}{g:03d}" for v in ("201", "202", "203") for g in (1, 2, 3)]


def test_tiling_ok_with_village_and_grid_members() -> None:
    zones = {
        "Z1": [f"{TOWN}201", f"{TOWN}202001"],
        "Z2": [f"{TOWN}202002", f"{TOWN}202003", f"{TOWN}203"],
    }
    report = check_zone_tiling(TOWN, GRIDS, zones)
    assert report.ok, report.summary()
    assert len(report.zone_grids["Z1"]) == 4


def test_tiling_names_gap_overlap_outside_unknown() -> None:
    zones = {
        "Z1": [f"{TOWN}201", f"{TOWN}202001"],
        "Z2": [f"{TOWN}202001", "320281105201001", f"{TOWN}299"],
    }
    report = check_zone_tiling(TOWN, GRIDS, zones)
    kinds = {p.kind: p for p in report.problems}
    assert set(kinds) == {"gap", "overlap", "outside_town", "unknown_code"}
    assert kinds["overlap"].codes == (f"{TOWN}202001",) and kinds["overlap"].zone == "Z1|Z2"
    assert set(kinds["gap"].codes) == set(GRIDS[4:])
    assert "add them to a zone" in kinds["gap"].message


def test_draw_is_reproducible_and_order_free() -> None:
    targets, inspectors = list(range(100, 200)), list(range(1, 30))
    a = draw(seed="2026-07-01 公证", target_ids=targets, inspector_ids=inspectors, n_targets=10)
    b = draw(
        seed="2026-07-01 公证",
        target_ids=targets[::-1],
        inspector_ids=inspectors[::-1],
        n_targets=10,
    )
    c = draw(seed="another seed", target_ids=targets, inspector_ids=inspectors, n_targets=10)
    assert a == b
    assert a.targets != c.targets
    assert all(len(v) == 2 for v in a.assignments.values())


@given(st.integers(0, 10_000))
def test_draw_respects_conflicts(seed: int) -> None:
    conflicts = {t: {t % 7, (t + 1) % 7} for t in range(50)}
    result = draw(
        seed=str(seed),
        target_ids=range(50),
        inspector_ids=range(7),
        n_targets=20,
        conflicts=conflicts,
    )
    for t, inspectors in result.assignments.items():
        assert not set(inspectors) & conflicts[t]
        assert len(set(inspectors)) == 2


def test_draw_impossible() -> None:
    with pytest.raises(DrawImpossible, match="only 3 match"):
        draw(seed="s", target_ids=[1, 2, 3], inspector_ids=[1, 2], n_targets=4)
    with pytest.raises(DrawImpossible, match="free of conflicts"):
        draw(seed="s", target_ids=[1], inspector_ids=[1, 2], n_targets=1, conflicts={1: {1}})


def test_hexgrid_round_trip() -> None:
    lon, lat = np.array([120.285, 120.4]), np.array([31.91, 31.85])
    cells = hexgrid.cells_of(lon, lat, 10)
    for x, y, c in zip(lon, lat, cells, strict=True):
        assert hexgrid.cell_polygon(int(c)).contains(shapely.Point(x, y))  # (lon, lat) order
        assert hexgrid.cell_resolution(int(c)) == 10
    parents = hexgrid.parents_of(cells, 7)
    assert all(
        hexgrid.cell_polygon(int(p)).buffer(1e-9).covers(shapely.Point(x, y))
        for p, x, y in zip(parents, lon, lat, strict=True)
    )
    with pytest.raises(ValueError, match="resolution"):
        hexgrid.cells_of(lon, lat, 15)


def test_points_in_polygons() -> None:
    square = Polygon([(120, 31), (120.01, 31), (120.01, 31.01), (120, 31.01)])
    triangle = Polygon([(120.2, 31.2), (120.21, 31.2), (120.2, 31.21)])
    polys = np.array([square, triangle], dtype=object)
    lon, lat, owner = points_in_polygons(polys, np.array([300, 500]), np.random.default_rng(3))
    assert np.bincount(owner).tolist() == [300, 500]
    assert shapely.contains_xy(triangle, lon[owner == 1], lat[owner == 1]).all()
    again = points_in_polygons(polys, np.array([300, 500]), np.random.default_rng(3))
    assert np.array_equal(again[0], lon)
