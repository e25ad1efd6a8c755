"""Planners' grid tools: validate a file, dry-run import, commit, publish; and the API report."""

from __future__ import annotations

import pytest
from sqlalchemy import text
from typer.testing import CliRunner

from api.cli import app

runner = CliRunner()


@pytest.fixture
def cli_env(monkeypatch, database_url, engine, tmp_path):  # type: ignore[no-untyped-def]
    monkeypatch.setenv("DATABASE_URL", database_url)
    monkeypatch.setenv("GRIDGIS_DATA_DIR", str(tmp_path / "data"))


def test_api_reports_the_demo_city_valid(client, demo_generation) -> None:  # type: ignore[no-untyped-def]
    body = client.get(f"/api/v1/generations/{demo_generation}/problems").json()
    assert body["ok"] is True
    assert body["counts"] == {"1": 17, "2": 271, "3": 1558}


def test_validate_names_the_gap_of_a_missing_grid(cli_env, demo_grids, tmp_path) -> None:  # type: ignore[no-untyped-def]
    missing = demo_grids[demo_grids.level == 3].iloc[100]
    broken = demo_grids[demo_grids.code != missing.code]
    path = tmp_path / "broken.gpkg"
    broken.to_file(path)
    result = runner.invoke(app, ["grids", "validate", str(path)], terminal_width=250)
    assert result.exit_code == 1
    assert "gap" in result.output and missing.parent_code in result.output


def test_import_is_a_dry_run_until_commit_then_publish(
    cli_env, demo_grids, engine, tmp_path
) -> None:  # type: ignore[no-untyped-def]
    path = tmp_path / "next.gpkg"
    demo_grids.to_file(path)

    def count() -> int:
        with engine.connect() as conn:
            return int(conn.execute(text("SELECT count(*) FROM generation")).scalar_one())

    before = count()
    dry = runner.invoke(app, ["grids", "import", str(path), "--name", "2027 draft"])
    assert dry.exit_code == 0, dry.output
    assert "dry run" in dry.output and count() == before
    done = runner.invoke(app, ["grids", "import", str(path), "--name", "2027 draft", "--commit"])
    assert done.exit_code == 0, done.output
    assert count() == before + 1
    with engine.connect() as conn:
        new_id = conn.execute(text("SELECT max(id) FROM generation")).scalar_one()
        status = conn.execute(
            text("SELECT status FROM generation WHERE id = :i"), {"i": new_id}
        ).scalar_one()
    assert status == "draft"


def test_import_without_required_columns_says_which(cli_env, demo_grids, tmp_path) -> None:  # type: ignore[no-untyped-def]
    path = tmp_path / "bad.gpkg"
    demo_grids.drop(columns=["name"]).to_file(path)
    result = runner.invoke(app, ["grids", "validate", str(path)], terminal_width=250)
    assert result.exit_code != 0
    assert "lacks the column(s) name" in result.output
    # parent_code and level are read from the codes (DOMAIN.md section 1), not required
    derivable = tmp_path / "no_parents.gpkg"
    demo_grids.drop(columns=["parent_code", "level"]).to_file(derivable)
    result = runner.invoke(app, ["grids", "validate", str(derivable)], terminal_width=250)
    assert result.exit_code == 0, result.output


def test_import_of_a_multi_layer_file_needs_a_layer(cli_env, demo_grids, engine, tmp_path) -> None:  # type: ignore[no-untyped-def]
    path = tmp_path / "edited.gpkg"
    for level, layer in ((1, "towns"), (2, "villages"), (3, "units")):
        demo_grids[demo_grids.level == level].to_file(path, layer=layer)
    r = runner.invoke(
        app, ["grids", "import", str(path), "--name", "x", "--commit"], terminal_width=250
    )
    assert r.exit_code == 1 and "--layer" in r.output, r.output
    assert "units: Polygon, 1558 features" in r.output
    # --layer all with the same grids twice: the real error alone, no "no active generation"
    demo_grids[demo_grids.level == 3].to_file(path, layer="units copy")
    twice = runner.invoke(
        app, ["grids", "import", str(path), "--name", "x", "--layer", "all"], terminal_width=250
    )
    assert twice.exit_code == 1, twice.output
    assert "cannot be stored" in twice.output and "no active generation" not in twice.output
    args = ["--name", "x", "--layer", "towns", "--commit", "--publish", "--reason", "t"]
    towns = runner.invoke(app, ["grids", "import", str(path), *args], terminal_width=250)
    assert towns.exit_code == 1, towns.output
    assert "refused" in towns.output and "L3 (1558 grids)" in towns.output
    with engine.connect() as conn:
        assert conn.execute(text("SELECT count(*) FROM generation WHERE name = 'x'")).scalar() == 0
    units = runner.invoke(
        app, ["grids", "import", str(path), "--name", "units only", "--layer", "units"],
        terminal_width=250,
    )  # fmt: skip
    assert units.exit_code == 0, units.output
    assert "valid (L1: 17, L2: 271, L3: 1558)" in units.output
    assert "derived from the L3 codes" in units.output and "dry run" in units.output


def test_export_shapefile_and_import_it_back(cli_env, demo_generation, tmp_path) -> None:  # type: ignore[no-untyped-def]
    import pyogrio

    out = tmp_path / "city.zip"
    r = runner.invoke(app, ["grids", "export", str(out), "--generation", str(demo_generation)])
    assert r.exit_code == 0, r.output
    assert "parent_cod" in pyogrio.read_dataframe(out).columns
    back = runner.invoke(app, ["grids", "import", str(out), "--name", "shp"], terminal_width=250)
    assert back.exit_code == 0, back.output
    assert "valid (L1: 17, L2: 271, L3: 1558)" in back.output
    assert "added 0, removed 0, changed 0" in back.output


def test_draft_then_publish_is_a_dry_run_until_commit(cli_env, demo_generation, engine) -> None:  # type: ignore[no-untyped-def]
    """The command line follows the review too: an unapproved draft is not published by
    --commit; only an admin's --emergency with a reason publishes it, logged as unreviewed."""
    import secrets

    from layers.accounts import create_user
    from layers.db import make_sessionmaker, transaction

    made = runner.invoke(app, ["grids", "draft", "--from", "active", "--name", "cli draft"])
    assert made.exit_code == 0, made.output
    gid = int(made.output.split()[1])
    assert "L3: 1558" in made.output
    bad = runner.invoke(app, ["grids", "draft", "--from", "nowhere", "--name", "x"])
    assert bad.exit_code == 1 and "neither 'active' nor a generation id" in bad.output

    def active() -> int:
        with engine.connect() as conn:
            return int(
                conn.execute(text("SELECT id FROM generation WHERE status = 'active'")).scalar_one()
            )

    def publish(*args: str):  # type: ignore[no-untyped-def]
        return runner.invoke(app, ["grids", "publish", str(gid), *args], terminal_width=250)

    dry = publish()
    assert dry.exit_code == 0, dry.output
    assert "dry run" in dry.output and "--commit" in dry.output and active() == demo_generation
    # not approved: refused, for the command line's admin too
    refused = publish("--commit", "--reason", "cli test")
    assert refused.exit_code == 1, refused.output
    assert "is draft" in refused.output and "approve" in refused.output
    assert active() == demo_generation
    # the emergency path needs a reason ...
    no_reason = publish("--commit", "--emergency")
    assert no_reason.exit_code == 1 and "--reason" in no_reason.output, no_reason.output
    # ... and an admin
    planner_name = f"cli-planner-{secrets.token_hex(3)}"
    with transaction(make_sessionmaker(engine)) as session:
        create_user(session=session, name=planner_name, role="planner")
    by_planner = publish("--commit", "--emergency", "--reason", "flood", "--as", planner_name)
    assert by_planner.exit_code == 1, by_planner.output
    assert "without review" in by_planner.output and active() == demo_generation
    # grids import --publish is the same emergency path: it needs a reason first
    no_why = runner.invoke(
        app, ["grids", "import", "nothing.gpkg", "--name", "x", "--commit", "--publish"]
    )
    assert no_why.exit_code == 1 and "--reason" in no_why.output, no_why.output
    try:
        done = publish("--commit", "--emergency", "--reason", "cli test")
        assert done.exit_code == 0, done.output
        assert active() == gid
        with engine.connect() as conn:
            step = conn.execute(
                text(
                    "SELECT actor, actor_role, reason, details FROM generation_review "
                    "WHERE generation_id = :g AND action = 'publish'"
                ),
                {"g": gid},
            ).one()
        assert step.actor.startswith("cli:") and step.actor_role == "admin"
        assert step.reason == "cli test"
        assert step.details["unreviewed"] is True
    finally:
        with engine.begin() as conn:  # the demo city in force again, as other tests expect
            conn.execute(
                text(
                    "UPDATE generation SET status = 'retired', retired_at = activated_at "
                    "WHERE id <> :d AND activated_at IS NOT NULL"
                ),
                {"d": demo_generation},
            )
            conn.execute(
                text("UPDATE generation SET status = 'active', retired_at = NULL WHERE id = :d"),
                {"d": demo_generation},
            )
