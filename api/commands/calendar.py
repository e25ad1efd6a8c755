"""``gridgis calendar …``: the working calendar's holiday tables (one per year)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.table import Table

console = Console()


def register(app: typer.Typer) -> None:
    cal = typer.Typer(help="Working calendar: holidays and make-up working days per year.",
                      no_args_is_help=True)  # fmt: skip
    app.add_typer(cal, name="calendar")

    @cal.command("import")
    def calendar_import(
        file: Path,
        year: Annotated[int | None, typer.Option(help="the year (default: the file's)")] = None,
    ) -> None:
        """Load a year's State Council notice from CSV/XLSX (date,kind,name a row; kind is
        holiday or workday) and recompute the open cases' deadlines in that year."""
        from api.database import open_sessions
        from api.settings import Settings
        from layers.calendar_tables import ensure_loaded, parse_table, store_year
        from layers.db import transaction
        from layers.errors import DomainError

        if not file.is_file():
            console.print(f"[red]no file {file}[/]")
            raise typer.Exit(2)
        factory = open_sessions(Settings())
        try:
            with transaction(factory) as session:
                ensure_loaded(session)
                rows = parse_table(file.read_bytes(), file.name)
                done = store_year(session=session, rows=rows, year=year,
                                  source=f"import {file.name}", loaded_by="cli")  # fmt: skip
        except DomainError as exc:
            console.print(f"[red]{exc.detail}[/]")
            raise typer.Exit(1) from None
        console.print(
            f"{done['year']}: {done['holidays']} holidays, {done['workdays']} make-up workdays "
            f"stored; {done['recomputed']} open deadlines recomputed"
        )

    @cal.command("list")
    def calendar_list() -> None:
        """The years with a table, and their source."""
        from api.database import open_sessions
        from api.settings import Settings
        from layers.calendar_tables import ensure_loaded, stored_years
        from layers.db import transaction

        with transaction(open_sessions(Settings())) as session:
            ensure_loaded(session)
            years = stored_years(session=session)
        table = Table("year", "holidays", "workdays", "source", "loaded_at")
        for y in years:
            table.add_row(str(y["year"]), str(y["holidays"]), str(y["workdays"]), y["source"],
                          y["loaded_at"])  # fmt: skip
        console.print(table)
