"""The lineage rules of gis.lineage on hand-made overlaps (areas in m²)."""

from __future__ import annotations

from gis.lineage import (
    CLEAR_MAJORITY,
    Overlap,
    ShapeTolerance,
    clear_successors,
    is_link,
    link_kinds,
)


def kinds(links: list[Overlap]) -> dict[tuple[str, str], str]:
    return {(o.old_code, o.new_code): k for o, k in link_kinds(links)}


def test_recode_after_a_moved_edge_is_moved_from_not_merged() -> None:
    # A (1000) recoded to A2 after a moved edge took 50 from B; B (1000) re-parented to B2
    links = [
        Overlap("A", "A2", 998.7, 1000, 1048.7),
        Overlap("B", "A2", 50, 1000, 1048.7),
        Overlap("B", "B2", 950, 1000, 950),
    ]
    assert kinds(links) == {
        ("A", "A2"): "moved_from",
        ("B", "B2"): "moved_from",
        ("B", "A2"): "merged_into",  # the piece the moved edge gave A2
    }
    assert clear_successors(links) == {"A": "A2", "B": "B2"}


def test_split_merge_and_single_links() -> None:
    halves = [Overlap("S", "S1", 500, 1000, 500), Overlap("S", "S2", 500, 1000, 500)]
    assert set(kinds(halves).values()) == {"split_from"}
    assert clear_successors(halves) == {}  # a real split: a person decides
    uneven = [Overlap("S", "S1", 600, 1000, 600), Overlap("S", "S2", 400, 1000, 400)]
    assert set(kinds(uneven).values()) == {"split_from"}
    assert clear_successors(uneven) == {}  # 60 % is no clear majority
    carved = [Overlap("S", "S1", 800, 1000, 800), Overlap("S", "S2", 200, 1000, 200)]
    assert set(kinds(carved).values()) == {"split_from"}
    assert clear_successors(carved) == {"S": "S1"}
    merge = [Overlap("A", "M", 700, 700, 1000), Overlap("B", "M", 300, 300, 1000)]
    assert set(kinds(merge).values()) == {"merged_into"}
    assert clear_successors(merge) == {"A": "M", "B": "M"}
    assert kinds([Overlap("R", "R2", 1000, 1000, 1000)]) == {("R", "R2"): "recoded_from"}
    assert kinds([Overlap("R", "R2", 950, 1000, 1000)]) == {("R", "R2"): "moved_from"}
    assert CLEAR_MAJORITY > 0.5


def test_slivers_within_the_shape_tolerance_are_no_links() -> None:
    tol = ShapeTolerance(area_m2_per_km=5.0)
    # a 2 km boundary allows 10 m² of difference: a 9 m² overlap is a sliver, 50 m² is not
    assert not is_link(Overlap("A", "B", 9, 5_000, 5_000, 2000), tol)
    assert is_link(Overlap("A", "B", 50, 5_000, 500, 2000), tol)  # 10 % of B
    assert not is_link(Overlap("A", "B", 0.5, 10, 10, 0), tol)  # under 1 m²
    assert not is_link(Overlap("A", "B", 20, 1e6, 1e6, 0), tol)  # under 5 % of the grids
    assert is_link(Overlap("A", "B", 600, 1e4, 1e4, 2000), tol)
