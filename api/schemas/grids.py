"""Response schemas of the grids, locate, places, zones, tiles, health and review routes."""

from __future__ import annotations

from typing import Any

from pydantic import Field

from api.schemas.common import Answer


class HealthPublic(Answer):
    status: str = Field(description="ok")
    database: str = Field(description="up, or read_only")
    postgis: str
    calendar_unconfirmed_years: list[int]


class GridRef(Answer):
    code: str
    name: str


class GenerationRef(Answer):
    id: int
    name: str


class GridFeature(Answer):
    """A GeoJSON Feature of one grid (CGCS2000, named CRS) with its relatives in properties:
    ``code, name, level, parent_code, area_m2, ancestors, children, neighbours, generation``."""

    type: str = Field(description="Feature")
    id: str
    geometry: dict[str, Any]
    properties: dict[str, Any]


class GridHistory(Answer):
    code: str
    history: list[dict[str, Any]] = Field(description="the grid in each generation, oldest first")
    lineage: list[dict[str, Any]]


class LocatePublic(Answer):
    """One point's grids (``l1``, ``l2``, ``l3`` when found) in ``generation``."""

    input: dict[str, Any]
    lon: float
    lat: float
    crs: str
    generation: GenerationRef
    found: bool


class LocatedPoint(Answer):
    l3: str | None
    l2: str | None
    l1: str | None
    id: Any = Field(default=None, description="the point's id, when the request gave ids")


class LocateBatchPublic(Answer):
    """A batch's answer: per point (in the request's order) its grid codes, in the generation
    used; ``found`` counts the points inside a unit grid."""

    generation: GenerationRef
    crs: str
    count: int
    found: int
    results: list[LocatedPoint]


class PlacesPublic(Answer):
    query: str
    data: list[dict[str, Any]]
    count: int


class ZonesValidation(Answer):
    ok: bool
    towns: dict[str, dict[str, Any]]


class ZonesCheck(Answer):
    ok: bool
    problems: list[dict[str, Any]]


class TownZones(Answer):
    town_code: str
    zones: list[dict[str, Any]]


class TileJSON(Answer):
    """TileJSON 3.0.0 of a tile layer, with the generation it shows."""

    tilejson: str
    tiles: list[str]
    minzoom: int
    maxzoom: int
    vector_layers: list[dict[str, Any]]


class OgcTilesets(Answer):
    tilesets: list[dict[str, Any]]


class OgcTileset(Answer):
    title: str
    dataType: str
    crs: str
    links: list[dict[str, Any]]


class GenerationProblems(Answer):
    generation: int
    ok: bool
    counts: dict[int, int] = Field(description="grids per level")
    by_kind: dict[str, Any]
    problems: list[dict[str, Any]]


class GenerationReview(Answer):
    generation: int
    steps: list[dict[str, Any]]
    count: int


class GenerationComparison(Answer):
    counts: dict[str, Any]
    outline: dict[str, Any]
    codes: dict[str, Any]
    against: dict[str, Any]


class DraftAnswer(Answer):
    """A draft after a change (GenerationPublic's fields), with what the change did."""

    id: int | None = None
    status: str | None = None


class EditLog(Answer):
    generation: int
    version: int
    edits: list[dict[str, Any]]


class EditResult(Answer):
    """The changed grids and the validation of the touched towns; ``version`` the new one."""

    version: int


class GenerationDiff(Answer):
    """A GeoJSON FeatureCollection of the grids added, removed or reshaped."""

    type: str
    old_generation: int
    new_generation: int
    counts: dict[str, Any]
    features: list[dict[str, Any]]


class GenerationLineage(Answer):
    old_generation: int
    new_generation: int
    lineage: list[dict[str, Any]]


class GenerationImpact(Answer):
    draft: int
    against: int
    changed_grids: list[dict[str, Any]]
    totals: dict[str, int]
