"""The planning page (/plan) in headless Chromium, end to end: a planner logs in, makes a draft
of the active city, drags a shared vertex with the mouse (leaflet-geoman), sees the impact
panel follow, submits; a second planner approves (API); the first runs the publish dry run and
publishes; the draft is then the active generation. Also: other roles get a 403 page, a visitor
goes to the login page, no inline script, no console error, zh and en, screenshots at
1920×1080 in test-artifacts/.

Publishing changes the shared test database's active generation: ``restore_demo`` puts the
demo generation back in force afterwards, exactly as tests/api/test_review.py does.
"""

from __future__ import annotations

import re
from typing import Any
from urllib.parse import urlsplit

import httpx
import pytest
import shapely
from shapely.geometry import shape
from sqlalchemy import Engine

from tests.api.accounts_support import make_token, make_user
from tests.e2e.conftest import assert_offline_and_clean, offline_page, wait_until

pytestmark = pytest.mark.browser
VIEWPORT = {"width": 1920, "height": 1080}
INLINE_SCRIPT = re.compile(r"<script(?![^>]*\bsrc=)[^>]*>", re.IGNORECASE)
INLINE_HANDLER = re.compile(r"<[^>]+\son[a-z]+\s*=", re.IGNORECASE)
READY = "window.gridgisPlan && window.gridgisPlan.ready"


@pytest.fixture(scope="module")
def planners(engine: Engine) -> list[str]:
    """Tokens of two planner accounts (four eyes: the second approves the first's draft)."""
    out = []
    for _ in range(2):
        user = make_user(engine, "planner", prefix="plan")
        out.append(make_token(engine, user["id"])["token"])
    return out


def _api(live_server: str, token: str) -> httpx.Client:
    return httpx.Client(
        base_url=live_server, headers={"Authorization": f"Bearer {token}"}, timeout=120
    )


def open_plan(browser: Any, live_server: str, token: str, path: str) -> tuple[Any, dict]:  # type: ignore[type-arg]
    """Open ``path`` at 1920×1080 as a person does: the login page first, the token pasted,
    back on the page; returns the page and what it requested or reported."""
    _, page, seen = offline_page(browser)
    page.goto(f"{live_server}{path}")
    assert "/login" in page.url
    token_login = page.locator("details.token-login > summary")
    if token_login.count():
        token_login.click()
    page.fill("#token", token)
    page.click("#token ~ button[type=submit]")
    wait_until(page, READY, timeout=60_000)
    page.wait_for_load_state("networkidle")
    return page, seen


def _shot(page: Any, artifacts: Any, name: str) -> None:
    """A screenshot once both maps have drawn every tile of their view."""
    wait_until(page, "window.gridgisPlan.tilesLoaded()")
    page.screenshot(path=str(artifacts / f"{name}.png"))


def _interior_vertex(api: httpx.Client, draft: int) -> tuple[str, tuple[float, float], Any]:
    """A unit grid and one of its vertices that it shares with two grids of its own village
    and that is not on the village's boundary (moving it changes only unit grids)."""
    villages = api.get("/api/v1/grids", params={"level": 2, "generation": draft}).json()
    for village in villages["features"][5:60]:
        outline = shape(village["geometry"]).boundary
        kids = api.get(
            "/api/v1/grids",
            params={"level": 3, "generation": draft, "parent": village["properties"]["code"]},
        ).json()["features"]
        geoms = {k["properties"]["code"]: shape(k["geometry"]) for k in kids}
        for code, geom in geoms.items():
            for x, y in shapely.get_coordinates(geom.exterior if geom.geom_type == "Polygon"
                                                else geom.geoms[0].exterior):  # fmt: skip
                p = shapely.Point(x, y)
                sharing = [c for c, g in geoms.items() if g.distance(p) < 1e-9]
                if len(sharing) >= 3 and outline.distance(p) > 2e-4:
                    return code, (float(x), float(y)), geom
    raise AssertionError("no interior vertex found")


def _pixel(page: Any, lon: float, lat: float) -> tuple[float, float]:
    """The page coordinates of (lon, lat) on the draft map."""
    x, y = page.evaluate(
        "([lon, lat]) => { const m = window.gridgisPlan.maps.draft;"
        " const p = m.latLngToContainerPoint([lat, lon]);"
        " const r = m.getContainer().getBoundingClientRect();"
        " return [r.left + p.x, r.top + p.y]; }",
        [lon, lat],
    )
    return float(x), float(y)


def test_plan_page_edit_review_publish(  # type: ignore[no-untyped-def]
    browser, live_server, engine, planners, artifacts, restore_demo
) -> None:
    author, reviewer = planners
    with _api(live_server, author) as api, _api(live_server, reviewer) as second:
        r = api.get("/plan")
        assert r.status_code == 200
        assert INLINE_SCRIPT.findall(r.text) == [] and INLINE_HANDLER.findall(r.text) == []
        assert "script-src 'self'" in r.headers["content-security-policy"]
        assert "leaflet-geoman" in r.text

        page, seen = open_plan(browser, live_server, author, "/plan")
        try:
            assert urlsplit(page.url).path == "/plan"
            assert "网格调整" in page.inner_text("nav") and "草案" in page.inner_text("body")
            _shot(page, artifacts, "plan_page_zh_open")

            # 1. a new draft, a copy of the active city
            page.click("#draft-new > summary")
            page.fill("#draft-name", "页面测试草案")
            page.fill("#draft-note", "e2e")
            page.click("#draft-create")
            draft = wait_until(
                page, "window.gridgisPlan.state.draft && window.gridgisPlan.impacts > 0 && "
                "window.gridgisPlan.state.draft.id", timeout=60_000,
            )  # fmt: skip
            assert "#" + str(draft) in page.inner_text("#draft-answer")
            assert page.evaluate("window.gridgisPlan.impact.changed_grids") == 0
            assert page.locator("#plan-legend").is_visible()

            # 2. select a grid on the map with a click, drag a shared vertex with the mouse
            code, (vx, vy), geom = _interior_vertex(api, draft)
            minx, miny, maxx, maxy = geom.bounds
            page.evaluate(
                "(b) => window.gridgisPlan.maps.draft.fitBounds([[b[1], b[0]], [b[3], b[2]]],"
                " {animate: false, padding: [80, 80]})",
                [minx, miny, maxx, maxy],
            )
            page.wait_for_load_state("networkidle")
            inside = geom.representative_point()
            page.wait_for_timeout(500)  # the tiles of the new view are drawn
            page.mouse.click(*_pixel(page, inside.x, inside.y))
            wait_until(
                page, f"(window.gridgisPlan.state.selected || {{}}).code === '{code}' && "
                "document.querySelectorAll('#map-draft .marker-icon').length > 2",
            )  # fmt: skip
            assert code in page.inner_text("#selected")
            _shot(page, artifacts, "plan_page_zh_selected")
            sx, sy = _pixel(page, vx, vy)
            centre = geom.centroid
            cx, cy = _pixel(page, centre.x, centre.y)
            dx, dy = (cx - sx), (cy - sy)
            length = (dx * dx + dy * dy) ** 0.5
            tx, ty = sx + 25 * dx / length, sy + 25 * dy / length  # 25 px into the grid
            page.keyboard.down("Alt")  # geoman: no snapping while Alt is held
            page.mouse.move(sx, sy)
            page.mouse.down()
            page.mouse.move(tx, ty, steps=8)
            page.mouse.up()
            page.keyboard.up("Alt")
            wait_until(page, "window.gridgisPlan.edits >= 1", timeout=60_000)
            answer = page.evaluate("window.gridgisPlan.answers[0]")
            assert answer["edit"]["op"] == "move_vertex"
            changed = {f["properties"]["code"] for f in answer["changed"]["features"]}
            assert code in changed and len(changed) >= 3
            assert answer["validation"]["problems"] == []
            assert "move_vertex" in page.inner_text("#edit-answer")
            # the impact panel follows: the reshaped grids are counted
            impact = page.evaluate("window.gridgisPlan.impact")
            assert impact["changed_grids"] >= 3
            server = api.get(f"/api/v1/generations/{draft}/impact").json()["totals"]
            assert impact == server
            shown = page.inner_text("#impact-totals")
            assert str(server["changed_grids"]) in shown
            assert page.evaluate("window.gridgisPlan.problems") == 0
            assert "move_vertex" in page.text_content("#edit-log")
            _shot(page, artifacts, "plan_page_zh_edited")

            # 3. submit (page), approve (second planner, API), dry run and publish (page)
            page.fill("#review-reason", "页面测试：调整一处共享边界")
            page.click("#review-submit")
            wait_until(page, "window.gridgisPlan.state.draft.status === 'submitted'")
            version = api.get(f"/api/v1/generations/{draft}").json()["version"]
            r = second.post(
                f"/api/v1/generations/{draft}/approve",
                json={"reason": "已复核"},
                headers={"If-Match": f'"{version}"'},
            )
            assert r.status_code == 200, r.text
            page.click("#draft-open")
            wait_until(page, "window.gridgisPlan.state.draft.status === 'approved'")
            assert page.is_disabled("#publish-commit")
            page.click("#publish-dry")
            wait_until(page, "document.getElementById('review-answer').dataset.dryRun === '1'")
            dry = page.inner_text("#review-answer")
            assert "发布预演" in dry and str(server["changed_grids"]) in dry
            assert api.get(f"/api/v1/generations/{draft}").json()["status"] == "approved"
            _shot(page, artifacts, "plan_page_zh_dry_run")
            page.click("#publish-commit")
            wait_until(page, "window.gridgisPlan.state.draft.status === 'active'", 90_000)
            published = page.inner_text("#review-answer")
            assert "已发布" in published and "住户已改到新网格" in published
            assert '{"' not in published  # a summary in words, never raw JSON
            _shot(page, artifacts, "plan_page_zh_published")
            rows = api.get("/api/v1/generations").json()["data"]
            assert next(g["id"] for g in rows if g["status"] == "active") == draft
            assert_offline_and_clean(seen)
        finally:
            page.context.close()


def test_plan_page_in_english_and_the_conflict(  # type: ignore[no-untyped-def]
    browser, live_server, planners, artifacts
) -> None:
    """English labels; an edit on a version someone else changed answers the 409 message."""
    author = planners[0]
    with _api(live_server, author) as api:
        r = api.post("/api/v1/generations", json={"from": "active", "name": "en page draft"})
        assert r.status_code == 201, r.text
        draft = r.json()["generation"]["id"]
        page, seen = open_plan(browser, live_server, author, f"/plan?lang=en&draft={draft}")
        try:
            wait_until(page, f"(window.gridgisPlan.state.draft || {{}}).id === {draft}")
            body = page.inner_text("body")
            assert "Grid planning" in page.title() and "Impact" in body and "Drafts" in body
            assert "Active generation" in body and "Changes in the draft" in body
            _shot(page, artifacts, "plan_page_en")
            # someone renames a grid through the API meanwhile: the page's version is stale
            town = api.get("/api/v1/grids", params={"level": 1, "generation": draft}).json()
            first = town["features"][0]["properties"]["code"]
            village = api.get(f"/api/v1/grids/{first}", params={"generation": draft}).json()
            v_code = village["properties"]["children"][0]["code"]
            unit = api.get(f"/api/v1/grids/{v_code}", params={"generation": draft}).json()
            grid = unit["properties"]["children"][0]["code"]
            version = api.get(f"/api/v1/generations/{draft}").json()["version"]
            r = api.post(
                f"/api/v1/generations/{draft}/edits",
                json={"op": "rename", "code": grid, "name": "other", "reason": "x"},
                headers={"If-Match": f'"{version}"'},
            )
            assert r.status_code == 200, r.text
            # the page still holds the old version: the planner picks the grid and renames it
            page.evaluate(f"window.gridgisPlan.select('{grid}')")  # what a click on it does
            wait_until(
                page, f"(window.gridgisPlan.state.selected || {{}}).code === '{grid}'", 90_000
            )
            page.fill("#recode-code", grid)
            page.fill("#rename-name", "mine")
            page.click("#edit-rename")
            wait_until(page, "document.getElementById('conflict-reload') !== null")
            text_shown = page.inner_text("#edit-answer")
            assert "Someone else edited this draft; reload" in text_shown
            assert f"Current version: {version + 1}" in text_shown
            page.click("#conflict-reload")
            wait_until(page, f"window.gridgisPlan.state.version === {version + 1}")
            page.wait_for_load_state("networkidle")
            # reloaded: the conflict's message is gone with it
            assert page.inner_text("#edit-answer").strip() == ""
            assert page.locator("#conflict-reload").count() == 0
            _shot(page, artifacts, "plan_page_en_conflict")

            # split the grid by drawing a line across it, then undo the split
            geom = shape(api.get(f"/api/v1/grids/{grid}", params={"generation": draft}).json()[
                "geometry"])  # fmt: skip
            minx, miny, maxx, maxy = geom.bounds
            page.evaluate(
                "(b) => window.gridgisPlan.maps.draft.fitBounds([[b[1], b[0]], [b[3], b[2]]],"
                " {animate: false, padding: [120, 120]})",
                [minx, miny, maxx, maxy],
            )
            page.wait_for_load_state("networkidle")
            inside = geom.representative_point()
            page.mouse.click(*_pixel(page, inside.x, inside.y))
            wait_until(page, f"(window.gridgisPlan.state.selected || {{}}).code === '{grid}'")
            page.click("#edit-split")
            west = _pixel(page, minx - (maxx - minx) * 0.05, inside.y)
            east = _pixel(page, maxx + (maxx - minx) * 0.05, inside.y)
            page.mouse.click(*west)
            page.mouse.click(*east)
            page.mouse.click(*east)  # a click on the last point ends the line
            wait_until(page, "window.gridgisPlan.edits >= 1", timeout=60_000)
            split = page.evaluate("window.gridgisPlan.answers[0]")
            assert split["edit"]["op"] == "split" and grid in split["removed"]
            parts = [f for f in split["changed"]["features"] if f["properties"]["level"] == 3
                     and f["properties"]["code"] not in (grid,)]  # fmt: skip
            assert len(parts) >= 2
            _shot(page, artifacts, "plan_page_en_split")
            assert page.is_enabled("#edit-undo")
            page.click("#edit-undo")
            wait_until(page, "window.gridgisPlan.edits >= 2", timeout=60_000)
            assert api.get(f"/api/v1/grids/{grid}", params={"generation": draft}).status_code == 200
            assert page.is_enabled("#edit-redo")
            # merge it (back after the undo) with a neighbour of its village, chosen in the form
            wait_until(page, "window.gridgisPlan.tilesLoaded()")
            page.mouse.click(*_pixel(page, inside.x, inside.y))
            wait_until(page, f"(window.gridgisPlan.state.selected || {{}}).code === '{grid}'")
            other = page.eval_on_selector("#merge-with", "s => s.value")
            assert other and other != grid
            page.fill("#merge-name", "merged in the page")
            page.click("#edit-merge")
            wait_until(page, "window.gridgisPlan.edits >= 3", timeout=60_000)
            merged = page.evaluate("window.gridgisPlan.answers[2]")
            assert merged["edit"]["op"] == "merge"
            assert set(merged["removed"]) == {grid, other}
            names = {f["properties"]["name"] for f in merged["changed"]["features"]}
            assert "merged in the page" in names
            assert page.is_disabled("#edit-redo")  # a new edit drops what was undone
            # the 409 is the one failed response; nothing else failed, nothing left the machine
            assert [f for f in seen["failed"] if "/edits" not in f] == []
            seen["failed"] = []
            seen["errors"] = [e for e in seen["errors"] if "409" not in e]
            assert_offline_and_clean(seen)
        finally:
            page.context.close()


def test_plan_page_roles(live_server, anon, tokens) -> None:  # type: ignore[no-untyped-def]
    r = anon.get("/plan", follow_redirects=False)
    assert r.status_code == 303 and r.headers["location"] == "/login?next=/plan&lang=zh"
    r = anon.get("/plan?lang=en", follow_redirects=False)
    assert r.headers["location"].endswith("&lang=en")
    for role in ("viewer", "dispatcher", "officer"):
        r = httpx.get(
            f"{live_server}/plan", headers={"Authorization": f"Bearer {tokens[role]}"}, timeout=60
        )
        assert r.status_code == 403 and role in r.text and "planner" in r.text
        assert "gridgis-plan.js" not in r.text
    r = httpx.get(
        f"{live_server}/plan?lang=en",
        headers={"Authorization": f"Bearer {tokens['admin']}"},
        timeout=60,
    )
    assert r.status_code == 200 and "gridgis-plan.js" in r.text and "Planning" in r.text
    # the bar offers "Planning" only to the roles that may plan
    for role, offered in (("viewer", False), ("dispatcher", False), ("planner", True)):
        r = httpx.get(
            f"{live_server}/?lang=en",
            headers={"Authorization": f"Bearer {tokens[role]}"},
            timeout=60,
        )
        assert r.status_code == 200, r.text[:300]
        nav = r.text[r.text.index("<nav") : r.text.index("</nav>")]
        assert ('href="/plan' in nav) is offered and ("Planning" in nav) is offered, role


def test_plan_page_upload_and_problems(  # type: ignore[no-untyped-def]
    browser, live_server, planners, artifacts, tmp_path
) -> None:
    """A GeoJSON uploaded through the page becomes a draft; a grid made 20 m too big overlaps
    its neighbours: the problems are listed, and a click on one shows it on the map. A file
    that is not a grid file is answered with the server's problem detail."""
    import json

    author = planners[0]
    with _api(live_server, author) as api:
        rows = api.get("/api/v1/generations").json()["data"]
        active = next(g["id"] for g in rows if g["status"] == "active")
        r = api.get(f"/api/v1/generations/{active}/export", params={"format": "geojson"})
        assert r.status_code == 200, r.text[:300]
        data = r.json()
        units = [f for f in data["features"] if f["properties"]["level"] == 3]
        grown = units[100]
        grown["geometry"] = shapely.geometry.mapping(shape(grown["geometry"]).buffer(0.0002))
        good = tmp_path / "grown.geojson"
        good.write_text(json.dumps(data), encoding="utf-8")
        bad = tmp_path / "notes.geojson"
        bad.write_text("this is not GeoJSON", encoding="utf-8")

        page, seen = open_plan(browser, live_server, author, "/plan?lang=en")
        try:
            page.click("#draft-new > summary")
            page.check("input[name=source][value=file]")
            assert page.is_visible("#draft-file")
            page.fill("#draft-name", "bad upload")
            page.set_input_files("#draft-file", str(bad))
            page.click("#draft-create")
            wait_until(page, "document.getElementById('draft-answer').classList.contains('error')")
            shown = page.inner_text("#draft-answer")
            assert "Error 422" in shown and "field:" in shown
            page.fill("#draft-name", "grown grid upload")
            page.set_input_files("#draft-file", str(good))
            page.fill("#draft-crs", "EPSG:4490")
            page.click("#draft-create")
            wait_until(
                page, "window.gridgisPlan.problems > 0 && (window.gridgisPlan.state.draft || {})"
                ".name === 'grown grid upload'", timeout=120_000,
            )  # fmt: skip
            assert "publishable: no" in page.inner_text("#draft-answer")
            first = page.locator("#problems li.problem").first
            assert grown["properties"]["code"] in page.inner_text("#problems")
            first.click()
            wait_until(page, "window.gridgisPlan.tilesLoaded()")
            inside = page.evaluate(
                "() => { const m = window.gridgisPlan.maps.draft;"
                " return m.getZoom() >= 14 && m.getBounds().contains("
                "window.gridgisPlan.lastProblem); }"
            )
            assert inside
            _shot(page, artifacts, "plan_page_en_problems")
            # a draft with problems cannot be submitted: the server says why, in place
            page.fill("#review-reason", "try")
            page.click("#review-submit")
            wait_until(page, "document.getElementById('review-answer').classList.contains('error')")
            assert "Error 422" in page.inner_text("#review-answer")
            seen["failed"] = [f for f in seen["failed"] if not f.startswith("422 ")]
            seen["errors"] = [e for e in seen["errors"] if "422" not in e]
            assert_offline_and_clean(seen)
        finally:
            page.context.close()


def _unused_code(api: httpx.Client, prefix: str) -> str:
    """A unit grid code under ``prefix`` that no generation has ever used (recode refuses a
    retired code)."""
    for seq in range(998, 900, -1):
        code = f"{prefix}{seq:03d}"
        if api.get(f"/api/v1/grids/{code}/history", params={"drafts": "true"}).status_code == 404:
            return code
    raise AssertionError(f"no unused code under {prefix}")


def test_plan_page_gpkg_layers_village_reparent_move_edge_recode(  # type: ignore[no-untyped-def]
    browser, live_server, planners, artifacts, tmp_path, demo_grids
) -> None:
    """A GeoPackage with three layers uploaded without a layer: the page offers its layers
    (names, geometry types, counts) and sends it again with the one chosen. On that draft: a
    village selected on the map moves to a neighbouring town (reparent), a unit grid's shared
    edge is moved with the form, and a unit grid gets a new code."""
    author = planners[0]
    path = tmp_path / "levels.gpkg"
    for level, layer in ((1, "towns"), (2, "villages"), (3, "units")):
        demo_grids[demo_grids.level == level].to_file(path, layer=layer)
    with _api(live_server, author) as api:
        page, seen = open_plan(browser, live_server, author, "/plan")
        try:
            # 1. the upload without a layer: a chooser with the file's layers, then the choice
            page.click("#draft-new > summary")
            page.check("input[name=source][value=file]")
            page.fill("#draft-name", "图层选择草案")
            page.set_input_files("#draft-file", str(path))
            page.click("#draft-create")
            wait_until(page, "!document.getElementById('draft-layer-chooser').hidden", 60_000)
            shown = page.inner_text("#draft-answer")
            assert "含 3 个图层" in shown and "--layer" not in shown
            offered = page.eval_on_selector_all(
                "#draft-layer-choice option", "os => os.map(o => [o.value, o.textContent])"
            )
            assert [v for v, _ in offered] == ["towns", "villages", "units", "all"]
            assert "1558 个要素" in offered[2][1] and "Polygon" in offered[2][1]
            _shot(page, artifacts, "plan_page_zh_layer_choice")
            page.select_option("#draft-layer-choice", "units")
            page.click("#draft-layer-send")
            wait_until(
                page, "(window.gridgisPlan.state.draft || {}).name === '图层选择草案' && "
                "window.gridgisPlan.impacts > 0", timeout=120_000,
            )  # fmt: skip
            draft = page.evaluate("window.gridgisPlan.state.draft.id")
            assert page.eval_on_selector("#draft-layer", "i => i.value") == "units"
            assert page.is_hidden("#draft-layer-chooser")

            # 2. a village at a town boundary, selected with a click on one of its grids
            villages = api.get("/api/v1/grids", params={"level": 2, "generation": draft}).json()
            village = town = None
            for f in villages["features"]:
                code = f["properties"]["code"]
                detail = api.get(f"/api/v1/grids/{code}", params={"generation": draft}).json()
                p = detail["properties"]
                towns = sorted({n["parent_code"] for n in p["neighbours"]} - {p["parent_code"]})
                if towns:
                    village, town = detail, towns[0]
                    break
            assert village is not None
            v_code = village["properties"]["code"]
            unit = village["properties"]["children"][0]["code"]
            ug = shape(api.get(f"/api/v1/grids/{unit}", params={"generation": draft}).json()[
                "geometry"])  # fmt: skip
            minx, miny, maxx, maxy = ug.bounds
            page.evaluate(
                "(b) => window.gridgisPlan.maps.draft.fitBounds([[b[1], b[0]], [b[3], b[2]]],"
                " {animate: false, padding: [120, 120]})",
                [minx, miny, maxx, maxy],
            )
            page.wait_for_load_state("networkidle")
            wait_until(page, "window.gridgisPlan.tilesLoaded()")
            page.check("input[name=select-level][value='2']")
            inside = ug.representative_point()
            page.mouse.click(*_pixel(page, inside.x, inside.y))
            wait_until(page, f"(window.gridgisPlan.state.selected || {{}}).code === '{v_code}'")
            assert "村社区 " + v_code in page.inner_text("#selected")
            assert page.is_hidden("#row-merge") and page.is_hidden("#row-edge")
            assert page.is_disabled("#edit-split")
            page.select_option("#reparent-to", town)
            page.fill("#edit-reason", "村社区划入相邻镇街")
            page.click("#edit-reparent")
            wait_until(page, "window.gridgisPlan.edits >= 1", timeout=60_000)
            moved = page.evaluate("window.gridgisPlan.answers[0]")
            assert moved["edit"]["op"] == "reparent" and v_code in moved["removed"]
            new_village = [
                f["properties"] for f in moved["changed"]["features"]
                if f["properties"]["level"] == 2 and f["properties"]["parent_code"] == town
            ]  # fmt: skip
            assert new_village and new_village[0]["code"].startswith(town)
            _shot(page, artifacts, "plan_page_zh_village_reparented")

            # 3. a unit grid again: move its shared edge with a neighbour 30 m east
            page.check("input[name=select-level][value='3']")
            other_village = next(
                f for f in villages["features"] if f["properties"]["code"] != v_code
            )["properties"]["code"]
            units = api.get(
                "/api/v1/grids", params={"level": 3, "generation": draft, "parent": other_village}
            ).json()["features"]
            grid = units[0]["properties"]["code"]
            page.evaluate(f"window.gridgisPlan.select('{grid}')")
            wait_until(page, f"(window.gridgisPlan.state.selected || {{}}).code === '{grid}'")
            assert page.is_visible("#row-edge")
            neighbour = page.eval_on_selector("#edge-with", "s => s.value")
            assert neighbour and neighbour != grid
            page.fill("#edge-dx", "30")
            page.fill("#edge-dy", "0")
            page.click("#edit-edge")
            wait_until(page, "window.gridgisPlan.edits >= 2", timeout=60_000)
            edge = page.evaluate("window.gridgisPlan.answers[1]")
            assert edge["edit"]["op"] == "move_edge"
            changed = {f["properties"]["code"] for f in edge["changed"]["features"]}
            assert {grid, neighbour} <= changed

            # 4. recode the same grid to an unused code of its village
            wait_until(page, f"(window.gridgisPlan.state.selected || {{}}).code === '{grid}'")
            new_code = _unused_code(api, grid[:12])
            page.fill("#recode-code", new_code)
            page.click("#edit-recode")
            wait_until(page, "window.gridgisPlan.edits >= 3", timeout=60_000)
            recoded = page.evaluate("window.gridgisPlan.answers[2]")
            assert recoded["edit"]["op"] == "recode" and recoded["removed"] == [grid]
            assert new_code in {f["properties"]["code"] for f in recoded["changed"]["features"]}
            assert "recode" in page.text_content("#edit-log")
            _shot(page, artifacts, "plan_page_zh_recoded")
            # the layer question is the one failed response (422)
            seen["failed"] = [f for f in seen["failed"] if not f.startswith("422 ")]
            seen["errors"] = [e for e in seen["errors"] if "422" not in e]
            assert_offline_and_clean(seen)
        finally:
            page.context.close()


def test_a_click_before_the_tiles_are_drawn_selects_the_grid(  # type: ignore[no-untyped-def]
    browser, live_server, planners
) -> None:
    """A planner who clicks the draft map before its unit grids' tiles are drawn (here: never
    delivered) still selects the grid under the pointer: the page asks the server to locate
    the point in the draft."""
    with _api(live_server, planners[0]) as api:
        r = api.post("/api/v1/generations", json={"from": "active", "name": "click draft"})
        assert r.status_code == 201, r.text
        draft = r.json()["generation"]["id"]
        page, _ = open_plan(browser, live_server, planners[0], f"/plan?draft={draft}")
        try:
            wait_until(page, f"(window.gridgisPlan.state.draft || {{}}).id === {draft}")
            grid = "320281001001001"
            geom = shape(api.get(f"/api/v1/grids/{grid}", params={"generation": draft}).json()[
                "geometry"])  # fmt: skip
            page.route("**/tiles/**", lambda route: route.abort())  # no tile arrives from now
            minx, miny, maxx, maxy = geom.bounds
            page.evaluate(
                "(b) => window.gridgisPlan.maps.draft.fitBounds([[b[1], b[0]], [b[3], b[2]]],"
                " {animate: false, padding: [120, 120]})",
                [minx, miny, maxx, maxy],
            )
            inside = geom.representative_point()
            page.mouse.click(*_pixel(page, inside.x, inside.y))
            wait_until(
                page, f"(window.gridgisPlan.state.selected || {{}}).code === '{grid}'", 60_000
            )
            assert page.locator("#selected-tools").is_visible()
        finally:
            page.context.close()
