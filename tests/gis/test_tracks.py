"""Pure track algorithms: flags, gap splitting, stops, mileage, moving time, simplification."""

from __future__ import annotations

import itertools

import numpy as np
from hypothesis import given
from hypothesis import strategies as st

from gis.tracks import (
    FixFlag,
    GapSplitter,
    StopDetector,
    flag_fixes,
    flag_names,
    simplify_indices,
    summarize_track,
)


def _flags(t, x, y, acc=None, prev=None, received=None):  # type: ignore[no-untyped-def]
    n = len(t)
    return flag_fixes(
        np.asarray(t, float), np.asarray(x, float), np.asarray(y, float),
        np.asarray(acc if acc is not None else [5.0] * n, float),
        received if received is not None else float(t[-1]),
        inside_city=np.ones(n, bool), client_valid=np.ones(n, bool), previous=prev,
    )  # fmt: skip


def test_jump_is_flagged_and_the_fix_after_it_is_not() -> None:
    # walking east 5 m every 5 s, one wild fix 5 km away
    flags = _flags([0, 5, 10, 15], [0, 5, 5000, 15], [0, 0, 0, 0])
    assert [bool(f & FixFlag.IMPOSSIBLE_JUMP) for f in flags] == [False, False, True, False]


def test_jump_against_the_previous_stored_fix() -> None:
    flags = _flags([100], [3000], [0], prev=(90.0, 0.0, 0.0))
    assert flags[0] & FixFlag.IMPOSSIBLE_JUMP


def test_accuracy_time_and_repeat_flags() -> None:
    flags = _flags([0, 5, 10_000], [0, 0, 1], [0, 0, 0], acc=[5, 500, 5], received=0.0)
    assert flag_names(int(flags[1])) == ["poor_accuracy", "repeated_position"]
    assert flags[2] & FixFlag.FUTURE_TIME
    far = _flags([0], [0], [0], received=30 * 86400.0)
    assert far[0] & FixFlag.FAR_PAST_TIME


def test_split_at_gaps_and_silences() -> None:
    t = np.array([0, 5, 10, 1000, 1005, 5000], float)
    splitter = GapSplitter(max_gap_s=300)
    assert splitter.split(t) == [(0, 3), (3, 5), (5, 6)]
    assert splitter.silences(t) == [(10.0, 990.0), (1005.0, 3995.0)]


def test_stop_detection_mileage_and_moving_time() -> None:
    # 100 s walking east at 1 m/s, 10 min standing (GPS noise 3 m), 100 s walking on
    rng = np.random.default_rng(1)
    walk1 = np.arange(0, 100, 5.0)
    stay = np.arange(100, 700, 5.0)
    walk2 = np.arange(700, 800, 5.0)
    t = np.concatenate([walk1, stay, walk2])
    x = np.concatenate([walk1, 100 + rng.normal(0, 3, len(stay)), 100 + (walk2 - 700)])
    y = np.concatenate([np.zeros(len(walk1)), rng.normal(0, 3, len(stay)), np.zeros(len(walk2))])
    summary = summarize_track(t, x, y, detector=StopDetector(max_radius_m=30, min_duration_s=120))
    assert len(summary.stops) == 1
    stop = summary.stops[0]
    assert 560 <= stop.duration_s <= 700 and abs(stop.x_m - 100) < 10
    assert summary.patrol_time_s == 795
    assert summary.moving_time_s == summary.patrol_time_s - stop.duration_s
    assert 195 < summary.mileage_m < 195 + 2 * len(stay) * 5  # walked ~195 m plus the jitter


def test_mileage_ignores_the_line_across_a_gap() -> None:
    t = np.array([0, 10, 2000, 2010], float)
    x = np.array([0, 10, 5000, 5010], float)
    assert summarize_track(t, x, np.zeros(4)).mileage_m == 20


@given(st.lists(st.floats(-1000, 1000), min_size=2, max_size=60), st.floats(0.1, 50))
def test_simplify_keeps_the_ends_in_order_within_tolerance(ys, tol) -> None:  # type: ignore[no-untyped-def]
    y = np.array(ys)
    x = np.arange(len(y), dtype=float) * 10
    keep = simplify_indices(x, y, tol)
    assert keep[0] == 0 and keep[-1] == len(y) - 1 and np.all(np.diff(keep) > 0)
    # every dropped vertex is within tolerance of the kept polyline (checked segment-wise)
    for a, b in itertools.pairwise(keep):
        for i in range(a + 1, b):
            t = (x[i] - x[a]) / (x[b] - x[a])
            # vertical offset bounds the perpendicular distance from above
            perpendicular = abs(y[i] - (y[a] + t * (y[b] - y[a]))) * np.cos(
                np.arctan2(y[b] - y[a], x[b] - x[a])
            )
            assert perpendicular <= tol * (1 + 1e-9) + 1e-9
