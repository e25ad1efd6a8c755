"""Scope faults a fresh attacker found (issue 11, task S parts 2 and 3): a town's planner renames,
submits, rejects or rebases only drafts whose changes lie in the town (the one rule of approve,
layers/planning/scope.py); a town's dispatcher or officer lists only the town's market entities
and the town's staff assignments to decide."""

from __future__ import annotations

import json
import secrets
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from sqlalchemy import Engine, text

from tests.api.accounts_support import make_token, make_user, problem
from tests.api.test_draft_edits import edit, version_of
from tests.api.test_planner_scope import own
from tests.planning_fixtures import draft_of, planner  # noqa: F401


def _client(live_server: str, engine: Engine, role: str, scope: str) -> httpx.Client:
    user = make_user(engine, role, scope=scope)
    headers = {"Authorization": f"Bearer {make_token(engine, user['id'])['token']}"}
    return httpx.Client(base_url=live_server, headers=headers, timeout=300)


def _towns(engine: Engine, gid: int) -> tuple[str, str, str]:
    """Two towns of the generation and a unit grid of the second."""
    with engine.connect() as conn:
        towns = conn.execute(
            text("SELECT code FROM grid WHERE generation_id = :g AND level = 1 ORDER BY code "
                 "LIMIT 2"), {"g": gid},
        ).scalars().all()  # fmt: skip
        grid = conn.execute(
            text("SELECT code FROM grid WHERE generation_id = :g AND level = 3 AND code LIKE :t "
                 "ORDER BY code LIMIT 1"), {"g": gid, "t": towns[1] + "%"},
        ).scalar_one()  # fmt: skip
    return towns[0], towns[1], grid


def test_a_towns_planner_cannot_rename_submit_reject_or_rebase_another_towns_draft(
    live_server: str,
    engine: Engine,
    demo_generation: int,
    planner: httpx.Client,  # noqa: F811
) -> None:
    with draft_of(engine, demo_generation) as gid:
        mine, other, other_grid = _towns(engine, gid)
        v = version_of(planner, gid)
        r = edit(planner, gid, v, op="rename", code=other_grid, name="他镇改", reason="t")
        assert r.status_code == 200, r.text
        with _client(live_server, engine, "planner", f"town:{mine}") as town:
            v = version_of(planner, gid)
            renamed = town.patch(f"/api/v1/generations/{gid}", json={"name": "偷改", "version": v})
            body = problem(renamed, 403, "scope")
            assert other_grid in body["detail"]
            submitted = town.post(f"/api/v1/generations/{gid}/submit", json={"reason": "s"})
            problem(submitted, 403, "scope")
            rebased = town.post(f"/api/v1/generations/{gid}/rebase", json={})
            problem(rebased, 403, "scope")
            name = f"scope copy {secrets.token_hex(3)}"
            copied = town.post("/api/v1/generations", json={"from": gid, "name": name})
            problem(copied, 403, "scope")
            with engine.connect() as conn:
                n = conn.execute(
                    text("SELECT count(*) FROM generation WHERE name = :n"), {"n": name}
                ).scalar_one()
            assert n == 0  # the refused copy is not stored
            fresh = town.post("/api/v1/generations", json={"from": "active", "name": name})
            assert fresh.status_code == 201, fresh.text  # a copy of the city in force: no change
            with engine.begin() as conn:
                conn.execute(
                    text("DELETE FROM generation WHERE id = :g"),
                    {"g": fresh.json()["generation"]["id"]},
                )
            ok = planner.post(f"/api/v1/generations/{gid}/submit", json={"reason": "s"})
            assert ok.status_code == 200, ok.text
            rejected = town.post(f"/api/v1/generations/{gid}/reject", json={"reason": "no"})
            problem(rejected, 403, "scope")
            with engine.connect() as conn:
                row = conn.execute(
                    text("SELECT name, status FROM generation WHERE id = :g"), {"g": gid}
                ).one()
            assert row.name != "偷改" and str(row.status).lower().endswith("submitted"), row
        with _client(live_server, engine, "planner", f"town:{other}") as theirs:
            own(engine, gid, other)  # S2: only a draft of their own town (or the city's planner)
            r = theirs.post(f"/api/v1/generations/{gid}/reject", json={"reason": "redo"})
            assert r.status_code == 200, r.text  # the change lies in their town
            v = r.json()["version"]
            r = theirs.patch(f"/api/v1/generations/{gid}", json={"name": "本镇稿", "version": v})
            assert r.status_code == 200, r.text


@pytest.fixture
def two_towns_entities(engine: Engine, demo_generation: int) -> Iterator[dict[str, Any]]:
    """A market entity in each of two towns (removed afterwards)."""
    mine, other, _ = _towns(engine, demo_generation)
    made: dict[str, Any] = {"mine": mine, "other": other}
    with engine.begin() as conn:
        for key, town in (("mine_id", mine), ("other_id", other)):
            code = "91" + secrets.token_hex(8).upper()
            made[key] = conn.execute(
                text(
                    "INSERT INTO market_entity (credit_code, name, category, grid_code, geom, "
                    "active) VALUES (:c, :n, 'catering', :g, "
                    "ST_SetSRID(ST_MakePoint(120.3, 31.5), 4490), true) RETURNING id"
                ),
                {"c": code, "n": f"scope test {town}", "g": town + "001001"},
            ).scalar_one()
    yield made
    with engine.begin() as conn:
        conn.execute(
            text("DELETE FROM market_entity WHERE id = ANY(:ids)"),
            {"ids": [made["mine_id"], made["other_id"]]},
        )


@pytest.mark.parametrize("role", ["dispatcher", "officer", "viewer"])
def test_market_entities_list_only_the_callers_area(
    live_server: str, engine: Engine, two_towns_entities: dict[str, Any], role: str
) -> None:
    made = two_towns_entities
    with _client(live_server, engine, role, f"town:{made['mine']}") as town:
        ids = _all_ids(town, {})
        assert made["mine_id"] in ids and made["other_id"] not in ids
        asked = _all_ids(town, {"area": made["other"]})  # asking for the other town: nothing
        assert made["other_id"] not in asked
    with _client(live_server, engine, role, "city") as city:
        ids = _all_ids(city, {})
        assert {made["mine_id"], made["other_id"]} <= ids


def _all_ids(client: httpx.Client, params: dict[str, Any]) -> set[int]:
    ids: set[int] = set()
    offset = 0
    while True:
        r = client.get("/api/v1/market-entities", params={**params, "limit": 1000,
                                                            "offset": offset})  # fmt: skip
        assert r.status_code == 200, r.text
        page = r.json()["data"]
        ids |= {e["id"] for e in page}
        if len(page) < 1000:
            return ids
        offset += 1000


def test_assignments_to_decide_of_another_town_are_not_listed_or_decided(
    live_server: str, engine: Engine, demo_generation: int
) -> None:
    mine, other, _ = _towns(engine, demo_generation)
    with _client(live_server, engine, "planner", f"town:{mine}") as town:
        r = town.get(f"/api/v1/generations/{demo_generation}/assignments-to-decide")
        assert r.status_code == 200, r.text
        assert all(a["grid_code"].startswith(mine) for a in r.json()["data"])
        move = {"decision": "move", "grid_code": other + "001001", "reason": "t"}
        r = town.post(f"/api/v1/generations/{demo_generation}/assignments-to-decide/1", json=move)
        assert r.status_code in (403, 404), r.text  # another town's grid, or no such assignment


def test_draws_of_another_town_are_neither_listed_nor_read_nor_made(
    live_server: str, engine: Engine, two_towns_entities: dict[str, Any]
) -> None:
    made = two_towns_entities
    from layers.market import _digest, rerun_draw

    # a valid recorded draw of the other town (verifiable: other tests may read any draw)
    inputs = {"filter": {"area_code": made["other"], "category": None},
              "target_ids": [made["other_id"]], "inspector_ids": [1], "n_targets": 1,
              "inspectors_per_target": 1, "conflicts": {}}  # fmt: skip
    result = rerun_draw("s", inputs)
    with engine.begin() as conn:
        draw_id = conn.execute(
            text(
                "INSERT INTO inspection_draw (created_by, title, seed, inputs, result, digest) "
                "VALUES ('test', 'scope test', 's', CAST(:i AS jsonb), CAST(:r AS jsonb), :d) "
                "RETURNING id"
            ),
            {"i": json.dumps(inputs), "r": json.dumps(result), "d": _digest("s", inputs, result)},
        ).scalar_one()
    body = {"title": "scope test", "seed": "s", "n_targets": 1, "inspectors_per_target": 1,
            "area_code": made["other"]}  # fmt: skip
    # (draws are immutable: the row stays, as every recorded draw does)
    with _client(live_server, engine, "planner", f"town:{made['mine']}") as town:
        listed = town.get("/api/v1/draws")
        assert listed.status_code == 200
        assert draw_id not in {d["id"] for d in listed.json()["data"]}
        for tail in ("", "/verify", "/record"):
            problem(town.get(f"/api/v1/draws/{draw_id}{tail}"), 403, "scope")
        problem(town.post("/api/v1/draws", json=body), 403, "scope")
        problem(town.post("/api/v1/draws", json=body | {"area_code": None}), 403, "scope")
    with _client(live_server, engine, "viewer", f"town:{made['other']}") as theirs:
        listed = theirs.get("/api/v1/draws")
        assert draw_id in {d["id"] for d in listed.json()["data"]}
        verified = theirs.get(f"/api/v1/draws/{draw_id}/verify")
        assert verified.status_code == 200 and verified.json()["reproduced"], verified.text
