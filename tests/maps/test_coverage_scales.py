"""The coverage page's scales and times (issue 15, "what an operator found"): class limits
fitted to the data (0.3 % and 18.9 % never share a colour), the legend naming each class's
limits, today's run labelled as partial in Beijing time (never "全天"), the page opening on the
last complete day; the households circles of /zones never overlapping."""

from __future__ import annotations

import itertools
import random
import re
from datetime import UTC, date, datetime, timedelta

import h3
import pytest

from api.pages.coverage import default_run, page_run_meta
from layers.coverage import SHANGHAI, CoverageRun, window
from maps.coverage_map import (
    NO_CELLS,
    NOT_PATROLLED,
    SHARE_PALETTE,
    build_coverage_map,
    class_rows,
    share_breaks,
    share_colour,
)
from maps.zones_map import cell_radius_m
from tests.api.test_coverage_api import covered  # noqa: F401  (module fixture)


def test_small_and_large_shares_never_share_a_colour() -> None:
    breaks = share_breaks([0.003, 0.189, 0.0, None])
    assert breaks == [0.003, 0.189]
    assert share_colour(0.003, breaks) != share_colour(0.189, breaks)
    assert share_colour(0.189, breaks) == SHARE_PALETTE[-1]  # the top class is the darkest
    assert share_colour(0.0, breaks) == NOT_PATROLLED and share_colour(None, breaks) == NO_CELLS
    assert class_rows(breaks, [0.003, 0.189, 0.0]) == [
        (SHARE_PALETTE[0], "0.3%"),
        (SHARE_PALETTE[-1], "18.9%"),
    ]


def test_breaks_are_quantiles_of_the_data() -> None:
    rng = random.Random(15)
    values = [rng.random() ** 3 for _ in range(1000)]  # most shares small, a few large
    breaks = share_breaks(values)
    assert len(breaks) == 5 and breaks == sorted(set(breaks))
    assert breaks[-1] >= max(values)
    counts = [
        sum(1 for v in values if lo < v <= hi)
        for lo, hi in zip([0, *breaks[:-1]], breaks, strict=True)
    ]
    assert all(150 <= c <= 250 for c in counts), counts  # about a fifth of the grids each
    # the fixed 20-point bands put 58 % of these grids in one class; the fitted ones 20 %
    assert sum(1 for v in values if v <= 0.2) / len(values) > 0.5
    rows = class_rows(breaks, values)
    assert len(rows) == 5
    assert float(rows[0][1].split("–")[-1].strip().rstrip("%")) <= breaks[0] * 100 + 1e-9
    assert all("–" in text for _, text in rows)


def test_no_patrolled_grid_gives_no_class() -> None:
    assert share_breaks([0.0, None, 0.0]) == [] and share_breaks([]) == []
    assert share_colour(0.0, []) == NOT_PATROLLED and class_rows([], [0.0]) == []
    one = share_breaks([0.0714])
    assert class_rows(one, [0.0714]) == [(SHARE_PALETTE[-1], "7.1%")]


def _run(day: date, computed: datetime, shift: str = "") -> CoverageRun:
    start, end = window(day, None)
    return CoverageRun(
        day=day, shift=shift, window_start=start, window_end=end, generation_id=1,
        resolution=10, distance_m=30.0, max_gap_s=300.0, metric_srid=4549, pixel_m=5.0,
        computed_at=computed,
    )  # fmt: skip


def test_todays_run_is_partial_in_beijing_time() -> None:
    today = date(2026, 11, 30)
    now = datetime(2026, 11, 30, 10, 7, tzinfo=SHANGHAI)
    computed = datetime(2026, 11, 30, 2, 5, tzinfo=UTC)  # 10:05 in Beijing
    meta = page_run_meta(_run(today, computed), now)
    assert meta["computed_at"] == "2026-11-30 10:05" and meta["partial_until"] == "10:05"
    assert meta["today"] is True
    html = _page(meta)
    assert "今日（截至 10:05，北京时间）" in html and "全天" not in _legend(html)
    assert "计算于 2026-11-30 10:05（北京时间）" in html
    # yesterday's run computed after midnight: a whole day, its time in Beijing time
    done = page_run_meta(_run(today - timedelta(days=1), computed), now)
    assert done["partial_until"] is None and done["today"] is False
    assert "全天" in _legend(_page(done)) and "今日" not in _page(done)
    # a past day computed before its end (never recomputed) says it is partial, not "today"
    early = datetime(2026, 11, 29, 4, 0, tzinfo=UTC)
    late = page_run_meta(_run(today - timedelta(days=1), early), now)
    assert "不完整（截至 12:00，北京时间）" in _page(late)


def _page(meta: dict) -> str:
    index = {
        1: [{"code": "320281001", "name": "澄江街道", "parent": "",
             "bbox": [120.2, 31.8, 120.3, 31.9], "point": [120.25, 31.85]}],
        2: [], 3: [],
    }  # fmt: skip
    figures = {1: [{"code": "320281001", "h3_share": 0.05, "buffer_share": 0.04}], 2: [], 3: []}
    query = {"date": meta["date"], "shift": None, "resolution": None, "threshold": 0.8}
    m = build_coverage_map(index, figures, generation_id=1, run=meta, query=query)
    return str(m.get_root().render())


def _legend(html: str) -> str:
    start = html.index("gridgis-cov-run")
    return html[start : html.index("</div>", start)]


def test_page_carries_no_polygon() -> None:
    meta = page_run_meta(
        _run(date(2026, 11, 29), datetime(2026, 11, 29, 20, tzinfo=UTC)),
        datetime(2026, 11, 30, 9, tzinfo=SHANGHAI),
    )
    html = _page(meta)
    assert "Polygon" not in html and "coordinates" not in html


def test_page_opens_on_the_last_complete_day(db_session, demo_generation) -> None:  # type: ignore[no-untyped-def]
    today = date(2031, 5, 10)  # far from every other test's runs

    def add(day: date, shift: str = "", hours: int = 30) -> CoverageRun:
        run = _run(day, datetime.combine(day, datetime.min.time(), UTC) + timedelta(hours=hours))
        run.shift, run.generation_id = shift, demo_generation
        db_session.add(run)
        db_session.flush()
        return run

    add(today, hours=2)  # today's partial run: never the default while an earlier day has one
    earlier = add(today - timedelta(days=2))
    assert default_run(db_session, today) is earlier
    shift = add(today - timedelta(days=1), shift="08:00-12:00")
    assert default_run(db_session, today) is shift  # yesterday has only a shift run
    whole = add(today - timedelta(days=1))
    assert default_run(db_session, today) is whole  # yesterday's whole day


@pytest.mark.parametrize("resolution", [6, 7, 8, 9])
def test_household_circles_fit_inside_their_cells(resolution: int) -> None:
    inner = h3.average_hexagon_edge_length(resolution, unit="m") * 3**0.5 / 2
    radii = [cell_radius_m(resolution, k, 6) for k in range(6)]
    assert radii == sorted(radii) and radii[-1] < inner  # neighbours never overlap
    areas = [r * r for r in radii]  # area grows with the class
    assert areas[-1] / areas[0] == pytest.approx(6, rel=0.01)


def test_page_without_a_date_never_opens_on_todays_partial_run(
    client,
    covered,  # noqa: F811  (runs on an earlier day exist)
) -> None:  # type: ignore[no-untyped-def]
    html = client.get("/coverage").text
    shown = re.search(r'name="date" value="([0-9-]+)"', html)
    assert shown is not None
    today = datetime.now(SHANGHAI).date()
    assert date.fromisoformat(shown.group(1)) < today
    assert "（北京时间）" in html


def test_legend_bands_never_overlap() -> None:
    # issue 15: "3.9%" then "3.9% – 5.3%" (0.0391 and 0.0394 both read 3.9%)
    values = [0.0391, 0.0394, 0.053, 0.01, 0.2]
    breaks = [0.01, 0.04, 0.2]
    rows = [text for _, text in class_rows(breaks, values)]
    assert rows == ["1%", "3.9%", "5.3% – 20%"], rows
    rows = [text for _, text in class_rows([0.0391, 0.2], values)]
    assert rows == ["1% – 3.91%", "3.94% – 20%"], rows

    def bounds(text: str) -> tuple[float, float]:
        parts = [float(p.strip().rstrip("%").lstrip("<")) for p in text.split("–")]
        return parts[0], parts[-1]

    rng = random.Random(7)
    for _ in range(200):
        vals = [round(rng.random() ** 4, rng.choice((3, 4, 5))) for _ in range(40)]
        texts = [t for _, t in class_rows(share_breaks(vals), vals)]
        spans = [bounds(t) for t in texts]
        for (_, hi), (lo, _) in itertools.pairwise(spans):
            assert lo > hi, texts
