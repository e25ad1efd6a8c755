"""/live names an officer's role in the page's language from the one table of role words
(maps.styles.ROLE_NAMES, sent to the page script), in zh and en. The positions answer is
replaced (Playwright route) by officers of every staff role, so each word is checked."""

from __future__ import annotations

import json
import re
from typing import Any

import pytest

from layers.people import StaffRole
from maps.styles import ROLE_NAMES
from tests.e2e.conftest import wait_until
from tests.e2e.test_map_page import open_map

pytestmark = pytest.mark.browser

CJK = re.compile(r"[\u4e00-\u9fff]")


def _officers() -> dict[str, Any]:
    features = [
        {"type": "Feature",
         "geometry": {"type": "Point", "coordinates": [120.28 + i * 0.002, 31.91]},
         "properties": {"device_id": 990_000 + i, "name": f"Officer {i}", "role": role.value,
                        "online": True, "age_s": 30, "grid": None, "grid_name": None,
                        "fix_time": "2026-03-02T08:00:00+00:00"}}
        for i, role in enumerate(StaffRole)
    ]  # fmt: skip
    return {"type": "FeatureCollection", "features": features, "count": len(features),
            "online": len(features)}  # fmt: skip


@pytest.mark.parametrize("lang", ["zh", "en"])
def test_live_names_roles_in_the_page_language(browser, live_server, tokens, lang) -> None:  # type: ignore[no-untyped-def]
    page, _ = open_map(browser, live_server, tokens["viewer"], f"/live?lang={lang}")
    try:
        body = json.dumps(_officers())
        json_type = "application/json"
        page.route("**/api/v1/positions/latest*",
                   lambda route: route.fulfill(body=body, content_type=json_type))  # fmt: skip
        # the next poll draws them
        wait_until(page, "!!(window.gridgisLiveMarkers && window.gridgisLiveMarkers['990000'])",
                   timeout=60_000)  # fmt: skip
        words = page.evaluate(
            "Object.values(window.gridgisLiveMarkers).filter(m => m.getPopup())"
            ".map(m => { const e = m.getPopup().getContent();"
            " return e.querySelector('.gridgis-officer-role').textContent.trim(); })"
        )
        want = {ROLE_NAMES[lang][r.value] for r in StaffRole}  # type: ignore[index]
        assert set(words) >= want
        if lang == "en":
            assert not any(CJK.search(w) for w in words)
        else:
            assert all(CJK.search(w) for w in words)
    finally:
        page.context.close()
