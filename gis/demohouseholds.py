"""Synthetic households (一户一档) for the demo city, reproducible by seed.

Every unit grid gets a share of the households drawn around a common mean (log-normal spread);
since the urban unit grids are far smaller, households come out many times denser in the towns
and the urban core than in the countryside, as in the real city. Points are uniform inside
their grid, in (lon, lat) EPSG:4490 degrees.
"""

from __future__ import annotations

from datetime import date, timedelta

import numpy as np
import pandas as pd
from numpy.typing import NDArray

from gis import demopeople
from gis.scatter import points_in_polygons

RELATIONS = ("配偶", "子", "女", "父亲", "母亲", "孙子", "孙女")
FLAG_RATES = {
    "low_income": 0.02,
    "extreme_poverty": 0.004,
    "disability": 0.03,
    "elderly_alone": 0.045,
}


def household_counts(n_grids: int, total: int, rng: np.random.Generator) -> NDArray[np.int64]:
    """``total`` households over ``n_grids`` grids, log-normal around the mean, summing exactly."""
    weights = rng.lognormal(0.0, 0.45, n_grids)
    raw = weights / weights.sum() * total
    counts = np.floor(raw).astype(np.int64)
    rest = total - int(counts.sum())
    counts[np.argsort(raw - counts)[::-1][:rest]] += 1
    return counts


def synthesize_households(
    polygons: NDArray[np.object_],
    area_names: list[str],
    total: int,
    seed: int,
    today: date = date(2026, 6, 30),
) -> pd.DataFrame:
    """A frame of ``total`` households: lon, lat, owner (index into ``polygons``), code,
    address, head_name, head_id_number, phone, members_count, members, the flags, last_visit."""
    rng = np.random.default_rng(seed)
    counts = household_counts(len(polygons), total, rng)
    lon, lat, owner = points_in_polygons(polygons, counts, rng)
    n = len(lon)
    size = rng.choice([1, 2, 3, 4, 5, 6], n, p=[0.16, 0.3, 0.27, 0.17, 0.07, 0.03])
    heads = demopeople.names(n, rng)
    extra = demopeople.names(int((size - 1).sum()), rng)
    relations = rng.integers(0, len(RELATIONS), len(extra)).tolist()
    years = rng.integers(1935, 2024, len(extra)).tolist()
    members: list[list[dict[str, object]]] = []
    k = 0
    for s in size.tolist():
        members.append(
            [
                {"name": extra[j], "relation": RELATIONS[relations[j]], "birth_year": years[j]}
                for j in range(k, k + s - 1)
            ]
        )
        k += s - 1
    starts = np.concatenate([[0], np.cumsum(counts)[:-1]])
    seq = np.arange(n) - np.repeat(starts, counts) + 1
    frame = pd.DataFrame({"lon": lon, "lat": lat, "owner": owner})
    frame["code"] = [f"H{o:05d}{s:05d}" for o, s in zip(owner.tolist(), seq.tolist(), strict=True)]
    frame["address"] = [
        f"{area_names[o]}{s}号" for o, s in zip(owner.tolist(), seq.tolist(), strict=True)
    ]
    frame["head_name"] = heads
    frame["head_id_number"] = demopeople.id_numbers(n, rng)
    frame["phone"] = demopeople.mobiles(n, rng)
    frame["members_count"] = size
    frame["members"] = members
    for flag, rate in FLAG_RATES.items():
        frame[flag] = rng.random(n) < rate
    visited = rng.random(n) < 0.7
    days = rng.integers(0, 180, n)
    frame["last_visit"] = [
        today - timedelta(days=int(d)) if v else None for d, v in zip(days, visited, strict=True)
    ]
    return frame
