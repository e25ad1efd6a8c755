"""Fixtures for the planners' tests (issue 10): a committed copy of the demo city as a draft,
deleted afterwards (the active generation is never changed), and a planner's HTTP client.

Import them into a test module: ``from tests.planning_fixtures import draft, planner``
(``draft_of`` / ``planner_client`` make module-scoped ones).
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

import httpx
import pytest
from sqlalchemy import Engine, text

from layers.db import make_sessionmaker, transaction
from tests.layers.test_impact import copy_draft

__all__ = ["draft", "draft_of", "planner", "planner_client"]


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
def planner_client(live_server: str, tokens: dict[str, str]) -> Iterator[httpx.Client]:
    """An HTTP client of the live server with the planner's token (300 s: a busy machine)."""
    headers = {"Authorization": f"Bearer {tokens['planner']}"}
    with httpx.Client(base_url=live_server, headers=headers, timeout=300) as client:
        yield client


@pytest.fixture
def draft(engine: Engine, demo_generation: int) -> Iterator[int]:
    with draft_of(engine, demo_generation) as draft_id:
        yield draft_id


@pytest.fixture
def planner(live_server: str, tokens: dict[str, str]) -> Iterator[httpx.Client]:
    with planner_client(live_server, tokens) as client:
        yield client
