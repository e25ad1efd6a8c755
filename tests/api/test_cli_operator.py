"""Issue 10: every planner command of the command line records who did it by the one operator
mechanism of submit/approve/publish (``--as USER``, else ``GRIDGIS_OPERATOR``, else the OS user
as ``cli:NAME``): ``drafts edit``/``undo``/``redo``, ``grids draft``, ``grids import``."""

from __future__ import annotations

import json
import secrets
from pathlib import Path

import pytest
from sqlalchemy import Engine, text
from typer.testing import CliRunner

from api.cli import app
from layers.accounts import create_user
from layers.db import make_sessionmaker, transaction
from tests.api.test_draft_edits import pair
from tests.planning_fixtures import *  # noqa: F403  (the draft fixture)


@pytest.fixture
def operators(engine: Engine) -> tuple[str, str, str]:
    tag = secrets.token_hex(3)
    names = (f"op-a-{tag}", f"op-b-{tag}", f"op-v-{tag}")
    with transaction(make_sessionmaker(engine)) as session:
        create_user(session=session, name=names[0], role="planner")
        create_user(session=session, name=names[1], role="planner")
        create_user(session=session, name=names[2], role="viewer")
    return names


def _last_edit(engine: Engine, draft_id: int) -> tuple[str, str | None]:
    with engine.connect() as conn:
        row = conn.execute(
            text("SELECT actor, undone_by FROM draft_edit WHERE generation_id = :g "
                 "ORDER BY id DESC LIMIT 1"), {"g": draft_id},
        ).one()  # fmt: skip
    return row.actor, row.undone_by


def test_drafts_edit_undo_redo_name_the_operator(
    database_url: str,
    engine: Engine,
    draft: int,
    operators: tuple[str, str, str],
) -> None:
    first, second, viewer = operators
    runner, env = CliRunner(), {"DATABASE_URL": database_url, "COLUMNS": "300"}
    a, _ = pair(engine, draft, same_village=True)
    params = json.dumps({"code": a, "name": "改名"})
    edit = ["drafts", "edit", str(draft), "rename", "--params", params, "--reason", "r", "--commit"]

    by_env = runner.invoke(app, edit, env={**env, "GRIDGIS_OPERATOR": first})
    assert by_env.exit_code == 0, by_env.output
    assert f"by {first} (planner)" in by_env.output
    assert _last_edit(engine, draft)[0] == f"{first} (planner)"

    undo = ["drafts", "undo", str(draft), "--commit", "--as", second]
    r = runner.invoke(app, undo, env={**env, "GRIDGIS_OPERATOR": first})  # --as wins
    assert r.exit_code == 0, r.output
    assert _last_edit(engine, draft)[1] == f"{second} (planner)"
    r = runner.invoke(app, ["drafts", "redo", str(draft), "--commit", "--as", second], env=env)
    assert r.exit_code == 0, r.output
    assert _last_edit(engine, draft) == (f"{first} (planner)", None)

    params2 = json.dumps({"code": a, "name": "再改"})
    edit2 = ["drafts", "edit", str(draft), "rename", "--params", params2, "--reason", "r",
             "--commit", "--as", second]  # fmt: skip
    r = runner.invoke(app, edit2, env=env)
    assert r.exit_code == 0, r.output
    assert _last_edit(engine, draft)[0] == f"{second} (planner)"
    # a viewer or an unknown account may not edit: named, nothing stored
    for who, why in ((viewer, "planner or admin"), (f"nobody-{first}", "does not exist")):
        r = runner.invoke(app, [*edit2[:-1], who], env=env)
        assert r.exit_code == 1 and why in r.output, r.output
    assert _last_edit(engine, draft)[0] == f"{second} (planner)"
    # without an operator: the OS user, as everywhere else on the command line
    r = runner.invoke(app, ["drafts", "undo", str(draft), "--commit"], env=env)
    assert r.exit_code == 0, r.output
    assert (_last_edit(engine, draft)[1] or "").startswith("cli:")


def test_grids_draft_and_import_name_the_operator(
    database_url: str, engine: Engine, demo_generation: int, operators: tuple[str, str, str],
    tmp_path: Path,
) -> None:  # fmt: skip
    first, second, _ = operators
    runner, env = CliRunner(), {"DATABASE_URL": database_url, "COLUMNS": "300"}
    made: list[int] = []
    try:
        name = f"operator draft {first}"
        r = runner.invoke(app, ["grids", "draft", "--name", name, "--as", second],
                          env={**env, "GRIDGIS_OPERATOR": first})  # fmt: skip
        assert r.exit_code == 0, r.output
        with engine.connect() as conn:
            gid, by = conn.execute(
                text("SELECT id, created_by FROM generation WHERE name = :n"), {"n": name}
            ).one()
        made.append(gid)
        assert by == f"{second} (planner)"
        path = tmp_path / "city.geojson"
        r = runner.invoke(app, ["grids", "export", str(path), "--generation",
                                str(demo_generation)], env=env)  # fmt: skip
        assert r.exit_code == 0, r.output
        name2 = f"operator import {first}"
        r = runner.invoke(app, ["grids", "import", str(path), "--name", name2, "--commit"],
                          env={**env, "GRIDGIS_OPERATOR": first})  # fmt: skip
        assert r.exit_code == 0, r.output
        with engine.connect() as conn:
            gid2, by2 = conn.execute(
                text("SELECT id, created_by FROM generation WHERE name = :n"), {"n": name2}
            ).one()
        made.append(gid2)
        assert by2 == f"{first} (planner)"
    finally:
        with engine.begin() as conn:
            for gid in made:
                conn.execute(text("DELETE FROM generation WHERE id = :g"), {"g": gid})
