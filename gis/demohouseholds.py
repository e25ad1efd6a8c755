"""Synthetic households (一户一档) for the demo city, reproducible by seed.

Every unit grid gets a share of the households drawn around a common mean (log-normal spread);
since the urban unit grids are far smaller, households come out many times denser in the towns
and the urban core than in the countryside, as in the real city. Points are uniform inside
their grid, in (lon, lat) EPSG:4490 degrees.

Plausible families: the head is 26-86 years old (the birth date in the ID number); a spouse is
within 5 years of the head, children 20-38 years younger, parents 20-38 years older (only when
they would be 100 or younger), grandchildren 45-65 years younger (only when born by now); a
household flagged 独居老人 (elderly living alone) is one person aged 65 or more.
"""

from __future__ import annotations

from datetime import date, timedelta

import numpy as np
import pandas as pd
from numpy.typing import NDArray

from gis import demopeople
from gis.codes import JIANGYIN_COUNTY_CODE
from gis.masking import id_check_char
from gis.scatter import points_in_polygons

RELATIONS = ("配偶", "子", "女", "父亲", "母亲", "孙子", "孙女")
# Birth year of a member relative to the head's: (relation, lowest, highest offset in years).
RELATION_AGE = {
    "配偶": (-5, 5), "子": (20, 38), "女": (20, 38), "父亲": (-38, -20), "母亲": (-38, -20),
    "孙子": (45, 65), "孙女": (45, 65),
}  # fmt: skip
ELDERLY_AGE = 65
OLDEST_AGE = 100
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
    flags = {flag: rng.random(n) < rate for flag, rate in FLAG_RATES.items()}
    alone = flags["elderly_alone"]
    size[alone] = 1
    head_born = np.where(
        alone,
        rng.integers(today.year - 90, today.year - ELDERLY_AGE + 1, n),
        rng.integers(today.year - 86, today.year - 25, n),
    )
    heads = demopeople.names(n, rng)
    extra = demopeople.names(int((size - 1).sum()), rng)
    members: list[list[dict[str, object]]] = []
    k = 0
    for s_, hy in zip(size.tolist(), head_born.tolist(), strict=True):
        family = _relations(s_ - 1, hy, today.year, rng)
        members.append(
            [
                {"name": extra[k + j], "relation": rel, "birth_year": year}
                for j, (rel, year) in enumerate(family)
            ]
        )
        k += s_ - 1
    starts = np.concatenate([[0], np.cumsum(counts)[:-1]])
    seq = np.arange(n) - np.repeat(starts, counts) + 1
    frame = pd.DataFrame({"lon": lon, "lat": lat, "owner": owner})
    frame["code"] = [f"H{o:05d}{s:05d}" for o, s in zip(owner.tolist(), seq.tolist(), strict=True)]
    frame["address"] = [
        f"{area_names[o]}{s}号" for o, s in zip(owner.tolist(), seq.tolist(), strict=True)
    ]
    frame["head_name"] = heads
    frame["head_id_number"] = _id_numbers(head_born, rng)
    frame["phone"] = demopeople.mobiles(n, rng)
    frame["members_count"] = size
    frame["members"] = members
    for flag in FLAG_RATES:
        frame[flag] = flags[flag]
    visited = rng.random(n) < 0.7
    days = rng.integers(0, 180, n)
    frame["last_visit"] = [
        today - timedelta(days=int(d)) if v else None for d, v in zip(days, visited, strict=True)
    ]
    return frame


def _relations(
    count: int, head_year: int, year_now: int, rng: np.random.Generator
) -> list[tuple[str, int]]:
    """``count`` (relation, birth year) pairs that agree with a head born in ``head_year``:
    at most one spouse, father and mother; parents only if at most 100 years old; children and
    grandchildren only if born by ``year_now`` (a child is always possible: heads are 26+)."""
    out: list[tuple[str, int]] = []
    used: set[str] = set()

    def birth(rel: str) -> int:
        lo, hi = RELATION_AGE[rel]
        return head_year + int(rng.integers(lo, hi + 1))

    def possible(rel: str) -> bool:
        lo = RELATION_AGE[rel][0]
        if rel in ("配偶", "父亲", "母亲") and rel in used:
            return False
        if rel in ("父亲", "母亲"):
            return year_now - (head_year + lo) <= OLDEST_AGE
        return head_year + lo <= year_now

    order = ["配偶", "子", "女", "父亲", "母亲", "孙子", "孙女"]
    for _ in range(count):
        choices = [r for r in order if possible(r)]
        rel = choices[int(rng.integers(0, len(choices)))]
        year = birth(rel)
        if rel in ("子", "女", "孙子", "孙女"):
            year = min(year, year_now)
        out.append((rel, year))
        used.add(rel)
    return out


def _id_numbers(born_years: NDArray[np.int64], rng: np.random.Generator) -> list[str]:
    """18-character ID numbers (valid check character) whose birth date is in the given year."""
    days = rng.integers(0, 365, len(born_years)).tolist()
    seq = rng.integers(0, 1000, len(born_years)).tolist()
    out = []
    for y, d, q in zip(born_years.tolist(), days, seq, strict=True):
        born = date(int(y), 1, 1) + timedelta(days=int(d))
        first17 = f"{JIANGYIN_COUNTY_CODE}{born:%Y%m%d}{q:03d}"
        out.append(first17 + id_check_char(first17))
    return out
