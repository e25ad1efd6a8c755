"""Issue 10 (second re-trial, fault 3): ``gridgis grids validate`` reads a file the way the
import (CLI and HTTP upload) does: an L3-only file's derived villages and towns keep their
names from the active generation (no "待命名 <code>" placeholders for codes the city has), and
the command speaks the planner commands' languages (``--lang zh|en``)."""

from __future__ import annotations

import pytest
from typer.testing import CliRunner

from api.cli import app

runner = CliRunner()


@pytest.fixture
def cli_env(monkeypatch, database_url, engine, tmp_path):  # type: ignore[no-untyped-def]
    monkeypatch.setenv("DATABASE_URL", database_url)
    monkeypatch.setenv("GRIDGIS_DATA_DIR", str(tmp_path / "data"))


def test_validate_keeps_the_active_names_of_derived_parents(  # type: ignore[no-untyped-def]
    cli_env, demo_grids, demo_generation, tmp_path
) -> None:
    path = tmp_path / "l3.geojson"
    demo_grids[demo_grids.level == 3].to_file(path, driver="GeoJSON")
    en = runner.invoke(app, ["grids", "validate", str(path), "--lang", "en"], terminal_width=250)
    assert en.exit_code == 0, en.output
    assert "not in the active generation" not in en.output and "待命名" not in en.output
    assert "derived from the L3 codes" in en.output
    zh = runner.invoke(app, ["grids", "validate", str(path), "--lang", "zh"], terminal_width=250)
    assert zh.exit_code == 0, zh.output
    assert "待命名" not in zh.output
    assert zh.output != en.output


def test_validate_names_placeholders_only_for_codes_the_city_lacks(  # type: ignore[no-untyped-def]
    cli_env, demo_grids, demo_generation, tmp_path
) -> None:
    units = demo_grids[demo_grids.level == 3].copy()
    town = units.code.str[:9].iloc[0]
    new_town = town[:6] + "999"
    moved = units.code.str.startswith(town)
    units.loc[moved, "code"] = new_town + units.loc[moved, "code"].str[9:]
    units.loc[moved, "parent_code"] = units.loc[moved, "code"].str[:12]
    path = tmp_path / "renumbered.geojson"
    units.to_file(path, driver="GeoJSON")
    r = runner.invoke(app, ["grids", "validate", str(path), "--lang", "en"], terminal_width=250)
    assert "not in the active generation" in r.output and new_town in r.output, r.output
    assert f"'{town}" not in r.output


def test_validate_refuses_an_unknown_language(cli_env, tmp_path) -> None:  # type: ignore[no-untyped-def]
    path = tmp_path / "x.geojson"
    path.write_text('{"type": "FeatureCollection", "features": []}', encoding="utf-8")
    r = runner.invoke(app, ["grids", "validate", str(path), "--lang", "fr"], terminal_width=250)
    assert r.exit_code == 2 and "give zh or en" in r.output
