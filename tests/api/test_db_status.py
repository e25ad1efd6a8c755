"""``gridgis db status`` names the engine: embedded PostGIS, an external PostgreSQL, or a Citus
coordinator with its workers (port, state) and its distributed tables (issue 12)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import create_engine, text
from typer.testing import CliRunner

from layers.citus import CITUS_LIBRARY, CitusCluster, citus_available
from tests.layers.test_citus import citus_cluster  # noqa: F401  (module fixture)


def _status(monkeypatch: pytest.MonkeyPatch, exit_code: int = 0, **env: str) -> dict[str, Any]:
    """The report printed; the command's exit code must be ``exit_code`` (1: unreachable)."""
    from api.cli import app

    monkeypatch.delenv("DATABASE_URL", raising=False)
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    result = CliRunner().invoke(app, ["db", "status"], terminal_width=400)
    assert result.exit_code == exit_code, result.output
    return json.loads(result.output)


def test_an_external_postgis(monkeypatch: pytest.MonkeyPatch, database_url: str) -> None:
    report = _status(monkeypatch, DATABASE_URL=database_url)
    assert report["engine"] == "external PostgreSQL"
    db = report["database"]
    assert db["reachable"] is True and db["postgis"] and db["citus"] is None
    assert db["postgresql"].split(".")[0].isdigit()
    assert "embedded" not in report


def test_an_unreachable_database_is_reported_not_raised(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    url = f"postgresql+psycopg://nobody:secret@/nothing?host={tmp_path}"
    report = _status(monkeypatch, exit_code=1, DATABASE_URL=url)  # printed, and exit 1
    assert report["engine"] == "external PostgreSQL"
    assert report["database"]["reachable"] is False and report["database"]["error"]
    assert "secret" not in json.dumps(report)  # the password is never printed


def test_the_embedded_cluster_when_stopped(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    # a data folder with no cluster: reported as such, nothing started
    report = _status(monkeypatch, exit_code=1, GRIDGIS_DATA_DIR=str(tmp_path))
    assert report["engine"] == "embedded PostGIS"
    assert report["embedded"]["running"] is False
    assert report["database"] == {"reachable": False, "error": "not running: gridgis db up"}
    assert "local_citus" not in report
    assert not (tmp_path / "pg").exists()


@pytest.mark.skipif(
    not citus_available(),
    reason=f"Citus is not installed ({CITUS_LIBRARY} missing); ./run.sh test builds it from "
    "../shared/vendor/citus, or install postgresql-15-citus-13.2",
)
def test_a_citus_coordinator_and_its_workers(
    monkeypatch: pytest.MonkeyPatch,
    citus_cluster: CitusCluster,  # noqa: F811
    tmp_path: Path,
) -> None:
    engine = create_engine(citus_cluster.url)
    with engine.begin() as conn:
        conn.execute(text("CREATE TABLE IF NOT EXISTS status_probe (id int, town text)"))
        if not conn.execute(
            text("SELECT 1 FROM pg_dist_partition WHERE logicalrelid = 'status_probe'::regclass")
        ).scalar():
            conn.execute(text("SELECT create_distributed_table('status_probe', 'town')"))
    engine.dispose()
    # the data folder's citus/ is this cluster: db status lists its nodes too
    (tmp_path / "citus").symlink_to(citus_cluster.data_dir)
    report = _status(monkeypatch, DATABASE_URL=citus_cluster.url, GRIDGIS_DATA_DIR=str(tmp_path))
    assert report["engine"] == "Citus coordinator"
    db = report["database"]
    assert db["reachable"] is True and db["citus"]
    workers = [n for n in db["nodes"] if n["role"] == "worker"]
    assert len(workers) == 2 and all(n["state"] == "active" for n in workers)
    assert {n["host"] for n in workers} == {str(w.socket_dir) for w in citus_cluster.worker_nodes}
    assert all(isinstance(n["port"], int) for n in db["nodes"])
    assert db["distributed_tables"] >= 1
    local = report["local_citus"]
    assert [n["name"] for n in local["nodes"]] == ["coordinator", "worker-1", "worker-2"]
    assert all(n["state"] == "running" for n in local["nodes"])
