"""schemathesis over the state-destroying writes that tests/api/test_openapi_schemathesis.py
leaves out (its ``EXCLUDED``: token revocation, user and device changes, dictionary and
calendar writes, event actions and routing, review steps, draft edits, bulk imports,
coverage runs), so that every operation of the document is fuzzed.

They run against a server of their own on a throw-away database (the demo city loaded, then
dropped with everything the fuzzing did to it), with a fresh admin token for every example:
revoking tokens, disabling users or replacing the dictionary changes nothing the other tests
use, and an example that revoked the token it was sent with does not blind the next one.
Same checks and bounds as the main run: no server error, every answer declared and matching
its schema, ``MAX_EXAMPLES`` examples an operation, derandomized.
"""

from __future__ import annotations

import os
import secrets
from collections.abc import Iterator
from typing import Any

import pytest
import schemathesis
from hypothesis import HealthCheck, settings
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

from api.settings import PROJECT_DIR
from layers.db import make_engine, make_sessionmaker, transaction
from layers.migrate import upgrade
from tests.api.test_openapi_schemathesis import CHECKS, EXCLUDED, MAX_EXAMPLES, _document
from tests.server_support import app_server


def _excluded(ctx: Any) -> bool:
    """Whether the operation is one of the main run's exclusions."""
    import re

    method, path = ctx.operation.method.upper(), ctx.operation.path
    return any(m == method and re.match(p, path) for m, p in EXCLUDED)


schema = schemathesis.openapi.from_dict(_document()).include(_excluded)


def _free_port() -> int:
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.fixture(scope="module")
def throwaway(server_url: str, tmp_path_factory: Any) -> Iterator[tuple[str, Any]]:
    """(base URL, engine) of a server on a database of its own with the demo city."""
    from layers.demo import load_demo_city

    name = f"gridgis_fuzz_{os.getpid()}_{secrets.token_hex(3)}"
    admin = create_engine(server_url, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    url = make_url(server_url).set(database=name).render_as_string(hide_password=False)
    engine = make_engine(url)
    with engine.begin() as conn:
        conn.execute(text("CREATE EXTENSION IF NOT EXISTS postgis"))
    upgrade(engine)
    with transaction(make_sessionmaker(engine)) as session:
        load_demo_city(session=session, seed=320281, metric_srid=4549,
                       cache_dir=PROJECT_DIR / ".gridgis" / "cache")  # fmt: skip
    data_dir = tmp_path_factory.mktemp("gridgis-fuzz")
    try:
        with app_server(url, data_dir) as base:
            yield base, engine
    finally:
        engine.dispose()
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


def _fresh_admin_token(engine: Any) -> str:
    from layers.auth import create_token
    from layers.models import Role

    with transaction(make_sessionmaker(engine)) as session:
        _, value = create_token(session=session, name="fuzz admin", role=Role.ADMIN)
    return value


def test_the_writes_left_out_of_the_main_run_are_all_here() -> None:
    operations = [op.ok() for op in schema.get_all_operations()]
    assert len(operations) >= len(EXCLUDED)


@schema.parametrize()
@settings(
    max_examples=MAX_EXAMPLES,
    derandomize=True,
    deadline=None,
    suppress_health_check=list(HealthCheck),
)
def test_every_destructive_operation(case: Any, throwaway: tuple[str, Any]) -> None:
    base, engine = throwaway
    case.call_and_validate(
        base_url=base,
        headers={"Authorization": f"Bearer {_fresh_admin_token(engine)}"},
        checks=CHECKS,
        timeout=120,
    )
