"""``gridgis to-decide``: the same list and decisions as the HTTP API (issue 10)."""

from __future__ import annotations

import orjson
from typer.testing import CliRunner

from api.cli import app

runner = CliRunner()


def test_cli_lists_and_refuses_bad_decisions(
    monkeypatch, database_url, engine, demo_generation
) -> None:  # type: ignore[no-untyped-def]
    monkeypatch.setenv("DATABASE_URL", database_url)
    listed = runner.invoke(app, ["to-decide", str(demo_generation), "--json"])
    assert listed.exit_code == 0, listed.output
    body = orjson.loads(listed.output)
    assert body["status"] == "active" and {"assignments", "grids_to_staff", "zone_members"} <= set(
        body
    )
    bad = runner.invoke(
        app, ["to-decide", str(demo_generation), "--item", '{"kind": "nope"}', "--reason", "r"]
    )
    assert bad.exit_code == 1 and "kind" in bad.output, bad.output
    junk = runner.invoke(app, ["to-decide", str(demo_generation), "--item", "{"])
    assert junk.exit_code == 2 and "not JSON" in junk.output
