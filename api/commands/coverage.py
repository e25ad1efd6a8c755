"""``gridgis coverage --date D [--shift HH:MM-HH:MM] [--resolution 10]``: compute and store the
patrol coverage of every unit grid for a day or shift, then print the lowest-ranked grids.

Demo: a few past patrol days stored through the ingest pipeline with their coverage computed
(so /coverage has a trend), and while ``gridgis demo`` serves, today's coverage recomputed every
few minutes from the live (simulated) patrols."""

from __future__ import annotations

import threading
import time as time_module
from datetime import UTC, date, datetime, timedelta
from types import SimpleNamespace
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table
from sqlalchemy import select

from api.database import open_engine
from api.settings import Settings

console = Console()
DEMO_ORDER = 25  # after the patrol devices (tracks, 20)
DEMO_DAYS = 5
DEMO_OFFICERS = 80
DEMO_INTERVAL_S = 10.0
REFRESH_S = 300.0


def register(app: typer.Typer) -> None:
    app.command("coverage")(coverage)
    app.command("coverage-late")(coverage_late)


def coverage_late() -> None:
    """Recompute past days' coverage runs that received late fixes (phones uploading a
    backlog), for the affected devices and grids only (a server does this every 5 minutes)."""
    from layers.coverage import recompute_late
    from layers.db import make_sessionmaker, transaction

    engine = open_engine(Settings())
    with transaction(make_sessionmaker(engine)) as session:
        done = recompute_late(session=session)
    engine.dispose()
    for s in done:
        if s.get("skipped") == "archived":
            console.print(
                f"{s['day']}: {s['late_devices']} late devices kept for later, the month is "
                "archived (gridgis positions restore YYYY-MM, then run this again) "
                "该月已归档，恢复后再重算"
            )
            continue
        window = s["shift"] or "全天 whole day"
        console.print(
            f"{s['day']} {window} (run {s['run']}): {s['late_devices']} late devices, "
            f"{s['grids_recomputed']} grids"
        )
    if not done:
        console.print("没有迟到的定位 no late fixes to account for")


def coverage(
    day: Annotated[str, typer.Option("--date", help="YYYY-MM-DD (Asia/Shanghai)")],
    shift: Annotated[
        str | None, typer.Option("--shift", help="HH:MM-HH:MM; omitted = the whole day")
    ] = None,
    resolution: Annotated[int, typer.Option("--resolution", help="H3 resolution, 10 or 11")] = 10,
    distance_m: Annotated[float, typer.Option("--distance-m", help="reach of a track")] = 30.0,
    max_gap_s: Annotated[float, typer.Option("--max-gap-s", help="no line across gaps")] = 300.0,
    pixel_m: Annotated[
        float, typer.Option("--pixel-m", help="raster pixel of the buffer method")
    ] = 5.0,
    show: Annotated[int, typer.Option("--show", help="lowest grids to print")] = 10,
) -> None:
    """Patrol coverage (巡查覆盖率) per unit grid: H3 cells within reach and buffer area."""
    from gis.coverage import CoverageParams
    from layers.coverage import compute_coverage_run, grid_rows, parse_shift
    from layers.db import make_sessionmaker, transaction

    try:
        the_day = date.fromisoformat(day)
    except ValueError:
        console.print(f"[red]--date {day!r} is not YYYY-MM-DD, e.g. 2026-03-02[/]")
        raise typer.Exit(2) from None
    try:
        the_shift = parse_shift(shift)
        settings = Settings()
        params = CoverageParams(
            resolution=resolution,
            distance_m=distance_m,
            max_gap_s=max_gap_s,
            metric_srid=settings.geo.metric_srid,
            pixel_m=pixel_m,
        )
    except ValueError as exc:
        console.print(f"[red]{exc}[/]")
        raise typer.Exit(2) from None
    engine = open_engine(settings)
    _refuse_archived(engine, the_day, the_shift)
    with (
        transaction(make_sessionmaker(engine)) as session,
        Progress(
            TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(),
            TimeElapsedColumn(), console=console,
        ) as progress,
    ):  # fmt: skip
        task = progress.add_task("覆盖率 coverage: devices", total=None)

        def advance(done: int, total: int) -> None:
            progress.update(task, completed=done, total=total)

        run = compute_coverage_run(session=session, day=the_day, shift=the_shift, params=params,
                                   progress=advance)  # fmt: skip
        rows = grid_rows(session=session, run=run, level=3)
        run_id = run.id
    engine.dispose()
    table = Table(title=f"覆盖率最低 lowest coverage, run {run_id} "
                        f"(res {resolution}, {distance_m:g} m, gap {max_gap_s:g} s)")  # fmt: skip
    for col in ("rank", "code", "name", "h3_share", "buffer_share", "officers"):
        table.add_column(col)
    for r in rows[-show:]:
        table.add_row(*(str(r[c]) for c in ("rank", "code", "name", "h3_share",
                                              "buffer_share", "officers")))  # fmt: skip
    console.print(table)
    covered = sum(1 for r in rows if (r["h3_share"] or 0) > 0)
    console.print(f"{len(rows)} unit grids, {covered} with some coverage")


def _refuse_archived(engine: Any, day: date, shift: Any) -> None:
    """Exit 1 with one sentence if the day's window lies (partly) in an archived month: its
    fixes are then in a GeoParquet file, and coverage from the database alone would be
    computed silently from part of the data (docs/retention.md)."""
    from layers.archive import archived_overlap
    from layers.coverage import window
    from layers.db import make_sessionmaker, transaction

    start, end = window(day, shift)
    with transaction(make_sessionmaker(engine)) as session:
        archived = archived_overlap(session=session, start=start, end=end)
    if archived:
        engine.dispose()
        console.print(
            f"[red]{day.isoformat()} 所在月份已归档：请先 gridgis positions restore "
            f"{day:%Y-%m} 再计算覆盖率 / {day:%Y-%m} is archived: restore the month first "
            f"(gridgis positions restore {day:%Y-%m} --commit), then compute its coverage[/]",
            soft_wrap=True,
        )
        raise typer.Exit(1)


def _ingest_plan(state: Any, sessions: Any, plan: Any, metric_srid: int) -> int:
    """Store one simulated officer-day through the ingest pipeline (converted, located,
    flagged), as a phone uploading its day would."""
    from api.ingest.pipeline import FixColumns, ingest
    from layers.people import Device

    fixes = FixColumns()
    tr = plan.track
    times = [datetime.fromtimestamp(t, tz=UTC) for t in tr.t_s.tolist()]
    for i, when in enumerate(times):
        fixes.add(
            i,
            fix_time=when,
            lon=float(plan.lon[i]),
            lat=float(plan.lat[i]),
            accuracy_m=float(tr.accuracy_m[i]),
            speed_mps=float(tr.speed_mps[i]),
            seq=i,
        )
    with sessions() as session, session.begin():
        device = session.get(Device, plan.officer.device_id)
        result = ingest(state=state, session=session, device=device, fixes=fixes,
                        source="batch", metric_srid=metric_srid)  # fmt: skip
    return int(result.stored)


def load_demo(settings: Settings, out: Console, days: int = DEMO_DAYS) -> None:
    """The last ``days`` days of patrol for ``DEMO_OFFICERS`` demo officers, and each day's
    coverage; days that already have a coverage run are skipped (idempotent)."""
    from api.commands.tracks import demo_key
    from api.ingest.simulator import SimOptions, plan_patrols
    from api.locators import LocatorCache
    from gis.coverage import CoverageParams
    from layers.coverage import SHANGHAI, CoverageRun, compute_coverage_run
    from layers.db import make_sessionmaker, transaction

    engine = open_engine(settings)
    sessions = make_sessionmaker(engine)
    params = CoverageParams(metric_srid=settings.geo.metric_srid)
    today = datetime.now(SHANGHAI).date()
    with sessions() as session:
        done = set(session.scalars(select(CoverageRun.day).where(CoverageRun.shift == "")))
    wanted = [today - timedelta(days=k) for k in range(days, 0, -1)]
    todo = [d for d in wanted if d not in done]
    if not todo:
        out.print(f"巡查覆盖率 coverage: {len(wanted)} demo days already computed")
        engine.dispose()
        return
    state = SimpleNamespace(engine=engine, locators=LocatorCache())
    stored = 0
    with Progress(
        TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(),
        TimeElapsedColumn(), console=out,
    ) as progress:  # fmt: skip
        task = progress.add_task("巡查覆盖率 demo patrol days", total=len(todo) * DEMO_OFFICERS)
        for k, day in enumerate(todo):
            opts = SimOptions(day=day, hours=8, devices=DEMO_OFFICERS, interval_s=DEMO_INTERVAL_S,
                              seed=settings.geo.demo_seed + k)  # fmt: skip
            with sessions() as session:
                plans = plan_patrols(session=session, opts=opts, key=demo_key(settings),
                                     metric_srid=settings.geo.metric_srid)  # fmt: skip
            for plan in plans:
                stored += _ingest_plan(state, sessions, plan, settings.geo.metric_srid)
                progress.advance(task)
            with transaction(sessions) as session:
                compute_coverage_run(session=session, day=day, params=params)
    out.print(f"巡查覆盖率 coverage: {len(todo)} demo days, {stored} fixes stored and computed")
    engine.dispose()


def on_serve(settings: Settings, base_url: str, out: Console) -> threading.Thread:
    """``gridgis demo``: recompute today's coverage every few minutes while serving (the first
    time once the simulated patrols of the last half hour are in)."""
    from gis.coverage import CoverageParams
    from layers.coverage import SHANGHAI, compute_coverage_run, recompute_late
    from layers.db import make_sessionmaker, transaction

    def run() -> None:
        time_module.sleep(60)
        engine = open_engine(settings)
        params = CoverageParams(metric_srid=settings.geo.metric_srid)
        while True:
            try:
                with transaction(make_sessionmaker(engine)) as session:
                    compute_coverage_run(session=session, day=datetime.now(SHANGHAI).date(),
                                         params=params)  # fmt: skip
                with transaction(make_sessionmaker(engine)) as session:
                    recompute_late(session=session)
            except Exception as exc:  # the demo server must keep running
                out.print(f"[red]coverage refresh failed: {exc!r}[/]")
            time_module.sleep(REFRESH_S)

    thread = threading.Thread(target=run, name="coverage-refresh", daemon=True)
    thread.start()
    return thread
