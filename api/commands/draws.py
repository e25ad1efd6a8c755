"""``gridgis draws verify ID`` (re-run a recorded draw from the database) and ``gridgis draws
rerun FILE`` (re-run a downloaded record, ``GET /api/v1/draws/{id}/record``, with no database)."""

from __future__ import annotations

import json
from pathlib import Path

import typer
from rich.console import Console

from api.database import open_sessions
from api.settings import Settings

console = Console()


def _report(ok: bool, digest: str) -> None:
    if ok:
        console.print(f"[green]reproduced 已复现[/]: same targets, inspectors and digest {digest}")
    else:
        console.print(f"[red]NOT reproduced 未复现[/]: the re-run differs from the record {digest}")
        raise typer.Exit(1)


def register(app: typer.Typer) -> None:
    draws = typer.Typer(help="双随机 draws: re-run and check.", no_args_is_help=True)
    app.add_typer(draws, name="draws")

    @draws.command("verify")
    def verify(draw_id: int) -> None:
        """Re-run draw DRAW_ID from its record in the database and compare."""
        from layers.db import transaction
        from layers.errors import DomainError
        from layers.market import get_draw, verify_draw

        try:
            with transaction(open_sessions(Settings())) as session:
                record = get_draw(session=session, draw_id=draw_id)
                ok, digest = verify_draw(record), record.digest
        except DomainError as exc:
            console.print(f"[red]{exc.detail}[/]")
            raise typer.Exit(2) from None
        _report(ok, digest)

    @draws.command("rerun")
    def rerun(file: Path) -> None:
        """Re-run a draw record saved from /api/v1/draws/{id}/record (no database needed)."""
        from layers.market import check_record

        try:
            record = json.loads(file.read_text(encoding="utf-8"))
            ok = check_record(record)
        except (OSError, ValueError, KeyError, TypeError) as exc:
            console.print(f"[red]{file} is not a draw record ({exc}); download it with "
                          "GET /api/v1/draws/{id}/record[/]")  # fmt: skip
            raise typer.Exit(2) from None
        _report(ok, str(record.get("digest")))
