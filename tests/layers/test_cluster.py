"""The embedded cluster: created, started as an unprivileged user, stopped, restarted."""

from __future__ import annotations

import os
import pwd
import shutil
import tempfile
from pathlib import Path

import pytest

from layers.cluster import ClusterError, LocalCluster


@pytest.mark.slow
def test_cluster_lifecycle() -> None:
    # pytest's tmp_path is private to root; the server user must be able to reach the folder
    top = Path(tempfile.mkdtemp(prefix="gridgis-cluster-"))
    top.chmod(0o755)
    cluster = LocalCluster(top / "data")
    assert cluster.status()["initialised"] is False
    try:
        assert cluster.start() is True
        assert cluster.start() is False  # idempotent
        assert cluster.running()
        assert "PostGIS" not in cluster.psql("SELECT 1") and cluster.psql("SELECT 1") == "1"
        owner = pwd.getpwuid((cluster.pgdata / "PG_VERSION").stat().st_uid).pw_name
        if os.geteuid() == 0:
            assert owner == "gridgis"  # never root
        # no TCP port: only the socket in the data folder
        assert cluster.psql("SHOW listen_addresses") == ""
        assert (cluster.socket_dir / ".s.PGSQL.5432").exists()
        assert cluster.stop() is True
        assert not cluster.running()
        assert cluster.start() is True  # restart keeps the data
        assert cluster.psql("SELECT count(*) FROM pg_database WHERE datname = 'gridgis'") == "1"
    finally:
        cluster.stop()
        shutil.rmtree(top, ignore_errors=True)


@pytest.mark.skipif(os.geteuid() != 0, reason="only root hands the cluster to another user")
def test_unreachable_data_folder_is_explained(tmp_path) -> None:  # type: ignore[no-untyped-def]
    private = tmp_path / "private"
    private.mkdir(mode=0o700)
    with pytest.raises(ClusterError, match="cannot reach"):
        LocalCluster(private / "data", relocate=False).start()


@pytest.mark.skipif(os.geteuid() != 0, reason="only root hands the cluster to another user")
def test_unreachable_data_folder_is_relocated(tmp_path) -> None:  # type: ignore[no-untyped-def]
    private = tmp_path / "private"
    private.mkdir(mode=0o700)
    cluster = LocalCluster(private / "data")
    assert str(cluster.data_dir).startswith("/var/lib/gridgis/clusters/")
    assert LocalCluster(private / "data").data_dir == cluster.data_dir  # stable


def test_overlong_socket_path_is_explained(tmp_path) -> None:  # type: ignore[no-untyped-def]
    cluster = LocalCluster(tmp_path / ("x" * 120), relocate=False)
    with pytest.raises(ClusterError, match="GRIDGIS_DATA_DIR"):
        cluster.start()
