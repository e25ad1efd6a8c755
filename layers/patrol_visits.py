"""Who patrolled a grid on a day: the one definition shared by the front page's grid panel
(its coverage and officer count, layers/dashboard.py) and the officers that panel's link lists
(``GET /api/v1/patrol/visits``, ``/playback?grid=&date=``).

Definition: an officer (device) patrolled grid ``code`` (any level: every unit grid under it) on
the Asia/Shanghai day ``day`` when the day's latest whole-day coverage run
(:class:`layers.coverage.CoverageRun`, ``shift == ""``, newest ``computed_at``, then id) has a
:class:`layers.coverage.CoverageVisit` row of that device in one of those unit grids: its track
(fixes joined up to ``max_gap_s``) covered part of the grid, whether or not a fix fell inside.
The server recomputes today's run every 5 minutes, so today's answer is as old as that run.
Before issue 15's review the link counted devices with a usable *fix* whose ingest grid lay in
the grid: a walk along a border or across a grid between two fixes covered it without any fix
inside, and the panel said "1 officer" while the link's page said nobody.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from sqlalchemy import func, select
from sqlalchemy.dialects.postgresql import distinct_on
from sqlalchemy.orm import Session

from layers.coverage import CoverageRun, CoverageVisit


@dataclass(frozen=True)
class GridVisit:
    """One device's patrol of a grid on a day: ``minutes`` of track and ``metres`` walked in
    it (summed over its unit grids), ``cells`` the H3 cells it covered there."""

    device_id: int
    minutes: float
    metres: float
    cells: int


def whole_day_runs(*, session: Session, days: list[date]) -> dict[date, CoverageRun]:
    """The latest whole-day coverage run (``shift == ""``, the last computed) of each of
    ``days`` that has one: the run the dashboard, the grid panel and the patrol visits read."""
    return {
        r.day: r
        for r in session.scalars(
            select(CoverageRun)
            .where(CoverageRun.day.in_(days), CoverageRun.shift == "")
            .order_by(CoverageRun.day, CoverageRun.computed_at.desc(), CoverageRun.id.desc())
            .ext(distinct_on(CoverageRun.day))
        )
    }


def whole_day_run(*, session: Session, day: date) -> CoverageRun | None:
    """The latest whole-day coverage run of ``day`` (:func:`whole_day_runs`), or None."""
    return whole_day_runs(session=session, days=[day]).get(day)


def grid_visits(
    *, session: Session, day: date, code: str
) -> tuple[CoverageRun, list[GridVisit]] | None:
    """``(run, visits)``: the devices that patrolled grid ``code`` (9, 12 or 15 digits) on
    ``day`` by the definition above, most minutes first; None when the day has no whole-day
    run yet (then nobody can be said to have patrolled it, and the panel says "not computed")."""
    run = whole_day_run(session=session, day=day)
    if run is None:
        return None
    rows = session.execute(
        select(
            CoverageVisit.device_id,
            func.sum(CoverageVisit.minutes),
            func.sum(CoverageVisit.metres),
            func.sum(CoverageVisit.cells),
        )
        .where(
            CoverageVisit.run_id == run.id,
            CoverageVisit.grid_code.startswith(code, autoescape=True),
        )
        .group_by(CoverageVisit.device_id)
        .order_by(func.sum(CoverageVisit.minutes).desc(), CoverageVisit.device_id)
    ).all()
    return run, [
        GridVisit(int(d), round(float(m or 0), 1), round(float(x or 0), 1), int(c or 0))
        for d, m, x, c in rows
    ]
