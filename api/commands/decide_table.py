"""Everything a publication left to decide, as one table for the planners' command line
(issue 10): ``gridgis grids decide GEN`` and ``gridgis to-decide GEN`` print the same listing,
the answer of ``layers.planning.to_decide.to_decide`` (``{count, assignments,
grids_to_staff, zone_members}``), in the run's language (``api.commands.words``)."""

from __future__ import annotations

from typing import Any

from rich.console import Console
from rich.table import Table

from api.commands import words
from api.commands.words import t


def _people(candidates: list[dict[str, Any]]) -> str:
    """Grid-role candidates ``[{person_id, name, from_grid, grid_now}]`` as ``name (id)``,
    saying which grid a move would take each from."""
    out = []
    for c in candidates:
        now = c.get("grid_now") or c.get("from_grid")
        out.append(t("staff_from", name=c.get("name"), id=c.get("person_id"), grid=now or "-"))
    return "; ".join(out)


def print_listing(console: Console, listing: dict[str, Any], generation: int) -> None:
    """Print ``listing`` (one row per item to decide, its kind named) and how to decide, or
    ``none_to_decide`` when nothing waits."""
    rows: list[tuple[str, ...]] = []
    for a in listing.get("assignments", []):
        rows.append(
            (t("kind_assignment"), a["grid_code"], f"{a['name']} ({a['person_id']}) {a['role']}",
             t("move_to", codes=" ".join(a["candidates"])) if a["candidates"]
             else t("decide_none"),
             f'{{"kind": "assignment", "id": {a["id"]}, "decision": "move|end"}}')
        )  # fmt: skip
    for g in listing.get("grids_to_staff", []):
        rows.append(
            (t("kind_grid_role"), g["grid_code"], g["role"],
             _people(g.get("candidates", [])) or t("staff_vacant"),
             f'{{"kind": "grid_role", "grid_code": "{g["grid_code"]}", "role": "{g["role"]}", '
             '"decision": "move|add|vacant"}')
        )  # fmt: skip
    for z in listing.get("zone_members", []):
        rows.append(
            (t("kind_zone_member"), z["grid_code"], f"{z['zone']} {z['zone_name']}",
             t("move_to", codes=" ".join(z["candidates"])) if z["candidates"]
             else t("zone_drop"),
             f'{{"kind": "zone_member", "zone_id": {z["zone_id"]}, "grid_code": '
             f'"{z["grid_code"]}", "decision": "replace|drop"}}')
        )  # fmt: skip
    if not rows:
        console.print(t("none_to_decide"))
        return
    table = Table(*words.columns("all_decide_table"))
    for row in rows:
        table.add_row(*row)
    console.print(table)
    console.print(t("all_decide_hint", n=len(rows), gen=generation), soft_wrap=True)


__all__ = ["print_listing"]
