"""``gridgis db status``: which database engine the app uses and what state it is in.

Three engines (README "Database"):

- ``embedded PostGIS``: no ``DATABASE_URL``; the private cluster in the data folder
  (layers/cluster.py), with its folder, socket and whether it runs;
- ``external PostgreSQL``: ``DATABASE_URL`` points at a PostgreSQL + PostGIS server;
- ``Citus coordinator``: the database behind the URL (embedded or external) has the citus
  extension: its workers as the coordinator knows them (``pg_dist_node``: host or socket
  folder, port, active or not) and how many tables are distributed and reference tables.

A local Citus cluster made by ``gridgis db up --citus`` (``<data dir>/citus``) is listed too,
each node with its socket folder, port and whether it runs, whether or not the app uses it.
The database is only read (never started, never migrated): an engine that does not answer is
reported as ``reachable: false`` with the reason.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import text
from sqlalchemy.engine import make_url

from api.settings import Settings

CONNECT_TIMEOUT_S = 5


def _database(url: str) -> dict[str, Any]:
    """What the database behind ``url`` is: versions, and for a Citus coordinator its workers
    and table counts. ``{"reachable": False, "error": …}`` when it does not answer."""
    from sqlalchemy import create_engine
    from sqlalchemy.pool import NullPool

    from layers.citus import citus_tables, has_citus

    if url.startswith(("postgresql://", "postgres://")):  # as layers.db.make_engine reads it
        url = "postgresql+psycopg://" + url.split("://", 1)[1]
    engine = create_engine(
        url, poolclass=NullPool, connect_args={"connect_timeout": CONNECT_TIMEOUT_S}
    )
    try:
        with engine.connect() as conn:
            out: dict[str, Any] = {
                "reachable": True,
                "postgresql": conn.execute(text("SHOW server_version")).scalar(),
                "postgis": conn.execute(
                    text("SELECT extversion FROM pg_extension WHERE extname = 'postgis'")
                ).scalar(),
                "citus": None,
            }
            if has_citus(conn):
                out["citus"] = conn.execute(
                    text("SELECT extversion FROM pg_extension WHERE extname = 'citus'")
                ).scalar()
                out["nodes"] = [
                    {"host": host, "port": port, "role": "coordinator" if group == 0 else
                     "worker", "state": "active" if active else "inactive"}
                    for host, port, group, active in conn.execute(
                        text("SELECT nodename, nodeport, groupid, isactive FROM pg_dist_node "
                             "WHERE noderole = 'primary' ORDER BY groupid")
                    )
                ]  # fmt: skip
                kinds = list(citus_tables(conn).values())
                out["distributed_tables"] = kinds.count("distributed")
                out["reference_tables"] = kinds.count("reference")
                out["coordinator_local_tables"] = kinds.count("local")
            return out
    except Exception as exc:  # any failure to connect is what status reports
        return {"reachable": False, "error": str(exc).splitlines()[0]}
    finally:
        engine.dispose()


def _local_citus(settings: Settings) -> dict[str, Any] | None:
    """The local Citus cluster of ``gridgis db up --citus`` if one was made: each node's
    folder, socket folder, port and state; None if there is none."""
    from layers.citus import NODE_PORT, CitusCluster

    cluster = CitusCluster.found(settings.database.data_dir / "citus")
    if not cluster.coordinator.initialised():
        return None
    return {
        "url": cluster.url,
        "nodes": [
            {
                "name": "coordinator" if k == 0 else f"worker-{k}",
                "data_dir": str(node.data_dir),
                "socket_dir": str(node.socket_dir),
                "port": NODE_PORT,
                "state": "running" if node.running() else "stopped",
            }
            for k, node in enumerate(cluster.nodes)
        ],
    }


def status_report(settings: Settings) -> dict[str, Any]:
    """The engine (``embedded PostGIS`` | ``external PostgreSQL`` | ``Citus coordinator``), its
    URL (password hidden), what the database says (:func:`_database`), the embedded cluster's
    state when it is the one used, and the local Citus cluster if one was made."""
    from layers.cluster import LocalCluster

    report: dict[str, Any] = {}
    if settings.database.url:
        url = settings.database.url
        report["engine"] = "external PostgreSQL"
        running = True
    else:
        cluster = LocalCluster(settings.database.data_dir)
        url = cluster.url
        report["engine"] = "embedded PostGIS"
        report["embedded"] = cluster.status()
        running = cluster.running()
    parsed = make_url(url)
    report["url"] = url if parsed.password is None else parsed.render_as_string()  # "***"
    if running:
        report["database"] = _database(url)
    else:
        report["database"] = {"reachable": False, "error": "not running: gridgis db up"}
    if report["database"].get("citus"):
        report["engine"] = "Citus coordinator"
    local = _local_citus(settings)
    if local is not None:
        report["local_citus"] = local
    return report
