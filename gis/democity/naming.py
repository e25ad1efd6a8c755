"""Synthetic but realistic names for villages and communities, and the row-order rule."""

from __future__ import annotations

import numpy as np
from numpy.typing import NDArray

FloatArray = NDArray[np.float64]
IntArray = NDArray[np.int64]

_FIRST = (
    "东西南北新长永金华青花山河湖云龙凤双三五兴富春朝阳光明和平安乐福祥瑞泰康芦柳桃杨梅竹松荷"
    "蒋陈朱周顾邢缪夏申定前后中上大小高马鹤秦孙钱徐陆沈葛黄曹石白红万宝玉锦清太文德仁忠勤丰盛"
    "旺昌荣胜利璜澄砂蔡刘谢祁峭桐"
)
_VILLAGE_END = "桥塘港泾庄巷墩湾浜圩埭舍园田河山林岸渡里坝头溪泉丰联新星民光明胜"
_COMMUNITY_END = "园苑城华花府湖桥山江门街坊景馨嘉锦庭阳泰康和宁安福祥"


def make_names(is_community: list[bool], rng: np.random.Generator) -> list[str]:
    """One unique name per village, e.g. ``蒋桥村`` or ``锦苑社区``, drawn with ``rng``.

    Names are two syllables plus ``村`` (village) or ``社区`` (community); no two places in
    the city share the two syllables.
    """
    used: set[str] = set()
    out: list[str] = []
    for community in is_community:
        ends = _COMMUNITY_END if community else _VILLAGE_END
        while True:
            stem = _FIRST[rng.integers(len(_FIRST))] + ends[rng.integers(len(ends))]
            if stem[0] != stem[1] and stem not in used:
                break
        used.add(stem)
        out.append(stem + ("社区" if community else "村"))
    return out


def row_order(xy: FloatArray, north_m: float, band_m: float) -> IntArray:
    """Indices of ``xy`` (metric centroids, m) in reading order: rows north→south, then west→east.

    Row (band) ``r = floor((north_m - y) / band_m)`` counts from the northern edge of the
    parent; points are ordered by ``r`` ascending, then by ``x`` ascending, then by ``y``
    descending.
    """
    band = np.floor((north_m - xy[:, 1]) / band_m)
    return np.lexsort((-xy[:, 1], xy[:, 0], band)).astype(np.int64)
