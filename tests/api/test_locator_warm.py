"""The server builds the active generation's locator in the background at start
(``api.locators.warm_active``), so the first fix after a start does not wait for it."""

from __future__ import annotations

from sqlalchemy import Engine, select

from api.locators import LocatorCache, warm_active
from layers.db import make_sessionmaker
from layers.models import Generation, GenerationStatus


def test_the_active_generations_locator_is_built_in_the_background(
    engine: Engine, demo_generation: int
) -> None:
    sessions = make_sessionmaker(engine)
    with sessions() as session:
        active = session.scalar(
            select(Generation.id).where(Generation.status == GenerationStatus.ACTIVE)
        )
    assert active is not None
    cache = LocatorCache()
    warm_active(cache, sessions).join(timeout=300)
    warmed = cache.peek(active)
    assert warmed is not None and warmed.generation_id == active
    assert len(warmed.names) > 1000  # the whole city, every level


def test_a_database_fault_while_warming_is_left_to_the_first_request() -> None:
    from sqlalchemy import create_engine

    broken = make_sessionmaker(create_engine("postgresql+psycopg://nobody@127.0.0.1:1/none"))
    cache = LocatorCache()
    warm_active(cache, broken).join(timeout=60)  # no exception escapes the thread
    assert cache.peek(1) is None
