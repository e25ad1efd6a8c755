"""The front page in zh at 1920×1080 with many overdue cases of a long Chinese subclass name
(issue 15, operator trial: the overdue row "#1718 …" lost its deadline line under "另有 47 项未
列出" and the last "最新事件" row showed half its height while the body scrolled with no
scroll bar). Rule: the overdue and newest-events panels show only WHOLE rows — their bodies
never scroll (scrollHeight ≤ clientHeight) once the grid names have arrived — and every row
lies inside the body's box. A subclass 0499 with a long name is added for the test and removed
afterwards (its cases move back to 0401). Screenshots test-artifacts/home_fit_long_*.png."""

from __future__ import annotations

from typing import Any

import httpx
import pytest
from sqlalchemy import text

from tests.e2e.conftest import wait_until
from tests.e2e.home_support import open_home_at, settle

pytestmark = pytest.mark.browser

LONG_NAME = "占用城市道路及公共场所从事经营活动经劝阻拒不改正的情形"
CODE = "0499"

# panels whose body scrolls (hidden rows) or whose rows lie outside the body's box
CUT = """(ids) => {
  const out = [];
  for (const id of ids) {
    const b = document.querySelector('#' + id + ' .panel-body');
    if (b.scrollHeight > b.clientHeight + 1) {
      out.push([id, 'scrolls', b.scrollHeight, b.clientHeight]);
    }
    const br = b.getBoundingClientRect();
    for (const r of b.querySelectorAll('li')) {
      const rr = r.getBoundingClientRect();
      if (!rr.width && !rr.height) { continue; }
      if (rr.top < br.top - 0.5 || rr.bottom > br.bottom + 0.5) {
        out.push([id, (r.textContent || '').slice(0, 30), rr.top, rr.bottom, br.top, br.bottom]);
      }
    }
  }
  return out;
}"""


@pytest.fixture(scope="module")
def long_overdue(engine, live_server, tokens, demo_grids) -> Any:  # type: ignore[no-untyped-def]
    with engine.begin() as c:
        c.execute(
            text("INSERT INTO event_subclass (code, class_code, name, name_en, accept_rule,"
                 " limit_value, limit_unit, close_rule, department)"
                 " SELECT :code, class_code, :name, name_en, accept_rule, limit_value,"
                 " limit_unit, close_rule, department FROM event_subclass WHERE code = '0401'"
                 " ON CONFLICT (code) DO UPDATE SET name = EXCLUDED.name"),
            {"code": CODE, "name": LONG_NAME},
        )  # fmt: skip
    grids = demo_grids[demo_grids.level == 3].sort_values("code")
    ids = []
    for k in range(30):
        p = grids.iloc[60 + k].geometry.representative_point()
        r = httpx.post(
            f"{live_server}/api/v1/events",
            json={"lon": p.x, "lat": p.y, "subclass": CODE, "description": "占道经营",
                  "ignore_duplicates": True},
            headers={"Authorization": f"Bearer {tokens['officer']}"},
            timeout=60,
        )  # fmt: skip
        assert r.status_code == 201, r.text
        ids.append(int(r.json()["id"]))
    with engine.begin() as c:
        c.execute(
            text("UPDATE event SET status = 'in_handling',"
                 " accepted_at = now() - interval '2 days',"
                 " dispatched_at = now() - interval '2 days',"
                 " deadline_at = now() - interval '3 hours' WHERE id = ANY(:ids)"),
            {"ids": ids},
        )  # fmt: skip
    yield ids
    with engine.begin() as c:
        c.execute(
            text("UPDATE event SET subclass_code = '0401',"
                 " deadline_at = now() + interval '30 days' WHERE id = ANY(:ids)"),
            {"ids": ids},
        )  # fmt: skip
        left = c.execute(
            text("SELECT count(*) FROM event WHERE subclass_code = :code"), {"code": CODE}
        ).scalar_one()
        if not left:
            c.execute(text("DELETE FROM event_subclass WHERE code = :code"), {"code": CODE})


@pytest.mark.parametrize("big", [False, True], ids=["normal", "big"])
def test_zh_long_names_show_only_whole_rows(
    browser, live_server, tokens, artifacts, long_overdue, big
) -> None:  # type: ignore[no-untyped-def]
    page = open_home_at(browser, live_server, tokens["viewer"], lang="zh", big=big)
    try:
        wait_until(page, f"document.body.textContent.indexOf('{LONG_NAME}') >= 0")
        page.wait_for_timeout(1500)  # the grid names' answer (it may wrap a row)
        settle(page)
        page.screenshot(path=str(artifacts / f"home_fit_long_{'big' if big else 'normal'}.png"))
        assert page.evaluate(CUT, ["panel-overdue", "panel-live"]) == []
        # the rows kept are whole and the note counts the rest
        shown = page.locator("#panel-overdue li.event-item:visible").count()
        assert shown >= 1
        more = page.inner_text("#panel-overdue .fit-more")
        assert "另有" in more and "项" in more, more
        assert page.locator("#panel-overdue .fit-scroll, #panel-live .fit-scroll").count() == 0
    finally:
        page.context.close()
