"""The demo's events (api/commands/events.py) filed through the real API: none refused, a
realistic mix of outcomes, and the front page's KPIs are numbers on them (issue 15)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Engine, text

N = 300
SEED = 151515


# The loader builds an app in-process: run it in a process of its own (its start and stop would
# touch this process's caches that the live server shares, and asyncio.run needs no loop).
# argv: generation id, how many, "bad" to file unknown subclasses. Refusals are logged to stderr.
LOADER = """
import sys
from rich.console import Console
from sqlalchemy import text
from api.commands import events as ev
from api.database import open_engine
from api.settings import Settings
from layers.auth import create_token, revoke_token
from layers.db import make_sessionmaker, transaction
from layers.grids import read_grid_frame
settings = Settings()
factory = make_sessionmaker(open_engine(settings))
with transaction(factory) as session:
    frame = read_grid_frame(session=session, generation_id=int(sys.argv[1]))
    rows = session.execute(text("SELECT class_code, code, limit_value, limit_unit::text "
                                "FROM event_subclass WHERE active")).all()
    loader, token = create_token(session=session, name="demo mix test", role="admin")
    loader_id = loader.id
if sys.argv[3] == "bad":
    rows = [(c, "99" + k, lim, u) for c, k, lim, u in rows]
try:
    ev._file_demo_cases(settings, rows=rows, frame=frame, token=token, n=int(sys.argv[2]),
                        out=Console(width=200, markup=False, highlight=False))
finally:
    with transaction(factory) as session:
        revoke_token(session=session, token_id=loader_id)
"""


def _load(database_url: str, data_dir: Path, generation: int, n: int, seed: int, mode: str) -> Any:
    env = {**os.environ, "DATABASE_URL": database_url, "GRIDGIS_DATA_DIR": str(data_dir),
           "GRIDGIS_DEMO_SEED": str(seed)}  # fmt: skip
    done = subprocess.run(
        [sys.executable, "-c", LOADER, str(generation), str(n), mode],
        env=env, capture_output=True, text=True, timeout=900,
        cwd=Path(__file__).resolve().parents[2],
    )  # fmt: skip
    assert done.returncode == 0, done.stderr[-3000:]
    return done


@pytest.fixture(scope="module")
def filed(engine: Engine, demo_generation: int, database_url: str, tmp_path_factory) -> dict:  # type: ignore[no-untyped-def]
    """File N demo cases under a seed of their own (other tests' demo rows stay apart)."""
    seed = SEED  # fixed: the same plan every run (the demo's own seed is left to the demo)
    done = _load(database_url, tmp_path_factory.mktemp("data"), demo_generation, N, seed, "good")
    # renamed apart from the demo's own ("demo:%"), whose loader skips when those exist
    with engine.begin() as conn:
        conn.execute(
            text(
                "UPDATE event SET external_ref = 'test-' || external_ref WHERE external_ref LIKE :p"
            ),
            {"p": f"demo:{seed}:%"},
        )
    log = [line for line in done.stderr.splitlines() if "refused" in line]
    return {"seed": seed, "out": done.stdout, "log": log}


def test_no_demo_case_is_refused(filed) -> None:  # type: ignore[no-untyped-def]
    assert "refused" not in filed["out"], (filed["out"], filed["log"][:20])
    assert f"{N:,} demo cases filed" in filed["out"]
    assert not filed["log"]


def test_the_demo_has_a_realistic_mix_of_outcomes(filed, engine) -> None:  # type: ignore[no-untyped-def]
    with engine.connect() as conn:
        statuses = dict(
            conn.execute(
                text("SELECT status, count(*) FROM event WHERE external_ref LIKE :p GROUP BY 1"),
                {"p": f"test-demo:{filed['seed']}:%"},
            ).all()
        )
        late, on_time = conn.execute(
            text(
                "SELECT count(*) FILTER (WHERE handled_at > deadline_at), "
                "count(*) FILTER (WHERE handled_at <= deadline_at) FROM event "
                "WHERE external_ref LIKE :p AND status = 'closed'"
            ),
            {"p": f"test-demo:{filed['seed']}:%"},
        ).one()
        overdue_open = conn.execute(
            text(
                "SELECT count(*) FROM event WHERE external_ref LIKE :p AND deadline_at < now() "
                "AND status IN ('dispatched','in_handling','rework','extension_requested')"
            ),
            {"p": f"test-demo:{filed['seed']}:%"},
        ).scalar_one()
    assert sum(statuses.values()) == N
    assert statuses.get("closed", 0) > N / 2, statuses
    assert statuses.get("rejected", 0) >= 1, statuses
    # cases still on their way, at more than one stage
    waiting = {"reported", "accepted", "dispatched", "returned", "in_handling"}
    assert len(waiting & set(statuses)) >= 3, statuses
    assert on_time > late >= 1
    assert overdue_open >= 1


def test_the_front_page_kpis_are_numbers_on_the_demo(filed, client) -> None:  # type: ignore[no-untyped-def]
    body = client.get("/api/v1/dashboard/kpis", params={"period": "year"})
    assert body.status_code == 200, body.text
    k = body.json()["kpis"]
    for name in ("acceptance_rate", "closure_rate", "on_time_closure_rate", "rework_rate",
                 "proper_handling_rate", "closure_h_median"):  # fmt: skip
        assert isinstance(k[name], (int, float)), (name, k)
    assert 0 < k["on_time_closure_rate"] < 1 and k["closed"] > 0
    ranked = [r for r in body.json()["ranking"] if r["rank"] is not None]
    assert ranked, body.json()["ranking"]
    events = client.get("/api/v1/dashboard/events").json()
    assert events["overdue"], events["counts"]
    assert events["counts"]["open_for_handling"] > 0, events["counts"]


def test_a_refused_case_says_why(engine, demo_generation, database_url, tmp_path) -> None:  # type: ignore[no-untyped-def]
    """A case the API refuses is counted, and the summary names the reason (not just a count)."""
    done = _load(database_url, tmp_path, demo_generation, 3, SEED + 1, "bad")
    assert "0 demo cases filed, 3 refused" in done.stdout, done.stdout
    assert " × file: 422 [subclass] event subclass '99" in done.stdout, done.stdout
    assert "refused (422)" in done.stderr  # each one logged
