"""Coverage edits keep the tiling: after any vertex or edge move, split or merge, the polygons
still cover the same area with no gap and no overlap (pure shapely, no database)."""

from __future__ import annotations

import numpy as np
import pytest
import shapely
from hypothesis import given, settings
from hypothesis import strategies as st
from shapely.geometry import LineString, Polygon, box

from gis import topoedit

STEP = 0.01  # degrees: a 4 x 3 board of 0.01° cells near Jiangyin
X0, Y0 = 120.2, 31.8


def board() -> dict[str, Polygon]:
    """Twelve squares; the two top-right cells are one wide cell, so the cell below has a
    T-junction (a vertex on its neighbour's edge that is not the neighbour's vertex)."""
    cells: dict[str, Polygon] = {}
    for i in range(4):
        for j in range(3):
            cells[f"c{i}{j}"] = box(X0 + i * STEP, Y0 + j * STEP, X0 + (i + 1) * STEP,
                                    Y0 + (j + 1) * STEP)  # fmt: skip
    wide = shapely.union(cells.pop("c22"), cells.pop("c32"))
    cells["w"] = shapely.normalize(shapely.simplify(wide, 0))
    return cells


def assert_tiles(
    before: dict[str, Polygon], after: dict[str, Polygon], *, same_outline: bool = True
) -> None:
    geoms = np.array(list(after.values()), dtype=object)
    assert all(g.is_valid for g in geoms)
    total = shapely.union_all(geoms)
    assert len(shapely.get_parts(total)) == 1 and not list(shapely.get_parts(total)[0].interiors)
    if same_outline:
        assert total.symmetric_difference(shapely.union_all(list(before.values()))).area < 1e-14
    # the parts' areas add up to their union: no overlap; one ring without holes: no gap
    assert abs(sum(g.area for g in geoms) - total.area) < 1e-14


def test_board_has_a_t_junction() -> None:
    cells = board()
    t = (X0 + 3 * STEP, Y0 + 2 * STEP)  # corner of c21, c31 on the wide cell's bottom edge
    assert t not in {tuple(v) for v in topoedit.vertices(cells["w"])}


def test_moving_a_t_junction_moves_the_wide_cell_too() -> None:
    cells = board()
    t = (X0 + 3 * STEP, Y0 + 2 * STEP)
    to = (t[0] + 0.002, t[1] + 0.003)
    changed = topoedit.move_vertices(cells, {t: to})
    assert set(changed) == {"c21", "c31", "w"}
    assert_tiles(cells, {**cells, **changed})


def test_move_edge_both_neighbours_follow() -> None:
    cells = board()
    verts = topoedit.shared_vertices(cells["c11"], cells["c21"])
    assert len(verts) == 2
    moves = topoedit.offset_moves(verts, 50.0, 0.0)
    changed = topoedit.move_vertices(cells, moves)
    assert {"c11", "c21"} <= set(changed)
    after = {**cells, **changed}
    assert_tiles(cells, after, same_outline=False)
    assert after["c11"].area > cells["c11"].area
    assert topoedit.shares_edge(after["c11"], after["c21"])


def test_a_move_that_folds_a_cell_is_refused() -> None:
    cells = board()
    corner = (X0 + STEP, Y0 + STEP)
    with pytest.raises(topoedit.TopologyEditError, match=r"invalid|collapses|overlap"):
        topoedit.move_vertices(cells, {corner: (X0 + 2.5 * STEP, Y0 + 2.5 * STEP)})


def test_snap_finds_the_vertex_within_metres_only() -> None:
    cells = board()
    corner = (X0 + STEP, Y0 + STEP)
    assert topoedit.snap_vertex(cells.values(), (corner[0] + 2e-5, corner[1]), 5.0) == corner
    assert topoedit.snap_vertex(cells.values(), (corner[0] + 2e-4, corner[1]), 5.0) is None


def test_split_and_merge_keep_the_tiling() -> None:
    cells = board()
    line = LineString([(X0 + 1.5 * STEP, Y0 + 0.9 * STEP), (X0 + 1.5 * STEP, Y0 + 2.1 * STEP)])
    parts = topoedit.split_polygon(cells["c11"], line)
    assert len(parts) == 2 and parts[0].centroid.x < parts[1].centroid.x  # west first
    after = {k: v for k, v in cells.items() if k != "c11"} | {"p1": parts[0], "p2": parts[1]}
    new_pts = [tuple(v) for p in parts for v in topoedit.vertices(p)]
    after |= topoedit.node_at(after, new_pts)
    assert_tiles(cells, after)
    merged = topoedit.merge_polygons(after["p1"], after["p2"])
    assert merged.equals(cells["c11"])


def test_bad_split_and_merge_are_refused() -> None:
    cells = board()
    inside = LineString([(X0 + 1.2 * STEP, Y0 + 1.5 * STEP), (X0 + 1.8 * STEP, Y0 + 1.5 * STEP)])
    with pytest.raises(topoedit.TopologyEditError, match="outside to a point outside"):
        topoedit.split_polygon(cells["c11"], inside)
    with pytest.raises(topoedit.TopologyEditError, match="share a boundary"):
        topoedit.merge_polygons(cells["c00"], cells["c22" if "c22" in cells else "c11"])


@settings(max_examples=60, deadline=None)
@given(
    i=st.integers(1, 3),
    j=st.integers(1, 2),
    dx=st.floats(-0.4, 0.4),
    dy=st.floats(-0.4, 0.4),
)
def test_any_inner_vertex_move_keeps_the_tiling(i: int, j: int, dx: float, dy: float) -> None:
    """Moving an inner vertex less than half a cell keeps a tiling of the same outline."""
    cells = board()
    v = (X0 + i * STEP, Y0 + j * STEP)
    to = (v[0] + dx * STEP, v[1] + dy * STEP)
    try:
        changed = topoedit.move_vertices(cells, {v: to})
    except topoedit.TopologyEditError:
        return  # refused as invalid: nothing changed
    assert_tiles(cells, {**cells, **changed})


@settings(max_examples=40, deadline=None)
@given(
    pair=st.sampled_from([("c00", "c10"), ("c10", "c11"), ("c11", "c21"), ("c21", "w")]),
    dx_m=st.floats(-300, 300),
    dy_m=st.floats(-300, 300),
)
def test_any_edge_move_keeps_the_tiling(pair: tuple[str, str], dx_m: float, dy_m: float) -> None:
    cells = board()
    verts = topoedit.shared_vertices(cells[pair[0]], cells[pair[1]])
    try:
        changed = topoedit.move_vertices(cells, topoedit.offset_moves(verts, dx_m, dy_m))
    except topoedit.TopologyEditError:
        return
    assert_tiles(cells, {**cells, **changed}, same_outline=False)


@pytest.fixture(scope="module")
def town_units(demo_grids):  # type: ignore[no-untyped-def]
    """The unit grids of one demo town (code -> polygon) and its edge-sharing pairs."""
    units = demo_grids[(demo_grids.level == 3) & demo_grids.code.str.startswith("320281104")]
    geoms = dict(zip(units.code, units.geometry.values, strict=True))
    codes = sorted(geoms)
    pairs = [
        (a, b)
        for i, a in enumerate(codes)
        for b in codes[i + 1 :]
        if topoedit.shares_edge(geoms[a], geoms[b])
    ]
    return geoms, pairs


@settings(max_examples=25, deadline=None)
@given(data=st.data())
def test_demo_town_still_tiles_after_edge_moves(town_units, data) -> None:  # type: ignore[no-untyped-def]
    """Random shared-edge moves of up to 60 m in a demo town: every move is either refused or
    leaves the town's unit grids a tiling of an outline of the same polygon count."""
    geoms, pairs = town_units
    current = dict(geoms)
    for _ in range(3):
        a, b = data.draw(st.sampled_from(pairs))
        if not topoedit.shares_edge(current[a], current[b]):
            continue
        dx, dy = data.draw(st.floats(-60, 60)), data.draw(st.floats(-60, 60))
        verts = topoedit.shared_vertices(current[a], current[b])
        try:
            changed = topoedit.move_vertices(current, topoedit.offset_moves(verts, dx, dy))
        except topoedit.TopologyEditError:
            continue
        current.update(changed)
    arr = np.array(list(current.values()), dtype=object)
    assert all(g.is_valid for g in arr)
    total = shapely.union_all(arr)
    # no overlap: the parts' areas add up to their union (relative 1e-9)
    assert abs(sum(g.area for g in arr) - total.area) <= 1e-9 * total.area
    # no gap: the union has no hole that was not there before
    holes = lambda g: sum(len(p.interiors) for p in shapely.get_parts(g))  # noqa: E731
    assert holes(total) <= holes(shapely.union_all(list(geoms.values())))
