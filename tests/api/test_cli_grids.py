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
    demo_grids.drop(columns=["parent_code"]).to_file(path)
    result = runner.invoke(app, ["grids", "validate", str(path)])
    assert result.exit_code != 0
    assert "parent_code" in result.output
