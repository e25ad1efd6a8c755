"""``POST /generations/{id}/rebase`` takes an optional ``reason``, logged in the new draft's
review log with who (issue 10); a wrong type is a 422 naming ``reason``."""

from __future__ import annotations

import httpx
from sqlalchemy import Engine

from tests.api.test_publish_newer_work import _draft_with_rename, _two_grids, admin, planner  # noqa: F401


def test_rebase_reason_is_logged(
    planner: httpx.Client,  # noqa: F811
    admin: httpx.Client,  # noqa: F811
    engine: Engine,
    demo_generation: int,
    restore_demo: None,
) -> None:
    x, y = _two_grids(engine, demo_generation)
    a = _draft_with_rename(planner, "reason A", x, "理由 A")
    b = _draft_with_rename(planner, "reason B", y, "理由 B")
    now = {"reason": "first", "commit": True, "emergency": True}
    assert admin.post(f"/api/v1/generations/{a}/publish", json=now).status_code == 200
    bad = planner.post(f"/api/v1/generations/{b}/rebase", json={"reason": 5})
    assert bad.status_code == 422 and bad.json()["field"] == "reason", bad.text
    r = planner.post(f"/api/v1/generations/{b}/rebase", json={"reason": "A 已发布，继续 B"})
    assert r.status_code == 201, r.text
    c = r.json()["generation"]["id"]
    steps = planner.get(f"/api/v1/generations/{c}/review").json()
    steps = steps["steps"]
    (step,) = [s for s in steps if (s.get("details") or {}).get("step") == "rebase"]
    assert step["reason"] == "A 已发布，继续 B" and step["details"]["rebased_from"] == b
    assert step["actor"]
