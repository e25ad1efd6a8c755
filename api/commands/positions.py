"""``gridgis positions …``: retention of stored fixes (monthly partitions to GeoParquet)."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from api.commands.words import LangOpt, columns, t, use
from api.database import open_sessions
from api.settings import Settings
from layers.db import transaction

positions_app = typer.Typer(help="Stored fixes: retention and archives.", no_args_is_help=True)
console = Console()


def register(app: typer.Typer) -> None:
    app.add_typer(positions_app, name="positions")


@positions_app.command("archive")
def archive(
    before: Annotated[
        str | None,
        typer.Option(
            help="YYYY-MM-DD: archive the months that end on or before it "
            "(default: GRIDGIS_POSITIONS_KEEP_DAYS ago)"
        ),
    ] = None,
    directory: Annotated[
        Path | None, typer.Option("--dir", help="where the files go (default: DATA_DIR/archive)")
    ] = None,
    commit: Annotated[bool, typer.Option(help="without it: only list what would go")] = False,
    lang: LangOpt = None,
) -> None:
    """Write old monthly partitions of the position table to GeoParquet files, then detach
    and drop them; playback of an archived day reads its file. A dry run unless --commit."""
    from layers.archive import archive_partition, partitions_before

    use(lang)
    settings = Settings()
    if before is None:
        limit = date.today() - timedelta(days=settings.server.positions_keep_days)
    else:
        try:
            limit = date.fromisoformat(before)
        except ValueError:
            console.print(f"[red]--before {before!r} is not YYYY-MM-DD, e.g. 2026-01-01[/]")
            raise typer.Exit(2) from None
    folder = directory or settings.database.data_dir / "archive"
    sessions = open_sessions(settings)
    with transaction(sessions) as session:
        found = partitions_before(session=session, before=limit)
    if not found:
        # months end on the 1st: nothing ends by ``limit`` (or today) before its month begins
        first = min(limit, date.today()).strftime("%Y-%m")
        console.print(t("nothing_to_archive", month=first), soft_wrap=True)
        return
    table = Table(*columns("archive_table"), title=t("archive_title", limit=limit))
    for p in found:
        table.add_row(p.name, p.month_start.date().isoformat(), p.month_end.date().isoformat(),
                      f"{p.rows:,}")  # fmt: skip
    console.print(table)
    if not commit:
        console.print(t("archive_dry_run"))
        return
    with Progress(TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(),
                  TimeElapsedColumn(), console=console) as progress:  # fmt: skip
        for p in found:
            task = progress.add_task(f"归档 archive {p.name}", total=p.rows or 1)
            with transaction(sessions) as session:  # one month, one transaction
                record = archive_partition(
                    session=session, partition=p, directory=folder,
                    progress=lambda n, t=task: progress.update(t, completed=n),
                )  # fmt: skip
            progress.update(task, completed=p.rows or 1)
            console.print(f"{p.name}: {record.rows:,} fixes -> {record.path or '(empty)'}")


@positions_app.command("restore")
def restore(
    month: Annotated[str, typer.Argument(help="YYYY-MM: the archived month to put back")],
    commit: Annotated[bool, typer.Option(help="without it: only say what would happen")] = False,
    lang: LangOpt = None,
) -> None:
    """Put an archived month back into the database from its GeoParquet file (fixes already
    there are kept); the file is kept as <name>.parquet.restored. A dry run unless --commit."""
    from layers.archive import PositionArchive, restore_month
    from layers.positions import partition_name

    use(lang)
    try:
        first = date.fromisoformat(f"{month}-01")
    except ValueError:
        console.print(t("month_format", month=month))
        raise typer.Exit(2) from None
    sessions = open_sessions(Settings())
    name = partition_name(datetime(first.year, first.month, 1, tzinfo=UTC))
    with transaction(sessions) as session:
        record = session.get(PositionArchive, name)
        if record is None:
            console.print(t("not_archived", month=month), soft_wrap=True)
            raise typer.Exit(1)
        console.print(t("restore_plan", month=month, rows=f"{record.rows:,}",
                        path=record.path or "-"), soft_wrap=True)  # fmt: skip
        if not commit:
            console.print(t("restore_dry_run"))
            return
        try:
            read, inserted, kept = restore_month(session=session, month=first)
        except FileNotFoundError:
            console.print(t("archive_file_missing", path=record.path), soft_wrap=True)
            raise typer.Exit(1) from None
    console.print(t("restored", month=month, read=f"{read:,}", inserted=f"{inserted:,}",
                    kept=kept), soft_wrap=True)  # fmt: skip
