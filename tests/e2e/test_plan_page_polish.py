"""Issue 10 (second re-trial, fault 5): /plan polish, in headless Chromium. A click on a grid
where an impact-map marker sits selects that grid (the marker does not swallow it); the
publish dry run is told in words (no raw key such as ``grids_to_staff``). The draft: the demo
city with two staffed neighbouring unit grids merged (tests/e2e/test_plan_roles.merged_draft)."""

from __future__ import annotations

import httpx
import pytest

from tests.e2e.conftest import assert_offline_and_clean, wait_until
from tests.e2e.test_plan_page import open_plan
from tests.e2e.test_plan_roles import merged_draft  # noqa: F401  (fixture)
from tests.people_fixtures import *  # noqa: F403  (people_demo: the grids' staff)

pytestmark = pytest.mark.browser

# the page position of the first household marker of the impact map on the draft map
MARKER = """() => {
  const m = window.gridgisPlan.maps.draft;
  let found = null;
  m.eachLayer(l => { if (!found && l instanceof L.CircleMarker && l.options.radius === 3
                          && m.getBounds().contains(l.getLatLng())) { found = l; } });
  if (!found) { return null; }
  const p = m.latLngToContainerPoint(found.getLatLng());
  const r = m.getContainer().getBoundingClientRect();
  return [r.left + p.x, r.top + p.y, found.getLatLng().lng, found.getLatLng().lat];
}"""


@pytest.mark.parametrize("lang", ["zh", "en"])
def test_a_click_on_a_marker_selects_the_grid_and_the_dry_run_is_in_words(  # type: ignore[no-untyped-def]
    browser,
    live_server,
    tokens,
    merged_draft,  # noqa: F811
    lang,
) -> None:
    draft, a, b = merged_draft
    headers = {"Authorization": f"Bearer {tokens['planner']}"}
    with httpx.Client(base_url=live_server, headers=headers, timeout=120) as api:
        v = int(api.get(f"/api/v1/generations/{draft}/edits").headers["ETag"].strip('"'))
        r = api.post(f"/api/v1/generations/{draft}/edits", headers={"If-Match": f'"{v}"'},
                     json={"op": "merge", "codes": [a, b], "reason": "polish"})  # fmt: skip
        assert r.status_code == 200, r.text
    page, seen = open_plan(
        browser, live_server, tokens["planner"], f"/plan?draft={draft}&lang={lang}"
    )
    try:
        wait_until(page, f"(window.gridgisPlan.state.draft || {{}}).id === {draft} && "
                   "window.gridgisPlan.impactMap !== undefined", timeout=120_000)  # fmt: skip
        page.click("#impact-map-legend button[data-kind=household]")
        wait_until(page, "window.gridgisPlan.tilesLoaded()", timeout=60_000)
        spot = page.evaluate(MARKER)
        assert spot is not None, "a household marker in view"
        x, y, lon, lat = spot
        with httpx.Client(base_url=live_server, headers=headers, timeout=60) as api:
            here = api.get("/api/v1/locate", params={"crs": "wgs84", "generation": draft,
                                                     "lon": lon, "lat": lat}).json()  # fmt: skip
        page.mouse.click(x, y)
        wait_until(page, "(window.gridgisPlan.state.selected || {}).code === "
                   f"{here['l3']['code']!r}", timeout=60_000)  # fmt: skip
        # the dry run in words: every total named, no raw key
        page.fill("#review-reason", "look")
        page.click("#publish-dry")
        wait_until(page, "document.getElementById('review-answer').dataset.dryRun === '1'", 120_000)
        shown = page.inner_text("#review-answer")
        assert "grids_to_staff" not in shown and "_" not in shown.replace(a, "").replace(b, "")
        assert ("缺岗网格" if lang == "zh" else "grids without a role") in shown
        assert_offline_and_clean(seen)
    finally:
        page.context.close()


# a to-decide table as gridgis-plan-panels.js / gridgis-plan-to-decide.js draw it, with long
# names, codes and options; answers the overflow of every cell, select and button past the panel
OVERFLOW = """() => {
  const box = document.getElementById("to-decide");
  const wrap = document.createElement("div");
  wrap.className = "to-decide";
  const t = document.createElement("table");
  t.className = "to-decide-table";
  const head = document.createElement("tr");
  ["person", "role", "grid", "decision", "", ""].forEach(k => {
    const th = document.createElement("th"); th.textContent = k; head.appendChild(th); });
  t.appendChild(head);
  for (let i = 0; i < 3; i++) {
    const tr = document.createElement("tr");
    ["欧阳长名字的网格员" + i, "专职网格员（兼职调解员）", "320281001001013"].forEach(c => {
      const td = document.createElement("td"); td.textContent = c; tr.appendChild(td); });
    const sel = document.createElement("select");
    const o = document.createElement("option");
    o.textContent = "移到 320281001001013（欧阳长名字的网格员，现在 320281001001014）";
    sel.appendChild(o);
    const cell = document.createElement("td"); cell.appendChild(sel); tr.appendChild(cell);
    const b = document.createElement("button"); b.textContent = "决定（移到新网格）";
    const act = document.createElement("td"); act.appendChild(b); tr.appendChild(act);
    tr.appendChild(document.createElement("td"));
    t.appendChild(tr);
  }
  wrap.appendChild(t);
  box.appendChild(wrap);
  const side = document.querySelector(".plan-side");
  const edge = side.getBoundingClientRect().right - (side.offsetWidth - side.clientWidth);
  const over = [...t.querySelectorAll("td, th, select, button")]
    .map(e => e.getBoundingClientRect().right - edge).filter(d => d > 0.5);
  const clipped = [...t.querySelectorAll("button")].filter(b => b.scrollWidth > b.clientWidth + 1);
  wrap.remove();
  return {over: over.length, clipped: clipped.length, scroll: side.scrollWidth - side.clientWidth};
}"""


def test_to_decide_tables_fit_the_side_panel(browser, live_server, tokens) -> None:  # type: ignore[no-untyped-def]
    page, seen = open_plan(browser, live_server, tokens["planner"], "/plan")
    try:
        assert page.evaluate(OVERFLOW) == {"over": 0, "clipped": 0, "scroll": 0}
        assert_offline_and_clean(seen)
    finally:
        page.context.close()
