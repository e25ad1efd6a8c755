"""Shared set-up for the patrol-track tests (issue 4): staff with devices in the test database.

Imported explicitly by the track tests (not a conftest), so it never clashes with fixtures of
the other features.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from datetime import date
from typing import Any

import httpx
from sqlalchemy import Engine

from layers.db import make_sessionmaker, transaction
from layers.devices import create_device
from layers.people import GridAssignment, Person, StaffRole

# A unit grid of the demo city and a point inside it (CGCS2000), found by the locator tests.
CITY_LON, CITY_LAT = 120.285, 31.92


@dataclass(frozen=True)
class StaffDevice:
    id: int
    external_id: str
    secret: str | None
    person_id: int


def make_device(
    engine: Engine, *, with_secret: bool = True, grid_code: str | None = None, name: str = "张三"
) -> StaffDevice:
    """A committed person (grid worker) with one device; a fresh external id each call."""
    with transaction(make_sessionmaker(engine)) as session:
        person = Person(name=name)
        session.add(person)
        session.flush()
        if grid_code:
            session.add(
                GridAssignment(
                    person_id=person.id,
                    grid_code=grid_code,
                    role=StaffRole.GRID_WORKER,
                    valid_from=date(2024, 1, 1),
                )
            )
        device, secret = create_device(
            session=session,
            external_id=f"test-{secrets.token_hex(4)}",
            person_id=person.id,
            with_secret=with_secret,
        )
        return StaffDevice(device.id, device.external_id, secret, person.id)


def send_fixes(
    live_server: str, device: StaffDevice, fixes: list[dict[str, Any]]
) -> dict[str, Any]:
    """POST ``fixes`` as ``device`` (its secret) to /api/v1/ingest/batch; asserts 200 and
    answers the JSON (``stored``, ``rejected``, ``errors``)."""
    r = httpx.post(
        f"{live_server}/api/v1/ingest/batch",
        json={"device": device.external_id, "fixes": fixes},
        headers={"Authorization": f"Bearer {device.secret}"},
        timeout=60,
    )
    assert r.status_code == 200, r.text
    return dict(r.json())


def run_coverage(live_server: str, token: str, **params: Any) -> dict[str, Any]:
    """POST /api/v1/coverage/runs with ``params`` (``date``, ``shift``, ``resolution``…) as the
    holder of ``token`` (a planner's); asserts 200 and answers the run (300 s: a busy machine)."""
    r = httpx.post(
        f"{live_server}/api/v1/coverage/runs",
        params=params,
        headers={"Authorization": f"Bearer {token}"},
        timeout=300,
    )
    assert r.status_code == 200, r.text
    return dict(r.json())
