"""GridLocator: exact point-in-grid with the smallest-code tie rule (gis/locate.py).

Two references: GEOS (shapely ``covers``) and a scalar port of PostGIS's winding-number test
(``postgis_covers``). They agree except within ~1e-16 degrees of an edge, where the locator must
follow PostGIS; tests/gis/test_locate_postgis.py checks the port against a real PostGIS.
"""

from __future__ import annotations

from functools import lru_cache
from itertools import pairwise

import geopandas as gpd
import numpy as np
import pytest
import shapely
from hypothesis import given, settings
from hypothesis import strategies as st

from gis.locate import GridLocator

BOX = (120.20, 31.80, 120.26, 31.84)  # Voronoi block; hand-made squares sit east of it
S = 0.005  # side of the hand-made squares (deg)


def _sq(i: float, j: float, w: float = 1, h: float = 1) -> shapely.Polygon:
    x, y = 120.27 + i * S, 31.80 + j * S
    return shapely.box(x, y, x + w * S, y + h * S)


def handmade() -> list[shapely.Geometry]:
    """Axis-aligned neighbours, a polygon with a hole and its filler, a two-part grid."""
    a, b, c = _sq(0, 0), _sq(1, 0), _sq(2, 0)
    holed = shapely.Polygon(_sq(3, 0, 2, 2).exterior, [_sq(3.5, 0.5).exterior])
    filler = _sq(3.5, 0.5)
    two_parts = shapely.MultiPolygon([_sq(0, 1), _sq(2, 1)])
    between = _sq(1, 1)
    return [a, b, c, holed, filler, two_parts, between]


def voronoi(n: int, seed: int) -> list[shapely.Geometry]:
    """Voronoi cells clipped to BOX, noded once so that neighbours share identical vertices."""
    rng = np.random.default_rng(seed)
    box = shapely.box(*BOX)
    seeds = rng.uniform(BOX[:2], BOX[2:], size=(n, 2))
    cells = shapely.get_parts(shapely.voronoi_polygons(shapely.multipoints(seeds), extend_to=box))
    noded = shapely.union_all([*shapely.boundary(cells), box.boundary])
    faces = shapely.get_parts(shapely.polygonize(shapely.get_parts(noded)))
    return list(faces[shapely.contains(box, shapely.point_on_surface(faces))])


def codes_for(n: int, seed: int) -> list[str]:
    """Distinct valid 15-digit L3 codes in random order (so index order != position order)."""
    rng = np.random.default_rng(seed)
    pool = [
        f"320281{t}{v}{s:03d}"
        for t in ("001", "104", "400")
        for v in ("003", "201")
        for s in range(1, 40)
    ]
    return list(rng.choice(pool, size=n, replace=False))


@lru_cache(maxsize=8)
def city(seed: int = 0, n: int = 40) -> gpd.GeoDataFrame:
    geoms = voronoi(n, seed) + handmade()
    return gpd.GeoDataFrame(
        {"code": codes_for(len(geoms), seed), "level": 3, "geometry": geoms},
        geometry="geometry",
        crs="EPSG:4490",
    )


@lru_cache(maxsize=8)
def locator(seed: int = 0, cell_size_deg: float | None = None) -> GridLocator:
    return GridLocator.from_frame(city(seed), cell_size_deg=cell_size_deg)


def shapely_min_cover(loc: GridLocator, x: np.ndarray, y: np.ndarray) -> np.ndarray:
    """Brute force with GEOS: smallest index (= smallest code) among grids covering the point."""
    covers = shapely.covers(loc._geoms[:, None], shapely.points(x, y)[None, :])
    return np.where(covers.any(axis=0), covers.argmax(axis=0), -1)


def _ring_status(xy: list[list[float]], px: float, py: float) -> int:
    """Scalar port of PostGIS point_in_ring: -1 outside, 0 boundary, 1 inside."""
    wn = 0
    for (x1, y1), (x2, y2) in pairwise(xy):
        if x1 == x2 and y1 == y2:
            continue
        side = (x2 - x1) * (py - y1) - (px - x1) * (y2 - y1)
        if side == 0.0 and min(x1, x2) <= px <= max(x1, x2) and min(y1, y2) <= py <= max(y1, y2):
            return 0
        if y1 <= py < y2 and side > 0:
            wn += 1
        elif y2 <= py < y1 and side < 0:
            wn -= 1
    return 1 if wn else -1


def postgis_covers(geom: shapely.Geometry, px: float, py: float) -> bool:
    """Scalar port of PostGIS point_in_multipolygon, read as ST_Covers (result != outside)."""
    for part in shapely.get_parts(geom):
        ext = _ring_status(shapely.get_coordinates(part.exterior).tolist(), px, py)
        if ext == 0:
            return True
        if ext == -1:
            continue
        for hole in part.interiors:
            status = _ring_status(shapely.get_coordinates(hole).tolist(), px, py)
            if status == 0:
                return True
            if status == 1:
                break
        else:
            return True
    return False


def postgis_min_cover(loc: GridLocator, x: np.ndarray, y: np.ndarray) -> np.ndarray:
    bounds = shapely.bounds(loc._geoms)
    out = np.full(len(x), -1)
    for i, (px, py) in enumerate(zip(x.tolist(), y.tolist(), strict=True)):
        inbox = (bounds[:, 0] <= px) & (px <= bounds[:, 2]) & (bounds[:, 1] <= py)
        for k in np.flatnonzero(inbox & (py <= bounds[:, 3])):
            if postgis_covers(loc._geoms[k], px, py):
                out[i] = k
                break
    return out


def all_vertices(loc: GridLocator) -> np.ndarray:
    return np.unique(shapely.get_coordinates(loc._geoms), axis=0)


def edges(loc: GridLocator) -> tuple[np.ndarray, np.ndarray]:
    rings = shapely.get_rings(shapely.get_parts(loc._geoms))
    xy, ring = shapely.get_coordinates(rings, return_index=True)
    same = ring[:-1] == ring[1:]
    return xy[:-1][same], xy[1:][same]


UX, UY = 2.0**-46, 2.0**-48  # spacing of doubles for lon in [64, 128) and lat in [16, 32)


def _egcd(a: int, b: int) -> tuple[int, int, int]:
    """(g, s, t) with a*s + b*t == g == gcd(a, b) >= 0."""
    if b == 0:
        return (a, 1, 0) if a >= 0 else (-a, -1, 0)
    g, s, t = _egcd(b, a % b)
    return g, t, s - (a // b) * t


def near_edge_points(loc: GridLocator, offsets: tuple[int, ...] = (-2, -1, 0, 1, 2)) -> np.ndarray:
    """Doubles as close to each edge's line as doubles get, mid-edge.

    In units of the double spacing an edge is (X1, Y1) -> (X2, Y2), integers; the exact cross
    product of any representable point with it is a multiple of g = gcd(dX, dY), and extended
    Euclid gives a point with cross product m * g for each offset m (0: exactly on the edge,
    which exists only if g > 1). For m != 0 these points are ~1e-20 degrees off the line:
    GEOS (exact) puts them on one side, PostGIS's double arithmetic often says "on the edge".
    """
    out = []
    for (x1, y1), (x2, y2) in zip(*(e.tolist() for e in edges(loc)), strict=True):
        X1, Y1, X2, Y2 = int(x1 / UX), int(y1 / UY), int(x2 / UX), int(y2 / UY)
        assert (X1 * UX, Y1 * UY, X2 * UX, Y2 * UY) == (x1, y1, x2, y2)
        dx, dy = X2 - X1, Y2 - Y1
        g, s, t = _egcd(dx, dy)  # dx*s - dy*(-t) == g
        sx, sy = dx // g, dy // g
        for m in offsets:
            if m == 0 and g == 1:
                continue
            bx, by = -m * t, m * s
            n = round((dx / 2 - bx) / sx) if sx else round((dy / 2 - by) / sy)
            X, Y = X1 + bx + n * sx, Y1 + by + n * sy
            assert dx * (Y - Y1) - (X - X1) * dy == m * g
            out.append((X * UX, Y * UY))
    return np.array(out)


def check(loc: GridLocator, x: np.ndarray, y: np.ndarray, *, geos: bool = True) -> np.ndarray:
    got = loc.locate_index(x, y)
    np.testing.assert_array_equal(got, postgis_min_cover(loc, x, y))
    if geos:
        np.testing.assert_array_equal(got, shapely_min_cover(loc, x, y))
    return got


def test_city_is_a_clean_tiling() -> None:
    geoms = city().geometry
    assert geoms.is_valid.all()
    assert shapely.union_all(geoms.to_numpy()).area == pytest.approx(
        shapely.area(geoms.to_numpy()).sum()
    )


@settings(max_examples=40, deadline=None)
@given(
    seed=st.integers(0, 3),
    pts=st.lists(
        st.tuples(st.floats(120.195, 120.325), st.floats(31.795, 31.815)), min_size=1, max_size=60
    ),
)
def test_random_points_match_geos_and_postgis(seed: int, pts: list[tuple[float, float]]) -> None:
    x, y = np.array(pts).T
    check(locator(seed), x, y)


def test_many_random_points() -> None:
    loc = locator(1)
    rng = np.random.default_rng(7)
    x, y = rng.uniform(120.195, 120.30, 3000), rng.uniform(31.795, 31.845, 3000)
    got = check(loc, x, y)
    assert 1200 < (got >= 0).sum() < 2000


@pytest.mark.parametrize("cell_size_deg", [None, 0.0004, 0.02])
def test_every_vertex_goes_to_the_smallest_covering_code(cell_size_deg: float | None) -> None:
    loc = locator(2, cell_size_deg)
    x, y = all_vertices(loc).T
    got = check(loc, x, y)
    assert (got >= 0).all()
    # a vertex shared by several grids goes to the smallest code among them
    shared = shapely.covers(loc._geoms[:, None], shapely.points(x, y)[None, :]).sum(axis=0) > 1
    assert shared.sum() > 50


def test_edge_midpoints() -> None:
    loc = locator(3)
    a, b = edges(loc)
    mx, my = (a[:, 0] + b[:, 0]) / 2, (a[:, 1] + b[:, 1]) / 2
    got = check(loc, mx, my, geos=False)  # PostGIS arithmetic everywhere
    lines = shapely.linestrings(np.stack([a, b], axis=1))
    geos_on = shapely.intersects(lines, shapely.points(mx, my))
    side = (b[:, 0] - a[:, 0]) * (my - a[:, 1]) - (mx - a[:, 0]) * (b[:, 1] - a[:, 1])
    both_on = geos_on & (side == 0.0)
    assert both_on.sum() > 100  # axis-aligned edges and many others
    np.testing.assert_array_equal(got[both_on], shapely_min_cover(loc, mx, my)[both_on])
    assert (got[both_on] >= 0).all()


@pytest.mark.parametrize("ulps", [-2, -1, 1, 2])
def test_points_a_few_ulps_off_edges_follow_postgis(ulps: int) -> None:
    loc = locator(0)
    a, b = edges(loc)
    t = np.random.default_rng(ulps + 10).uniform(0, 1, len(a))
    x = a[:, 0] + t * (b[:, 0] - a[:, 0])
    y = a[:, 1] + t * (b[:, 1] - a[:, 1])
    for _ in range(abs(ulps)):
        x = np.nextafter(x, np.inf if ulps > 0 else -np.inf)
    check(loc, x, y, geos=False)


def test_points_a_hair_off_shared_edges_follow_postgis_not_geos() -> None:
    loc = locator(0)
    x, y = near_edge_points(loc).T
    got = check(loc, x, y, geos=False)
    geos = shapely_min_cover(loc, x, y)
    assert (got != geos).sum() > 100  # the engines really differ here; we follow PostGIS


def test_points_on_the_outer_boundary_get_the_covering_grid() -> None:
    loc = locator(0)
    x0, y0, x1, y1 = BOX
    t = np.linspace(0, 1, 101)
    check(
        loc,
        np.r_[np.full(101, x0), x0 + t * (x1 - x0)],
        np.r_[y0 + t * (y1 - y0), np.full(101, y1)],
    )
    sx0, sy0, sx1, sy1 = shapely.total_bounds(np.asarray(handmade()))
    x = np.r_[np.full(101, sx0), sx0 + t * (sx1 - sx0), np.full(101, sx1), sx0 + t * (sx1 - sx0)]
    y = np.r_[sy0 + t * (S - 0), np.full(101, sy0), sy0 + t * (sy1 - sy0), np.full(101, sy1)]
    got = check(loc, x, y)
    on_handmade = shapely.covers(shapely.union_all(handmade()), shapely.points(x, y))
    assert on_handmade.sum() > 300 and (got[on_handmade] >= 0).all()


def test_points_outside_and_nan_get_none() -> None:
    loc = locator(0)
    x = np.array([120.0, 120.5, 120.23, 120.23, np.nan, 120.23, np.inf, 120.265])
    y = np.array([31.82, 31.82, 31.70, 31.90, 31.82, np.nan, 31.82, 31.805])
    result = loc.locate(x, y)
    assert result.l3.tolist() == [None] * 8
    assert result.l2.tolist() == [None] * 8 and result.l1.tolist() == [None] * 8
    np.testing.assert_array_equal(loc.locate_index(x, y), -1)


def test_hole_filler_and_two_part_grid() -> None:
    loc, frame = locator(0), city(0)
    holed, filler, two_parts = (
        frame.geometry.iloc[-4],
        frame.geometry.iloc[-3],
        frame.geometry.iloc[-2],
    )
    holed_code, filler_code, two_code = frame["code"].iloc[-4:-1]
    inner = shapely.get_coordinates(filler.centroid)[0]
    in_ring = inner + np.array([0, 0.7 * S])  # between the hole and the outer ring
    assert holed.covers(shapely.Point(in_ring)) and not holed.covers(shapely.Point(inner))
    result = loc.locate([inner[0], in_ring[0]], [inner[1], in_ring[1]])
    assert result.l3.tolist() == [filler_code, holed_code]
    pts = shapely.get_coordinates(shapely.centroid(shapely.get_parts(two_parts)))
    assert loc.locate(pts[:, 0], pts[:, 1]).l3.tolist() == [two_code, two_code]
    corner = shapely.get_coordinates(filler.exterior)[0]  # also a vertex of the hole
    assert loc.locate([corner[0]], [corner[1]]).l3.tolist() == [min(holed_code, filler_code)]


def test_overlapping_grids_smallest_code_wins() -> None:
    big, small = _sq(0, 0, 3, 3), _sq(1, 1)
    frame = gpd.GeoDataFrame(
        {"code": ["320281104201009", "320281104201002"], "level": 3, "geometry": [big, small]},
        geometry="geometry",
        crs="EPSG:4490",
    )
    for cell in (None, 0.0001):
        loc = GridLocator.from_frame(frame, cell_size_deg=cell)
        c = shapely.get_coordinates(small.centroid)[0]
        assert loc.locate([c[0], c[0] + 1.2 * S], [c[1], c[1]]).l3.tolist() == [
            "320281104201002",
            "320281104201009",
        ]


def test_prefixes_and_codes_sorted() -> None:
    loc = locator(0)
    assert list(loc.codes) == sorted(city(0)["code"])
    assert len(loc) == len(city(0))
    rng = np.random.default_rng(3)
    r = loc.locate(rng.uniform(120.2, 120.29, 500), rng.uniform(31.8, 31.84, 500))
    for l3, l2, l1 in zip(r.l3, r.l2, r.l1, strict=True):
        assert (l2, l1) == ((l3[:12], l3[:9]) if l3 is not None else (None, None))
        assert l3 is None or len(l3) == 15


def test_shapes() -> None:
    loc = locator(0)
    empty = loc.locate(np.array([]), np.array([]))
    assert empty.l3.shape == empty.l2.shape == empty.l1.shape == (0,)
    assert loc.locate_index([], []).dtype == np.int32
    grid = loc.locate_index(np.full((2, 3), 120.23), np.full((2, 3), 31.82))
    assert grid.shape == (2, 3) and (grid >= 0).all()
    with pytest.raises(ValueError, match="same shape"):
        loc.locate([120.23, 120.24], [31.82])


def test_cell_size_does_not_change_answers() -> None:
    rng = np.random.default_rng(5)
    x, y = rng.uniform(120.195, 120.30, 4000), rng.uniform(31.795, 31.845, 4000)
    vx, vy = all_vertices(locator(0)).T
    x, y = np.r_[x, vx], np.r_[y, vy]
    answers = [locator(0, cs).locate_index(x, y) for cs in (None, 0.0001, 0.001, 0.05)]
    for other in answers[1:]:
        np.testing.assert_array_equal(answers[0], other)


def test_frame_validation() -> None:
    frame = city(0)
    with pytest.raises(ValueError, match="EPSG:4490"):
        GridLocator.from_frame(frame.to_crs(4326))
    with pytest.raises(ValueError, match="column"):
        GridLocator.from_frame(frame.drop(columns="level"))
    with pytest.raises(ValueError, match="no level-3"):
        GridLocator.from_frame(frame.assign(level=2))
    with pytest.raises(ValueError, match="15-digit"):
        GridLocator.from_frame(frame.assign(code=frame["code"].str[:12]))
    with pytest.raises(ValueError, match="unique"):
        GridLocator.from_frame(frame.assign(code=frame["code"].iloc[0]))
    with pytest.raises(ValueError, match="Polygon"):
        GridLocator.from_frame(frame.assign(geometry=shapely.centroid(frame.geometry.to_numpy())))
    with pytest.raises(ValueError, match="cell_size_deg"):
        GridLocator.from_frame(frame, cell_size_deg=0.0)
    mixed = gpd.GeoDataFrame(
        {
            "code": ["320281104", "320281104201", "320281104201001"],
            "level": [1, 2, 3],
            "geometry": [_sq(0, 0, 3, 3), _sq(0, 0, 3, 3), _sq(0, 0)],
        },
        geometry="geometry",
        crs="EPSG:4490",
    )
    loc = GridLocator.from_frame(mixed)
    assert len(loc) == 1 and loc.locate([120.2725], [31.8025]).l1.tolist() == ["320281104"]


def test_point_in_a_boundary_cell_covered_by_no_candidate() -> None:
    """Regression (found by hypothesis): a boundary-cell point that no candidate covers."""
    loc = locator(0)
    x, y = np.array([120.28125]), np.array([31.810007619247674])
    check(loc, x, y)
