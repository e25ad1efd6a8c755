"""Group commit of single fixes (api/ingest/group.py) over real HTTP and on its own.

Proves: concurrent single fixes of many phones, each sent twice at once, are all answered 200
and stored exactly once, in order, with each device's latest position its newest fix; a fix
the database refuses fails only its own request (5xx problem+json, nothing stored) while the
fixes that shared its group are stored; a group whose store fails answers every waiting request
with the error (never 200); the writer gathers waiting fixes into one group.
"""

from __future__ import annotations

import asyncio
import secrets
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta

import httpx
import numpy as np
import psycopg
import pytest
from sqlalchemy import Engine, text

from api.ingest.group import GroupWriter, SingleFix
from api.ingest.pipeline import FixColumns, IngestResult
from tests.async_support import run_async
from tests.tracks_support import CITY_LAT, CITY_LON, StaffDevice, make_device

PROBLEM = "application/problem+json"


def _send(base: str, device: StaffDevice, when: datetime, i: int) -> httpx.Response:
    with httpx.Client(base_url=base, timeout=120) as c:
        return c.get(
            "/api/v1/ingest/osmand",
            params={
                "id": device.external_id, "key": device.secret,
                "lat": CITY_LAT, "lon": CITY_LON + i * 2e-5,
                "timestamp": int(when.timestamp() * 1000), "accuracy": 5,
            },
        )  # fmt: skip


def test_concurrent_single_fixes_stored_once_in_order(
    live_server: str, engine: Engine, demo_generation: int
) -> None:
    devices = [make_device(engine) for _ in range(6)]
    start = datetime.now(UTC).replace(microsecond=0) - timedelta(minutes=30)
    fixes = 12
    # every fix sent twice at the same time, all phones at once, in shuffled order
    jobs = [(d, start + timedelta(seconds=10 * i), i) for d in devices for i in range(fixes)] * 2
    order = np.random.default_rng(7).permutation(len(jobs))
    with ThreadPoolExecutor(24) as pool:
        answers = list(pool.map(lambda j: _send(live_server, *jobs[j]), order.tolist()))
    assert [r.status_code for r in answers] == [200] * len(jobs), [
        r.text for r in answers if r.status_code != 200
    ][:3]
    ids = [d.id for d in devices]
    with engine.connect() as conn:
        stored = conn.execute(
            text(
                "SELECT device_id, fix_time, lon FROM position WHERE device_id = ANY(:ids) "
                "ORDER BY device_id, fix_time"
            ),
            {"ids": ids},
        ).all()
        latest = dict(
            conn.execute(
                text("SELECT device_id, fix_time FROM device_latest WHERE device_id = ANY(:ids)"),
                {"ids": ids},
            ).all()
        )
    for d in devices:
        mine = [r for r in stored if r.device_id == d.id]
        assert [r.fix_time for r in mine] == [start + timedelta(seconds=10 * i) for i in
                                              range(fixes)]  # fmt: skip
        # each time with its own position (WGS 84 is stored as CGCS2000 unchanged)
        assert [r.lon for r in mine] == pytest.approx([CITY_LON + i * 2e-5 for i in
                                                       range(fixes)])  # fmt: skip
        assert latest[d.id] == start + timedelta(seconds=10 * (fixes - 1))


def test_database_refusal_fails_only_its_own_fix(
    live_server: str, engine: Engine, demo_generation: int
) -> None:
    poisoned = [make_device(engine) for _ in range(3)]
    healthy = [make_device(engine) for _ in range(3)]
    name = f"test_refuse_{secrets.token_hex(4)}"
    ids = ",".join(str(d.id) for d in poisoned)
    with engine.begin() as conn:
        conn.execute(text(
            f"CREATE FUNCTION {name}() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN "
            "RAISE EXCEPTION 'refused by the test'; END $$"
        ))  # fmt: skip
        conn.execute(text(
            f"CREATE TRIGGER {name} BEFORE INSERT ON position FOR EACH ROW "
            f"WHEN (NEW.device_id IN ({ids})) EXECUTE FUNCTION {name}()"
        ))  # fmt: skip
    try:
        when = datetime.now(UTC).replace(microsecond=0) - timedelta(minutes=5)
        jobs = [(d, when + timedelta(seconds=i), i) for i in range(4) for d in poisoned + healthy]
        with ThreadPoolExecutor(24) as pool:
            answers = list(pool.map(lambda j: _send(live_server, *j), jobs))
    finally:
        with engine.begin() as conn:
            conn.execute(text(f"DROP TRIGGER IF EXISTS {name} ON position"))
            conn.execute(text(f"DROP FUNCTION IF EXISTS {name}()"))
    for (d, _, _), r in zip(jobs, answers, strict=True):
        if d in poisoned:
            assert r.status_code >= 500, r.text
            assert r.headers["content-type"].startswith(PROBLEM)
        else:
            assert r.status_code == 200, r.text
    with engine.connect() as conn:
        counts = dict(
            conn.execute(
                text(
                    "SELECT device_id, count(*) FROM position WHERE device_id = ANY(:ids) "
                    "GROUP BY device_id"
                ),
                {"ids": [d.id for d in poisoned + healthy]},
            ).all()
        )
    assert counts == {d.id: 4 for d in healthy}


def _item(i: int) -> SingleFix:
    fixes = FixColumns()
    fixes.add(0, fix_time=datetime(2026, 5, 1, 8, 0, i, tzinfo=UTC), lon=CITY_LON, lat=CITY_LAT)
    return SingleFix(f"phone-{i}", None, fixes, "osmand")


def test_a_failed_group_answers_every_waiting_request_with_the_error() -> None:
    calls: list[int] = []

    def store(items):  # type: ignore[no-untyped-def]
        calls.append(len(items))
        raise psycopg.OperationalError("the database went away")

    async def run() -> list[IngestResult | BaseException]:
        writer = GroupWriter(store)
        try:
            return await asyncio.gather(
                *(writer.submit(_item(i)) for i in range(20)), return_exceptions=True
            )
        finally:
            writer.close()

    outcomes = run_async(run())
    assert calls == [20]  # one group, stored once: a fault of the server is not retried per fix
    assert all(isinstance(o, psycopg.OperationalError) for o in outcomes)


def test_a_refused_fix_in_a_group_is_retried_alone() -> None:
    calls: list[list[str]] = []

    def store(items):  # type: ignore[no-untyped-def]
        names = [item.external_id for item in items]
        calls.append(names)
        if "phone-3" in names:
            raise psycopg.errors.CheckViolation("bad fix")
        return [IngestResult(1, 1, 0, [], {}) for _ in items]

    async def run() -> list[IngestResult | BaseException]:
        writer = GroupWriter(store, max_fixes=8)
        try:
            return await asyncio.gather(
                *(writer.submit(_item(i)) for i in range(10)), return_exceptions=True
            )
        finally:
            writer.close()

    outcomes = run_async(run())
    assert calls[0] == [f"phone-{i}" for i in range(8)]  # the first group: the 8 allowed
    assert isinstance(outcomes[3], psycopg.errors.CheckViolation)
    assert all(isinstance(o, IngestResult) for k, o in enumerate(outcomes) if k != 3)
    assert ["phone-8", "phone-9"] in calls  # the rest: the next group


@pytest.mark.parametrize("max_fixes", [1, 3])
def test_groups_are_bounded(max_fixes: int) -> None:
    sizes: list[int] = []

    def store(items):  # type: ignore[no-untyped-def]
        sizes.append(len(items))
        return [IngestResult(1, 1, 0, [], {}) for _ in items]

    async def run() -> None:
        writer = GroupWriter(store, max_fixes=max_fixes)
        try:
            await asyncio.gather(*(writer.submit(_item(i)) for i in range(7)))
        finally:
            writer.close()

    run_async(run())
    assert sum(sizes) == 7 and max(sizes) <= max_fixes
