"""The front page with many overdue cases (issue 15, fault 2 of the last trial: a panel cut the
"overdue now" line): at 1920×1080, normal and big screen, zh and en, every layer on, for each
panel every row (list items, table rows, figure lines) lies wholly inside the panel body's
visible box, or the body scrolls; and nothing of test_home_fit's checks fails. Forty cases of
the demo are made overdue in handling (deadline an hour ago) for the test and given a deadline
a month ahead afterwards. Screenshots test-artifacts/home_fit_overdue_*.png."""

from __future__ import annotations

import pytest

from tests.e2e.conftest import wait_until
from tests.e2e.home_support import PROBLEMS, open_home_at, overdue_cases, settle
from tests.e2e.test_home_page import PANELS

pytestmark = pytest.mark.browser

# rows cut by their panel body's visible box (a body that scrolls may hold more than it shows)
CUT_ROWS = """() => {
  const out = [];
  for (const b of document.querySelectorAll('.panel .panel-body')) {
    const br = b.getBoundingClientRect();
    const scrolls = ['auto', 'scroll'].includes(getComputedStyle(b).overflowY) &&
      b.scrollHeight > b.clientHeight;
    if (scrolls) { continue; }
    for (const r of b.querySelectorAll('li, tr, .kv, .kpi, .fit-more, h3, .sub-title')) {
      const rr = r.getBoundingClientRect();
      if (!rr.width && !rr.height) { continue; }
      if (rr.top < br.top - 0.5 || rr.bottom > br.bottom + 0.5) {
        out.push([b.parentElement.id, r.className, (r.textContent || '').slice(0, 30),
                  rr.top, rr.bottom, br.top, br.bottom]);
      }
    }
  }
  return out;
}"""


@pytest.fixture(scope="module")
def many_overdue(engine, live_server, tokens, demo_grids):  # type: ignore[no-untyped-def]
    yield from overdue_cases(engine, live_server, tokens["officer"], demo_grids, first=20, n=40)


@pytest.mark.parametrize("big", [False, True], ids=["normal", "big"])
@pytest.mark.parametrize("lang", ["zh", "en"])
def test_no_panel_cuts_a_line_with_many_overdue_cases(
    browser, live_server, tokens, artifacts, many_overdue, lang, big
) -> None:  # type: ignore[no-untyped-def]
    page = open_home_at(browser, live_server, tokens["viewer"], lang=lang, big=big, layers=True)
    try:
        wait_until(page, "document.querySelectorAll('#panel-overdue li.event-item').length > 0")
        settle(page)
        name = f"home_fit_overdue_{'big' if big else 'normal'}_{lang}.png"
        page.screenshot(path=str(artifacts / name))
        assert page.evaluate(CUT_ROWS) == []
        assert page.evaluate(PROBLEMS) == []
        # the overdue-now line is whole and shows the count
        line = page.locator("#panel-events .now-figures .kv.alert")
        assert line.is_visible() and int(line.locator(".v").inner_text().replace(",", "")) >= 40
        # "N more" counts every overdue case not shown, not only the rows the page received
        shown = page.locator("#panel-overdue li.event-item:visible").count()
        more = page.inner_text("#panel-overdue .fit-more")
        total = int(line.locator(".v").inner_text().replace(",", ""))
        assert str(total - shown) in more, (more, total, shown)
        for panel in PANELS:
            assert page.get_attribute(f"#{panel} .panel-body", "data-state") == "loaded"
    finally:
        page.context.close()
