"""``gridgis grids …``: import, validate and publish grid generations (planners' tools).

Like mapit's boundary imports, changes are dry runs unless ``--commit`` is given: an import
without it reads, checks and reports, then rolls back.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import geopandas as gpd
import pyogrio
import typer
from rich.console import Console
from rich.table import Table

from api.main import open_sessions
from api.settings import Settings
from gis.crs import SRID_CGCS2000
from gis.hierarchy import HierarchyReport, validate_hierarchy
from layers.db import transaction
from layers.errors import DomainError
from layers.grids import (
    create_generation,
    load_grids,
    publish_generation,
    read_grid_frame,
    resolve_generation,
)

grids_app = typer.Typer(help="Grid generations: import, validate, publish.", no_args_is_help=True)
console = Console()
REQUIRED = ("code", "level", "parent_code", "name")


def register(app: typer.Typer) -> None:
    app.add_typer(grids_app, name="grids")


def print_report(report: HierarchyReport) -> None:
    counts = ", ".join(f"L{level}: {n}" for level, n in sorted(report.counts.items()))
    if report.ok:
        console.print(f"[green]valid[/] ({counts})")
        return
    table = Table("kind", "codes", "where (lon, lat)", "area m²", "width m", "what to do")
    for p in report.problems[:200]:
        where = f"{p.location[0]:.6f}, {p.location[1]:.6f}" if p.location else ""
        table.add_row(
            p.kind.value, " ".join(p.codes), where,
            f"{p.area_m2:,.1f}" if p.area_m2 is not None else "",
            f"{p.width_m:.2f}" if p.width_m is not None else "", p.detail,
        )  # fmt: skip
    console.print(table)
    console.print(f"[red]{len(report.problems)} problems[/] ({counts}): {report.by_kind()}")


def read_grid_file(path: Path, layer: str | None = None) -> gpd.GeoDataFrame:
    """A planner's file (GeoPackage, GeoJSON, Shapefile …) as a grid frame in EPSG:4490."""
    frame = pyogrio.read_dataframe(path, layer=layer)
    missing = [c for c in REQUIRED if c not in frame.columns]
    if missing:
        raise typer.BadParameter(
            f"{path} lacks the columns {missing}; it needs {list(REQUIRED)} "
            "(codes as text, level 1-3, parent_code empty for level 1)"
        )
    if frame.crs is None:
        raise typer.BadParameter(f"{path} has no CRS; save it with EPSG:4490 (or any CRS) set")
    frame = frame.to_crs(SRID_CGCS2000)
    frame["code"] = frame["code"].astype(str)
    frame["parent_code"] = frame["parent_code"].where(frame["parent_code"].notna(), None)
    frame["level"] = frame["level"].astype(int)
    return frame[[*REQUIRED, "geometry"]]


@grids_app.command("validate")
def validate(
    path: Annotated[
        Path | None, typer.Argument(help="a grid file; default: a stored generation")
    ] = None,
    generation: Annotated[
        int | None, typer.Option(help="stored generation id (default active)")
    ] = None,
) -> None:
    """Check a three-level grid: overlaps, gaps (with widths), nesting, codes, counts."""
    settings = Settings()
    if path is not None:
        frame = read_grid_file(path)
    else:
        with transaction(open_sessions(settings)) as session:
            gen = resolve_generation(session=session, generation_id=generation)
            frame = read_grid_frame(session=session, generation_id=gen.id)
    report = validate_hierarchy(frame, metric_srid=settings.geo.metric_srid)
    print_report(report)
    raise typer.Exit(0 if report.ok else 1)


@grids_app.command("import")
def import_file(
    path: Path,
    name: Annotated[str, typer.Option(help="name of the new generation")],
    layer: Annotated[str | None, typer.Option(help="layer inside the file")] = None,
    commit: Annotated[bool, typer.Option("--commit", help="store it (default: dry run)")] = False,
    publish: Annotated[bool, typer.Option("--publish", help="also make it active")] = False,
) -> None:
    """Import a grid file as a draft generation (dry run unless --commit)."""
    settings = Settings()
    frame = read_grid_file(path, layer)
    report = validate_hierarchy(frame, metric_srid=settings.geo.metric_srid)
    print_report(report)
    if not report.ok and publish:
        console.print("[red]not publishing a grid with problems; fix them and import again[/]")
        raise typer.Exit(1)
    sessions = open_sessions(settings)
    with sessions() as session:
        try:
            gen = create_generation(session=session, name=name, note=f"imported from {path.name}")
            load_grids(
                session=session, generation_id=gen.id, grids=frame,
                metric_srid=settings.geo.metric_srid,
            )  # fmt: skip
            if publish:
                publish_generation(session=session, generation_id=gen.id)
            session.flush()
        except DomainError as exc:
            session.rollback()
            console.print(f"[red]{exc.detail}[/]")
            raise typer.Exit(1) from None
        if not commit:
            session.rollback()
            console.print("dry run: nothing stored (add --commit to store)")
            return
        session.commit()
    console.print(f"generation {gen.id} stored as {'active' if publish else 'draft'}")


@grids_app.command("publish")
def publish(generation: int) -> None:
    """Make a validated draft generation the active one (the previous one is retired)."""
    settings = Settings()
    with transaction(open_sessions(settings)) as session:
        frame = read_grid_frame(session=session, generation_id=generation)
        report = validate_hierarchy(frame, metric_srid=settings.geo.metric_srid)
        if not report.ok:
            print_report(report)
            console.print("[red]not published: fix the problems first[/]")
            raise typer.Exit(1)
        publish_generation(session=session, generation_id=generation)
    console.print(f"generation {generation} is now active")
