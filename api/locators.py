"""Per-generation point locators, built once from PostGIS and kept in memory by the app."""

from __future__ import annotations

import threading
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from gis.locate import GridLocator
from layers.grids import read_grid_frame
from layers.models import Generation, GenerationStatus


@dataclass(frozen=True)
class CityLocator:
    generation_id: int
    locator: GridLocator
    names: dict[str, str]
    content_version: int | None = None
    """for a draft: the generation's content_version it was built from; None: immutable"""


class LocatorCache:
    """Published and retired generations are immutable, so their locator never goes stale; a
    published generation simply gets its own entry. A draft's grids change with every edit:
    its locator is checked against ``generation.content_version`` (one small query) and rebuilt
    when an edit has changed it."""

    def __init__(self) -> None:
        self._items: dict[int, CityLocator] = {}
        self._lock = threading.Lock()

    def get(self, *, session: Session, generation_id: int) -> CityLocator:
        found = self._items.get(generation_id)
        if found is not None and found.content_version is None:
            return found
        with self._lock:
            found = self._items.get(generation_id)
            status, version = session.execute(
                select(Generation.status, Generation.content_version).where(
                    Generation.id == generation_id
                )
            ).one()
            mutable = status not in (GenerationStatus.ACTIVE, GenerationStatus.RETIRED)
            if found is None or (mutable and found.content_version != version):
                frame = read_grid_frame(session=session, generation_id=generation_id)
                found = CityLocator(
                    generation_id=generation_id,
                    locator=GridLocator.from_frame(frame),
                    names=dict(zip(frame["code"], frame["name"], strict=True)),
                    content_version=version if mutable else None,
                )
                self._items[generation_id] = found
        return found

    def peek(self, generation_id: int) -> CityLocator | None:
        """The loaded locator of a generation, or None (no database access)."""
        return self._items.get(generation_id)

    def clear(self) -> None:
        with self._lock:
            self._items.clear()


def warm_active(cache: LocatorCache, sessions: sessionmaker[Session]) -> threading.Thread:
    """Build the active generation's locator in a background thread at server start and when
    a publication is announced (``GENERATION_CHANNEL``), so that
    the first fix or locate request does not spend ~200 ms building the STRtree while holding
    the GIL (measured: ``/health`` waited 370 ms behind the first upload after a start). A
    city without an active generation is simply not warmed; any error is left to the first
    request, which reports it as usual."""

    def run() -> None:
        try:
            with sessions() as session:  # read only: no scheduled publication applied here
                active = session.scalar(
                    select(Generation.id).where(Generation.status == GenerationStatus.ACTIVE)
                )
                if active is not None:
                    cache.get(session=session, generation_id=active)
        except Exception:  # warming is optional; the request path reports any fault
            return

    thread = threading.Thread(target=run, name="gridgis-warm-locator", daemon=True)
    thread.start()
    return thread
