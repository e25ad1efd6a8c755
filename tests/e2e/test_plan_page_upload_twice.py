"""Issue 10 (second re-trial, fault 1): /plan forgets the layer chosen for one file when the
planner picks the next. Three uploads in a row: a three-layer GeoPackage (the chooser offers its
layers, "units" is chosen), a one-layer GeoPackage (sent without a layer and imported, not
refused with "has no layer 'units'"), the three-layer file again (the chooser is offered again,
not imported silently with "units")."""

from __future__ import annotations

import pytest

from tests.e2e.conftest import assert_offline_and_clean, wait_until
from tests.e2e.test_plan_page import _shot, open_plan, planners  # noqa: F401

pytestmark = pytest.mark.browser
CHOOSER_SHOWN = "!document.getElementById('draft-layer-chooser').hidden"


def _created(page, name: str) -> None:  # type: ignore[no-untyped-def]
    wait_until(
        page, f"(window.gridgisPlan.state.draft || {{}}).name === {name!r} && "
        "document.getElementById('draft-answer').classList.contains('ok')", timeout=180_000,
    )  # fmt: skip


def test_a_new_file_clears_the_layer_choice(  # type: ignore[no-untyped-def]
    browser, live_server, planners, artifacts, tmp_path, demo_grids,  # noqa: F811
) -> None:  # fmt: skip
    several = tmp_path / "levels.gpkg"
    for level, layer in ((1, "towns"), (2, "villages"), (3, "units")):
        demo_grids[demo_grids.level == level].to_file(several, layer=layer)
    one = tmp_path / "cells.gpkg"
    demo_grids[demo_grids.level == 3].to_file(one, layer="cells")
    page, seen = open_plan(browser, live_server, planners[0], "/plan?lang=en")
    try:
        page.click("#draft-new > summary")
        page.check("input[name=source][value=file]")
        # 1. several layers: the chooser, "units" chosen and sent
        page.fill("#draft-name", "upload one")
        page.set_input_files("#draft-file", str(several))
        page.click("#draft-create")
        wait_until(page, CHOOSER_SHOWN, 60_000)
        page.select_option("#draft-layer-choice", "units")
        page.click("#draft-layer-send")
        _created(page, "upload one")
        assert page.eval_on_selector("#draft-layer", "i => i.value") == "units"
        # 2. a one-layer file: the choice and the chooser are gone; imported, not refused
        page.click("#draft-new > summary")
        page.check("input[name=source][value=file]")
        page.fill("#draft-name", "upload two")
        page.set_input_files("#draft-file", str(one))
        assert page.eval_on_selector("#draft-layer", "i => i.value") == ""
        assert page.is_hidden("#draft-layer-chooser")
        assert page.evaluate("window.gridgisPlan.layersOffered") is None
        with page.expect_request(lambda r: r.method == "POST" and "/generations" in r.url) as rq:
            page.click("#draft-create")
        assert b'name="layer"' not in (rq.value.post_data_buffer or b"")
        _created(page, "upload two")
        assert "has no layer" not in page.inner_text("#draft-answer")
        # 3. the several-layer file again: offered the layers again, not imported with "units"
        page.click("#draft-new > summary")
        page.check("input[name=source][value=file]")
        page.fill("#draft-name", "upload three")
        page.set_input_files("#draft-file", str(several))
        assert page.eval_on_selector("#draft-layer", "i => i.value") == ""
        page.click("#draft-create")
        wait_until(page, CHOOSER_SHOWN, 60_000)
        assert page.evaluate("window.gridgisPlan.layersOffered") == ["towns", "villages", "units"]
        assert page.evaluate("window.gridgisPlan.state.draft.name") == "upload two"
        _shot(page, artifacts, "plan_page_en_upload_again")
        seen["failed"] = [f for f in seen["failed"] if not f.startswith("422 ")]
        seen["errors"] = [e for e in seen["errors"] if "422" not in e]
        assert_offline_and_clean(seen)
    finally:
        page.context.close()
