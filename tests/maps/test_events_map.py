"""The events map builder: local assets only, colours by status and red when overdue."""

from __future__ import annotations

import re

from maps.events_map import OVERDUE_COLOR, STATUS_COLORS, build_events_map
from maps.styles import LABELS


def _rows() -> list[dict]:  # type: ignore[type-arg]
    return [
        {"id": i, "lon": 120.3 + i / 1000, "lat": 31.9, "status": s, "overdue": s == "rework",
         "subclass": "</script><b>x", "reported_at": "2026-05-01T01:00:00+00:00"}
        for i, s in enumerate(STATUS_COLORS)
    ]  # fmt: skip


def test_page_links_only_local_assets_and_escapes_text() -> None:
    html = build_events_map(_rows(), lang="en").get_root().render()
    urls = re.findall(r'(?:src|href)="([^"]+)"', html)
    assert urls and all(u.startswith("/static/") for u in urls)
    assert "leaflet.markercluster.js" in html
    assert "</script><b>x" not in html  # the JSON rows are escaped for the script block
    assert OVERDUE_COLOR in html and "Overdue" in html


def test_every_status_has_both_labels() -> None:
    for status in STATUS_COLORS:
        assert set(LABELS[f"event_status_{status}"]) == {"zh", "en"}


def test_empty_map_still_renders() -> None:
    html = build_events_map([]).get_root().render()
    assert "/static/gridgis/gridgis-events.js" in html  # the view that sets gridgisEventsReady
    assert 'GridGIS.start("events"' in html
