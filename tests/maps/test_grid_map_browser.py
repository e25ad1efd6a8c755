"""The grid map page as built, in headless Chromium from a plain static server: offline, no
errors, title, legend, town and village names, zh/en. The grids themselves come from the app's
vector tiles (drawn, clicked and hovered in tests/e2e/test_map_page.py); a page without a
generation asks for none.

Screenshots go to ``test-artifacts/`` for people to look at.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest

from maps.assets import check_installed
from maps.grid_map import GridMapSource, build_grid_map
from tests.maps.browser_support import LOCAL_HOST, PageServer, serve
from tests.maps.grid_samples import sample_levels

pytestmark = pytest.mark.browser

ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts"
VIEWPORT = {"width": 1400, "height": 900}

sync_api = pytest.importorskip("playwright.sync_api")


@dataclass
class PageVisit:
    """What one page load did: every request, console errors, failures."""

    page: Any
    requests: list[str] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)
    failed: list[str] = field(default_factory=list)

    def outside_requests(self) -> list[str]:
        return [
            url
            for url in self.requests
            if urlsplit(url).scheme in ("http", "https", "ws", "wss")
            and urlsplit(url).hostname != LOCAL_HOST
        ]


@pytest.fixture(scope="module")
def levels() -> dict[int, dict[str, Any]]:
    return sample_levels()


@pytest.fixture(scope="module")
def server(levels: dict[int, dict[str, Any]]) -> Iterator[PageServer]:
    problems = check_installed()
    assert not problems, "\n".join(problems)
    source = GridMapSource.from_levels(levels)  # no generation: names only, no tiles
    pages = {
        "/grid_map.html": build_grid_map(source).get_root().render().encode(),
        "/grid_map_en.html": build_grid_map(source, lang="en").get_root().render().encode(),
        "/grid_map_empty.html": build_grid_map(None).get_root().render().encode(),
    }
    with serve(PageServer(pages=pages)) as running:
        yield running


def visit(browser: Any, url: str) -> Iterator[PageVisit]:
    context = browser.new_context(viewport=VIEWPORT, locale="zh-CN")
    page = context.new_page()
    seen = PageVisit(page)
    page.on("request", lambda request: seen.requests.append(request.url))
    page.on("requestfailed", lambda request: seen.failed.append(request.url))
    page.on("response", lambda r: r.status >= 400 and seen.failed.append(f"{r.status} {r.url}"))
    page.on("console", lambda m: m.type == "error" and seen.errors.append(m.text))
    page.on("pageerror", lambda exc: seen.errors.append(str(exc)))

    # Nothing may leave the machine: anything not for our server is refused (and recorded).
    def only_local(route: Any) -> None:
        if urlsplit(route.request.url).hostname == LOCAL_HOST:
            route.continue_()
        else:
            route.abort()

    context.route("**/*", only_local)
    page.goto(url, wait_until="networkidle")
    page.wait_for_function("window.gridgisReady !== undefined", timeout=15_000)
    try:
        yield seen
    finally:
        context.close()


@pytest.fixture
def zh_page(browser: Any, server: PageServer) -> Iterator[PageVisit]:
    yield from visit(browser, server.url("/grid_map.html"))


@pytest.fixture
def en_page(browser: Any, server: PageServer) -> Iterator[PageVisit]:
    yield from visit(browser, server.url("/grid_map_en.html"))


@pytest.fixture
def empty_page(browser: Any, server: PageServer) -> Iterator[PageVisit]:
    yield from visit(browser, server.url("/grid_map_empty.html"))


def test_grid_map_loads_offline_without_errors(zh_page: PageVisit, server: PageServer) -> None:
    page = zh_page.page
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / "grid_map.png"))

    assert zh_page.outside_requests() == []
    assert zh_page.failed == [], f"failed requests: {zh_page.failed}"
    assert server.not_found == [], f"asset paths the server does not have: {server.not_found}"
    assert zh_page.errors == [], f"console errors: {zh_page.errors}"
    # no generation in the source: no tile asked for, nothing counted as drawn
    assert not [u for u in zh_page.requests if "/tiles/" in u]
    assert page.evaluate("window.gridgisReady") == {"level1": 0, "level2": 0, "level3": 0}


def test_grid_map_speaks_chinese_with_names_and_legend(zh_page: PageVisit) -> None:
    page = zh_page.page
    assert page.title() == "网格通 · 网格地图"
    assert page.locator(".gridgis-title").inner_text() == "网格通 · 网格地图"
    legend = page.locator(".gridgis-legend").inner_text()
    for text in ("图例", "一级网格（镇街）", "二级网格（村社区）", "三级网格（单元网格）"):
        assert text in legend
    town_labels = page.locator(".gridgis-label-l1")
    assert sorted(town_labels.all_inner_texts()) == ["澄江街道", "璜土镇"]
    assert town_labels.first.is_visible()
    assert page.locator(".leaflet-control-layers-overlays input:checked").count() == 3
    assert zh_page.errors == []


def test_grid_map_in_english(en_page: PageVisit) -> None:
    page = en_page.page
    page.screenshot(path=str(ARTIFACTS / "grid_map_en.png"))
    assert page.locator(".gridgis-title").inner_text() == "GridGIS · Grid map"
    assert "Legend" in page.locator(".gridgis-legend").inner_text()
    assert page.evaluate("document.documentElement.lang") == "en"
    assert en_page.outside_requests() == [] and en_page.errors == []


def test_level_2_names_appear_when_zoomed_in(zh_page: PageVisit) -> None:
    page = zh_page.page
    village_label = page.locator(".gridgis-label-l2").first
    page.evaluate("window.gridgisMap.setZoom(16, {animate: false})")
    page.wait_for_function(
        "!document.querySelector('.leaflet-container').classList.contains('gridgis-hide-l2-labels')"
    )
    assert village_label.count() == 1
    page.evaluate("window.gridgisMap.setZoom(8, {animate: false})")
    page.wait_for_function(
        "document.querySelector('.leaflet-container').classList.contains('gridgis-hide-l2-labels')"
    )
    assert not village_label.is_visible()


def test_map_without_grids_still_loads(empty_page: PageVisit) -> None:
    page = empty_page.page
    assert page.evaluate("window.gridgisReady") == {"level1": 0, "level2": 0, "level3": 0}
    assert "没有网格数据" in page.locator(".gridgis-legend").inner_text()
    assert empty_page.errors == [] and empty_page.outside_requests() == []
