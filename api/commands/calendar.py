"""``gridgis calendar …``: the working calendar's holiday tables (one per year)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

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
        commit: Annotated[
            bool, typer.Option("--commit", help="store it (default: dry run, nothing stored)")
        ] = False,
    ) -> None:
        """Load a year's State Council notice from CSV/XLSX (date,kind,name a row; kind is
        holiday or workday) and recompute the open cases' deadlines in that year. Without
        --commit a dry run: shows the days that would be added, removed or changed and how
        many deadlines would be recomputed, and stores nothing. Every bad row is listed."""
        from api.database import open_sessions
        from api.settings import Settings
        from layers.calendar_tables import (
            check_year,
            ensure_loaded,
            invalidate,
            parse_table,
            store_year,
            year_table,
        )
        from layers.errors import DomainError
        from layers.workcal import current_tables, set_tables

        if not file.is_file():
            console.print(f"[red]no file {file}[/]")
            raise typer.Exit(2)
        factory = open_sessions(Settings())
        with factory() as session:
            ensure_loaded(session)
            kept = current_tables()
            try:
                rows = parse_table(file.read_bytes(), file.name)
                stored = year_table(session=session, year=check_year(rows, year))
                done = store_year(session=session, rows=rows, year=year,
                                  source=f"import {file.name}", loaded_by="cli")  # fmt: skip
                if commit:
                    session.commit()
                else:
                    session.rollback()  # a dry run: nothing stored, no NOTIFY sent
            except DomainError as exc:
                session.rollback()
                console.print(f"[red]{exc.detail}[/]", soft_wrap=True)
                for problem in exc.extra.get("problems", [])[5:]:
                    console.print(f"[red]  {problem['detail']}[/]", soft_wrap=True)
                raise typer.Exit(1) from None
            finally:
                if not commit:
                    set_tables(kept)  # this process's copy as it was
                invalidate()  # read again from the database at the next use
        _print_changes(stored, rows)
        if commit:
            console.print(
                f"{done['year']}: {done['holidays']} holidays, {done['workdays']} make-up "
                f"workdays stored; {done['recomputed']} open deadlines recomputed"
            )
        else:
            console.print(
                f"dry run: {done['year']}: {done['holidays']} holidays, {done['workdays']} "
                f"make-up workdays would be stored; {done['recomputed']} open deadlines would "
                "be recomputed. Nothing stored; add --commit to store it."
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


def _print_changes(stored: dict[str, Any] | None, rows: Any) -> None:
    """The days a load adds, removes or changes against the stored table of the year."""
    before = {d["date"]: (d["kind"], d["name"]) for d in (stored or {}).get("days", [])}
    after = {r.day.isoformat(): (r.kind, r.name) for r in rows}
    if stored is None:
        console.print("the year has no table yet (its deadlines are computed Monday-Friday)")
    changes = Table("date", "now", "after")
    for day in sorted(before.keys() | after.keys()):
        if before.get(day) != after.get(day):
            old, new = before.get(day), after.get(day)
            changes.add_row(day, " ".join(old) if old else "-", " ".join(new) if new else "-")
    if changes.row_count:
        console.print(changes)
    else:
        console.print("no day changes")
