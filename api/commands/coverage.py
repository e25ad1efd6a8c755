"""``gridgis coverage --date D [--shift HH:MM-HH:MM] [--resolution 10]``: compute and store the
patrol coverage of every unit grid for a day or shift, then print the lowest-ranked grids."""

from __future__ import annotations

from datetime import date
from typing import Annotated

import typer
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from api.settings import Settings

console = Console()


def register(app: typer.Typer) -> None:
    app.command("coverage")(coverage)


def coverage(
    day: Annotated[str, typer.Option("--date", help="YYYY-MM-DD (Asia/Shanghai)")],
    shift: Annotated[
        str | None, typer.Option("--shift", help="HH:MM-HH:MM; omitted = the whole day")
    ] = None,
    resolution: Annotated[int, typer.Option("--resolution", help="H3 resolution, 10 or 11")] = 10,
    distance_m: Annotated[float, typer.Option("--distance-m", help="reach of a track")] = 30.0,
    max_gap_s: Annotated[float, typer.Option("--max-gap-s", help="no line across gaps")] = 300.0,
    show: Annotated[int, typer.Option("--show", help="lowest grids to print")] = 10,
) -> None:
    """Patrol coverage (巡查覆盖率) per unit grid: H3 cells within reach and buffer area."""
    from api.commands.tracks import _engine
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
        )
    except ValueError as exc:
        console.print(f"[red]{exc}[/]")
        raise typer.Exit(2) from None
    engine = _engine(settings)
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
