"""A scratch database for a benchmark: PostGIS and every migration, dropped afterwards."""

from __future__ import annotations

import os
import secrets
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from sqlalchemy import Engine, create_engine, text
from sqlalchemy.engine import make_url

from api.settings import PROJECT_DIR
from layers.cluster import LocalCluster
from layers.db import make_engine
from layers.migrate import upgrade


def server_url() -> tuple[str, LocalCluster | None]:
    """``DATABASE_URL``'s server, or the embedded cluster (started if it is not running)."""
    configured = os.environ.get("DATABASE_URL")
    if configured:
        return str(make_url(configured).set(drivername="postgresql+psycopg")), None
    cluster = LocalCluster(Path(os.environ.get("GRIDGIS_DATA_DIR", PROJECT_DIR / ".gridgis")))
    cluster.start()
    return cluster.url, cluster


@contextmanager
def scratch_database(*, keep: bool = False) -> Iterator[Engine]:
    """An engine on a new database ``gridgis_bench_<random>`` with PostGIS and every migration;
    the database is dropped on exit unless ``keep``."""
    server, _ = server_url()
    name = f"gridgis_bench_{secrets.token_hex(3)}"
    admin = create_engine(server, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    url = make_url(server).set(database=name).render_as_string(hide_password=False)
    setup = create_engine(url)
    with setup.begin() as conn:
        conn.execute(text("CREATE EXTENSION IF NOT EXISTS postgis"))
    setup.dispose()
    engine = make_engine(url)
    try:
        upgrade(engine)
        yield engine
    finally:
        engine.dispose()
        if not keep:
            with admin.connect() as conn:
                conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()
