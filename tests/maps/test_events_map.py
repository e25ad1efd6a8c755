"""The events map builder: local assets only, no event or geometry in the page, names escaped,
one language per page, the legend says what a cluster's colour means."""

from __future__ import annotations

import re

from maps.events_map import ACTIONS, SOURCE_NAMES, STATUS_COLORS, WORDS, build_events_map, words
from maps.styles import LABELS

CLASSES = [
    {"code": "01", "name": "City environment", "name_zh": "市容环境", "name_en": "City environment",
     "subclasses": [{"code": "0101", "name": "</script><b>x", "name_zh": "暴露垃圾",
                     "name_en": "</script><b>x"},
                    {"code": "0199", "name": "City environment", "name_zh": "无英文名",
                     "name_en": None}]},
]  # fmt: skip
"""As list_dictionary(lang="en") gives it: 0199 has no English name, so its class's."""
TOWNS = [{"code": "320281001", "name": "<img src=x onerror=alert(1)>"}]
CJK = re.compile(r"[\u4e00-\u9fff]")


def test_page_links_only_local_assets_and_escapes_text() -> None:
    html = build_events_map(lang="en", towns=TOWNS, classes=CLASSES).get_root().render()
    urls = re.findall(r'(?:src|href)="([^"]+)"', html)
    assert urls and all(u.startswith("/static/") for u in urls)
    assert "leaflet.markercluster.js" in html and "gridgis-tiles.js" in html
    assert "</script><b>x" not in html and "<img src=x" not in html
    assert "Overdue" in html and "most urgent" in html
    assert "FeatureCollection" not in html  # no geometry: town outlines come from the tiles


def test_english_page_never_carries_chinese_names() -> None:
    html = build_events_map(lang="en", classes=CLASSES).get_root().render()
    assert "无英文名" not in html and "市容环境" not in html  # the names the dictionary chose
    assert not any(CJK.search(str(v)) for v in words("en")["status_names"].values())


def test_every_word_in_both_languages() -> None:
    for table in (WORDS, ACTIONS, SOURCE_NAMES):
        assert set(table["zh"]) == set(table["en"])
        # no English word in the Chinese (the acronym HTTP, as in every page's "（HTTP 502）", is no
        # English word: GridGIS.failedText writes it so)
        assert not any(re.search(r"[A-Za-z]{3,}", re.sub(r"\{\w+\}|HTTP", "", v))
                       for v in table["zh"].values())  # fmt: skip
        assert not any(CJK.search(v) for v in table["en"].values())
    for lang in ("zh", "en"):  # every word is text (none shadowed by a table)
        assert all(isinstance(v, str) for k, v in words(lang).items() if k in WORDS[lang])
    for status in STATUS_COLORS:
        assert set(LABELS[f"event_status_{status}"]) == {"zh", "en"}


def test_empty_map_still_renders() -> None:
    html = build_events_map().get_root().render()
    assert "/static/gridgis/gridgis-events.js" in html
    assert 'GridGIS.start("events"' in html and 'id="events-panel"' in html
