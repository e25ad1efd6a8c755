"""Fixtures for the planners' tests (issue 10): a committed copy of the demo city as a draft,
deleted afterwards (the active generation is never changed), and the planner's and the admin's
HTTP clients.

Import them into a test module: ``from tests.planning_fixtures import admin, draft, planner``
(``draft_of`` / ``planner_client`` / ``token_client`` make module-scoped ones or clients of
other tokens).
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

import httpx
import pytest
from sqlalchemy import Engine, text

from layers.db import make_sessionmaker, transaction
from tests.layers.test_impact import copy_draft

__all__ = ["admin", "draft", "draft_of", "planner", "planner_client", "token_client"]


@contextmanager
def draft_of(engine: Engine, generation_id: int) -> Iterator[int]:
    """A committed copy of ``generation_id`` (its grids and parts), deleted on exit."""
    with transaction(make_sessionmaker(engine)) as session:
        draft_id = copy_draft(session, generation_id)
    try:
        yield draft_id
    finally:
        with engine.begin() as conn:
            conn.execute(text("DELETE FROM generation WHERE id = :g"), {"g": draft_id})


@contextmanager
def token_client(live_server: str, token: str) -> Iterator[httpx.Client]:
    """An HTTP client of the live server sending ``token`` (300 s: a busy machine)."""
    headers = {"Authorization": f"Bearer {token}"}
    with httpx.Client(base_url=live_server, headers=headers, timeout=300) as client:
        yield client


@contextmanager
def planner_client(live_server: str, tokens: dict[str, str]) -> Iterator[httpx.Client]:
    """An HTTP client of the live server with the planner's token (300 s: a busy machine)."""
    with token_client(live_server, tokens["planner"]) as client:
        yield client


@pytest.fixture
def draft(engine: Engine, demo_generation: int) -> Iterator[int]:
    with draft_of(engine, demo_generation) as draft_id:
        yield draft_id


@pytest.fixture
def planner(live_server: str, tokens: dict[str, str]) -> Iterator[httpx.Client]:
    with planner_client(live_server, tokens) as client:
        yield client


@pytest.fixture
def admin(live_server: str, tokens: dict[str, str]) -> Iterator[httpx.Client]:
    with token_client(live_server, tokens["admin"]) as client:
        yield client
