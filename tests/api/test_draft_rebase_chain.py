"""Issue 10 (F10.1): rebasing a draft copied from a draft replays the whole chain of edits
since the published base — the source draft's edits (as they stood when it was copied) and the
copy's own — so none is lost."""

from __future__ import annotations

import httpx
from sqlalchemy import Engine, text

from tests.api.test_generations_rebase_import import CHAIN_SQL
from tests.planning_fixtures import *  # noqa: F403  (the admin and planner fixtures)

# a horizontal line through a point inside grid :c, from just west of it to just east
SPLIT_LINE_SQL = """
SELECT ST_XMin(geom) - 1e-4 AS w, ST_XMax(geom) + 1e-4 AS e, ST_Y(ST_PointOnSurface(geom)) AS y
FROM grid WHERE generation_id = :g AND code = :c
"""


def _copy(c: httpx.Client, source: int | str, name: str) -> int:
    made = c.post("/api/v1/generations", json={"from": source, "name": name})
    assert made.status_code == 201, made.text
    return int(made.json()["generation"]["id"])


def _edit(c: httpx.Client, gid: int, **body: object) -> None:
    version = c.get(f"/api/v1/generations/{gid}/edits").json()["version"]
    r = c.post(f"/api/v1/generations/{gid}/edits", json={**body, "reason": "r", "version": version})
    assert r.status_code in (200, 201), r.text


def _grids(engine: Engine, gid: int) -> dict[str, bytes]:
    """Unit grids of generation ``gid``: code → geometry (WKB)."""
    with engine.connect() as conn:
        rows = conn.execute(
            text("SELECT code, ST_AsBinary(geom) FROM grid WHERE generation_id = :g AND level = 3"),
            {"g": gid},
        ).all()
    return {r[0]: bytes(r[1]) for r in rows}


def test_rebase_of_a_copy_of_a_draft_keeps_both_drafts_edits(
    planner: httpx.Client, admin: httpx.Client, engine: Engine, demo_generation: int,
    restore_demo: None,
) -> None:  # fmt: skip
    with engine.connect() as conn:
        chain = conn.execute(text(CHAIN_SQL), {"g": demo_generation}).one()
        far = conn.execute(
            text("SELECT code FROM grid WHERE generation_id = :g AND level = 3 "
                 "AND left(code, 9) <> left(:q, 9) ORDER BY code LIMIT 2"),
            {"g": demo_generation, "q": chain.q},
        ).scalars().all()  # fmt: skip
        split, other = far[0], far[1]
        line = conn.execute(text(SPLIT_LINE_SQL), {"g": demo_generation, "c": split}).one()
    first = _copy(planner, "active", "chain first")
    _edit(planner, first, op="move_edge", codes=[chain.p, chain.q], offset_m=[0, 15])
    second = _copy(planner, first, "chain second")
    _edit(planner, first, op="rename", code=other, name="复制之后")  # after the copy: not carried
    _edit(planner, second, op="split", code=split, line=[[line.w, line.y], [line.e, line.y]])
    edited = _grids(engine, second)
    assert split not in edited
    # something else is published meanwhile (a rename far from both edits)
    elsewhere = _copy(planner, "active", "chain elsewhere")
    _edit(planner, elsewhere, op="rename", code=chain.r, name="别处发布")
    now = {"reason": "elsewhere", "commit": True, "emergency": True}
    done = admin.post(f"/api/v1/generations/{elsewhere}/publish", json=now)
    assert done.status_code == 200, done.text

    r = planner.post(f"/api/v1/generations/{second}/rebase")
    assert r.status_code == 201, r.text
    assert r.json()["base"] == elsewhere and r.json()["edits"] == 2, r.json()
    rebased = r.json()["generation"]["id"]
    after = _grids(engine, rebased)
    # both edits survive: the moved edge (first draft's) and the split (second draft's)
    for code in (chain.p, chain.q):
        assert after[code] == edited[code], code
    assert split not in after
    base = set(_grids(engine, demo_generation))
    parts = sorted(edited[c] for c in set(edited) - base)  # the split's parts (new codes)
    assert len(parts) == 2 and sorted(after[c] for c in set(after) - base) == parts
    # the published rename is kept; the first draft's edit made after the copy is not carried
    with engine.connect() as conn:
        names = dict(conn.execute(
            text("SELECT code, name FROM grid WHERE generation_id = :g AND code IN (:r, :o)"),
            {"g": rebased, "r": chain.r, "o": other},
        ).all())  # fmt: skip
    assert names[chain.r] == "别处发布" and names[other] != "复制之后"
    # nothing left to rebase: the rebased draft sits on the generation in force
    again = planner.post(f"/api/v1/generations/{rebased}/rebase")
    assert again.status_code == 409 and again.json()["field"] == "generation", again.text
