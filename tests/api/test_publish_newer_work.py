"""Issue 10: drafts A and B both copied from the generation in force; A is published; B's dry
run names A and the grids B would revert, B's commit is refused (409, HTTP and CLI) unless the
planner confirms with revert_newer (logged); a rollback keeps working."""

from __future__ import annotations

import httpx
from sqlalchemy import Engine, text
from typer.testing import CliRunner

from api.cli import app
from tests.planning_fixtures import *  # noqa: F403  (the admin and planner fixtures)

PROBLEM = "application/problem+json"


def _two_grids(engine: Engine, generation: int) -> tuple[str, str]:
    with engine.connect() as conn:
        rows = conn.execute(
            text("SELECT code FROM grid WHERE generation_id = :g AND level = 3 "
                 "ORDER BY code LIMIT 2"), {"g": generation},
        ).scalars().all()  # fmt: skip
    return rows[0], rows[1]


def _draft_with_rename(c: httpx.Client, name: str, code: str, new_name: str) -> int:
    made = c.post("/api/v1/generations", json={"from": "active", "name": name})
    assert made.status_code == 201, made.text
    gid = int(made.json()["generation"]["id"])
    version = c.get(f"/api/v1/generations/{gid}/edits").json()["version"]
    r = c.post(
        f"/api/v1/generations/{gid}/edits",
        json={"op": "rename", "code": code, "name": new_name, "reason": "r", "version": version},
    )
    assert r.status_code in (200, 201), r.text
    return gid


def _name(engine: Engine, code: str) -> str:
    with engine.connect() as conn:
        return str(conn.execute(
            text("SELECT g.name FROM grid g JOIN generation n ON n.id = g.generation_id "
                 "WHERE n.status = 'active' AND g.code = :c"), {"c": code},
        ).scalar_one())  # fmt: skip


def test_publishing_over_a_newer_publication_is_refused_unless_confirmed(
    planner: httpx.Client, admin: httpx.Client, engine: Engine, demo_generation: int,
    restore_demo: None,
) -> None:  # fmt: skip
    x, y = _two_grids(engine, demo_generation)
    a = _draft_with_rename(planner, "newer A", x, "A 改名")
    b = _draft_with_rename(planner, "newer B", y, "B 改名")
    now = {"reason": "storm", "commit": True, "emergency": True}
    done = admin.post(f"/api/v1/generations/{a}/publish", json=now)
    assert done.status_code == 200, done.text
    assert "newer_publications" not in done.json()  # A's base was in force
    assert _name(engine, x) == "A 改名"
    # B's dry run names A and the grid it would revert
    dry = planner.post(f"/api/v1/generations/{b}/publish", json={"reason": "look"})
    assert dry.status_code == 200, dry.text
    newer = dry.json()["newer_publications"]
    assert newer["base"] == demo_generation and newer["in_force"] == a
    assert [g["id"] for g in newer["published_since"]][-1:] == [a]
    assert newer["reverted"] == {"count": 1, "codes": [x]} and newer["loses_work"] is True
    assert y not in newer["reverted"]["codes"] + newer["overridden"]["codes"]
    # the review answers name it too (submitter and approver see what it would undo)
    for who, step in ((planner, "submit"), (admin, "approve")):
        r = who.post(f"/api/v1/generations/{b}/{step}", json={"reason": step})
        assert r.status_code == 200, r.text
        assert r.json()["newer_publications"]["reverted"]["codes"] == [x], step
    # committing is refused with the numbers, in English and in Chinese; nothing changes
    url = f"/api/v1/generations/{b}/publish"
    r = admin.post(url, json=now)
    assert r.status_code == 409, r.text
    assert r.headers["content-type"] == PROBLEM
    problem = r.json()
    assert problem["field"] == "revert_newer" and str(a) in problem["detail"]
    assert "revert 1 grids" in problem["detail"] and x in problem["detail"]
    assert problem["newer_publications"]["reverted"]["codes"] == [x]
    zh = admin.post(url, json=now, headers={"Accept-Language": "zh-CN"})
    assert zh.status_code == 409 and "撤销" in zh.json()["detail"], zh.text
    assert _name(engine, x) == "A 改名"
    assert admin.get(f"/api/v1/generations/{b}").json()["status"] == "approved"
    bad = admin.post(url, json={**now, "revert_newer": "yes"})
    assert bad.status_code == 422 and bad.json()["field"] == "revert_newer", bad.text
    # confirmed on purpose: published, A's rename reverted, the log says so
    ok = admin.post(url, json={**now, "reason": "A was wrong", "revert_newer": True})
    assert ok.status_code == 200, ok.text
    assert _name(engine, x) != "A 改名" and _name(engine, y) == "B 改名"
    last = admin.get(f"/api/v1/generations/{b}/review").json()["steps"][-1]
    assert last["action"] == "publish" and last["reason"] == "A was wrong"
    assert last["details"]["revert_newer"]["reverted"]["codes"] == [x]
    # a rollback to A (retired now) keeps working: its own impact report, no newer check
    back = admin.post(f"/api/v1/generations/{a}/publish", json={"reason": "back", "commit": True})
    assert back.status_code == 200, back.text
    assert back.json()["rollback"] is True and "newer_publications" not in back.json()
    assert _name(engine, x) == "A 改名"


def test_cli_publish_names_the_newer_work_and_needs_revert_newer(
    planner: httpx.Client, admin: httpx.Client, engine: Engine, demo_generation: int,
    database_url: str, restore_demo: None,
) -> None:  # fmt: skip
    x, y = _two_grids(engine, demo_generation)
    a = _draft_with_rename(planner, "cli newer A", x, "CLI A")
    b = _draft_with_rename(planner, "cli newer B", y, "CLI B")
    runner, env = CliRunner(), {"DATABASE_URL": database_url, "COLUMNS": "300"}

    def publish(gid: int, *args: str, code: int = 0) -> str:
        r = runner.invoke(app, ["grids", "publish", str(gid), *args], env=env)
        assert r.exit_code == code, r.output
        return str(r.output)

    publish(a, "--commit", "--emergency", "--reason", "first")
    dry = publish(b)
    assert (
        f"{a} cli newer A" in dry.split("published since:")[1]
        and "reverted: 1 grids" in dry
        and x in dry
    )
    refused = publish(b, "--commit", "--emergency", "--reason", "second", code=1)
    assert "revert_newer" in refused or "--revert-newer" in refused, refused
    assert _name(engine, x) == "CLI A"
    publish(b, "--commit", "--emergency", "--reason", "on purpose", "--revert-newer")
    assert _name(engine, y) == "CLI B" and _name(engine, x) != "CLI A"


def test_rebase_carries_the_edits_onto_the_generation_in_force(
    planner: httpx.Client, admin: httpx.Client, engine: Engine, demo_generation: int,
    database_url: str, restore_demo: None,
) -> None:  # fmt: skip
    x, y = _two_grids(engine, demo_generation)
    a = _draft_with_rename(planner, "rebase A", x, "变基 A")
    b = _draft_with_rename(planner, "rebase B", y, "变基 B")
    d = _draft_with_rename(planner, "rebase D", x, "变基 D")  # the same grid as A
    now = {"reason": "first", "commit": True, "emergency": True}
    assert admin.post(f"/api/v1/generations/{a}/publish", json=now).status_code == 200

    def count() -> int:
        with engine.connect() as conn:
            return int(conn.execute(text("SELECT count(*) FROM generation")).scalar_one())

    # D edits the grid A changed: refused, naming the edit and the grid; nothing stored
    before = count()
    r = planner.post(f"/api/v1/generations/{d}/rebase")
    assert r.status_code == 409, r.text
    assert r.headers["content-type"] == PROBLEM and x in r.json()["detail"]
    assert r.json()["grids"] == [x] and r.json()["op"] == "rename"
    assert count() == before
    # B's edit is clean: a new draft over A with B's rename, nothing to revert any more
    r = planner.post(f"/api/v1/generations/{b}/rebase")
    assert r.status_code == 201, r.text
    c = r.json()["generation"]["id"]
    assert r.json()["base"] == a and r.json()["edits"] == 1
    names = {
        f["properties"]["code"]: f["properties"]["name"]
        for f in planner.get("/api/v1/grids", params={"generation": c, "level": 3}).json()[
            "features"
        ]
        if f["properties"]["code"] in (x, y)
    }
    assert names == {x: "变基 A", y: "变基 B"}
    dry = planner.post(f"/api/v1/generations/{c}/publish", json={"reason": "look"}).json()
    assert "newer_publications" not in dry
    again = planner.post(f"/api/v1/generations/{c}/rebase")
    assert again.status_code == 409 and again.json()["field"] == "generation", again.text
    # the command line: a dry run, then --commit
    runner, env = CliRunner(), {"DATABASE_URL": database_url, "COLUMNS": "300"}
    before = count()
    out = runner.invoke(app, ["drafts", "rebase", str(b)], env=env)
    assert out.exit_code == 0 and "dry run" in out.output, out.output
    assert count() == before
    out = runner.invoke(app, ["drafts", "rebase", str(b), "--commit"], env=env)
    assert out.exit_code == 0 and count() == before + 1, out.output
    out = runner.invoke(app, ["drafts", "rebase", str(d)], env=env)
    assert out.exit_code == 1 and x in out.output, out.output
