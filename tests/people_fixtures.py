"""Session fixtures for people, zones, households and market tests (issue 3).

Import the fixtures into a test module (``from tests.people_fixtures import people_demo``).
The demo roster, zones and market are loaded in full; households are a 20,000 sample (the
600,000 load is measured in bench/bench_households.py).
"""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy import Engine, select
from sqlalchemy.orm import Session

from layers.db import make_sessionmaker, transaction

TEST_HOUSEHOLDS = 20_000
__all__ = ["TEST_HOUSEHOLDS", "busiest_grid_worker", "people_demo", "worker_token"]


@pytest.fixture(scope="session")
def people_demo(engine: Engine, demo_generation: int) -> dict[str, Any]:
    from layers.people_demo import load_demo_households, load_demo_market, load_demo_people

    with transaction(make_sessionmaker(engine)) as session:
        made = load_demo_people(session=session, generation_id=demo_generation, seed=320281)
        market = load_demo_market(session=session, generation_id=demo_generation, seed=320281)
        households = load_demo_households(
            session=session, generation_id=demo_generation, seed=320281, total=TEST_HOUSEHOLDS
        )
    return {"generation": demo_generation, **made, "market": market, "households": households}


@pytest.fixture(scope="session")
def worker_token(engine: Engine, people_demo: dict[str, Any]) -> dict[str, Any]:
    """An officer token speaking for the grid worker of the unit grid with most households."""
    from layers.auth import create_token

    with transaction(make_sessionmaker(engine)) as session:
        grid, person_id = busiest_grid_worker(session)
        row, value = create_token(session=session, name="grid worker", role="officer")
        row.person_id = person_id
    return {"token": value, "grid": grid, "person_id": person_id, "token_id": row.id}


def busiest_grid_worker(session: Session) -> tuple[str, int | None]:
    """The unit grid with most households (ties: the lowest code) and the person id of its grid
    worker (None if it has none): the officer the phone and worker-token tests speak for."""
    from sqlalchemy import func

    from layers.households import Household
    from layers.people import GridAssignment, StaffRole

    grid = session.execute(
        select(Household.grid_code, func.count())
        .group_by(Household.grid_code)
        .order_by(func.count().desc(), Household.grid_code)
        .limit(1)
    ).one()[0]
    person_id = session.scalar(
        select(GridAssignment.person_id).where(
            GridAssignment.grid_code == grid, GridAssignment.role == StaffRole.GRID_WORKER
        )
    )
    return str(grid), person_id
