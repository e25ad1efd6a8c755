"""The one rule for naming a town, village or grid by its code in reports (issue 14, F14a).

A unit's name is the name in the generation **in force** at the report's time (now, or for a
past period the generation in force then); a code that generation does not hold (a grid
retired since) is named by the latest *published* generation that held it before that time
(none before: the first published after it).
A draft, a submitted or an approved-but-not-yet-published generation never names anything:
importing a draft with garbled names must not change the live KPI JSON/CSV/XLSX, the front
page's ranking, the zone list or any export until it is published.

Used by layers.events.kpis.unit_names (KPIs, dashboard ranking), layers.zones (town names of
enforcement zones) and the Open311 place lookup; pages and reports that read one generation's
grids (the active one, layers.grids.active_generation) follow the same rule by construction.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterable
from datetime import UTC, datetime

from sqlalchemy import text
from sqlalchemy.orm import Session

from layers.errors import GenerationNotFound

_SQL = text(
    "SELECT DISTINCT ON (g.code) g.code, g.name FROM grid g "
    "JOIN generation n ON n.id = g.generation_id "
    "WHERE g.code = ANY(:codes) AND n.activated_at IS NOT NULL "
    "ORDER BY g.code, "
    # the generation in force at :at first, then the published one nearest in time (before
    # :at first: the latest that held the code; none before: the first published after)
    "(n.activated_at <= :at AND (n.retired_at IS NULL OR n.retired_at > :at)) DESC, "
    "(n.activated_at <= :at) DESC, abs(extract(epoch FROM n.activated_at - :at)), n.id DESC"
)


def names_in_force(
    *, session: Session, codes: Iterable[str], at: datetime | None = None
) -> dict[str, str]:
    """``{code: name}`` for the grid codes (any level) by the rule of this module at ``at``
    (aware datetime; now if None). Codes no published generation ever held are left out
    (callers show the code). One query."""
    wanted = sorted({str(c) for c in codes if c})
    if not wanted:
        return {}
    if at is None:
        # scheduled publications whose time has come are applied first (one rule with
        # layers.grids.active_generation)
        from layers.grids import active_generation

        with contextlib.suppress(GenerationNotFound):
            active_generation(session=session)
        at = datetime.now(UTC)
    elif at.tzinfo is None:
        at = at.replace(tzinfo=UTC)
    rows = session.execute(_SQL, {"codes": wanted, "at": at})
    return {str(code): str(name) for code, name in rows}
