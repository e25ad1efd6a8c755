"""The command line acting as a planner (``--as USER`` or ``GRIDGIS_OPERATOR``) is bounded by the
planner's scope exactly as the HTTP API (issue 11, layers/planning/scope.py, one rule): a town's
planner edits, undoes, approves and publishes only what changes their town; anything else is
refused with the API's words and exit code 1, and nothing is stored."""

from __future__ import annotations

import json
import secrets
from typing import Any

import pytest
from sqlalchemy import Engine, text
from typer.testing import CliRunner

from api.cli import app
from layers.accounts import Scope, create_user
from layers.db import make_sessionmaker, transaction
from tests.api.test_planner_scope import _name, _towns_and_grids, own
from tests.planning_fixtures import *  # noqa: F403  (the draft fixture)


@pytest.fixture
def people(engine: Engine, draft: int) -> dict[str, Any]:
    where = _towns_and_grids(engine, draft)
    own(engine, draft, where["mine"])  # the town planner's own draft (S2: drafts have an owner)
    tag = secrets.token_hex(3)
    names = {"town": f"cs-town-{tag}", "city": f"cs-city-{tag}", "city2": f"cs-city2-{tag}"}
    with transaction(make_sessionmaker(engine)) as session:
        create_user(session=session, name=names["town"], role="planner",
                    scope=Scope.parse(f"town:{where['mine']}"))  # fmt: skip
        create_user(session=session, name=names["city"], role="planner")
        create_user(session=session, name=names["city2"], role="planner")
    return {**where, **names}


def _outside(out: str) -> bool:
    """The scope refusal of layers/planning/scope.py, in English or Chinese."""
    return "outside your scope" in out or "权限范围" in out


def _cli(database_url: str, *args: str, code: int = 0) -> str:
    env = {"DATABASE_URL": database_url, "COLUMNS": "300"}
    r = CliRunner().invoke(app, list(args), env=env)
    assert r.exit_code == code, r.output
    return str(r.output)


def _edits(engine: Engine, draft_id: int) -> int:
    with engine.connect() as conn:
        return int(
            conn.execute(
                text("SELECT count(*) FROM draft_edit WHERE generation_id = :g"), {"g": draft_id}
            ).scalar_one()
        )


def _status(engine: Engine, draft_id: int) -> str:
    with engine.connect() as conn:
        return str(
            conn.execute(
                text("SELECT status::text FROM generation WHERE id = :g"), {"g": draft_id}
            ).scalar_one()
        ).lower()


def _rename(draft_id: int, code: str, name: str, who: str, *extra: str) -> list[str]:
    params = json.dumps({"code": code, "name": name})
    return ["drafts", "edit", str(draft_id), "rename", "--params", params, "--reason", "cli scope",
            *extra, "--as", who]  # fmt: skip


def test_a_towns_planner_edits_only_their_town_on_the_command_line(
    database_url: str, engine: Engine, draft: int, people: dict[str, Any]
) -> None:
    town = people["town"]
    # inside the scope: stored
    _cli(database_url, *_rename(draft, people["my_grid"], "本镇改名", town, "--commit"))
    assert _name(engine, draft, people["my_grid"]) == "本镇改名"
    before, old_name = _edits(engine, draft), _name(engine, draft, people["other_grid"])
    # outside: refused, named, nothing stored (dry run or not)
    for extra in (("--commit",), ()):
        out = _cli(
            database_url, *_rename(draft, people["other_grid"], "越界", town, *extra), code=1
        )
        assert _outside(out) and f"town:{people['mine']}" in out, out
        assert people["other_grid"] in out
    assert _edits(engine, draft) == before
    assert _name(engine, draft, people["other_grid"]) == old_name
    # the same account by GRIDGIS_OPERATOR instead of --as: the same refusal
    params = json.dumps({"code": people["other_grid"], "name": "越界"})
    env = {"DATABASE_URL": database_url, "COLUMNS": "300", "GRIDGIS_OPERATOR": town}
    r = CliRunner().invoke(
        app,
        ["drafts", "edit", str(draft), "rename", "--params", params, "--reason", "r", "--commit"],
        env=env,
    )
    assert r.exit_code == 1 and _outside(r.output), r.output
    # a city planner's edit there, which the town's planner may not undo
    _cli(
        database_url, *_rename(draft, people["other_grid"], "全市改名", people["city"], "--commit")
    )
    out = _cli(database_url, "drafts", "undo", str(draft), "--commit", "--as", town, code=1)
    assert _outside(out), out
    assert _name(engine, draft, people["other_grid"]) == "全市改名"
    # the OS user (no --as, no operator) is an admin: not bounded
    _cli(database_url, "drafts", "undo", str(draft), "--commit")
    assert _name(engine, draft, people["other_grid"]) == old_name


def test_a_towns_planner_approves_and_publishes_only_their_town(
    database_url: str, engine: Engine, draft: int, people: dict[str, Any]
) -> None:
    town, city = people["town"], people["city"]
    _cli(database_url, *_rename(draft, people["other_grid"], "他镇", city, "--commit"))
    _cli(database_url, "grids", "submit", str(draft), "--reason", "s", "--as", city)
    out = _cli(database_url, "grids", "approve", str(draft), "--reason", "ok", "--as", town, code=1)
    assert _outside(out) and people["other_grid"] in out, out
    assert _status(engine, draft) == "submitted"  # nothing stored
    _cli(database_url, "grids", "approve", str(draft), "--reason", "ok", "--as", people["city2"])
    assert _status(engine, draft) == "approved"  # a city-wide planner may
    out = _cli(database_url, "grids", "publish", str(draft), "--commit", "--reason", "r",
               "--as", town, code=1)  # fmt: skip
    assert _outside(out), out
    assert _status(engine, draft) == "approved"  # not published
