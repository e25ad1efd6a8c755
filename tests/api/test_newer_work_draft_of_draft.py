"""Issue 10 (second re-trial, fault 4): a draft copied from a draft has its source's base (the
published generation up the copy chain). The source draft's own edits are the copy's, not
"newer work": the dry run names nothing and the commit is not refused (no false 409). Work
published after that base is still named, and only that work."""

from __future__ import annotations

import httpx
from sqlalchemy import Engine, text

from tests.planning_fixtures import *  # noqa: F403  (the admin and planner fixtures)

NOW = {"reason": "storm", "commit": True, "emergency": True}


def _grids(engine: Engine, generation: int, n: int) -> list[str]:
    with engine.connect() as conn:
        return list(conn.execute(
            text("SELECT code FROM grid WHERE generation_id = :g AND level = 3 "
                 "ORDER BY code LIMIT :n"), {"g": generation, "n": n},
        ).scalars())  # fmt: skip


def _copy(c: httpx.Client, source: int | str, name: str) -> int:
    made = c.post("/api/v1/generations", json={"from": source, "name": name})
    assert made.status_code == 201, made.text
    return int(made.json()["generation"]["id"])


def _rename(c: httpx.Client, gid: int, code: str, new_name: str) -> None:
    version = c.get(f"/api/v1/generations/{gid}/edits").json()["version"]
    r = c.post(
        f"/api/v1/generations/{gid}/edits",
        json={"op": "rename", "code": code, "name": new_name, "reason": "r", "version": version},
    )
    assert r.status_code in (200, 201), r.text


def _name(engine: Engine, code: str) -> str:
    with engine.connect() as conn:
        return str(conn.execute(
            text("SELECT g.name FROM grid g JOIN generation n ON n.id = g.generation_id "
                 "WHERE n.status = 'active' AND g.code = :c"), {"c": code},
        ).scalar_one())  # fmt: skip


def test_a_draft_copied_from_a_draft_publishes_without_a_false_409(
    planner: httpx.Client, admin: httpx.Client, engine: Engine, demo_generation: int,
    restore_demo: None,
) -> None:  # fmt: skip
    x, y = _grids(engine, demo_generation, 2)
    source = _copy(planner, "active", "source draft")
    _rename(planner, source, x, "源草案改名")
    copy = _copy(planner, source, "copy of a draft")
    _rename(planner, copy, y, "副本改名")
    newer = planner.get(f"/api/v1/generations/{copy}/newer")
    assert newer.status_code == 200, newer.text
    assert newer.json() == {"behind": False, "newer_publications": None}
    dry = planner.post(f"/api/v1/generations/{copy}/publish", json={"reason": "look"})
    assert dry.status_code == 200, dry.text
    assert "newer_publications" not in dry.json()
    done = admin.post(f"/api/v1/generations/{copy}/publish", json=NOW)
    assert done.status_code == 200, done.text
    assert _name(engine, x) == "源草案改名" and _name(engine, y) == "副本改名"


def test_a_copy_of_a_draft_names_only_work_published_after_its_base(
    planner: httpx.Client, admin: httpx.Client, engine: Engine, demo_generation: int,
    restore_demo: None,
) -> None:  # fmt: skip
    x, y, z = _grids(engine, demo_generation, 3)
    source = _copy(planner, "active", "source draft 2")
    _rename(planner, source, x, "源草案改名")
    copy = _copy(planner, source, "copy of a draft 2")
    _rename(planner, copy, y, "副本改名")
    other = _copy(planner, "active", "published meanwhile")
    _rename(planner, other, z, "已发布改名")
    assert admin.post(f"/api/v1/generations/{other}/publish", json=NOW).status_code == 200
    dry = planner.post(f"/api/v1/generations/{copy}/publish", json={"reason": "look"})
    assert dry.status_code == 200, dry.text
    report = dry.json()["newer_publications"]
    assert report["base"] == demo_generation and report["in_force"] == other
    assert [g["id"] for g in report["published_since"]][-1:] == [other]
    assert report["reverted"] == {"count": 1, "codes": [z]}
    assert report["overridden"] == {"count": 0, "codes": []}
    r = admin.post(f"/api/v1/generations/{copy}/publish", json=NOW)
    assert r.status_code == 409 and r.json()["field"] == "revert_newer", r.text
    assert _name(engine, z) == "已发布改名"
