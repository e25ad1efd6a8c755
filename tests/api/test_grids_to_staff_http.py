"""The to-decide lists over HTTP (issue 10): a retired generation's lists answer 410 (its
candidates are no longer in force), the active one's grids-to-staff list answers, bad
decisions are refused with problem+json naming the field."""

from __future__ import annotations

from collections.abc import Iterator

import httpx
import pytest
from sqlalchemy import Engine, text

from tests.planning_fixtures import planner  # noqa: F401  (fixture)


@pytest.fixture
def retired(engine: Engine) -> Iterator[int]:
    with engine.begin() as conn:
        gen = conn.execute(
            text(
                "INSERT INTO generation (name, status, activated_at, retired_at) VALUES "
                "('test retired', 'retired', now() - interval '2 days', now() - interval '1 day') "
                "RETURNING id"
            )
        ).scalar_one()
    try:
        yield gen
    finally:
        with engine.begin() as conn:
            conn.execute(text("DELETE FROM generation WHERE id = :g"), {"g": gen})


def test_lists_of_a_retired_generation_are_gone(planner: httpx.Client, retired: int) -> None:  # noqa: F811
    for path in ("assignments-to-decide", "grids-to-staff"):
        r = planner.get(f"/api/v1/generations/{retired}/{path}")
        assert r.status_code == 410, r.text
        assert r.headers["content-type"].startswith("application/problem+json")
        assert r.json()["field"] == "generation" and "retired" in r.json()["detail"]
    r = planner.post(
        f"/api/v1/generations/{retired}/grids-to-staff",
        json={"grid_code": "320281001001001", "role": "grid_worker", "decision": "vacant",
              "reason": "r"},
    )  # fmt: skip
    assert r.status_code == 410, r.text


def test_grids_to_staff_of_the_active_generation(
    planner: httpx.Client,  # noqa: F811
    demo_generation: int,
) -> None:
    r = planner.get(f"/api/v1/generations/{demo_generation}/grids-to-staff")
    assert r.status_code == 200, r.text
    assert r.json()["status"] == "active" and r.json()["count"] == len(r.json()["data"])
    bad = planner.post(
        f"/api/v1/generations/{demo_generation}/grids-to-staff",
        json={"grid_code": "320281001001001", "role": "grid_worker", "decision": "guess",
              "reason": "r"},
    )  # fmt: skip
    assert bad.status_code == 422 and bad.json()["field"] == "decision", bad.text
    nobody = planner.post(
        f"/api/v1/generations/{demo_generation}/grids-to-staff",
        json={"grid_code": "320281001001001", "role": "grid_worker", "decision": "vacant",
              "reason": "r"},
    )  # fmt: skip
    assert nobody.status_code == 409 and nobody.json()["field"] == "grid_code", nobody.text


def test_one_to_decide_list_and_one_way_to_decide(
    planner: httpx.Client,  # noqa: F811
    demo_generation: int,
    retired: int,
) -> None:
    r = planner.get(f"/api/v1/generations/{demo_generation}/to-decide")
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["status"] == "active"
    assert body["count"] == sum(
        len(body[k]) for k in ("assignments", "grids_to_staff", "zone_members")
    )
    assert planner.get(f"/api/v1/generations/{retired}/to-decide").status_code == 410
    for item, field in (
        ({"kind": "nope", "reason": "r"}, "kind"),
        ({"kind": "zone_member", "grid_code": "320281001013", "decision": "drop", "reason": "r"},
         "zone_id"),
        ({"kind": "zone_member", "zone_id": 1, "grid_code": "320281001013", "decision": "keep",
          "reason": "r"}, "decision"),
    ):  # fmt: skip
        bad = planner.post(f"/api/v1/generations/{demo_generation}/to-decide", json=item)
        assert bad.status_code == 422 and bad.json()["field"] == field, bad.text
    assert (
        planner.post(f"/api/v1/generations/{demo_generation}/to-decide", json=[1]).status_code
        == 422
    )


def test_assignments_to_decide_answer_names_the_grids_to_staff(
    planner: httpx.Client,  # noqa: F811
    demo_generation: int,
) -> None:
    r = planner.get(f"/api/v1/generations/{demo_generation}/assignments-to-decide")
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["status"] == "active" and isinstance(body["grids_to_staff"], list)
    assert body["count"] == len(body["data"])
