"""Per-generation point locators, built once from PostGIS and kept in memory by the app."""

from __future__ import annotations

import threading
from dataclasses import dataclass

from sqlalchemy.orm import Session

from gis.locate import GridLocator
from layers.grids import read_grid_frame


@dataclass(frozen=True)
class CityLocator:
    generation_id: int
    locator: GridLocator
    names: dict[str, str]


class LocatorCache:
    """Generations are immutable once loaded, so a locator never goes stale; a published
    generation simply gets its own entry."""

    def __init__(self) -> None:
        self._items: dict[int, CityLocator] = {}
        self._lock = threading.Lock()

    def get(self, *, session: Session, generation_id: int) -> CityLocator:
        found = self._items.get(generation_id)
        if found is not None:
            return found
        with self._lock:
            found = self._items.get(generation_id)
            if found is None:
                frame = read_grid_frame(session=session, generation_id=generation_id)
                found = CityLocator(
                    generation_id=generation_id,
                    locator=GridLocator.from_frame(frame),
                    names=dict(zip(frame["code"], frame["name"], strict=True)),
                )
                self._items[generation_id] = found
        return found

    def peek(self, generation_id: int) -> CityLocator | None:
        """The loaded locator of a generation, or None (no database access)."""
        return self._items.get(generation_id)

    def clear(self) -> None:
        with self._lock:
            self._items.clear()
