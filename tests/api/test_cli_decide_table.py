"""``gridgis grids decide GEN`` and ``gridgis to-decide GEN`` list everything a publication
left to decide -- assignments, grid roles to staff, zone members -- as one table from the one
rule (layers.planning.to_decide), zh by default and en with --lang en (issue 10, F10b)."""

from __future__ import annotations

from typing import Any

import orjson
import pytest
from typer.testing import CliRunner

from api.cli import app

runner = CliRunner()

LISTING: dict[str, Any] = {
    "generation": 0, "status": "active", "count": 3, "assignments": [],
    "grids_to_staff": [
        {"kind": "grid_role", "grid_code": "320281001001101", "role": "grid_worker",
         "sources": ["320281001001001"],
         "candidates": [{"person_id": 7, "name": "张三", "from_grid": "320281001001001",
                         "grid_now": "320281001001102"}]},
        {"kind": "grid_role", "grid_code": "320281001001103", "role": "grid_leader",
         "sources": ["320281001001001"], "candidates": []},
    ],
    "zone_members": [
        {"kind": "zone_member", "zone_id": 4, "zone": "Z4", "zone_name": "东片",
         "town_code": "320281001", "grid_code": "320281001013", "candidates": []},
    ],
}  # fmt: skip


@pytest.fixture
def listed(monkeypatch: pytest.MonkeyPatch, database_url: str) -> None:
    """Both commands read the listing of layers.planning.to_decide.to_decide (faked here with
    two grid roles to staff and one zone member, no assignment)."""
    import layers.planning.to_decide as rule

    monkeypatch.setenv("DATABASE_URL", database_url)
    monkeypatch.setenv("COLUMNS", "400")
    monkeypatch.delenv("GRIDGIS_LANG", raising=False)
    monkeypatch.setattr(rule, "to_decide", lambda **_: LISTING)


@pytest.mark.parametrize("command", [["grids", "decide"], ["to-decide"]])
def test_grid_roles_and_zone_members_are_listed_in_zh(listed: None, command: list[str]) -> None:
    out = runner.invoke(app, [*command, "1"])
    assert out.exit_code == 0, out.output
    assert "没有需人工确定" not in out.output
    assert "网格岗位待配人员" in out.output and "320281001001101" in out.output
    assert "320281001001103" in out.output and "320281001013" in out.output
    assert "张三" in out.output and "320281001001102" in out.output  # whose grid a move empties
    assert "3 项待定" in out.output
    assert not out.output.lstrip().startswith("{")


@pytest.mark.parametrize("command", [["grids", "decide"], ["to-decide"]])
def test_listed_in_en(listed: None, command: list[str]) -> None:
    out = runner.invoke(app, [*command, "1", "--lang", "en"])
    assert out.exit_code == 0, out.output
    assert "grid role to staff" in out.output and "zone member" in out.output
    assert "3 to decide" in out.output


def test_json_on_request_and_nothing_said_when_nothing_waits(
    listed: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    import layers.planning.to_decide as rule

    out = runner.invoke(app, ["to-decide", "1", "--json"])
    assert out.exit_code == 0 and orjson.loads(out.output)["count"] == 3, out.output
    monkeypatch.setattr(
        rule, "to_decide",
        lambda **_: {**LISTING, "count": 0, "grids_to_staff": [], "zone_members": []},
    )  # fmt: skip
    out = runner.invoke(app, ["grids", "decide", "1", "--lang", "en"])
    assert out.exit_code == 0 and "nothing to decide" in out.output, out.output


def test_real_listing_of_the_active_generation(
    monkeypatch: pytest.MonkeyPatch, database_url: str, demo_generation: int
) -> None:
    monkeypatch.setenv("DATABASE_URL", database_url)
    for command in (["grids", "decide"], ["to-decide"]):
        out = runner.invoke(app, [*command, str(demo_generation), "--lang", "en"])
        assert out.exit_code == 0, out.output
        assert "to decide" in out.output
    bad = runner.invoke(app, ["to-decide", "999999999", "--lang", "en"])
    assert bad.exit_code == 1, bad.output
