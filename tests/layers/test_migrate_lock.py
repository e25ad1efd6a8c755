"""Schema work is serialised across processes (layers.migrate.SCHEMA_LOCK_KEY): the workers of
``gridgis serve --workers N`` all run ``upgrade`` as they start, at the same moment."""

from __future__ import annotations

import secrets
from concurrent.futures import ThreadPoolExecutor

import pytest
from alembic.script import ScriptDirectory
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

from layers.db import make_engine
from layers.migrate import alembic_config, upgrade


@pytest.fixture
def fresh_url(server_url):  # type: ignore[no-untyped-def]
    name = f"gridgis_lock_{secrets.token_hex(3)}"
    admin = create_engine(server_url, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    yield make_url(server_url).set(database=name).render_as_string(hide_password=False)
    with admin.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    admin.dispose()


def _upgrade_at_once(url: str, count: int) -> None:
    """``count`` engines (as separate processes would have) upgrade the same database at once."""
    engines = [make_engine(url) for _ in range(count)]
    try:
        with ThreadPoolExecutor(count) as pool:
            for done in [pool.submit(upgrade, e) for e in engines]:
                done.result()  # raises what a worker's upgrade raised
    finally:
        for e in engines:
            e.dispose()


@pytest.mark.slow
def test_upgrades_started_together_on_a_fresh_database_make_one_schema(fresh_url) -> None:  # type: ignore[no-untyped-def]
    _upgrade_at_once(fresh_url, 3)
    heads = set(ScriptDirectory.from_config(alembic_config()).get_heads())
    engine = make_engine(fresh_url)
    try:
        with engine.connect() as conn:
            versions = conn.execute(text("SELECT version_num FROM alembic_version")).scalars().all()
            positions = conn.execute(text("SELECT to_regclass('position') IS NOT NULL")).scalar()
        assert sorted(versions) == sorted(heads)  # one row per head, no duplicate
        assert positions
        _upgrade_at_once(fresh_url, 2)  # the schema is current: both return, nothing changes
        with engine.connect() as conn:
            again = conn.execute(text("SELECT version_num FROM alembic_version")).scalars().all()
        assert sorted(again) == sorted(heads)
    finally:
        engine.dispose()
