"""Schema migrations (alembic) driven from code: ``gridgis db migrate`` and app start-up."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from sqlalchemy import Connection, Engine, text

if TYPE_CHECKING:
    from alembic.config import Config

MIGRATIONS_DIR = Path(__file__).parent / "migrations"

#: Key of the PostgreSQL advisory lock that serialises schema work (``upgrade``): every process
#: (each ``gridgis serve`` worker, ``db migrate``, a test) takes it for the whole upgrade and
#: Citus distribution, so two never run DDL at once ("tuple concurrently updated").
SCHEMA_LOCK_KEY = 0x67726964_0001  # "grid", 1


def alembic_config(engine: Engine | None = None) -> Config:
    from alembic.config import Config  # alembic is imported only when migrating (start-up time)

    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    if engine is not None:
        config.set_main_option(
            "sqlalchemy.url", engine.url.render_as_string(hide_password=False).replace("%", "%%")
        )
    return config


def _at_heads(connection: Connection, config: Config) -> bool:
    """True if the database behind ``connection`` is at every head of the migrations."""
    from alembic.runtime.migration import MigrationContext
    from alembic.script import ScriptDirectory

    current = set(MigrationContext.configure(connection).get_current_heads())
    return current == set(ScriptDirectory.from_config(config).get_heads())


def upgrade(engine: Engine, revision: str = "heads") -> None:
    """Bring the database schema to ``revision`` (creating the PostGIS extension first).

    On a Citus coordinator the tables are then distributed (:func:`layers.citus.distribute_schema`).
    Serialised across processes by the transaction-scoped advisory lock ``SCHEMA_LOCK_KEY`` (held
    until the upgrade and the distribution commit); a process that then finds the schema at its
    heads (and not Citus) does nothing, so the workers of ``gridgis serve --workers N`` starting
    together never race on DDL.
    """
    from alembic import command

    with engine.begin() as connection:
        connection.execute(text("SELECT pg_advisory_xact_lock(:k)"), {"k": SCHEMA_LOCK_KEY})
        config = alembic_config()
        config.attributes["connection"] = connection
        config.attributes["no_metadata"] = True  # env.py: no model imports to run migrations
        from layers.citus import distribute_schema, has_citus

        citus = has_citus(connection)
        if revision == "heads" and not citus and _at_heads(connection, config):
            return  # current: nothing to do (the lock is released at the end of the transaction)
        command.upgrade(config, revision)
        # On a Citus coordinator: positions distributed by device, the rest reference tables.
        if citus:
            distribute_schema(connection)
