"""The /coverage legend's bands (issue 15, review r15: a band read "3.9% – 3.85%"): each band's
lowest figure reads at most its highest, and each band's lowest reads above the band below's
highest, whatever the values; equal ends are written once."""

from __future__ import annotations

import itertools
import random

from maps.coverage_map import class_rows, share_breaks


def _ends(text: str) -> tuple[float, float]:
    parts = [float(p.strip().rstrip("%").lstrip("<")) for p in text.split("–")]
    return parts[0], parts[-1]


def test_a_band_never_reads_lower_above_upper() -> None:
    # 0.03851 alone reads "3.9%", its top 0.03852 needs "3.85%" to stand apart from 0.03856
    rows = [t for _, t in class_rows([0.03853, 0.2], [0.03851, 0.03852, 0.03856, 0.2])]
    assert rows == ["3.851% – 3.852%", "3.86% – 20%"], rows


def test_bands_increase_and_never_overlap_on_any_values() -> None:
    rng = random.Random(15)
    for _ in range(400):
        vals = [round(rng.random() ** 5, rng.choice((3, 4, 5, 6))) for _ in range(60)]
        texts = [t for _, t in class_rows(share_breaks(vals), vals)]
        spans = [_ends(t) for t in texts]
        for lo, hi in spans:
            assert lo <= hi, texts
        for (_, hi), (lo, _) in itertools.pairwise(spans):
            assert lo > hi, texts
        for t in texts:  # one figure when both ends read the same
            if "–" in t:
                lo, hi = _ends(t)
                assert lo < hi, texts


def test_equal_values_make_one_band_of_one_figure() -> None:
    assert [t for _, t in class_rows(share_breaks([0.05] * 8), [0.05] * 8)] == ["5%"]


def test_extra_decimals_never_end_in_zero() -> None:
    # review r15f: a band read "3.850%" (three decimals to stand apart from 3.851%)
    rows = [t for _, t in class_rows([0.0385, 0.03851, 0.2], [0.0385, 0.03851, 0.2])]
    assert rows == ["3.85%", "3.851%", "20%"], rows
    rng = random.Random(1558)
    for _ in range(200):
        vals = [round(rng.random() ** 4, rng.choice((3, 4, 5))) for _ in range(40)]
        for _, t in class_rows(share_breaks(vals), vals):
            for end in t.split(" – "):
                number = end.lstrip("<").rstrip("%")
                assert "." not in number or not number.endswith("0"), t
