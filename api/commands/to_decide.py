"""``gridgis to-decide GENERATION``: everything a publication left for a person to decide
(staff assignments on retired grids, grids left without a role, zone members on retired codes),
and ``--item JSON --reason R`` to decide one -- the same list and decisions as
``GET/POST /api/v1/generations/{id}/to-decide`` (layers.planning.to_decide)."""

from __future__ import annotations

from typing import Annotated, Any

import orjson
import typer
from rich.console import Console

from api.commands import words
from api.commands.grids import AsUser, cli_actor
from api.commands.words import LangOpt
from api.database import open_sessions
from api.settings import Settings
from layers.db import transaction
from layers.errors import DomainError

console = Console()


def register(app: typer.Typer) -> None:
    app.command("to-decide")(to_decide_command)


def to_decide_command(
    generation: int,
    item: Annotated[
        str | None,
        typer.Option(
            "--item",
            help='a decision as JSON, e.g. {"kind": "zone_member", "zone_id": 2, "grid_code": '
            '"320281001013", "decision": "replace", "grid_codes": ["320281001014"]}',
        ),
    ] = None,
    reason: Annotated[str | None, typer.Option(help="why (needed to decide)")] = None,
    as_user: AsUser = None,
    lang: LangOpt = None,
    as_json: Annotated[bool, typer.Option("--json", help="the listing as JSON")] = False,
) -> None:
    """List what a publication left to decide as a table (--json for the JSON of
    GET /api/v1/generations/{id}/to-decide), or decide one item (--item JSON --reason)."""
    from api.commands.decide_table import print_listing
    from layers.planning.to_decide import decide_item, to_decide

    words.use(lang)
    try:
        with transaction(open_sessions(Settings())) as session:
            if item is not None:
                try:
                    body: Any = orjson.loads(item)
                except orjson.JSONDecodeError as exc:
                    console.print(f"[red]--item is not JSON: {exc}[/]")
                    raise typer.Exit(2) from None
                if not isinstance(body, dict):
                    console.print('[red]--item must be a JSON object {"kind": …}[/]')
                    raise typer.Exit(2)
                answer = decide_item(
                    session=session, generation_id=generation,
                    item={**body, "reason": reason}, actor=cli_actor(as_user, session),
                )  # fmt: skip
                console.print(words.t("decided_item", decision=answer.get("decision")))
            listing = to_decide(session=session, generation_id=generation)
    except DomainError as exc:
        console.print(f"[red]{words.detail(exc)}[/]", soft_wrap=True)
        raise typer.Exit(1) from None
    if as_json:
        console.print_json(orjson.dumps(listing).decode())
    else:
        print_listing(console, listing, generation)
