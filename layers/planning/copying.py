"""Copy a generation into a new draft: the command line's `gridgis grids draft` and
`POST /api/v1/generations {"from": …}`. Light imports only (no geopandas, no pandas): the
copy is done in SQL, and a command that only copies starts in about a second
(docs/startup.md). The file imports, validation and comparison live in
``layers.planning.drafts``, which re-exports these names.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import text
from sqlalchemy.orm import Session

from gis.codes import LEVELS
from layers.errors import DomainError, with_zh
from layers.grids import active_generation, create_generation, get_generation
from layers.models import Generation


@dataclass(frozen=True)
class Actor:
    """Who does a planning step: a token's name and role (or the command line's user)."""

    name: str
    role: str
    token_id: int | None = None
    user_id: int | None = None
    """the account (one person may hold several tokens: the four-eyes rule compares users)"""

    @property
    def label(self) -> str:
        return f"{self.name} ({self.role})"


class GridFileInvalid(DomainError):
    """A grid file that cannot be read or stored (422); ``extra['problems']`` lists rows."""


def copy_generation(
    *, session: Session, source_id: int, name: str, note: str | None, actor: Actor
) -> Generation:
    """A new draft holding a full copy of generation ``source_id`` (grids and their parts),
    copied in SQL by INSERT … SELECT (under a second for the demo city)."""
    source = get_generation(session=session, generation_id=source_id)
    generation = create_generation(session=session, name=name, note=note)
    generation.created_from = source.id
    generation.created_by = actor.label
    session.flush()
    params = {"src": source.id, "dst": generation.id}
    session.execute(
        text(
            "INSERT INTO grid (generation_id, level, code, parent_code, name, geom, area_m2) "
            "SELECT :dst, level, code, parent_code, name, geom, area_m2 FROM grid "
            "WHERE generation_id = :src"
        ),
        params,
    )
    session.execute(
        text(
            "INSERT INTO grid_part (generation_id, code, geom) "
            "SELECT :dst, code, geom FROM grid_part WHERE generation_id = :src"
        ),
        params,
    )
    from layers.planning.review_log import record_step

    record_step(
        session=session,
        generation=generation,
        action="create",
        actor=actor,
        reason=note or f"copy of generation {source.id} ({source.name})",
        details={"from": source.id},
    )
    session.flush()
    return generation


def resolve_source(*, session: Session, source: str | int) -> Generation:
    """``"active"`` or a generation id (int or digits) as a generation."""
    if isinstance(source, str) and source.strip().lower() == "active":
        return active_generation(session=session)
    try:
        source_id = int(source)
    except (TypeError, ValueError):
        raise with_zh(
            GridFileInvalid(
                f"from {source!r} is neither 'active' nor a generation id; list them at "
                "/api/v1/generations",
                field="from",
            ),
            f"来源 {source!r} 既不是 active 也不是版本编号",
        ) from None
    return get_generation(session=session, generation_id=source_id)


def generation_counts(*, session: Session, generation_id: int) -> dict[str, int]:
    rows = session.execute(
        text("SELECT level, count(*) FROM grid WHERE generation_id = :g GROUP BY level"),
        {"g": generation_id},
    ).all()
    found = {int(level): int(n) for level, n in rows}
    return {str(lvl): found.get(lvl, 0) for lvl in LEVELS}
