"""Which town's shard holds case ``id``: the ``event_town`` lookup (migration 0027).

A case and all its rows live on the shard of the town it was filed in (``filed_town_code``,
migration 0026; on Citus the event tables are distributed by it, layers/citus.py), but the
public handle of a case is its id alone (``/api/v1/events/{id}``). This table maps an id to its
filed town: one row per case, written with the case (``layers.events.models``), never changed
(the filed town never changes). On Citus it is distributed by ``event_id``, so the lookup is a
query routed to one shard, and the case's own reads (the case, its timeline, its photos) name
the town and are routed to the case's shard: two single-shard queries instead of one query sent
to every shard of ``event``. On single-node PostGIS it is a plain table (a primary-key lookup).
"""

from __future__ import annotations

from sqlalchemy import Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from layers.db import Base


class EventTown(Base):
    """Case id → the town (9-digit level-1 grid code) whose shard holds the case."""

    __tablename__ = "event_town"

    event_id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    filed_town_code: Mapped[str] = mapped_column(String(9))
