"""Patrol coverage (gis.coverage): hand-made tracks with known answers and invariants.

Proves: a track along one edge covers exactly the strip it sweeps (buffer method) and exactly
the cells a brute-force point-to-segment distance finds (H3 method); a loop covers the ring
around it; nothing is drawn across a silence longer than the threshold; a stationary phone
with jitter covers about one disk and stays in its grid for the whole time; metres and minutes
inside are split at grid edges. Properties: no tracks -> 0; adding a track never lowers
coverage; never above 100 %; fix order and chunking do not change any figure.
"""

from __future__ import annotations

import math

import numpy as np
import pytest
import shapely
from hypothesis import given, settings
from hypothesis import strategies as st

from gis.coverage import (
    CoverageAccumulator,
    CoverageGrids,
    CoverageParams,
    blind_spots_geojson,
    compute_coverage,
)
from gis.crs import from_metric, to_metric

X0, Y0 = (float(v[0]) for v in to_metric(np.array([120.285]), np.array([31.92])))
SIDE_M = 400.0
RES = 11


def square(x: float, y: float, side: float) -> shapely.Polygon:
    lon, lat = from_metric(
        np.array([x, x + side, x + side, x]), np.array([y, y, y + side, y + side])
    )
    return shapely.Polygon(np.column_stack((lon, lat)))


A, B = "320281001001001", "320281001001002"  # two unit grids side by side
PARAMS = CoverageParams(resolution=RES, distance_m=30.0, max_gap_s=300.0, pixel_m=1.0)
GRIDS = CoverageGrids.from_polygons(
    [A, B], [square(X0, Y0, SIDE_M), square(X0 + SIDE_M, Y0, SIDE_M)], params=PARAMS
)


def run(xs, ys, t, device=None, valid=None, grids=GRIDS, params=PARAMS):
    xs, ys, t = (np.asarray(v, dtype=float) for v in (xs, ys, t))
    lon, lat = from_metric(xs, ys)
    device = np.zeros(len(t), dtype=int) if device is None else np.asarray(device)
    valid = np.ones(len(t), dtype=bool) if valid is None else np.asarray(valid)
    return compute_coverage(grids, params, device, t, lon, lat, valid)


def by_code(result):
    return {g.code: g for g in result.grids}


def brute_force_covered(starts: np.ndarray, ends: np.ndarray, distance_m: float) -> np.ndarray:
    """Cells whose centre is within distance of any segment, by the textbook formula."""
    p = GRIDS.centres_m[:, None, :]
    a, b = starts[None, :, :], ends[None, :, :]
    ab = b - a
    denom = (ab**2).sum(-1)
    u = np.clip(((p - a) * ab).sum(-1) / np.where(denom > 0, denom, 1), 0, 1)
    d = np.hypot(*(p - (a + u[..., None] * ab)).transpose(2, 0, 1))
    return (d <= distance_m).any(axis=1)


def test_track_along_one_edge() -> None:
    # walks 10 m inside the south edge of A from 100 m west of it to 100 m into B, 1.5 m/s
    xs = np.arange(X0 - 100, X0 + SIDE_M + 100.01, 7.5)
    ys = np.full_like(xs, Y0 + 10)
    t = np.arange(len(xs)) * 5.0
    r = run(xs, ys, t)
    a = by_code(r)[A]
    # the strip from the edge to 30 m beyond the track: 400 m x 40 m of 400 m x 400 m
    assert a.buffer_share == pytest.approx(0.1, abs=1e-9)
    # H3: exactly the cells a brute-force distance computation finds
    x, y = to_metric(*from_metric(xs, ys))
    pts = np.column_stack((x, y))
    expected = brute_force_covered(pts[:-1], pts[1:], 30.0)
    assert np.array_equal(r.covered, expected)
    assert a.covered_cells == int(expected[GRIDS.cell_grid == 0].sum()) > 0
    assert 0.03 < a.h3_share < 0.2  # the strip is 10 % of the area
    visit = next(v for v in r.visits if v.code == A)
    assert visit.metres == pytest.approx(SIDE_M, abs=1e-6)
    assert visit.minutes == pytest.approx(SIDE_M / 1.5 / 60, rel=1e-6)
    b = next(v for v in r.visits if v.code == B)
    assert b.metres == pytest.approx(100.0, abs=1e-6)


def test_loop_covers_the_ring_around_it() -> None:
    # a 200 m square loop centred in A, walked once at 2 m/s
    c = [(X0 + 100, Y0 + 100), (X0 + 300, Y0 + 100), (X0 + 300, Y0 + 300), (X0 + 100, Y0 + 300)]
    pts = [np.linspace(c[i], c[(i + 1) % 4], 21)[:-1] for i in range(4)]
    xy = np.vstack([*pts, np.array([c[0]])])
    r = run(xy[:, 0], xy[:, 1], np.arange(len(xy)) * 5.0)
    # outer rounded square minus the inner square
    ring = 260**2 - (4 - math.pi) * 30**2 - 140**2
    assert by_code(r)[A].covered_area_m2 == pytest.approx(ring, rel=2e-3)
    assert by_code(r)[B].buffer_share == 0.0
    assert by_code(r)[B].h3_share == 0.0
    visit = r.visits[0]
    assert len(r.visits) == 1 and visit.metres == pytest.approx(800.0, abs=1e-6)


def test_nothing_is_drawn_across_a_long_gap() -> None:
    xs = [X0 + 50, X0 + 350]
    ys = [Y0 + 200, Y0 + 200]
    joined = by_code(run(xs, ys, [0.0, 200.0]))[A]
    split = by_code(run(xs, ys, [0.0, 600.0]))[A]
    # two isolated fixes: two disks of 30 m (polygonal, within 0.2 %)
    assert split.covered_area_m2 == pytest.approx(2 * math.pi * 900, rel=2e-3)
    assert joined.covered_area_m2 == pytest.approx(300 * 60 + math.pi * 900, rel=2e-3)
    assert split.covered_cells < joined.covered_cells
    r = run(xs, ys, [0.0, 600.0])
    assert r.devices[0].silences == [(0.0, 600.0)] and r.devices[0].tracked_s == 0.0


def test_stationary_phone_with_jitter() -> None:
    rng = np.random.default_rng(7)
    n = 721  # one hour at 5 s
    xs = X0 + 200 + rng.uniform(-3, 3, n)
    ys = Y0 + 200 + rng.uniform(-3, 3, n)
    r = run(xs, ys, np.arange(n) * 5.0)
    a = by_code(r)[A]
    assert math.pi * 30**2 * 0.998 <= a.covered_area_m2 <= math.pi * (30 + 3 * math.sqrt(2)) ** 2
    assert r.visits[0].minutes == pytest.approx(60.0)
    # cells within 30 m of the (≤ 4.3 m from centre) jitter: all within 34.3 m, some within 30
    d = np.hypot(GRIDS.centres_m[:, 0] - X0 - 200, GRIDS.centres_m[:, 1] - Y0 - 200)
    assert (d[r.covered] <= 30 + 3 * math.sqrt(2)).all()
    assert r.covered[d <= 30 - 3 * math.sqrt(2)].all()


def test_invalid_fixes_are_ignored_and_blind_spots_are_the_rest() -> None:
    xs = np.arange(X0, X0 + 400, 7.5)
    ys = np.full_like(xs, Y0 + 200)
    r = run(xs, ys, np.arange(len(xs)) * 5.0, valid=np.zeros(len(xs), dtype=bool))
    assert by_code(r)[A].covered_cells == 0 and not r.visits
    blind = r.blind_cells(A)
    assert len(blind) == by_code(r)[A].cells
    geo = blind_spots_geojson(blind[:3])
    assert len(geo["features"]) == 3 and geo["features"][0]["geometry"]["type"] == "Polygon"
    with pytest.raises(KeyError):
        r.blind_cells("nope")


def test_cells_partition_the_grids() -> None:
    assert len(np.unique(GRIDS.cells)) == len(GRIDS.cells)
    # 160,000 m² over the local cell area (res 11 cells are about 1,650 m² here)
    from gis.hexgrid import cell_polygon

    cell = shapely.transform(
        cell_polygon(int(GRIDS.cells[0])), lambda c: np.column_stack(to_metric(c[:, 0], c[:, 1]))
    )
    expected = SIDE_M**2 / cell.area
    assert all(abs(n - expected) <= 0.1 * expected for n in GRIDS.cell_counts())


def test_bad_parameters_say_how_to_fix_them() -> None:
    with pytest.raises(ValueError, match="resolution"):
        CoverageParams(resolution=15)
    with pytest.raises(ValueError, match="distance_m"):
        CoverageParams(distance_m=0)
    with pytest.raises(ValueError, match="two chunks"):
        acc = CoverageAccumulator(GRIDS, PARAMS)
        acc.add([1], [0.0], [120.285], [31.92], [True])
        acc.add([1], [5.0], [120.285], [31.92], [True])


# --- properties -----------------------------------------------------------------------------

fix = st.tuples(
    st.integers(0, 2),  # device
    st.floats(0, 1800),  # time
    st.floats(-50, 2 * SIDE_M + 50),  # x offset
    st.floats(-50, SIDE_M + 50),  # y offset
    st.booleans(),  # valid
)
fixes = st.lists(fix, max_size=40)


def run_fixes(rows, chunks=1):
    acc = CoverageAccumulator(GRIDS, PARAMS)
    if not rows:
        return acc.result()
    d, t, x, y, v = (np.array(c) for c in zip(*rows, strict=True))
    lon, lat = from_metric(X0 + x.astype(float), Y0 + y.astype(float))
    devices = np.unique(d)
    for part in np.array_split(devices, chunks):
        sel = np.isin(d, part)
        acc.add(d[sel], t[sel], lon[sel], lat[sel], v[sel])
    return acc.result()


def figures(result):
    return [(g.covered_cells, g.covered_area_m2) for g in result.grids]


def test_no_tracks_no_coverage() -> None:
    r = run_fixes([])
    assert all(g.covered_cells == 0 and g.buffer_share == 0 for g in r.grids)


@settings(max_examples=40, deadline=None)
@given(fixes, st.randoms(use_true_random=False))
def test_order_and_chunking_do_not_matter(rows, rnd) -> None:
    shuffled = list(rows)
    rnd.shuffle(shuffled)
    a, b, c = run_fixes(rows), run_fixes(shuffled), run_fixes(shuffled, chunks=2)
    assert figures(a) == figures(b) == figures(c)
    assert a.visits == b.visits == c.visits


@settings(max_examples=40, deadline=None)
@given(fixes, fixes)
def test_adding_a_track_never_lowers_coverage_nor_exceeds_all(base, extra) -> None:
    more = base + [(3 + d, t, x, y, v) for d, t, x, y, v in extra]  # new devices
    before, after = run_fixes(base), run_fixes(more)
    for g0, g1 in zip(before.grids, after.grids, strict=True):
        assert g1.covered_cells >= g0.covered_cells
        assert g1.covered_area_m2 >= g0.covered_area_m2 - 1e-6
        assert 0 <= g1.buffer_share <= 1 and 0 <= (g1.h3_share or 0) <= 1
        assert g1.covered_cells <= g1.cells


# --- the raster, the edge cuts and combining work -------------------------------------------


def exact_buffer_share(xs, ys, code_index: int) -> float:
    """The buffer method by polygons (GEOS, 64 segments per quarter circle)."""
    x, y = to_metric(*from_metric(np.asarray(xs, float), np.asarray(ys, float)))
    track = shapely.buffer(shapely.linestrings(np.column_stack((x, y))), 30.0, quad_segs=64)
    grid = GRIDS.polygons_m[code_index]
    return float(shapely.area(shapely.intersection(grid, track)) / shapely.area(grid))


def test_five_metre_pixels_stay_within_one_percent_of_the_polygon_buffer() -> None:
    rng = np.random.default_rng(11)
    coarse = CoverageParams(resolution=RES, distance_m=30.0, max_gap_s=300.0, pixel_m=5.0)
    grids5 = CoverageGrids.from_polygons(
        [A, B], [square(X0, Y0, SIDE_M), square(X0 + SIDE_M, Y0, SIDE_M)], params=coarse
    )
    for _ in range(5):  # random walks with GPS noise, 20 minutes at 5 s
        steps = rng.normal(0, 6, (240, 2)).cumsum(axis=0)
        xs, ys = X0 + 200 + steps[:, 0], Y0 + 200 + steps[:, 1]
        t = np.arange(240) * 5.0
        for grids, params in ((GRIDS, PARAMS), (grids5, coarse)):
            share = by_code(run(xs, ys, t, grids=grids, params=params))[A].buffer_share
            assert share == pytest.approx(exact_buffer_share(xs, ys, 0), abs=0.01)


def test_a_segment_is_cut_where_it_crosses_another_grid() -> None:
    # grid C is a U around D's notch: a segment from one arm of the U to the other, both ends
    # in C, crosses D for 100 m
    C, D = "320281001002001", "320281001002002"
    u_shape = shapely.Polygon(
        [(0, 0), (300, 0), (300, 300), (200, 300), (200, 100), (100, 100), (100, 300), (0, 300)]
    )
    notch = shapely.box(100, 100, 200, 300)

    def to_lonlat(poly: shapely.Polygon) -> shapely.Polygon:
        return shapely.transform(
            shapely.affinity.translate(poly, X0, Y0),
            lambda c: np.column_stack(from_metric(c[:, 0], c[:, 1])),
        )

    grids = CoverageGrids.from_polygons([C, D], [to_lonlat(u_shape), to_lonlat(notch)],
                                        params=PARAMS)  # fmt: skip
    r = run([X0 + 50, X0 + 250], [Y0 + 200, Y0 + 200], [0.0, 200.0], grids=grids)
    visits = {v.code: v for v in r.visits}
    assert visits[D].metres == pytest.approx(100.0, abs=1e-6)
    assert visits[C].metres == pytest.approx(100.0, abs=1e-6)
    assert visits[D].minutes == pytest.approx(200.0 / 2 / 60, rel=1e-9)


def test_accumulators_of_disjoint_devices_merge_into_the_same_result() -> None:
    rng = np.random.default_rng(5)
    n = 300
    d = np.repeat([1, 2, 3], n)
    steps = rng.normal(0, 8, (3 * n, 2)).cumsum(axis=0)
    lon, lat = from_metric(X0 + 300 + steps[:, 0], Y0 + 200 + steps[:, 1] * 0.3)
    t = np.tile(np.arange(n) * 5.0, 3)
    v = rng.random(3 * n) > 0.05
    whole = compute_coverage(GRIDS, PARAMS, d, t, lon, lat, v)
    left, right = CoverageAccumulator(GRIDS, PARAMS), CoverageAccumulator(GRIDS, PARAMS)
    left.add(d[d == 1], t[d == 1], lon[d == 1], lat[d == 1], v[d == 1])
    right.add(d[d > 1], t[d > 1], lon[d > 1], lat[d > 1], v[d > 1])
    left.merge_state(right.state())
    merged = left.result()
    assert figures(merged) == figures(whole) and merged.visits == whole.visits
    assert np.array_equal(merged.covered, whole.covered)
    with pytest.raises(ValueError, match="both"):
        left.merge(left)


def test_painted_pixels_are_exactly_those_within_reach() -> None:
    """The capsule painter against a brute-force distance test of every pixel centre (walks,
    stops, repeated points and jumps)."""
    from gis.coverage_kernels import paint_capsules

    rng = np.random.default_rng(3)
    pts = np.cumsum(rng.normal(0, 6, (300, 2)), axis=0) + 200
    pts[100:140] = pts[100] + rng.normal(0, 1.5, (40, 2))  # a stop with jitter
    pts[200] = pts[199]  # a repeated fix
    pts[250:] += 120  # a jump
    a, b = pts[:-1], pts[1:]
    p, d = 2.0, 15.0
    bitmap = np.zeros((220, 220), dtype=np.uint8)
    paint_capsules(a[:, 0].copy(), a[:, 1].copy(), b[:, 0].copy(), b[:, 1].copy(), d, 0.0, 0.0,
                   p, bitmap)  # fmt: skip
    cy, cx = (np.mgrid[0:220, 0:220] + 0.5) * p
    centres = np.column_stack((cx.ravel(), cy.ravel()))
    best = np.full(len(centres), np.inf)
    for s0, s1 in zip(a, b, strict=True):
        v = s1 - s0
        u = np.clip(((centres - s0) @ v) / max(v @ v, 1e-300), 0, 1)
        best = np.minimum(best, np.hypot(*(centres - s0 - u[:, None] * v).T))
    clear = np.abs(best - d) > 1e-9  # leave out centres exactly at the reach (rounding)
    assert np.array_equal(bitmap.ravel().astype(bool)[clear], (best <= d)[clear])
    assert bitmap.sum() > 1000
