"""Patrol daily statistics read by binary COPY: the own-grid rule on integer codes equals the
prefix rule on the code strings (an L1/L2 assignment covers its descendants)."""

from __future__ import annotations

import numpy as np
from hypothesis import given
from hypothesis import strategies as st

from layers.tracks import _own_mask, _runs

L3 = st.text("0123", min_size=15, max_size=15).map(lambda s: "3" + s[1:])


@given(
    codes=st.lists(st.one_of(L3, st.just("")), min_size=1, max_size=40),
    own=st.lists(L3.flatmap(lambda c: st.sampled_from([c[:9], c[:12], c])), max_size=4),
)
def test_own_mask_equals_prefix_rule(codes: list[str], own: list[str]) -> None:
    as_int = np.array([int(c) if c else -1 for c in codes], dtype=np.int64)
    expected = [bool(c) and c.startswith(tuple(own)) for c in codes]
    assert _own_mask(as_int, tuple(own)).tolist() == expected


def test_runs_of_sorted_device_ids() -> None:
    assert _runs(np.array([3, 3, 5, 9, 9, 9])) == [(3, 0, 2), (5, 2, 3), (9, 3, 6)]
    assert _runs(np.array([], dtype=np.int64)) == []
