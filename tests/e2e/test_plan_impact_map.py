"""The impact report as a map (issue 10): GET …/impact-map holds exactly the report's
households, open events and assignments as points by kind, and /plan draws them on the draft
map with a legend per kind (headless Chromium). The draft: a committed copy of the demo city
with two staffed neighbouring unit grids merged, deleted afterwards."""

from __future__ import annotations

import httpx
import pytest

from tests.e2e.conftest import assert_offline_and_clean, wait_until
from tests.e2e.test_plan_page import open_plan
from tests.e2e.test_plan_roles import merged_draft  # noqa: F401  (fixture)
from tests.people_fixtures import *  # noqa: F403  (people_demo: the grids' staff)

pytestmark = pytest.mark.browser


def test_impact_points_match_the_report_and_are_drawn(  # type: ignore[no-untyped-def]
    browser,
    live_server,
    tokens,
    merged_draft,  # noqa: F811
) -> None:
    draft, a, b = merged_draft
    headers = {"Authorization": f"Bearer {tokens['planner']}"}
    with httpx.Client(base_url=live_server, headers=headers, timeout=120) as api:
        v = int(api.get(f"/api/v1/generations/{draft}/edits").headers["ETag"].strip('"'))
        r = api.post(f"/api/v1/generations/{draft}/edits", headers={"If-Match": f'"{v}"'},
                     json={"op": "merge", "codes": [a, b], "reason": "impact map"})  # fmt: skip
        assert r.status_code == 200, r.text
        report = api.get(f"/api/v1/generations/{draft}/impact").json()
        points = api.get(f"/api/v1/generations/{draft}/impact-map")
        assert points.status_code == 200 and "geo+json" in points.headers["content-type"]
        fc = points.json()
        by_kind: dict[str, set[str]] = {}
        for f in fc["features"]:
            assert f["geometry"]["type"] == "Point" and "crs" not in f["geometry"]
            by_kind.setdefault(f["properties"]["kind"], set()).add(f["id"])
        for kind, key in (("household", "households"), ("event", "events"),
                          ("assignment", "assignments")):  # fmt: skip
            expected = {f"{kind}:{i['id']}" for i in report[key]["items"]}
            assert by_kind.get(kind, set()) == expected, kind
        assert fc["counts"]["household"] == report["totals"]["households"] > 0
        assert fc["counts"]["assignment"] >= 1  # the staffed grid merged
        anon = httpx.get(f"{live_server}/api/v1/generations/{draft}/impact-map", timeout=60)
        assert anon.status_code == 401
    page, seen = open_plan(browser, live_server, tokens["planner"], f"/plan?draft={draft}")
    try:
        wait_until(page, f"(window.gridgisPlan.state.draft || {{}}).id === {draft} && "
                   "window.gridgisPlan.impactMap !== undefined", timeout=120_000)  # fmt: skip
        counts = page.evaluate("window.gridgisPlan.impactMap")
        assert counts == fc["counts"]
        kinds = page.locator("#impact-map-legend button").evaluate_all(
            "bs => bs.map(b => b.dataset.kind)"
        )
        assert set(kinds) == {k for k, n in fc["counts"].items() if n}
        page.click("#impact-map-legend button[data-kind=household]")
        drawn = page.locator("#map-draft path.leaflet-interactive").count()
        assert drawn >= fc["counts"]["household"]
        assert_offline_and_clean(seen)
    finally:
        page.context.close()
