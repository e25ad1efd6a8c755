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

# this command's own sentences (zh / en), beside the shared ones of api.commands.words
_WORDS = {
    "zh": {
        "dir_not_writable": "[red]无法写入归档目录 {path}（{why}）：请换一个可写的 --dir[/]",
        "already_restored": "{month} 已经放回数据库（文件保留为 {kept}），无需再次放回",
    },
    "en": {
        "dir_not_writable": "[red]cannot write to the archive folder {path} ({why}): "
        "give a writable --dir[/]",
        "already_restored": "{month} was already restored into the database (its file is "
        "kept as {kept}); nothing to do",
    },
}


def _detail(exc: Exception) -> str:
    """The error's sentence in the command's language (zh first, as the server answers)."""
    from api.commands.words import current

    return str(getattr(exc, "detail_zh", exc)) if current() == "zh" else str(exc)


def _say(key: str, **values: object) -> str:
    from api.commands.words import current

    return _WORDS[current()][key].format(**values)


def _writable(folder: Path) -> None:
    """Exit 1 with one sentence unless ``folder`` can be made and written to."""
    try:
        folder.mkdir(parents=True, exist_ok=True)
        probe = folder / ".gridgis-write-probe"
        probe.write_bytes(b"")
        probe.unlink()
    except OSError as exc:
        console.print(_say("dir_not_writable", path=folder, why=exc.strerror or exc),
                      soft_wrap=True)  # fmt: skip
        raise typer.Exit(1) from None


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
    from layers.archive import (
        ArchiveFileError,
        archive_partition,
        database_folder,
        partitions_before,
    )

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
    base = directory or settings.database.data_dir / "archive"
    sessions = open_sessions(settings)
    with transaction(sessions) as session:
        found = partitions_before(session=session, before=limit)
        folder = database_folder(session=session, base=base)  # one folder per database
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
    _writable(folder)
    with Progress(TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(),
                  TimeElapsedColumn(), console=console) as progress:  # fmt: skip
        for p in found:
            task = progress.add_task(f"归档 archive {p.name}", total=p.rows or 1)
            try:
                with transaction(sessions) as session:  # one month, one transaction
                    record = archive_partition(
                        session=session, partition=p, directory=folder,
                        progress=lambda n, t=task: progress.update(t, completed=n),
                    )  # fmt: skip
            except ArchiveFileError as exc:
                progress.stop()
                console.print(f"[red]{_detail(exc)}[/]", soft_wrap=True)
                raise typer.Exit(1) from None
            except OSError as exc:
                progress.stop()
                console.print(_say("dir_not_writable", path=folder, why=exc.strerror or exc),
                              soft_wrap=True)  # fmt: skip
                raise typer.Exit(1) from None
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
    from layers.archive import ArchiveFileError, PositionArchive, restore_month
    from layers.positions import partition_name

    use(lang)
    try:
        first = date.fromisoformat(f"{month}-01")
    except ValueError:
        console.print(t("month_format", month=month))
        raise typer.Exit(2) from None
    settings = Settings()
    sessions = open_sessions(settings)
    name = partition_name(datetime(first.year, first.month, 1, tzinfo=UTC))
    with transaction(sessions) as session:
        record = session.get(PositionArchive, name)
        if record is None:
            base = settings.database.data_dir / "archive"
            kept = sorted(base.glob(f"**/{name}.parquet.restored*")) if base.exists() else []
            if kept:
                console.print(_say("already_restored", month=month, kept=kept[-1]),
                              soft_wrap=True)  # fmt: skip
                return
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
        except ArchiveFileError as exc:
            console.print(f"[red]{_detail(exc)}[/]", soft_wrap=True)
            raise typer.Exit(1) from None
    console.print(t("restored", month=month, read=f"{read:,}", inserted=f"{inserted:,}",
                    kept=kept), soft_wrap=True)  # fmt: skip
