"""Which database the app and the commands use, and opening it: light imports only, so that a
command line start does not pay for the web app (fastapi, folium, geopandas) it does not run."""

from __future__ import annotations

from sqlalchemy import Engine
from sqlalchemy.orm import Session, sessionmaker

from api.settings import Settings
from layers.cluster import LocalCluster
from layers.db import make_engine, make_sessionmaker


def database_url(settings: Settings) -> tuple[str, LocalCluster | None]:
    """The configured PostGIS, or the embedded cluster in the data folder."""
    if settings.database.url:
        return settings.database.url, None
    cluster = LocalCluster(settings.database.data_dir)
    return cluster.url, cluster


def open_engine(settings: Settings, *, migrate: bool = True) -> Engine:
    """An engine on the configured database for a command: starts the embedded cluster if it
    is not running and brings the schema up to date."""
    from layers.migrate import upgrade

    url, cluster = database_url(settings)
    if cluster is not None:
        cluster.start()
    engine = make_engine(url)
    if migrate:
        upgrade(engine)
    return engine


def open_sessions(settings: Settings) -> sessionmaker[Session]:
    """:func:`open_engine`'s session factory."""
    return make_sessionmaker(open_engine(settings))
