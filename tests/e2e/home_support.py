"""Shared set-up of the front page's layout tests (issue 15): the page opened at 1920×1080 in
either screen mode with every layer on, the checks of a fitted page, and cases made overdue.

Imported explicitly by tests/e2e/test_home_fit*.py, test_home_legend_room.py and
test_home_more.py (not a conftest)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from sqlalchemy import Engine, text

from tests.e2e.conftest import open_logged_in, wait_until
from tests.e2e.test_home_page import READY, SCREEN, _report

ALL_LAYERS_ON = """() => {
  const boxes = [...document.querySelectorAll('.leaflet-control-layers-overlays input')];
  boxes.filter(b => !b.checked).forEach(b => b.click());
  return boxes.length;
}"""
"""Switches every map layer on; answers how many switches there are (8)."""

# For each panel: bodies cut (scrollHeight > clientHeight) and visible elements whose box
# leaves the panel or the viewport.
PROBLEMS = """() => {
  const W = window.innerWidth, H = window.innerHeight, out = [];
  for (const p of document.querySelectorAll('.panel')) {
    const pr = p.getBoundingClientRect();
    if (pr.top < 0 || pr.left < 0 || pr.bottom > H + 0.5 || pr.right > W + 0.5) {
      out.push(['panel outside the viewport', p.id, pr.top, pr.bottom]);
    }
    for (const b of p.querySelectorAll('.panel-body')) {
      if (b.scrollHeight > b.clientHeight + 1 || b.scrollWidth > b.clientWidth + 1) {
        out.push(['body cut', p.id, b.scrollHeight, b.clientHeight]);
      }
    }
    for (const e of p.querySelectorAll('*')) {
      const r = e.getBoundingClientRect();
      if (!r.width && !r.height) { continue; }  // hidden rows (display: none)
      if (r.top < pr.top - 0.5 || r.bottom > pr.bottom + 0.5 || r.left < pr.left - 0.5 ||
          r.right > pr.right + 0.5) {
        out.push(['outside its panel', p.id, e.tagName, e.className,
                  (e.textContent || '').slice(0, 40)]);
      }
    }
  }
  const doc = document.documentElement;
  if (doc.scrollHeight > doc.clientHeight) { out.push(['page scrolls', doc.scrollHeight]); }
  return out;
}"""

FITTED = "GridGIS.home.state.fits > 0"
# the "查看全部" dialog (a native <dialog>) is open; the page's settings (data-config of #home)
ALL_OPEN = "document.getElementById('home-all').open"
CONFIG = "JSON.parse(document.getElementById('home').dataset.config)"


def settle(page: Any) -> None:
    """Waits for the last layout: fits counted after the last panel's answer and the legend's
    redraw (no change for 250 ms, at most 5 s)."""
    before = -1
    for _ in range(20):
        page.wait_for_timeout(250)
        now = page.evaluate("GridGIS.home.state.fits")
        if now == before:
            return
        before = now


def open_home_at(
    browser: Any, live_server: str, token: str, *, lang: str, big: bool, layers: bool = False
) -> Any:
    """The front page (``/?lang=…``, ``&screen=big`` if ``big``) at 1920×1080, logged in with
    ``token``, panels fitted; every layer on if ``layers``. Answers the page (close its
    context)."""
    screen = "&screen=big" if big else ""
    page, _ = open_logged_in(browser, live_server, token, f"/?lang={lang}{screen}", READY)
    page.set_viewport_size(SCREEN)
    if layers:
        assert page.evaluate(ALL_LAYERS_ON) == 8
    wait_until(page, FITTED)
    return page


def overdue_cases(
    engine: Engine, live_server: str, token: str, demo_grids: Any, *, first: int, n: int
) -> Iterator[list[int]]:
    """``n`` cases reported now (as the officer of ``token``) in the unit grids ``first`` ..
    ``first + n - 1`` (by code), made overdue in handling (deadline an hour ago); yields their
    ids and afterwards gives them a deadline a month ahead (a generator for a fixture)."""
    ids = [_report(live_server, token, demo_grids, first + k) for k in range(n)]
    with engine.begin() as c:
        c.execute(
            text("UPDATE event SET status = 'in_handling',"
                 " accepted_at = now() - interval '2 days',"
                 " dispatched_at = now() - interval '2 days',"
                 " deadline_at = now() - interval '1 hour' WHERE id = ANY(:ids)"),
            {"ids": ids},
        )  # fmt: skip
    yield ids
    with engine.begin() as c:
        c.execute(
            text("UPDATE event SET deadline_at = now() + interval '30 days' WHERE id = ANY(:ids)"),
            {"ids": ids},
        )
