"""Response schemas of ingest, positions, tracks, coverage and KPIs."""

from __future__ import annotations

from typing import Any

from pydantic import Field

from api.schemas.common import Answer, Listing


class IngestAnswer(Answer):
    """What happened to the fixes: stored, duplicates (already stored), rejected (``errors``:
    index and reason of each), flagged."""

    received: int
    stored: int
    duplicates: int
    rejected: int
    errors: list[dict[str, Any]] = Field(description="each rejected fix: index and reason")


class CoverageRunPublic(Answer):
    run: int
    date: str
    shift: str | None
    generation: int
    params: dict[str, Any]
    computed_at: str | None


class CoverageTable(CoverageRunPublic):
    level: int | None = None
    data: list[dict[str, Any]]
    count: int


class CoverageGrid(CoverageRunPublic):
    """One unit grid's coverage: who covered it and the blind spots."""


class CoverageTracks(CoverageRunPublic):
    """The tracks that covered one unit grid, as GeoJSON features."""


class CoverageTrend(Answer):
    data: list[dict[str, Any]]


class DailyStats(Listing):
    date: str


class KpiTable(Listing):
    """Indicators per unit; every denominator is defined in docs/kpis.md."""


class LatestPositions(Answer):
    """A GeoJSON FeatureCollection of the last fix per device, with counts."""

    type: str = Field(description="FeatureCollection")
    features: list[dict[str, Any]]
    count: int
    online: int
    online_threshold_s: int


# OwnTracks' HTTP mode expects an empty JSON array (no friends' positions to show).
OWNTRACKS_RESPONSES: dict[int | str, dict[str, Any]] = {
    200: {
        "description": "stored; [] (OwnTracks shows no other positions)",
        "content": {"application/json": {"schema": {"type": "array", "maxItems": 0}}},
    }
}
