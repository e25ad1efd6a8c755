"""Alembic environment: runs migrations on the connection or URL GridGIS hands over."""

from __future__ import annotations

from typing import Any

from alembic import context
from sqlalchemy import create_engine

config = context.config


def _target_metadata() -> Any:
    """Every table of ours on one MetaData, for comparing models and migrations (``alembic
    check``, ``revision --autogenerate``). Not when ``layers.migrate.upgrade`` runs the
    migrations (``no_metadata``): they are written by hand, and importing every layer
    (geopandas, numba…) would cost every start of the app and of each command a second."""
    if config.attributes.get("no_metadata"):
        return None
    from layers import (  # noqa: F401  (registers the tables on Base.metadata)
        accounts,
        archive,
        calendar_tables,
        coverage,
        device_daily,
        device_latest,
        households,
        idempotency,
        login_throttle,
        market,
        models,
        open311_requests,
        people,
        positions,
        zones,
    )
    from layers.db import Base
    from layers.events import event_town as _event_town  # noqa: F401  (event_town)
    from layers.events import models as _events  # noqa: F401  (the event tables)
    from layers.events import town_guests as _town_guests  # noqa: F401  (event_town_guest)
    from layers.planning import edits as _edits  # noqa: F401  (draft edit tables)
    from layers.planning import lineage as _lineage  # noqa: F401  (grid_lineage)
    from layers.planning import review as _review  # noqa: F401  (generation_review)

    return Base.metadata


target_metadata = _target_metadata()


def _include_object(obj, name, type_, reflected, compare_to):
    # PostGIS' own tables (spatial_ref_sys, topology …) are not ours to migrate.
    return not (type_ == "table" and reflected and compare_to is None)


def run_migrations_online() -> None:
    connection = config.attributes.get("connection")
    if connection is not None:
        context.configure(
            connection=connection, target_metadata=target_metadata, include_object=_include_object
        )
        with context.begin_transaction():
            context.run_migrations()
        return
    engine = create_engine(config.get_main_option("sqlalchemy.url") or "")
    with engine.connect() as conn:
        context.configure(
            connection=conn, target_metadata=target_metadata, include_object=_include_object
        )
        with context.begin_transaction():
            context.run_migrations()


run_migrations_online()
