"""/plan's impact list names people's roles in the page's language (maps.styles.ROLE_NAMES,
handed to the script as the page's data-roles): 网格员 on the Chinese page, "Grid worker" on the
English one, never the stored "grid_worker". The draft is a committed copy of the demo city with
two unit grids of one village merged (one of them staffed), deleted afterwards."""

from __future__ import annotations

import html
import json
import re
from collections.abc import Iterator

import httpx
import pytest
from sqlalchemy import Engine, text

from layers.db import make_sessionmaker, transaction
from maps.styles import ROLE_NAMES
from tests.e2e.conftest import assert_offline_and_clean, wait_until
from tests.e2e.test_plan_page import open_plan
from tests.layers.test_impact import copy_draft
from tests.people_fixtures import *  # noqa: F403  (people_demo: the grids' staff)

pytestmark = pytest.mark.browser
DATA_ROLES = re.compile(r'data-roles="([^"]*)"')


@pytest.fixture
def merged_draft(  # type: ignore[no-untyped-def]
    engine: Engine, demo_generation: int, people_demo
) -> Iterator[tuple[int, str, str]]:
    with transaction(make_sessionmaker(engine)) as session:
        draft = copy_draft(session, demo_generation)
    with engine.connect() as conn:
        a, b = conn.execute(
            text(
                "SELECT a.code, b.code FROM grid a JOIN grid b ON b.generation_id = "
                "a.generation_id AND b.level = 3 AND a.code <> b.code AND a.geom && b.geom "
                "AND b.parent_code = a.parent_code AND ST_Relate(a.geom, b.geom, 'F***1****') "
                "WHERE a.generation_id = :g AND a.level = 3 AND EXISTS (SELECT 1 FROM "
                "grid_assignment s WHERE s.grid_code = a.code AND s.role = 'grid_worker' "
                "AND s.valid_to IS NULL) ORDER BY a.code, b.code LIMIT 1"
            ),
            {"g": draft},
        ).one()
    yield draft, a, b
    with engine.begin() as conn:
        conn.execute(text("DELETE FROM generation WHERE id = :g"), {"g": draft})


def test_page_hands_the_role_names_of_its_language(live_server, tokens) -> None:  # type: ignore[no-untyped-def]
    headers = {"Authorization": f"Bearer {tokens['planner']}"}
    for lang in ("zh", "en"):
        r = httpx.get(f"{live_server}/plan", params={"lang": lang}, headers=headers, timeout=60)
        assert r.status_code == 200, r.text
        roles = DATA_ROLES.search(r.text)
        assert roles, "the page carries data-roles"
        assert json.loads(html.unescape(roles.group(1))) == ROLE_NAMES[lang]


ACTION_NAMES = {
    "zh": "网格不变|随网格移动|需人工确定",
    "en": "grid unchanged|moves with its grid|to decide",
}


def test_impact_list_names_roles_in_the_page_language(  # type: ignore[no-untyped-def]
    browser, live_server, tokens, merged_draft
) -> None:
    draft, a, b = merged_draft
    headers = {"Authorization": f"Bearer {tokens['planner']}"}
    with httpx.Client(base_url=live_server, headers=headers, timeout=120) as api:
        v = int(api.get(f"/api/v1/generations/{draft}/edits").headers["ETag"].strip('"'))
        r = api.post(f"/api/v1/generations/{draft}/edits", headers={"If-Match": f'"{v}"'},
                     json={"op": "merge", "codes": [a, b], "reason": "role names"})  # fmt: skip
        assert r.status_code == 200, r.text
    for lang, worker in (("zh", "网格员"), ("en", "Grid worker")):
        path = f"/plan?draft={draft}" + ("&lang=en" if lang == "en" else "")
        page, seen = open_plan(browser, live_server, tokens["planner"], path)
        try:
            wait_until(page, f"(window.gridgisPlan.state.draft || {{}}).id === {draft} && "
                       "window.gridgisPlan.impacts > 0", timeout=120_000)  # fmt: skip
            listed = page.locator("#impact details li").all_text_contents()
            assert any(worker in t and a in t for t in listed), listed  # the worker of a
            # the assignment lines (other tests' devices or names may hold such words), their
            # action named in the page's language, never the API's keep/move/decide
            actions = ACTION_NAMES[lang]
            people = [t for t in listed if re.search(r"\((" + actions + ")", t)]
            assert people and not any(
                re.search(r"\b(grid_worker|grid_chief|patroller)\b", t) for t in people
            ), people
            assert not any(re.search(r"\((keep|move|decide)\b", t) for t in listed), listed
            assert_offline_and_clean(seen)
        finally:
            page.context.close()
