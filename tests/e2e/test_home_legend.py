"""The front page's legend (issue 15): each visible layer has its section (events by status,
officers, coverage classes, household classes, zones), redrawn when a layer is switched; the
household and coverage classes have different colours and bands that never overlap. Headless
Chromium at 1920×1080, zh and en; screenshots test-artifacts/home_legend_*.png."""

from __future__ import annotations

import itertools
import re

import pytest

from tests.e2e.conftest import open_logged_in, wait_until
from tests.e2e.test_home_coverage_layer import yesterday_run as yesterday_run  # a fixture
from tests.e2e.test_home_page import READY, SCREEN

pytestmark = pytest.mark.browser

WORDS = {
    "zh": {"zones": "执法片区", "coverage": "巡查覆盖率", "households": "住户密度（户数）",
           "events": "事件（按状态）", "officers": "在线巡查人员"},
    "en": {"zones": "Enforcement zones", "coverage": "Patrol coverage",
           "households": "Household density (counts)", "events": "Events by status",
           "officers": "Officers online"},
}  # fmt: skip

SECTIONS = """() => [...document.querySelectorAll('.home-legend .legend-section')]
  .map(e => e.textContent)"""
ROWS = """(title) => {
  const out = []; let on = false;
  for (const e of document.querySelector('.home-legend').children) {
    if (e.classList.contains('legend-section')) { on = e.textContent.startsWith(title); continue; }
    if (on && e.classList.contains('legend-item')) {
      out.push([e.textContent, getComputedStyle(e.firstChild).backgroundColor]);
    }
  }
  return out;
}"""


def _numbers(text: str) -> list[float]:
    return [float(x.replace(",", "")) for x in re.findall(r"[\d,]+(?:\.\d+)?", text)]


@pytest.mark.parametrize("lang", ["zh", "en"])
def test_each_visible_layer_has_its_legend(  # type: ignore[no-untyped-def]
    browser, live_server, tokens, artifacts, yesterday_run, lang
) -> None:
    words = WORDS[lang]
    page, _ = open_logged_in(browser, live_server, tokens["viewer"], f"/?lang={lang}", READY)
    try:
        page.set_viewport_size(SCREEN)
        sections = page.evaluate(SECTIONS)
        assert words["events"] in sections and words["officers"] in sections, sections
        assert not any(s.startswith(words["coverage"]) for s in sections)
        for layer in ("zones", "coverage"):
            page.locator(".leaflet-control-layers-overlays label", has_text=words[layer]).click()
        wait_until(page, "document.querySelectorAll('.home-legend .legend-section').length >= 4")
        sections = page.evaluate(SECTIONS)
        for layer in ("zones", "coverage", "events", "officers"):
            assert any(s.startswith(words[layer]) for s in sections), (layer, sections)
        coverage = page.evaluate(ROWS, words["coverage"])
        # the two fills of the unit grids are shown one at a time: households switches
        # coverage off, its box and its legend section with it
        page.locator(".leaflet-control-layers-overlays label", has_text=words["households"]).click()
        wait_until(page, f"!document.querySelector('.home-legend').textContent"
                         f".includes({words['coverage']!r})")  # fmt: skip
        sections = page.evaluate(SECTIONS)
        for layer in ("zones", "households", "events", "officers"):
            assert any(s.startswith(words[layer]) for s in sections), (layer, sections)
        box = page.locator(".leaflet-control-layers-overlays label", has_text=words["coverage"])
        assert not box.locator("input").is_checked()
        households = page.evaluate(ROWS, words["households"])
        # the classes fitted to yesterday's run, "not patrolled" and "no H3 cells"
        assert len(coverage) >= 3 and len(households) >= 5
        # different colours: a household class never looks like a coverage class
        assert not {c for _, c in coverage} & {c for _, c in households}
        # bands never overlap: each band's lowest is above the band before's highest
        counts = [_numbers(t) for t, _ in households[1:]]
        for before, after in itertools.pairwise(counts):
            assert after[0] > before[-1], households
        shares = [t for t, _ in coverage[:-2]]  # the classes, without the two of their own
        for before, after in itertools.pairwise(shares):
            assert _numbers(after)[0] > _numbers(before)[-1], shares  # bands never overlap
        page.screenshot(path=str(artifacts / f"home_legend_{lang}.png"))
        # switching a layer off takes its section away
        page.locator(".leaflet-control-layers-overlays label", has_text=words["zones"]).click()
        wait_until(page, f"!document.querySelector('.home-legend').textContent"
                         f".includes('{words['zones']}')")  # fmt: skip
    finally:
        page.context.close()
