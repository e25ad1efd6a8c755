"""A scheduled publication is shown active once its time has come, by the listing itself
(no /locate call needed first) -- issue 10. The demo generation is restored afterwards."""

from __future__ import annotations

import httpx
from sqlalchemy import Engine, text

from tests.planning_fixtures import draft, planner  # noqa: F401  (fixtures)


def test_listing_flips_a_due_scheduled_publication(
    planner: httpx.Client,  # noqa: F811
    draft: int,  # noqa: F811
    engine: Engine,
    demo_generation: int,
    restore_demo: None,
) -> None:
    with engine.begin() as conn:  # approved, scheduled for a minute ago (its time has come)
        conn.execute(
            text(
                "UPDATE generation SET status = 'approved', "
                "effective_at = now() - interval '1 minute' WHERE id = :g"
            ),
            {"g": draft},
        )
    r = planner.get("/api/v1/generations")
    assert r.status_code == 200, r.text
    status = {g["id"]: g["status"] for g in r.json()["data"]}
    assert status[draft] == "active" and status[demo_generation] == "retired"
    with engine.connect() as conn:
        step = conn.execute(
            text(
                "SELECT actor FROM generation_review WHERE generation_id = :g "
                "AND action = 'publish' ORDER BY id DESC LIMIT 1"
            ),
            {"g": draft},
        ).scalar_one()
    assert step == "scheduler"
