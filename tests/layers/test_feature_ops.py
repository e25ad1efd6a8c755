"""A replacement outline read as vertex moves (layers/planning/feature_ops.py): any start,
either direction, rounding noise ignored; added or removed vertices are not moves; the gap and
overlap a replacement would open are measured in m²."""

from __future__ import annotations

import shapely
from shapely.geometry import Polygon

from layers.planning.edits import GridRow
from layers.planning.feature_ops import replacement_problems, vertex_moves

SQUARE = Polygon([(120.0, 31.0), (120.001, 31.0), (120.001, 31.001), (120.0, 31.001)])


def test_a_moved_vertex_from_any_start_and_direction() -> None:
    coords = list(SQUARE.exterior.coords)[:-1]
    moved = list(coords)
    moved[2] = (120.0012, 31.0011)
    for ring in (moved, moved[2:] + moved[:2], list(reversed(moved))):
        assert vertex_moves(SQUARE, Polygon(ring)) == {coords[2]: (120.0012, 31.0011)}


def test_rounding_noise_is_no_move_and_other_shapes_are_none() -> None:
    noisy = Polygon([(x + 4e-8, y - 4e-8) for x, y in list(SQUARE.exterior.coords)[:-1]])
    assert vertex_moves(SQUARE, noisy) == {}
    more = Polygon([*list(SQUARE.exterior.coords)[:-1], (119.9995, 31.0005)])
    assert vertex_moves(SQUARE, more) is None
    assert vertex_moves(SQUARE, shapely.MultiPolygon([SQUARE])) == {}


def test_replacement_problems_measure_gap_and_overlap() -> None:
    row = GridRow("a", 3, "p", "a", SQUARE)
    right = GridRow("b", 3, "p", "b", shapely.affinity.translate(SQUARE, xoff=0.001))
    smaller = shapely.affinity.scale(SQUARE, 0.5, 1.0, origin=(120.0, 31.0))
    (gap,) = replacement_problems(row=row, new=smaller, neighbours={"b": right}, metric_srid=4549)
    assert gap["kind"] == "gap" and 4000 < gap["area_m2"] < 6000  # half of ~95 m x 111 m
    wider = shapely.affinity.scale(SQUARE, 1.5, 1.0, origin=(120.0, 31.0))
    (overlap,) = replacement_problems(row=row, new=wider, neighbours={"b": right}, metric_srid=4549)
    assert overlap["kind"] == "overlap" and overlap["codes"] == ["a", "b"]
