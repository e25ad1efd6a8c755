"""``flag_next_fixes`` (many one-fix tracks at once) equals ``flag_fixes`` of each fix alone."""

from __future__ import annotations

import numpy as np

from gis.tracks import FlagLimits, flag_fixes, flag_next_fixes


def test_each_fix_flagged_as_alone_with_its_previous() -> None:
    rng = np.random.default_rng(3)
    n = 4000
    now = 1.8e9
    t = now - rng.choice([0.0, 60.0, 3600.0, 8 * 86400.0, -600.0], n) - rng.uniform(0, 30, n)
    x = rng.uniform(0, 2000, n)
    y = rng.uniform(0, 2000, n)
    acc = np.where(rng.random(n) < 0.2, np.nan, rng.uniform(1, 200, n))
    inside = rng.random(n) < 0.9
    valid = rng.random(n) < 0.9
    has_prev = rng.random(n) < 0.8
    pt = np.where(has_prev, t - rng.choice([0.0, 0.5, 5.0, 100.0], n), np.nan)
    same = rng.random(n) < 0.1  # the very same coordinates again
    px = np.where(same, x, x + rng.choice([0.0, 50.0, 300.0, 5000.0], n))
    py = np.where(same, y, y)
    limits = FlagLimits()
    got = flag_next_fixes(
        t, x, y, acc, now, inside_city=inside, client_valid=valid,
        previous_t_s=pt, previous_x_m=px, previous_y_m=py, limits=limits,
    )  # fmt: skip
    for i in range(n):
        one = flag_fixes(
            t[i : i + 1], x[i : i + 1], y[i : i + 1], acc[i : i + 1], now,
            inside_city=inside[i : i + 1], client_valid=valid[i : i + 1],
            previous=(float(pt[i]), float(px[i]), float(py[i])) if has_prev[i] else None,
            limits=limits,
        )  # fmt: skip
        assert int(got[i]) == int(one[0]), i
    assert len(set(got.tolist())) > 8  # the cases above reach many flag combinations
