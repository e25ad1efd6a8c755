"""Schema changes go through alembic only: the migrations build exactly the models' schema,
and they can be undone and redone."""

from __future__ import annotations

import secrets

import pytest
from alembic import command
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

from layers.db import make_engine
from layers.migrate import alembic_config, upgrade


@pytest.fixture
def scratch_url(server_url):  # type: ignore[no-untyped-def]
    name = f"gridgis_migrations_{secrets.token_hex(3)}"
    admin = create_engine(server_url, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    yield make_url(server_url).set(database=name).render_as_string(hide_password=False)
    with admin.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    admin.dispose()


@pytest.mark.slow
def test_migrations_match_the_models_and_round_trip(scratch_url) -> None:  # type: ignore[no-untyped-def]
    engine = make_engine(scratch_url)
    try:
        upgrade(engine)
        command.check(alembic_config(engine))  # raises if models and migrations differ
        command.downgrade(alembic_config(engine), "base")
        with engine.connect() as conn:
            tables = (
                conn.execute(text("SELECT tablename FROM pg_tables WHERE schemaname = 'public'"))
                .scalars()
                .all()
            )
        assert set(tables) <= {"spatial_ref_sys", "alembic_version"}
        upgrade(engine)
    finally:
        engine.dispose()
