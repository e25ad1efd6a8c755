"""Issue 10: rebasing an imported draft (no base it was copied from) by a three-way comparison
of its base, itself and the generation in force — grids only the newer publication changed are
taken from it, grids both changed are conflicts settled per grid or for all, and a mix that
does not tile is refused with the problems (HTTP and CLI)."""

from __future__ import annotations

import httpx
from sqlalchemy import Engine, text
from typer.testing import CliRunner

from api.cli import app
from layers.db import make_sessionmaker, transaction
from tests.layers.test_impact import copy_draft
from tests.planning_fixtures import *  # noqa: F403  (the admin and planner fixtures)

PROBLEM = "application/problem+json"

# a unit grid q with two neighbours p and r of the same town (shared edges, not only a point)
CHAIN_SQL = """
SELECT p.code AS p, q.code AS q, r.code AS r FROM grid q
JOIN grid p ON p.generation_id = q.generation_id AND p.level = 3 AND p.code < q.code
 AND left(p.code, 9) = left(q.code, 9) AND p.geom && q.geom
 AND ST_Relate(p.geom, q.geom, 'F***1****')
JOIN grid r ON r.generation_id = q.generation_id AND r.level = 3 AND r.code > q.code
 AND left(r.code, 9) = left(q.code, 9) AND r.geom && q.geom
 AND ST_Relate(r.geom, q.geom, 'F***1****')
 AND NOT ST_Intersects(p.geom, r.geom)
WHERE q.generation_id = :g AND q.level = 3 ORDER BY q.code DESC LIMIT 1
"""


def _imported(engine: Engine, generation: int) -> int:
    """A draft as an import stores it: the grids, no ``created_from``, no edit log."""
    with transaction(make_sessionmaker(engine)) as session:
        return copy_draft(session, generation)


def _edit(c: httpx.Client, gid: int, **body: object) -> None:
    version = c.get(f"/api/v1/generations/{gid}/edits").json()["version"]
    r = c.post(f"/api/v1/generations/{gid}/edits", json={**body, "reason": "r", "version": version})
    assert r.status_code in (200, 201), r.text


def _names(c: httpx.Client, gid: int, codes: set[str]) -> dict[str, str]:
    feats = c.get("/api/v1/grids", params={"generation": gid, "level": 3}).json()["features"]
    return {
        f["properties"]["code"]: f["properties"]["name"]
        for f in feats
        if f["properties"]["code"] in codes
    }


def _count(engine: Engine) -> int:
    with engine.connect() as conn:
        return int(conn.execute(text("SELECT count(*) FROM generation")).scalar_one())


def _codes(engine: Engine, generation: int) -> tuple[str, str, str, str, str, str]:
    with engine.connect() as conn:
        chain = conn.execute(text(CHAIN_SQL), {"g": generation}).one()
        far = conn.execute(
            text("SELECT code FROM grid WHERE generation_id = :g AND level = 3 "
                 "AND left(code, 9) <> left(:q, 9) ORDER BY code LIMIT 3"),
            {"g": generation, "q": chain.q},
        ).scalars().all()  # fmt: skip
    return chain.p, chain.q, chain.r, far[0], far[1], far[2]


def test_an_imported_draft_is_rebased_three_ways(
    planner: httpx.Client, admin: httpx.Client, engine: Engine, demo_generation: int,
    database_url: str, restore_demo: None,
) -> None:  # fmt: skip
    _, q, r, x, y, z = _codes(engine, demo_generation)
    imported = _imported(engine, demo_generation)
    _edit(planner, imported, op="rename", code=x, name="导入 X")
    _edit(planner, imported, op="rename", code=z, name="导入 Z")
    made = planner.post("/api/v1/generations", json={"from": "active", "name": "newer"})
    newer = made.json()["generation"]["id"]
    _edit(planner, newer, op="rename", code=y, name="现行 Y")
    _edit(planner, newer, op="rename", code=z, name="现行 Z")
    _edit(planner, newer, op="move_edge", codes=[q, r], offset_m=[0, 15])
    now = {"reason": "newer", "commit": True, "emergency": True}
    assert admin.post(f"/api/v1/generations/{newer}/publish", json=now).status_code == 200

    # z changed on both sides: 409 listing it (what each side did, where); nothing stored
    before = _count(engine)
    url = f"/api/v1/generations/{imported}/rebase"
    refused = planner.post(url)
    assert refused.status_code == 409, refused.text
    assert refused.headers["content-type"] == PROBLEM
    body = refused.json()
    assert body["field"] == "choices" and z in body["detail"] and body["grids"] == [z]
    (conflict,) = body["conflicts"]
    assert conflict["code"] == z and conflict["draft"] == conflict["active"] == "changed"
    west, south, east, north = conflict["bbox"]
    assert 119 < west < east < 122 and 30 < south < north < 33
    zh = planner.post(url, headers={"Accept-Language": "zh-CN"})
    assert zh.status_code == 409 and "草案" in zh.json()["detail"], zh.text
    assert _count(engine) == before

    # bad choices: 422 naming the field, nothing stored
    for bad, field in (
        ({"prefer": "both"}, "prefer"),
        ({"choices": {z: "mine"}}, "choices"),
        ({"choices": {x: "draft"}}, "choices"),  # x is no conflict (only the draft renamed it)
        ({"choices": {"abc": "draft"}}, "choices"),
        ({"choose": "draft"}, "choose"),
    ):
        r2 = planner.post(url, json=bad)
        assert r2.status_code == 422 and r2.json()["field"] == field, (bad, r2.text)
    assert _count(engine) == before

    # z chosen from the active generation: x kept, y and the moved edge taken from the newer one
    ok = planner.post(url, json={"choices": {z: "active"}})
    assert ok.status_code == 201, ok.text
    answer = ok.json()
    rebased = answer["generation"]["id"]
    assert answer["mode"] == "three-way" and answer["base"] == newer
    assert answer["imported_base"] == demo_generation and answer["edits"] == 0
    assert answer["conflicts"][0]["code"] == z and answer["conflicts"][0]["chosen"] == "active"
    assert {y, q, r} <= set(answer["from_active"]) and x in answer["kept_draft"]
    assert answer["validation"]["ok"] is True
    assert _names(planner, rebased, {x, y, z}) == {x: "导入 X", y: "现行 Y", z: "现行 Z"}
    with engine.connect() as conn:
        same = conn.execute(
            text("SELECT bool_and(ST_Equals(a.geom, b.geom)) FROM grid a JOIN grid b ON "
                 "b.code = a.code AND b.generation_id = :n WHERE a.generation_id = :a "
                 "AND a.code IN (:q, :r, :t)"),
            {"a": newer, "n": rebased, "q": q, "r": r, "t": q[:9]},
        ).scalar_one()  # fmt: skip
    assert same is True  # the moved edge, and the town re-derived around it
    dry = planner.post(f"/api/v1/generations/{rebased}/publish", json={"reason": "look"}).json()
    assert "newer_publications" not in dry or dry["newer_publications"] is None
    # prefer=draft keeps the import's version of every conflict
    mine = planner.post(url, json={"prefer": "draft"})
    assert mine.status_code == 201, mine.text
    assert _names(planner, mine.json()["generation"]["id"], {z}) == {z: "导入 Z"}
    # rebasing the rebased draft: nothing to do (409, field generation)
    again = planner.post(f"/api/v1/generations/{rebased}/rebase")
    assert again.status_code == 409 and again.json()["field"] == "generation", again.text

    # the command line: conflicts listed, then --prefer / --choose settle them
    runner, env = CliRunner(), {"DATABASE_URL": database_url, "COLUMNS": "300"}
    before = _count(engine)
    out = runner.invoke(app, ["drafts", "rebase", str(imported)], env=env)
    assert out.exit_code == 1 and z in out.output, out.output
    out = runner.invoke(
        app, ["drafts", "rebase", str(imported), "--choose", f"{z}=active"], env=env
    )
    assert out.exit_code == 0 and "dry run" in out.output and f"{z}: active" in out.output, (
        out.output
    )
    assert _count(engine) == before
    out = runner.invoke(
        app, ["drafts", "rebase", str(imported), "--prefer", "draft", "--commit"], env=env
    )
    assert out.exit_code == 0 and _count(engine) == before + 1, out.output
    out = runner.invoke(app, ["drafts", "rebase", str(imported), "--choose", z], env=env)
    assert out.exit_code == 2, out.output


def test_a_rebase_that_would_not_tile_is_refused_with_the_problems(
    planner: httpx.Client, admin: httpx.Client, engine: Engine, demo_generation: int,
    restore_demo: None,
) -> None:  # fmt: skip
    p, q, r, *_ = _codes(engine, demo_generation)
    imported = _imported(engine, demo_generation)
    _edit(planner, imported, op="move_edge", codes=[p, q], offset_m=[0, 15])  # p and q change
    made = planner.post("/api/v1/generations", json={"from": "active", "name": "newer edge"})
    newer = made.json()["generation"]["id"]
    _edit(planner, newer, op="move_edge", codes=[q, r], offset_m=[0, 15])  # q and r change
    now = {"reason": "newer", "commit": True, "emergency": True}
    assert admin.post(f"/api/v1/generations/{newer}/publish", json=now).status_code == 200
    url = f"/api/v1/generations/{imported}/rebase"
    refused = planner.post(url)
    assert refused.status_code == 409 and q in refused.json()["grids"], refused.text
    # q from the active generation next to the draft's p: the p|q edge no longer matches
    before = _count(engine)
    bad = planner.post(url, json={"prefer": "active"})
    assert bad.status_code == 422, bad.text
    assert bad.headers["content-type"] == PROBLEM and bad.json()["field"] == "generation"
    assert bad.json()["problems"], bad.text
    assert _count(engine) == before
    # the draft's q fits its p; r from the active generation then overlaps it: also refused
    worse = planner.post(url, json={"prefer": "draft"})
    assert worse.status_code == 422 and worse.json()["problems"], worse.text
    assert _count(engine) == before


def test_a_draft_uploaded_as_a_file_is_rebased_onto_a_newer_publication(
    planner: httpx.Client, admin: httpx.Client, engine: Engine, demo_generation: int,
    restore_demo: None,
) -> None:  # fmt: skip
    """The real path: the active city exported as GeoJSON (coordinates through a file), one
    grid renamed in it, uploaded; a newer publication renames another and moves a shared edge;
    the rebase takes the newer work and keeps the file's rename, and the mix tiles."""
    import json

    _, q, r, x, y, _ = _codes(engine, demo_generation)
    exported = planner.get(
        f"/api/v1/generations/{demo_generation}/export", params={"format": "geojson"}
    )
    assert exported.status_code == 200, exported.text
    doc = json.loads(exported.content)
    for f in doc["features"]:
        if f["properties"]["code"] == x:
            f["properties"]["name"] = "文件 X"
    made = planner.post(
        "/api/v1/generations",
        data={"name": "uploaded for rebase"},
        files={"file": ("city.geojson", json.dumps(doc).encode(), "application/geo+json")},
    )
    assert made.status_code == 201, made.text
    uploaded = made.json()["generation"]["id"]
    assert made.json()["generation"]["created_from"] is None
    newer = planner.post("/api/v1/generations", json={"from": "active", "name": "newer file"})
    newer_id = newer.json()["generation"]["id"]
    _edit(planner, newer_id, op="rename", code=y, name="现行 Y")
    _edit(planner, newer_id, op="move_edge", codes=[q, r], offset_m=[0, 15])
    now = {"reason": "newer", "commit": True, "emergency": True}
    assert admin.post(f"/api/v1/generations/{newer_id}/publish", json=now).status_code == 200
    behind = planner.get(f"/api/v1/generations/{uploaded}/newer").json()
    assert behind["behind"] is True and behind["newer_publications"]["base"] == demo_generation

    ok = planner.post(f"/api/v1/generations/{uploaded}/rebase")
    assert ok.status_code == 201, ok.text
    answer = ok.json()
    assert answer["imported_base"] == demo_generation and answer["conflicts"] == []
    assert {y, q, r} <= set(answer["from_active"]) and x in answer["kept_draft"]
    assert answer["validation"]["ok"] is True, answer["validation"]
    rebased = answer["generation"]["id"]
    assert _names(planner, rebased, {x, y}) == {x: "文件 X", y: "现行 Y"}
    problems = planner.get(f"/api/v1/generations/{rebased}/problems").json()
    assert problems["ok"] is True, problems["problems"][:3]
