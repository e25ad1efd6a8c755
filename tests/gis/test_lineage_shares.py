"""Lineage relations by overlap shares (issue 10): a sliver under 5 % of both grids is no
link (the grids only touch), a recode (same outline, new code) is ``recoded_from``, a real
split or merge keeps its kind however small one side is. Areas in m²."""

from __future__ import annotations

from gis.lineage import MIN_SHARE, Overlap, ShapeTolerance, is_link, link_kinds


def kinds(links: list[Overlap]) -> dict[tuple[str, str], str]:
    return {(o.old_code, o.new_code): k for o, k in link_kinds(links)}


def test_a_three_percent_sliver_is_no_link() -> None:
    # B (1000 m², 2 km boundary) passed a 30 m² strip to A2 when an edge moved: 3 % of B,
    # 2.9 % of A2 -- the reported "merged_into" of a 3 % sliver
    sliver = Overlap("B", "A2", 30, 1000, 1030, 2000)
    assert MIN_SHARE == 0.05
    assert not is_link(sliver, ShapeTolerance())
    # the same 30 m² is a link when it is most of a small new grid (a carved-out part)
    assert is_link(Overlap("B", "S", 30, 1000, 35, 2000), ShapeTolerance())
    # and a tiny grid merged into a big one is 100 % of the tiny one: a link
    assert is_link(Overlap("T", "M", 30, 30, 5000, 200), ShapeTolerance())


def test_a_recode_is_recoded_from_and_a_reshaped_recode_moved_from() -> None:
    same = Overlap("A", "A2", 9_999.9, 10_000, 10_000, 400)  # rounding only
    assert kinds([same]) == {("A", "A2"): "recoded_from"}
    reshaped = Overlap("A", "A2", 9_500, 10_000, 9_900, 400)  # recode + moved edge
    assert kinds([reshaped]) == {("A", "A2"): "moved_from"}


def test_split_and_merge_keep_their_kind() -> None:
    carved = [Overlap("S", "S1", 900, 1000, 900), Overlap("S", "S2", 100, 1000, 100)]
    assert set(kinds(carved).values()) == {"split_from"}
    merge = [Overlap("A", "M", 970, 970, 1000), Overlap("B", "M", 30, 30, 1000)]
    assert set(kinds(merge).values()) == {"merged_into"}
