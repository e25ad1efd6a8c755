"""Editing a draft over HTTP: edits answered with the changed grids and validation, optimistic
locking (409 with the current version), undo/redo, refusals as problem+json; diff, lineage
and the impact report (JSON and XLSX). Each test edits its own committed copy of the demo
city, deleted afterwards; the active generation is never changed."""

from __future__ import annotations

from typing import Any

import httpx
import pytest
from sqlalchemy import Engine, text

from tests.planning_fixtures import *  # noqa: F403  (the draft and planner fixtures)

PROBLEM = "application/problem+json"


def pair(engine: Engine, draft: int, same_village: bool) -> tuple[str, str]:
    op = "=" if same_village else "<>"
    with engine.connect() as conn:
        row = conn.execute(
            text(
                "SELECT a.code AS a, b.code AS b FROM grid a JOIN grid b ON b.generation_id = "
                "a.generation_id AND b.level = 3 AND a.code < b.code AND a.geom && b.geom "
                f"AND b.parent_code {op} a.parent_code AND ST_Relate(a.geom, b.geom, "
                "'F***1****') WHERE a.generation_id = :g AND a.level = 3 "
                "ORDER BY a.area_m2 + b.area_m2 DESC, a.code, b.code LIMIT 1"
            ),
            {"g": draft},
        ).one()
    return row.a, row.b


def version_of(client: httpx.Client, draft: int) -> int:
    r = client.get(f"/api/v1/generations/{draft}/edits")
    assert r.status_code == 200, r.text
    return int(r.headers["ETag"].strip('"'))


def edit(client: httpx.Client, draft: int, if_match: int | None, **body: Any) -> httpx.Response:
    headers = {} if if_match is None else {"If-Match": f'"{if_match}"'}
    return client.post(f"/api/v1/generations/{draft}/edits", json=body, headers=headers)


def test_move_edge_over_http_then_conflict_undo_redo(
    planner: httpx.Client, engine: Engine, draft: int
) -> None:
    a, b = pair(engine, draft, same_village=False)
    v0 = version_of(planner, draft)
    body = {"op": "move_edge", "codes": [a, b], "offset_m": [50, 0], "reason": "new road"}
    r = edit(planner, draft, v0, **body)
    assert r.status_code == 200, r.text
    answer = r.json()
    assert answer["version"] == v0 + 1 and r.headers["ETag"] == f'"{v0 + 1}"'
    codes = {f["id"] for f in answer["changed"]["features"]}
    assert {a, b, a[:12], b[:12]} <= codes  # neighbours and both villages follow
    assert answer["validation"]["ok"], answer["validation"]["problems"][:3]
    # a second editor still on v0
    late = edit(planner, draft, v0, op="rename", code=a, name="x", reason="late")
    assert late.status_code == 409
    assert late.headers["content-type"].startswith(PROBLEM)
    assert late.json()["current_version"] == v0 + 1 and late.json()["field"] == "version"
    # the log says who and why
    log = planner.get(f"/api/v1/generations/{draft}/edits").json()
    assert [e["reason"] for e in log["edits"]] == ["new road"]
    assert log["edits"][0]["actor"]
    undone = planner.post(
        f"/api/v1/generations/{draft}/edits/undo", headers={"If-Match": f'"{v0 + 1}"'}
    )
    assert undone.status_code == 200, undone.text
    assert undone.json()["version"] == v0 + 2
    redone = planner.post(f"/api/v1/generations/{draft}/edits/redo", json={"version": v0 + 2})
    assert redone.status_code == 200, redone.text
    assert {f["id"] for f in redone.json()["changed"]["features"]} == codes


def test_diff_lineage_and_impact(
    planner: httpx.Client, engine: Engine, draft: int, demo_generation: int
) -> None:
    a, b = pair(engine, draft, same_village=True)
    v = version_of(planner, draft)
    r = edit(planner, draft, v, op="merge", codes=[a, b], reason="two small grids")
    assert r.status_code == 200, r.text
    (merged,) = [f["id"] for f in r.json()["changed"]["features"]]
    q = {"against": demo_generation}
    diff = planner.get(f"/api/v1/generations/{draft}/diff", params=q).json()
    change = {f["properties"]["code"]: f["properties"]["change"] for f in diff["features"]}
    assert change[a] == change[b] == "removed" and change[merged] == "added"
    # the village around them is re-derived (its vertices may come in another order) but keeps
    # its shape and name: it is not listed as renamed
    assert "renamed" not in change.values(), change
    lineage = planner.get(f"/api/v1/generations/{draft}/lineage", params=q).json()["lineage"]
    kinds = {(x["old_code"], x["new_code"]): x["kind"] for x in lineage}
    assert kinds[(a, merged)] == kinds[(b, merged)] == "merged_into"
    impact = planner.get(f"/api/v1/generations/{draft}/impact", params=q)
    assert impact.status_code == 200, impact.text
    report = impact.json()
    assert {g["code"] for g in report["changed_grids"]} == {a, b, merged}
    with engine.connect() as conn:
        in_merged = conn.execute(
            text("SELECT count(*) FROM household WHERE grid_code IN (:a, :b)"), {"a": a, "b": b}
        ).scalar_one()
    assert report["households"]["count"] == in_merged
    assert all(h["new_grid"] == merged for h in report["households"]["items"])
    moves = [x for x in report["assignments"]["items"] if x["grid_code"] in (a, b)]
    assert all(x["action"] == "move" and x["new_grid"] == merged for x in moves)
    xlsx = planner.get(f"/api/v1/generations/{draft}/impact", params={**q, "format": "xlsx"})
    assert xlsx.status_code == 200 and xlsx.content[:2] == b"PK"
    # the file lists the changed grids too (it was empty when nothing living sat on them)
    csv = planner.get(
        f"/api/v1/generations/{draft}/impact", params={**q, "format": "csv", "lang": "en"}
    )
    grid_rows = [line.split(",") for line in csv.text.splitlines()[1:]]
    assert {r[1] for r in grid_rows if r[0] == "grid"} == {a, b, merged}, csv.text[:500]


def test_bad_edits_are_problems(
    planner: httpx.Client, client: httpx.Client, engine: Engine, draft: int,
    demo_generation: int,
) -> None:  # fmt: skip
    a, b = pair(engine, draft, same_village=True)
    v = version_of(planner, draft)
    cases: list[tuple[dict[str, Any], int | None, int, str]] = [
        ({"op": "rename", "code": a, "name": "x", "reason": "r"}, None, 422, "If-Match"),
        ({"op": "fly", "reason": "r"}, v, 422, "op"),
        ({"op": "rename", "code": a, "name": "x"}, v, 422, "reason"),
        ({"op": "recode", "code": a, "new_code": b, "reason": "r"}, v, 409, "new_code"),
        ({"op": "recode", "code": a, "new_code": "12", "reason": "r"}, v, 422, "new_code"),
        ({"op": "merge", "codes": [a], "reason": "r"}, v, 422, "codes"),
        ({"op": "split", "code": a, "line": [[0, 0], [0, 0.1]], "reason": "r"}, v, 422, "line"),
        ({"op": "move_vertex", "at": [1, 2], "to": "x", "reason": "r"}, v, 422, "to"),
        ({"op": "rename", "code": "320281999999999", "name": "x", "reason": "r"}, v, 404, "code"),
        (
            {
                "op": "move_vertex",
                "at": [120.3, 31.9],
                "to": [120.3, 31.9],
                "snap_m": "x",
                "reason": "r",
            },
            v,
            422,
            "snap_m",
        ),
        (
            {"op": "move_edge", "codes": [a, b], "offset_m": [1e9, 0], "reason": "r"},
            v,
            422,
            "offset_m",
        ),
        (
            {"op": "split", "code": a, "line": [[0, 0], [1, 1]], "names": 3, "reason": "r"},
            v,
            422,
            "names",
        ),
        (
            {"op": "rename", "code": a, "name": "x", "reason": "r", "version": "7"},
            None,
            422,
            "version",
        ),
    ]
    for body, version, status, field in cases:
        r = edit(planner, draft, version, **body)
        assert r.status_code == status, (body, r.text)
        assert r.headers["content-type"].startswith(PROBLEM)
        assert r.json()["field"] == field, (body, r.json())
    # the active city is not a draft; a viewer may not edit
    r = edit(planner, demo_generation, 1, op="rename", code=a[:9], name="x", reason="r")
    assert r.status_code in (409, 422) and r.headers["content-type"].startswith(PROBLEM)
    r = edit(client, draft, v, op="rename", code=a, name="x", reason="r")
    assert r.status_code == 403
    assert version_of(planner, draft) == v  # nothing was stored by any refused edit


def test_cli_edit_is_a_dry_run_until_commit(
    monkeypatch: pytest.MonkeyPatch, database_url: str, engine: Engine, draft: int, tmp_path: Any
) -> None:
    import json

    from typer.testing import CliRunner

    from api.cli import app

    monkeypatch.setenv("DATABASE_URL", database_url)
    monkeypatch.setenv("GRIDGIS_DATA_DIR", str(tmp_path / "data"))
    runner = CliRunner()
    a, _ = pair(engine, draft, same_village=True)
    params = json.dumps({"code": a, "name": "CLI 改名"})
    args = ["drafts", "edit", str(draft), "rename", "--params", params, "--reason", "typo"]
    dry = runner.invoke(app, args, terminal_width=200)
    assert dry.exit_code == 0, dry.output
    assert "dry run" in dry.output

    def name() -> str:
        with engine.connect() as conn:
            return str(conn.execute(
                text("SELECT name FROM grid WHERE generation_id = :g AND code = :c"),
                {"g": draft, "c": a},
            ).scalar_one())  # fmt: skip

    assert name() != "CLI 改名"
    done = runner.invoke(app, [*args, "--commit"], terminal_width=200)
    assert done.exit_code == 0, done.output
    assert name() == "CLI 改名"
    log = runner.invoke(app, ["drafts", "log", str(draft)], terminal_width=200)
    assert "typo" in log.output
    # undo and redo say what they did, not the edit's own words
    undone = runner.invoke(app, ["drafts", "undo", str(draft), "--commit"], terminal_width=200)
    assert undone.exit_code == 0, undone.output
    assert undone.output.startswith("undone: edit ") and "(rename by" in undone.output
    assert "typo" in undone.output and name() != "CLI 改名"
    redone = runner.invoke(app, ["drafts", "redo", str(draft), "--commit"], terminal_width=200)
    assert redone.exit_code == 0 and redone.output.startswith("redone: edit "), redone.output
    assert name() == "CLI 改名"
    bad = runner.invoke(app, ["drafts", "edit", str(draft), "fly", "--reason", "r"])
    assert bad.exit_code == 1 and "op" in bad.output
    # the op's parameters are checked by the same schema as over HTTP: an unknown one is named
    typo = json.dumps({"code": a, "nmae": "x"})
    unknown = runner.invoke(app, ["drafts", "edit", str(draft), "rename", "--params", typo])
    assert unknown.exit_code == 1 and "nmae" in unknown.output, unknown.output
    impact = runner.invoke(
        app, ["drafts", "impact", str(draft), "--xlsx", str(tmp_path / "i.xlsx")]
    )
    assert impact.exit_code == 0, impact.output
    assert (tmp_path / "i.xlsx").read_bytes()[:2] == b"PK"
