"""The patrol simulator against the real server, the demo device step, and ``tracks import``.

Proves: simulated officers' fixes, sent through the real OsmAnd and batch endpoints, are all
stored exactly once (the resent backlog batch counts as duplicates), keep to the officers' own
grids, move at walking / e-bike speeds, have their bad fixes flagged (jumps, poor accuracy),
and backlogs uploaded after newer fixes still take their place in the track (also from
GCJ-02). The demo step makes placeholder staff only without a roster and is idempotent.
``gridgis tracks import`` stores a GPX file through the pipeline and rejects bad files with a
clear message and exit code 1.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import httpx
import numpy as np
import pytest
from sqlalchemy import Engine, func, select, text
from typer.testing import CliRunner

from api.cli import app
from api.ingest.simulator import SimOptions, plan_patrols, run_plans
from gis.patrolsim import JUMP, POOR_ACCURACY
from gis.tracks import FixFlag
from layers.db import make_sessionmaker, transaction
from layers.patrol_demo import (
    PLACEHOLDER_NAME,
    demo_device_secret,
    demo_officers,
    ensure_demo_devices,
    ensure_placeholder_staff,
)
from layers.people import Device, GridAssignment, Person, StaffRole
from tests.tracks_support import make_device

KEY = "test-demo-key"
runner = CliRunner()


@pytest.fixture(scope="module")
def officers(engine: Engine, demo_generation: int):  # type: ignore[no-untyped-def]
    """Four grid workers (one unit grid each) and two patrollers (one village each), with
    demo devices."""
    with transaction(make_sessionmaker(engine)) as session:
        units = list(
            session.scalars(
                text("SELECT code FROM grid WHERE generation_id = :g AND level = 3 ORDER BY code"),
                {"g": demo_generation},
            )
        )
        villages = list(
            session.scalars(
                text("SELECT code FROM grid WHERE generation_id = :g AND level = 2 ORDER BY code"),
                {"g": demo_generation},
            )
        )
        rng = np.random.default_rng(7)
        picks = [(units[int(i)], StaffRole.GRID_WORKER) for i in rng.choice(len(units), 4)]
        picks += [(villages[int(i)], StaffRole.PATROLLER) for i in rng.choice(len(villages), 2)]
        ids = []
        for code, role in picks:
            person = Person(name=f"模拟{role.value}")
            session.add(person)
            session.flush()
            session.add(
                GridAssignment(
                    person_id=person.id, grid_code=code, role=role, valid_from=date(2024, 1, 1)
                )
            )
            ids.append(person.id)
        session.flush()
        ensure_demo_devices(session=session, key=KEY)
        return [o for o in demo_officers(session=session) if o.person_id in ids]


def test_simulated_patrols_through_the_real_endpoints(
    live_server, tokens, engine, officers
) -> None:  # type: ignore[no-untyped-def]
    now = datetime.now(UTC).replace(microsecond=0)
    opts = SimOptions(hours=0.75, devices=0, offline_share=0.5, seed=11)
    with make_sessionmaker(engine)() as session:
        plans = plan_patrols(
            session=session, opts=opts, key=KEY, metric_srid=4549, now=now, officers=officers
        )
    assert len(plans) == 6
    offline = [p for p in plans if p.offline is not None]
    assert offline and len(offline) < len(plans), "the seed must give both kinds of phone"
    report = run_plans(plans, base_url=live_server, workers=4)
    assert report.failed_requests == 0, report.errors
    assert report.rejected == 0
    resent = sum(p.resent for p in offline)
    # every resent fix was recognised as a duplicate, none stored twice
    assert report.duplicates == resent > 0
    assert report.osmand_requests + report.batch_stored == sum(len(p.track) for p in plans)

    walking, biking = [], []
    with engine.connect() as conn:
        for plan in plans:
            rows = conn.execute(
                text(
                    "SELECT extract(epoch FROM fix_time) AS ts, lon, lat, raw_lon, raw_lat, datum, "
                    "grid_code, flags, source, server_time FROM position WHERE device_id = :d "
                    "ORDER BY fix_time"
                ),
                {"d": plan.officer.device_id},
            ).all()
            # all sent, each exactly once, at the planned times
            assert [float(r.ts) for r in rows] == plan.track.t_s.tolist()
            flags = np.array([r.flags for r in rows])
            bad = plan.track.bad
            assert np.all(flags[bad == JUMP] & FixFlag.IMPOSSIBLE_JUMP)
            assert np.all(flags[bad == POOR_ACCURACY] & FixFlag.POOR_ACCURACY)
            assert not np.any(flags[bad == 0] & (FixFlag.IMPOSSIBLE_JUMP | FixFlag.POOR_ACCURACY))
            # the good fixes keep to the officer's own grids
            good = [r for r, b in zip(rows, bad, strict=True) if b == 0]
            own = sum(1 for r in good if r.grid_code and r.grid_code.startswith(plan.officer.codes))
            assert own / len(good) >= 0.99, (plan.officer.codes, own, len(good))
            assert {r.grid_code for r in good} <= set(plan.codes) | {None}
            if plan.offline is not None:
                backlog = [r for r in rows if r.source == "batch"]
                assert backlog and all(r.source == "osmand" for r in rows if r not in backlog)
                # the backlog reached the server after newer live fixes, yet sits in its place
                first_late = min(r.server_time for r in backlog)
                newer = [r for r in rows if r.source == "osmand" and r.ts > backlog[-1].ts]
                assert newer and min(r.server_time for r in newer) < first_late
                if plan.gcj02:
                    assert {r.datum for r in backlog} == {"gcj02"}
                    i = [k for k, r in enumerate(rows) if r.source == "batch"]
                    # converted back to CGCS2000 within a metre; the raw GCJ-02 is ~500 m off
                    assert np.abs(np.array([rows[k].lon for k in i]) - plan.lon[i]).max() < 1e-5
                    assert np.abs(np.array([rows[k].raw_lon for k in i]) - plan.lon[i]).min() > 1e-3
            speed = _moving_speed(
                live_server, tokens["viewer"], plan.officer.device_id, plan.track.t_s
            )
            (walking if plan.mode.name == "walk" else biking).append(speed)
    assert all(0.9 <= s <= 1.8 for s in walking), walking
    assert all(3.5 <= s <= 7.0 for s in biking), biking
    assert walking and biking


def _moving_speed(base: str, token: str, device_id: int, t_s: np.ndarray) -> float:
    """Mileage over moving time (m/s) from the track API; also checks its times are in order."""
    start = datetime.fromtimestamp(float(t_s[0]) - 1, UTC).isoformat()
    end = datetime.fromtimestamp(float(t_s[-1]) + 1, UTC).isoformat()
    r = httpx.get(
        f"{base}/api/v1/devices/{device_id}/track",
        params={"from": start, "to": end},
        headers={"Authorization": f"Bearer {token}"},
        timeout=60,
    )
    assert r.status_code == 200, r.text
    body = r.json()
    times = [t for f in body["features"] if f["properties"]["kind"] == "segment"
             for t in f["properties"]["times"]]  # fmt: skip
    assert times == sorted(times)
    summary = body["summary"]
    return float(summary["mileage_m"] / max(summary["moving_time_s"], 1))


def test_demo_step_makes_placeholder_staff_only_without_roster(db_session, demo_generation) -> None:  # type: ignore[no-untyped-def]
    gen = db_session.scalar(text("SELECT id FROM generation WHERE status = 'active'"))
    if db_session.scalar(select(func.count()).select_from(Person)):
        # another feature's people are in the shared test database: without a roster first
        assert ensure_placeholder_staff(session=db_session, generation_id=gen) == 0
        # events, households' audit … refer to people: empty them all, rolled back after the test
        # (replica role: the event log's append-only trigger guards production, not this test)
        db_session.execute(text("SET LOCAL session_replication_role = replica"))
        db_session.execute(text("TRUNCATE person CASCADE"))
        db_session.execute(text("SET LOCAL session_replication_role = DEFAULT"))
    made = ensure_placeholder_staff(session=db_session, generation_id=gen)
    assert made == 1558
    assert ensure_placeholder_staff(session=db_session, generation_id=gen) == 0
    created, total = ensure_demo_devices(session=db_session, key=KEY)
    assert created == total == 1558
    assert ensure_demo_devices(session=db_session, key=KEY) == (0, 1558)
    # a new key re-derives every demo secret
    assert ensure_demo_devices(session=db_session, key="another") == (0, 1558)
    some = db_session.scalars(
        select(Device)
        .join(Person, Person.id == Device.person_id)
        .where(Person.name.like(f"{PLACEHOLDER_NAME}%"))
    ).first()
    from layers.devices import check_secret

    check_secret(some, demo_device_secret("another", some.external_id))


GPX = """<?xml version="1.0" encoding="UTF-8"?>
<gpx version="1.1" creator="test" xmlns="http://www.topografix.com/GPX/1/1">
<trk><name>patrol</name><trkseg>
{points}
</trkseg></trk></gpx>"""


@pytest.fixture
def cli_env(monkeypatch, database_url, engine, tmp_path):  # type: ignore[no-untyped-def]
    monkeypatch.setenv("DATABASE_URL", database_url)
    monkeypatch.setenv("GRIDGIS_DATA_DIR", str(tmp_path / "data"))


def test_tracks_import_cli(cli_env, engine, demo_generation, tmp_path) -> None:  # type: ignore[no-untyped-def]
    device = make_device(engine)
    start = datetime.now(UTC).replace(microsecond=0) - timedelta(hours=5)
    n = 12_000  # more than one chunk of the progress bar
    points = "\n".join(
        f'<trkpt lat="{31.92 + 1e-6 * (i % 500):.7f}" lon="{120.285 + 1e-6 * i:.7f}">'
        f"<ele>4</ele><time>{(start + timedelta(seconds=i)).isoformat()}</time></trkpt>"
        for i in range(n)
    )
    path = tmp_path / "patrol.gpx"
    path.write_text(GPX.format(points=points + '\n<trkpt lat="31.9" lon="120.2"></trkpt>'))
    result = runner.invoke(
        app, ["tracks", "import", str(path), "--device", device.external_id], terminal_width=200
    )
    assert result.exit_code == 0, result.output
    output = " ".join(result.output.split())  # rich wraps long lines
    assert f"{n + 1} points, {n} stored, 0 duplicates, 1 rejected" in output
    assert "has no <time>" in output and "flagged" not in output
    with engine.connect() as conn:
        stored = conn.execute(
            text("SELECT count(*), min(source), max(source) FROM position WHERE device_id = :d"),
            {"d": device.id},
        ).one()
    assert tuple(stored) == (n, "gpx", "gpx")
    again = runner.invoke(app, ["tracks", "import", str(path), "--device", device.external_id])
    assert again.exit_code == 0 and f"0 stored, {n} duplicates" in " ".join(again.output.split())


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ("<gpx><trk><trkseg><trkpt lat='31.9'", "cannot be read"),
        (GPX.format(points='<trkpt lat="31.92" lon="120.285"></trkpt>'), "has no <time>"),
        (GPX.format(points=""), "no track points"),
    ],
)
def test_tracks_import_rejects_bad_files(cli_env, engine, tmp_path, content, message) -> None:  # type: ignore[no-untyped-def]
    device = make_device(engine)
    path = tmp_path / "bad.gpx"
    path.write_text(content)
    result = runner.invoke(
        app, ["tracks", "import", str(path), "--device", device.external_id], terminal_width=300
    )
    assert result.exit_code == 1
    assert message in " ".join(result.output.split())
    assert "Traceback" not in result.output


def test_tracks_import_unknown_device_and_missing_file(cli_env, demo_generation, tmp_path) -> None:  # type: ignore[no-untyped-def]
    path = tmp_path / "ok.gpx"
    path.write_text(
        GPX.format(points='<trkpt lat="31.92" lon="120.285"><time>2026-01-01T00:00:00Z</time>'
                   "</trkpt>")
    )  # fmt: skip
    unknown = runner.invoke(app, ["tracks", "import", str(path), "--device", "nobody"])
    assert unknown.exit_code == 1 and "unknown device 'nobody'" in unknown.output, unknown.output
    missing = runner.invoke(app, ["tracks", "import", str(tmp_path / "nope.gpx"), "--device", "x"])
    assert missing.exit_code == 2 and "is not a file" in " ".join(missing.output.split())
