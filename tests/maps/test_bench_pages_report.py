"""bench/bench_pages.py's report says what each server's pages carried and fetched in THAT run
(GeoJSON polygons counted in the HTML and scripts, tile requests seen), never fixed text."""

from __future__ import annotations

from bench.bench_pages import baseline_sentence


def test_baseline_sentence_follows_the_figures() -> None:
    results = {
        "baseline": {"/": {"polygons": 0, "tiles": 30}, "/map": {"polygons": 1846, "tiles": 0},
                     "/live": {"polygons": 1846, "tiles": 0}},
        "candidate": {"/": {"polygons": 0, "tiles": 30}, "/map": {"polygons": 0, "tiles": 12},
                      "/live": {"polygons": 0, "tiles": 0}},
    }  # fmt: skip
    text = baseline_sentence(results, "531145e")
    base, cand = text.split("Candidate:")
    assert "**531145e**" in base and "`/map`, `/live` carry" in base and "1,846" in base
    assert "`/` carries no polygon and draws the grids from the vector tiles" in base
    assert "`/`, `/map` carry no polygon and draw" in cand and "1,846" not in cand
    assert "`/live` neither carries polygons nor requests tiles" in cand
    # a candidate-only run names no baseline; changed figures change the sentence
    alone = baseline_sentence({"candidate": results["baseline"]}, "531145e")
    assert "531145e" not in alone and "`/map`, `/live` carry" in alone
