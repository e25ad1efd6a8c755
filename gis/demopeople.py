"""Synthetic people for the demo city: names, resident ID numbers and mobile numbers.

Deterministic by seed; ID numbers carry a valid GB 11643 check character and the area code of
Jiangyin (320281), so they pass the same checks as real input but belong to nobody real
(birth dates are drawn, sequence numbers are random).
"""

from __future__ import annotations

from datetime import date, timedelta

import numpy as np

from gis.codes import JIANGYIN_COUNTY_CODE
from gis.masking import id_check_char

SURNAMES = list(
    "王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗郑梁谢宋唐许韩冯邓曹彭曾肖田董袁潘于蒋蔡余杜叶程苏魏吕丁任沈"
    "姚卢姜崔钟谭陆汪范金石廖贾夏韦傅方白邹孟熊秦邱江尹薛闫段雷侯龙史陶黎贺顾毛郝龚邵万钱严覃武戴莫孔"
)
GIVEN = list(
    "伟芳娜秀英敏静丽强磊军洋勇艳杰娟涛明超兰霞平刚桂华建国文辉玲红燕峰波宇浩凯健俊帆欣怡婷雪琳晨阳"
)
MOBILE_PREFIXES = (
    "138",
    "139",
    "137",
    "136",
    "135",
    "150",
    "151",
    "152",
    "157",
    "158",
    "159",
    "182",
    "183",
    "187",
    "188",
    "130",
    "131",
    "132",
    "155",
    "156",
    "186",
    "133",
    "153",
    "180",
    "181",
    "189",
    "177",
    "199",
)


def names(n: int, rng: np.random.Generator) -> list[str]:
    """``n`` Chinese names: a surname and one or two given characters."""
    s = rng.integers(0, len(SURNAMES), n)
    g1 = rng.integers(0, len(GIVEN), n)
    g2 = rng.integers(-len(GIVEN), len(GIVEN), n)  # negative: a one-character given name
    return [
        SURNAMES[a] + GIVEN[b] + (GIVEN[c] if c >= 0 else "")
        for a, b, c in zip(s.tolist(), g1.tolist(), g2.tolist(), strict=True)
    ]


def id_numbers(
    n: int, rng: np.random.Generator, *, born_from: date = date(1940, 1, 1), span_days: int = 28000
) -> list[str]:
    """``n`` distinct-looking 18-character ID numbers with valid check characters."""
    days = rng.integers(0, span_days, n).tolist()
    seq = rng.integers(0, 1000, n).tolist()
    out = []
    for d, q in zip(days, seq, strict=True):
        born = born_from + timedelta(days=d)
        first17 = f"{JIANGYIN_COUNTY_CODE}{born:%Y%m%d}{q:03d}"
        out.append(first17 + id_check_char(first17))
    return out


def mobiles(n: int, rng: np.random.Generator) -> list[str]:
    p = rng.integers(0, len(MOBILE_PREFIXES), n).tolist()
    rest = rng.integers(0, 100_000_000, n).tolist()
    return [f"{MOBILE_PREFIXES[a]}{b:08d}" for a, b in zip(p, rest, strict=True)]
