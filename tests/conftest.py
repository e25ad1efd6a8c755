"""Test fixtures on real parts: a throwaway PostGIS database, the app over real HTTP.

The database lives in the embedded cluster (started if needed, stopped after if we started
it), or on the server of ``DATABASE_URL`` when that is set; either way each test session
creates its own database and drops it at the end.
"""

from __future__ import annotations

import os
import secrets
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import hypothesis
import pytest
from sqlalchemy import Engine, create_engine, text
from sqlalchemy.engine import make_url
from sqlalchemy.orm import Session

from api.settings import PROJECT_DIR
from layers.cluster import LocalCluster
from layers.db import make_engine, make_sessionmaker, transaction
from layers.migrate import upgrade
from tests.server_support import app_server, free_port

ARTIFACTS = PROJECT_DIR / "test-artifacts"
# The planners' command line speaks Chinese by default (api/commands/words.py); the tests read
# its English words unless they ask otherwise (tests/api/test_cli_lang.py).
os.environ.setdefault("GRIDGIS_LANG", "en")
pytest_plugins = ["tests.people_fixtures"]

# CI explores the same examples every run (a red run is then reproducible); locally hypothesis
# keeps drawing new ones, which is how it finds new bugs.
hypothesis.settings.register_profile("ci", derandomize=True, deadline=None, print_blob=True)
if os.environ.get("CI"):
    hypothesis.settings.load_profile("ci")


@pytest.fixture(scope="session")
def server_url() -> Iterator[str]:
    """URL of a PostGIS server's maintenance database we may create databases on."""
    configured = os.environ.get("DATABASE_URL") or os.environ.get("GRIDGIS_DATABASE_URL")
    if configured:
        yield str(make_url(configured).set(drivername="postgresql+psycopg"))
        return
    cluster = LocalCluster(Path(os.environ.get("GRIDGIS_DATA_DIR", PROJECT_DIR / ".gridgis")))
    started = cluster.start()
    yield cluster.url
    # GRIDGIS_KEEP_DB=1 leaves the cluster running (several test runs sharing it at once).
    if started and not os.environ.get("GRIDGIS_KEEP_DB"):
        cluster.stop()


@pytest.fixture(scope="session")
def database_url(server_url: str) -> Iterator[str]:
    """A fresh, empty database with PostGIS, dropped after the session."""
    name = f"gridgis_test_{os.getpid()}_{secrets.token_hex(3)}"
    admin = create_engine(server_url, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    url = make_url(server_url).set(database=name)
    rendered = url.render_as_string(hide_password=False)
    with create_engine(rendered).begin() as conn:
        conn.execute(text("CREATE EXTENSION IF NOT EXISTS postgis"))
    yield rendered
    with admin.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    admin.dispose()


@pytest.fixture(scope="session")
def engine(database_url: str) -> Iterator[Engine]:
    """Engine on the test database with every migration applied."""
    eng = make_engine(database_url)
    upgrade(eng)
    yield eng
    eng.dispose()


@pytest.fixture
def db_session(engine: Engine) -> Iterator[Session]:
    """A session whose work is rolled back after the test (commits become savepoints)."""
    with engine.connect() as conn:
        outer = conn.begin()
        session = Session(bind=conn, join_transaction_mode="create_savepoint")
        try:
            yield session
        finally:
            session.close()
            outer.rollback()


@pytest.fixture(scope="session")
def demo_grids():  # type: ignore[no-untyped-def]
    from gis.democity import demo_city_cached

    return demo_city_cached(320281, PROJECT_DIR / ".gridgis" / "cache")


@pytest.fixture(scope="session")
def demo_generation(engine: Engine) -> int:
    """The demo city loaded (committed) into the test database; its generation id."""
    from layers.demo import load_demo_city

    with transaction(make_sessionmaker(engine)) as session:
        generation, _ = load_demo_city(
            session=session,
            seed=320281,
            metric_srid=4549,
            cache_dir=PROJECT_DIR / ".gridgis" / "cache",
        )
        return generation.id


@pytest.fixture(scope="session", autouse=True)
def _demo_people_loaded_first(request):  # type: ignore[no-untyped-def]
    """The demo roster is loaded before any test writes staff of its own (the roster loader
    skips when staff exist), so every test sees the same city whatever the test order."""
    if any("people_demo" in getattr(item, "fixturenames", ()) for item in request.session.items):
        request.getfixturevalue("people_demo")


@pytest.fixture(scope="session")
def tokens(engine: Engine) -> dict[str, str]:
    """One token per role, by role name."""
    from layers.auth import create_token
    from layers.models import Role

    out = {}
    with transaction(make_sessionmaker(engine)) as session:
        for role in Role:
            _, value = create_token(session=session, name=f"test {role.value}", role=role)
            out[role.value] = value
    return out


_free_port = free_port  # the name other test modules import


@pytest.fixture(scope="session")
def live_server(
    database_url: str, engine: Engine, demo_generation: int, tmp_path_factory
) -> Iterator[str]:  # type: ignore[no-untyped-def]
    """The real app in its own uvicorn process on a free loopback port, on the test database.

    A separate process (not a thread) so that clients holding the GIL in C code (GDAL) cannot
    stall the server, exactly as in production.
    """
    data_dir = tmp_path_factory.mktemp("gridgis-data")
    with app_server(database_url, data_dir) as base:
        yield base


@pytest.fixture
def client(live_server: str, tokens: dict[str, str]) -> Iterator[httpx.Client]:
    """HTTP client with the viewer token (the least privileged reader)."""
    with httpx.Client(
        base_url=live_server, headers={"Authorization": f"Bearer {tokens['viewer']}"}, timeout=60
    ) as c:
        yield c


@pytest.fixture
def anon(live_server: str) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=live_server, timeout=60) as c:
        yield c


@pytest.fixture(scope="session")
def artifacts() -> Path:
    ARTIFACTS.mkdir(exist_ok=True)
    return ARTIFACTS


@pytest.fixture(scope="session")
def browser() -> Iterator[Any]:
    """One headless Chromium for the whole session (Playwright's sync API allows one at a
    time per thread, so every browser test shares it)."""
    from tests.maps.browser_support import CHROMIUM, CHROMIUM_ARGS

    sync_api = pytest.importorskip("playwright.sync_api")
    with sync_api.sync_playwright() as playwright:
        launched = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield launched
        launched.close()


@pytest.fixture
def restore_demo(engine: Engine, demo_generation: int) -> Iterator[None]:
    """After the test: the demo generation is the one in force at every time again (the
    generations the test published keep an empty period), and nothing stays scheduled."""
    yield
    with engine.begin() as conn:
        conn.execute(
            text(
                "UPDATE generation SET status = 'draft', effective_at = NULL "
                "WHERE status IN ('approved', 'submitted')"
            )
        )
        conn.execute(
            text(
                "UPDATE generation SET status = 'retired', retired_at = activated_at "
                "WHERE id <> :d AND activated_at IS NOT NULL"
            ),
            {"d": demo_generation},
        )
        conn.execute(
            text("UPDATE generation SET status = 'active', retired_at = NULL WHERE id = :d"),
            {"d": demo_generation},
        )
