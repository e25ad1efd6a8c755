"""Where a grid's name goes on a map, and a generation's extent and counts: what the map pages
need of a generation besides its vector tiles (no geometry leaves the database).

Label points are the centres of each grid's maximum inscribed circle (PostGIS
``ST_MaximumInscribedCircle``, the pole of inaccessibility that ``shapely.ops.polylabel``
gives): inside the grid even for a U-shaped or multi-part one, and as far from its edges as
possible. Points in EPSG:4490 (lon, lat degrees), like the stored geometries. About 250 ms for
the 1,846 grids of the demo city, so the pages ask for the towns and villages once per
generation and for unit grids only within the view (``bbox``).
"""

from __future__ import annotations

from dataclasses import dataclass, field

from sqlalchemy import text
from sqlalchemy.orm import Session

MAX_LABELS = 2000
"""At most this many labels in one answer (a z15 view of the city holds about 60 unit grids)."""


@dataclass(frozen=True)
class GridLabel:
    """One grid's name at its label point (EPSG:4490 degrees)."""

    code: str
    name: str
    level: int
    lon: float
    lat: float


@dataclass(frozen=True)
class GenerationOutline:
    """A generation's extent ``[[south, west], [north, east]]`` (EPSG:4490 degrees; ``None``
    without grids), its number of grids per level (1, 2, 3) and the median east-west extent of
    a grid per level (degrees of longitude: the zoom from which a name fits follows from it)."""

    bounds: list[list[float]] | None
    counts: dict[int, int] = field(default_factory=dict)
    median_width_deg: dict[int, float] = field(default_factory=dict)


def grid_labels(
    *,
    session: Session,
    generation_id: int,
    levels: tuple[int, ...],
    bbox: tuple[float, float, float, float] | None = None,
    parent_code: str | None = None,
    limit: int = MAX_LABELS,
) -> list[GridLabel]:
    """Label points of the grids of ``levels`` in a generation (only the children of
    ``parent_code`` if given), by level and code.

    ``bbox`` (west, south, east, north; EPSG:4490 degrees) keeps the grids whose label point
    falls inside it; the index test uses the grid's envelope (``geom && envelope``), the exact
    test the point. At most ``limit`` rows.
    """
    # Raw SQL: ST_MaximumInscribedCircle returns a record; its centre is (…).center.
    sql = (
        "SELECT code, name, level, ST_X(c) AS lon, ST_Y(c) AS lat FROM ("
        " SELECT code, name, level, (ST_MaximumInscribedCircle(geom)).center AS c"
        " FROM grid WHERE generation_id = :g AND level = ANY(:levels)"
        + (" AND parent_code = :parent" if parent_code else "")
        + (" AND geom && ST_MakeEnvelope(:w, :s, :e, :n, 4490)" if bbox else "")
        + ") labelled"
        + (" WHERE ST_Intersects(c, ST_MakeEnvelope(:w, :s, :e, :n, 4490))" if bbox else "")
        + " ORDER BY level, code LIMIT :limit"
    )
    params: dict[str, object] = {
        "g": generation_id,
        "levels": list(levels),
        "limit": limit,
        "parent": parent_code,
    }
    if bbox:
        params.update(dict(zip(("w", "s", "e", "n"), bbox, strict=True)))
    rows = session.execute(text(sql), params).all()
    return [
        GridLabel(r.code, r.name or r.code, int(r.level), round(r.lon, 6), round(r.lat, 6))
        for r in rows
    ]


def generation_outline(*, session: Session, generation_id: int) -> GenerationOutline:
    """The generation's extent, grid counts and median widths per level (one query)."""
    rows = session.execute(
        text(
            "SELECT level, count(*) AS n, ST_XMin(ST_Extent(geom)) AS w, "
            "ST_YMin(ST_Extent(geom)) AS s, ST_XMax(ST_Extent(geom)) AS e, "
            "ST_YMax(ST_Extent(geom)) AS n_, "
            "percentile_cont(0.5) WITHIN GROUP (ORDER BY ST_XMax(geom) - ST_XMin(geom)) AS width "
            "FROM grid WHERE generation_id = :g GROUP BY level"
        ),
        {"g": generation_id},
    ).all()
    if not rows:
        return GenerationOutline(None, {1: 0, 2: 0, 3: 0})
    west = min(r.w for r in rows)
    south = min(r.s for r in rows)
    east = max(r.e for r in rows)
    north = max(r.n_ for r in rows)
    counts = {level: 0 for level in (1, 2, 3)}
    counts.update({int(r.level): int(r.n) for r in rows})
    widths = {int(r.level): float(r.width) for r in rows if r.width}
    return GenerationOutline([[south, west], [north, east]], counts, widths)
