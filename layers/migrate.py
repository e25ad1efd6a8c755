"""Schema migrations (alembic) driven from code: ``gridgis db migrate`` and app start-up."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from sqlalchemy import Engine

if TYPE_CHECKING:
    from alembic.config import Config

MIGRATIONS_DIR = Path(__file__).parent / "migrations"


def alembic_config(engine: Engine | None = None) -> Config:
    from alembic.config import Config  # alembic is imported only when migrating (start-up time)

    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    if engine is not None:
        config.set_main_option(
            "sqlalchemy.url", engine.url.render_as_string(hide_password=False).replace("%", "%%")
        )
    return config


def upgrade(engine: Engine, revision: str = "heads") -> None:
    """Bring the database schema to ``revision`` (creating the PostGIS extension first).

    On a Citus coordinator the tables are then distributed (:func:`layers.citus.distribute_schema`).
    """
    from alembic import command

    with engine.begin() as connection:
        config = alembic_config()
        config.attributes["connection"] = connection
        config.attributes["no_metadata"] = True  # env.py: no model imports to run migrations
        command.upgrade(config, revision)
        # On a Citus coordinator: positions distributed by device, the rest reference tables.
        from layers.citus import distribute_schema, has_citus

        if has_citus(connection):
            distribute_schema(connection)
