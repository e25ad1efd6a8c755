"""``gridgis db up --citus --workers N`` / ``gridgis db down --citus``: a local Citus cluster.

The coordinator and its workers live under ``<data dir>/citus`` (:class:`layers.citus.
CitusCluster`); the app uses the cluster when ``DATABASE_URL`` is set to the coordinator's URL
that ``db up --citus`` prints. api/cli.py's ``db up``/``db down`` hand over to these functions.
"""

from __future__ import annotations

import typer
from rich.console import Console

from api.settings import Settings
from layers.citus import CitusCluster
from layers.cluster import ClusterError


def citus_dir(settings: Settings) -> CitusCluster:
    """The local Citus cluster made earlier (0 workers if none was)."""
    return CitusCluster.found(settings.database.data_dir / "citus")


def citus_up(console: Console, workers: int) -> None:
    """Start a coordinator and ``workers`` workers; print the coordinator's URL."""
    settings = Settings()
    existing = citus_dir(settings)
    cluster = CitusCluster(existing.data_dir, workers=max(workers, existing.workers))
    try:
        started = cluster.start()
    except ClusterError as exc:
        console.print(f"[red]{exc}[/]")
        raise typer.Exit(1) from None
    console.print(
        f"Citus: coordinator and {cluster.workers} worker(s)",
        "started" if started else "already running",
    )
    console.print(f"DATABASE_URL={cluster.url}")


def citus_down(console: Console) -> None:
    """Stop the local Citus cluster's nodes (fast shutdown; data kept)."""
    cluster = citus_dir(Settings())
    console.print("stopped" if cluster.stop() else "not running")
