"""``gridgis staff …``, ``gridgis zones check`` and the demo step for people and places
(roster, zones, households, market entities)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from api.database import open_sessions
from api.settings import Settings

DEMO_ORDER = 10
DEMO_HOUSEHOLDS = 600_000
console = Console()


def load_demo(settings: Settings, out: Console, households: int = DEMO_HOUSEHOLDS) -> None:
    """Roster, zones, market entities and households for the demo city (idempotent)."""
    from layers.db import transaction
    from layers.grids import active_generation
    from layers.people_demo import load_demo_households, load_demo_market, load_demo_people

    factory = open_sessions(settings)
    seed = settings.geo.demo_seed
    with transaction(factory) as session:
        generation = active_generation(session=session)
        made = load_demo_people(session=session, generation_id=generation.id, seed=seed)
        entities = load_demo_market(session=session, generation_id=generation.id, seed=seed)
    if made:
        out.print(
            f"人员 staff: {made['people']} people, {made['teams']} teams, "
            f"{made['assignments']} grid assignments, {made['zones']} enforcement zones"
        )
    if entities:
        out.print(f"市场主体 market entities: {entities}")
    with (
        Progress(
            TextColumn("{task.description}"),
            BarColumn(),
            MofNCompleteColumn(),
            TimeElapsedColumn(),
            console=out,
        ) as progress,
        transaction(factory) as session,
    ):
        task = progress.add_task("住户 households: 生成 generating", total=households)
        stages = {
            "synthesize": "住户 households: 定位 locating",
            "copy": "住户 households: 写入 COPY",
        }

        def step(stage: str, n: int) -> None:
            if stage == "synthesize":
                progress.update(task, description=stages[stage], completed=0)
            elif stage == "copy":
                progress.update(task, description=stages[stage], advance=n)

        loaded = load_demo_households(
            session=session,
            generation_id=active_generation(session=session).id,
            seed=seed,
            total=households,
            progress=step,
        )
        progress.update(task, completed=households)
    if loaded:
        out.print(f"住户 households: {loaded} loaded")


def register(app: typer.Typer) -> None:
    staff = typer.Typer(help="Staff roster (一长五员).", no_args_is_help=True)
    zones = typer.Typer(help="Enforcement zones (执法片区).", no_args_is_help=True)
    app.add_typer(staff, name="staff")
    app.add_typer(zones, name="zones")

    @staff.command("import")
    def staff_import(
        file: Path,
        on_error: Annotated[str, typer.Option(help="keep the good rows, or refuse all")] = "keep",
        commit: Annotated[bool, typer.Option("--commit", help="store (default: dry run)")] = False,
    ) -> None:
        """Validate a roster CSV/XLSX and show the report; store it only with --commit."""
        from layers.db import transaction
        from layers.errors import DomainError
        from layers.grids import active_generation
        from layers.roster import import_roster, read_roster

        if on_error not in ("keep", "refuse"):
            console.print("[red]--on-error must be keep or refuse[/]")
            raise typer.Exit(2)
        if not file.is_file():
            console.print(f"[red]no file {file}[/]")
            raise typer.Exit(2)
        kind = "xlsx" if file.suffix.lower() == ".xlsx" else "csv"
        try:
            with transaction(open_sessions(Settings())) as session:
                report = import_roster(
                    session=session,
                    generation_id=active_generation(session=session).id,
                    rows=read_roster(file.read_bytes(), kind=kind),
                    on_error=on_error,
                    dry_run=not commit,  # type: ignore[arg-type]
                )
        except DomainError as exc:
            console.print(f"[red]{exc.detail}[/]")
            for err in exc.extra.get("report", {}).get("errors", [])[:50]:
                console.print(f"  row {err['row']} {err['column']}: {err['message']}")
            raise typer.Exit(1) from None
        table = Table("row", "column", "value", "problem", title="errors 错误")
        for e in report.errors[:200]:
            table.add_row(str(e.row), e.column, e.value, e.message)
        if report.errors:
            console.print(table)
        console.print(
            f"{report.rows} rows, {report.would_import} good, {report.imported_rows} stored"
            + ("" if commit else " (dry run: nothing stored; add --commit)")
        )
        for role, codes in report.grids_without.items():
            if codes:
                console.print(f"[yellow]{len(codes)} unit grids without a {role}[/]")

    @zones.command("check")
    def zones_check() -> None:
        """Check that every town's zones tile it (gaps and overlaps named)."""
        from layers.db import transaction
        from layers.grids import active_generation
        from layers.zones import validate_all_towns

        with transaction(open_sessions(Settings())) as session:
            reports = validate_all_towns(
                session=session, generation_id=active_generation(session=session).id
            )
        bad = 0
        for town, r in reports.items():
            if r.ok:
                console.print(f"[green]{town} ok[/] ({len(r.zone_grids)} zones)")
            else:
                bad += 1
                console.print(f"[red]{town}: {r.summary()}[/]")
        raise typer.Exit(1 if bad else 0)

    @app.command("load-households")
    def load_households(
        count: Annotated[int, typer.Option(help="households to generate")] = DEMO_HOUSEHOLDS,
    ) -> None:
        """Load the demo people, zones and households (idempotent)."""
        load_demo(Settings(), console, households=count)
