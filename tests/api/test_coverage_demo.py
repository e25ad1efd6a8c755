"""The coverage demo step: past patrol days stored through the ingest pipeline and computed.

Proves: after the step, yesterday has a whole-day coverage run whose visits come from the
simulated officers' devices and whose visited grids have covered cells; running it again
computes nothing new (idempotent), as a second ``gridgis demo`` must.
"""

from __future__ import annotations

from datetime import datetime, timedelta

import pytest
from rich.console import Console
from sqlalchemy import Engine, func, select

from api.commands import coverage as coverage_cmd
from api.commands import tracks as tracks_cmd
from api.settings import Settings
from layers.coverage import SHANGHAI, CoverageGrid, CoverageRun, CoverageVisit
from layers.db import make_sessionmaker
from layers.patrol_demo import DEMO_DEVICE_PREFIX
from layers.people import Device


def test_demo_days_are_stored_and_computed_once(
    engine: Engine, demo_generation: int, database_url: str, tmp_path, monkeypatch
) -> None:  # type: ignore[no-untyped-def]
    monkeypatch.setenv("DATABASE_URL", database_url)
    monkeypatch.setenv("GRIDGIS_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.setattr(coverage_cmd, "DEMO_OFFICERS", 4)
    settings = Settings()
    console = Console(record=True, width=200)
    tracks_cmd.load_demo(settings, console)  # demo devices (and placeholder staff if needed)
    yesterday = datetime.now(SHANGHAI).date() - timedelta(days=1)
    with make_sessionmaker(engine)() as session:
        before = session.scalar(select(CoverageRun.id).where(CoverageRun.day == yesterday,
                                                             CoverageRun.shift == ""))  # fmt: skip
    if before is not None:
        pytest.skip("another test already computed yesterday's coverage in this database")
    coverage_cmd.load_demo(settings, console, days=1)
    with make_sessionmaker(engine)() as session:
        run = session.scalars(
            select(CoverageRun).where(CoverageRun.day == yesterday, CoverageRun.shift == "")
        ).one()
        visits = session.scalars(select(CoverageVisit).where(CoverageVisit.run_id == run.id)).all()
        # up to four officers (those whose grids the simulator can place a tour in); other
        # tests' devices may have fixes on the same Shanghai day (a run just after midnight
        # there finds their fixes of the UTC afternoon in "yesterday"), so only the demo's count
        demo = set(session.scalars(
            select(Device.id).where(Device.external_id.startswith(DEMO_DEVICE_PREFIX))
        ))  # fmt: skip
        visits = [v for v in visits if v.device_id in demo]
        devices = {v.device_id for v in visits}
        assert 1 <= len(devices) <= 4
        assert sum(v.minutes for v in visits) > len(devices) * 60  # hours of patrol, inside
        visited = {v.grid_code for v in visits if v.cells}
        covered = session.scalars(
            select(CoverageGrid.grid_code).where(
                CoverageGrid.run_id == run.id, CoverageGrid.covered_cells > 0
            )
        ).all()
        assert visited and visited <= set(covered)
        runs = session.scalar(select(func.count()).select_from(CoverageRun))
    coverage_cmd.load_demo(settings, console, days=1)
    assert "already computed" in console.export_text()
    with make_sessionmaker(engine)() as session:
        assert session.scalar(select(func.count()).select_from(CoverageRun)) == runs
