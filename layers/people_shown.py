"""A person as searches and pickers show them: name, the role and grid of their first
assignment in force today, that grid's name in the active generation and the role in the
reader's language -- one query for the front page's person search
(``GET /api/v1/people/search``) and the playback/live officers' picker
(``GET /api/v1/patrol/officers``, ``…/visits``).

- :func:`shown_sql`: ``SELECT {columns}, role, grid, grid_name FROM {source}`` with the join of
  ``layers.people.CURRENT_ASSIGNMENT_JOIN`` (``source`` must bind the person as ``p``; bind
  parameter ``:gen``: the active generation's id).
- :func:`people_shown`: run it and answer the rows (dicts, ``role_name`` added) of the people
  the caller may see.
- :func:`role_name`: a staff role in zh/en (``gis.role_names.ROLE_NAMES``).
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from sqlalchemy import text
from sqlalchemy.orm import Session

from gis.role_names import ROLE_NAMES
from layers.people import CURRENT_ASSIGNMENT_JOIN


def shown_sql(*, columns: str, source: str, where: str = "TRUE", order: str = "") -> str:
    """SQL: ``columns`` plus ``role`` (text), ``grid`` (code) and ``grid_name`` (in generation
    ``:gen``), all NULL for someone with no assignment in force today, from ``source`` (a FROM
    clause naming the person ``p``, e.g. ``"device d LEFT JOIN person p ON p.id =
    d.person_id"``), filtered by ``where`` and sorted by ``order`` (bound parameters only)."""
    return (
        f"SELECT {columns}, ga.role, ga.grid_code AS grid, g.name AS grid_name\n"
        f"FROM {source}\n{CURRENT_ASSIGNMENT_JOIN}\nWHERE {where}\n"
        + (f"ORDER BY {order}\n" if order else "")
    )


def role_name(role: str | None, lang: str) -> str | None:
    """The staff ``role`` in ``lang`` ("en", else Chinese); the role value itself when the
    table lacks it; None for no role."""
    if not role:
        return None
    return ROLE_NAMES["en" if lang == "en" else "zh"].get(role, role)


def people_shown(
    *,
    session: Session,
    generation_id: int | None,
    lang: str,
    columns: str,
    source: str,
    where: str = "TRUE",
    order: str = "",
    params: dict[str, Any] | None = None,
    allowed: set[int] | None = None,
) -> Iterator[dict[str, Any]]:
    """The rows of :func:`shown_sql` in ``order``, each a dict with ``role_name`` (``lang``),
    less those whose ``person_id`` is not in ``allowed`` (``layers.accounts.people_in_scope``;
    None: everyone). Lazy: a caller that needs ``limit`` rows stops there. ``columns`` must
    include ``person_id`` when ``allowed`` is given."""
    sql = shown_sql(columns=columns, source=source, where=where, order=order)
    rows = session.execute(text(sql), {**(params or {}), "gen": generation_id}).mappings()
    for row in rows:
        if allowed is not None and row["person_id"] not in allowed:
            continue
        yield {**row, "role_name": role_name(row["role"], lang)}


__all__ = ["people_shown", "role_name", "shown_sql"]
