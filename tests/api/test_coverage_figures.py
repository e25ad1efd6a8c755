"""``GET /api/v1/coverage/figures?parent=<village>`` and the /coverage page it keeps small
(issue 15): the page carries towns and villages only (its HTML plus page scripts ≤ 100 KB, no
unit grid), a village's unit grids come from the API with the figures and class colours the
whole level gives them; bad input is a problem+json naming ``parent``, never a 500."""

from __future__ import annotations

import re

import pytest

from maps.coverage_map import NOT_PATROLLED, ROW_FIELDS
from tests.api.test_coverage_api import DAY, SHIFT, covered  # noqa: F401  (module fixture)

PROBLEM = "application/problem+json"
PAGE_LIMIT_BYTES = 100 * 1024


def _figures(client, parent: str, **extra: str):  # type: ignore[no-untyped-def]
    return client.get(
        "/api/v1/coverage/figures", params={"parent": parent, "date": DAY, "shift": SHIFT, **extra}
    )


def test_a_village_brings_its_unit_grids_with_the_levels_colours(client, covered) -> None:  # type: ignore[no-untyped-def]  # noqa: F811
    code = covered["code"]
    village = code[:12]
    r = _figures(client, village)
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["parent"] == village and body["fields"] == list(ROW_FIELDS)
    rows = [dict(zip(body["fields"], row, strict=True)) for row in body["rows"]]
    assert rows and all(g["parent"] == village and g["code"].startswith(village) for g in rows)
    level3 = client.get("/api/v1/coverage", params={"date": DAY, "shift": SHIFT, "level": 3})
    shares = {g["code"]: g["h3_share"] for g in level3.json()["data"]}
    mine = next(g for g in rows if g["code"] == code)
    assert mine["h3"] == shares[code] > 0 and mine["fill"] != NOT_PATROLLED
    assert all(g["h3"] == shares.get(g["code"]) for g in rows)
    w, s, e, n = mine["bbox"]
    assert w < mine["point"][0] < e and s < mine["point"][1] < n


def test_the_page_carries_no_unit_grid_and_stays_small(client, covered) -> None:  # type: ignore[no-untyped-def]  # noqa: F811
    page = client.get("/coverage", params={"date": DAY, "shift": SHIFT})
    assert page.status_code == 200
    scripts = re.findall(r'src="(/page-scripts/[^"]+)"', page.text)
    bodies = [client.get(s).text for s in scripts]
    size = len(page.content) + sum(len(b.encode()) for b in bodies)
    assert size <= PAGE_LIMIT_BYTES, size
    assert all(covered["code"] not in t for t in [page.text, *bodies])
    assert any("/api/v1/coverage/figures" in t for t in [page.text, *bodies])


@pytest.mark.parametrize(
    ("parent", "status"),
    [("abc", 422), ("32028100100", 422), ("320281001004009", 422), ("999999999999", 404)],
)
def test_bad_parents_name_the_field(client, covered, parent, status) -> None:  # type: ignore[no-untyped-def]  # noqa: F811
    r = _figures(client, parent)
    assert r.status_code == status, r.text
    assert r.headers["content-type"].startswith(PROBLEM)
    assert r.json()["field"] == "parent"


def test_no_run_and_no_login_are_said(client, anon, covered) -> None:  # type: ignore[no-untyped-def]  # noqa: F811
    village = covered["code"][:12]
    none = client.get("/api/v1/coverage/figures", params={"parent": village, "date": "2001-01-01"})
    same = client.get(f"/api/v1/coverage/grids/{covered['code']}", params={"date": "2001-01-01"})
    assert none.status_code == same.status_code != 500
    assert none.headers["content-type"].startswith(PROBLEM)
    assert anon.get("/api/v1/coverage/figures", params={"parent": village, "date": DAY}
                    ).status_code == 401  # fmt: skip
    missing = client.get("/api/v1/coverage/figures", params={"date": DAY})
    assert missing.status_code == 422 and missing.json()["field"] == "parent"
