"""Grid generations and grids in PostGIS: load, publish, query.

A generation is imported as a draft (bulk COPY), checked, then published: it becomes the one
active generation and the previous one is retired with the same timestamp, so at any instant
exactly one generation was in force ("which grid was this point in on date D").
"""

from __future__ import annotations

import threading
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

import orjson
import psycopg
import shapely
from sqlalchemy import func, select, text, update
from sqlalchemy.orm import Session, make_transient_to_detached

from gis.codes import ancestors_of
from gis.crs import SRID_CGCS2000
from layers.errors import CodeConflict, GenerationNotFound, GridNotFound, InvalidState, with_zh
from layers.integrity import describe_integrity
from layers.models import Generation, GenerationStatus, Grid
from layers.ogc_items import grid_feature

if TYPE_CHECKING:  # geopandas is imported where a frame is made: commands start without it
    import geopandas as gpd

SUBDIVIDE_MAX_VERTICES = 64  # small parts keep PostGIS point-in-polygon tests cheap
PUBLISHABLE = (GenerationStatus.DRAFT, GenerationStatus.SUBMITTED, GenerationStatus.APPROVED)


def create_generation(*, session: Session, name: str, note: str | None = None) -> Generation:
    generation = Generation(name=name, note=note, status=GenerationStatus.DRAFT)
    session.add(generation)
    session.flush()
    return generation


def load_grids(
    *, session: Session, generation_id: int, grids: gpd.GeoDataFrame, metric_srid: int
) -> int:
    """Bulk-load a grid frame into a draft generation by COPY; returns the number of rows.

    Areas are computed in PostGIS in ``metric_srid``; the L3 grids are subdivided into
    ``grid_part`` for fast server-side point lookups.
    """
    generation = get_generation(session=session, generation_id=generation_id)
    if generation.status is not GenerationStatus.DRAFT:
        raise InvalidState(
            f"generation {generation_id} is {generation.status}; load grids into a new draft",
            field="generation",
        )
    if grids.crs is None or grids.crs.to_epsg() != SRID_CGCS2000:
        raise ValueError("grids must be in EPSG:4490; call grids.to_crs(4490) first")
    geoms = shapely.force_2d(grids.geometry.values)
    polys = shapely.get_type_id(geoms) == shapely.GeometryType.POLYGON
    geoms[polys] = (
        shapely.multipolygons(geoms[polys].reshape(-1, 1)) if polys.any() else geoms[polys]
    )
    wkb = shapely.to_wkb(shapely.set_srid(geoms, SRID_CGCS2000), hex=True, include_srid=True)
    raw = session.connection().connection.driver_connection
    columns = "generation_id, level, code, parent_code, name, geom, area_m2"
    try:
        with (
            raw.cursor() as cursor,  # type: ignore[union-attr]
            cursor.copy(f"COPY grid ({columns}) FROM STDIN") as copy,
        ):
            for row, geom_hex in zip(grids.itertuples(index=False), wkb, strict=True):
                parent = row.parent_code if isinstance(row.parent_code, str) else None
                copy.write_row(
                    (generation_id, int(row.level), row.code, parent, row.name, geom_hex, 0.0)
                )
    except psycopg.errors.IntegrityError as exc:
        # The database's constraints are the last line of defence; say which field broke.
        words = describe_integrity(exc)
        raise with_zh(
            CodeConflict(
                f"the grids break a rule of the data ({words.field}: {words.en}); validate the "
                "file first (gis.hierarchy.validate_hierarchy) and fix the codes",
                field="grids",
            ),
            f"网格不符合数据规则（{words.field}：{words.zh}）；请先校验文件并更正编码",
        ) from None
    # Areas in metres: transform the stored geometry (not indexed here, so no index is lost).
    session.execute(
        text(
            "UPDATE grid SET area_m2 = ST_Area(ST_Transform(geom, :srid)) WHERE generation_id = :g"
        ),
        {"srid": metric_srid, "g": generation_id},
    )
    session.execute(
        text(
            "INSERT INTO grid_part (generation_id, code, geom) "
            "SELECT generation_id, code, ST_Subdivide(geom, :n) FROM grid "
            "WHERE generation_id = :g AND level = 3"
        ),
        {"n": SUBDIVIDE_MAX_VERTICES, "g": generation_id},
    )
    return len(grids)


def publish_generation(
    *, session: Session, generation_id: int, at: datetime | None = None
) -> Generation:
    """Make a draft the active generation; the previously active one is retired at ``at``.

    The review workflow (submitted → approved, who and why, dry run, scheduling) is
    ``layers.planning.review.publish``; this is the bare state change it uses.
    """
    at = at or datetime.now(UTC)
    mark_generations_changed(session)
    generation = get_generation(session=session, generation_id=generation_id)
    if generation.status not in PUBLISHABLE:
        raise InvalidState(
            f"generation {generation_id} is {generation.status}; only a draft, submitted or "
            "approved generation can be published",
            field="generation",
        )
    session.execute(
        update(Generation)
        .where(Generation.status == GenerationStatus.ACTIVE)
        .values(status=GenerationStatus.RETIRED, retired_at=at)
    )
    session.flush()
    generation.status = GenerationStatus.ACTIVE
    generation.activated_at = at
    session.flush()
    return generation


def get_generation(*, session: Session, generation_id: int) -> Generation:
    generation = session.get(Generation, generation_id)
    if generation is None:
        raise GenerationNotFound(
            f"no generation {generation_id}; list them at /api/v1/generations",
            field="generation",
        )
    return generation


def list_generations(*, session: Session) -> list[Generation]:
    """Every generation, by id, with scheduled publications whose time has come applied
    first (a listing never shows one as still ``approved`` after its ``effective_at``)."""
    from layers.planning.review import apply_due_publications

    apply_due_publications(session)
    return list(session.scalars(select(Generation).order_by(Generation.id)))


GENERATIONS_CHANGED = "gridgis_generations_changed"


def mark_generations_changed(session: Session) -> None:
    """Note on ``session`` that the generation in force changes when it commits: this session
    bypasses :data:`ACTIVE_CACHE` from now on, and the server drops it after the commit
    (other processes hear the database's NOTIFY, migration 0014)."""
    session.info[GENERATIONS_CHANGED] = True


class ActiveGenerationCache:
    """The active generation, kept by a server process between publications so that a request
    does not spend two queries (due publications, active row) before its work.

    Off until :meth:`set_enabled` (the server's change listener is connected: a publication
    in any process then reaches it at once); an entry is never used past the next scheduled
    publication's ``effective_at``; :attr:`epoch` guards against storing a value read before an
    invalidation. Outside a server (CLI, tests of layers) it stays off.
    """

    def __init__(self) -> None:
        self._entry: tuple[Generation, datetime | None] | None = None
        self._epoch = 0
        self._enabled = False
        self._lock = threading.Lock()

    @property
    def epoch(self) -> int:
        return self._epoch

    def get(self, session: Session) -> Generation | None:
        if session.info.get(GENERATIONS_CHANGED) or (generation := self.peek()) is None:
            return None
        # a copy attached to this session without a query (the cached one stays detached)
        return session.merge(generation, load=False)

    def peek(self) -> Generation | None:
        """The cached generation itself, detached and shared: read its columns, never change
        it (``get`` attaches a copy to a session). None when the cache cannot answer."""
        entry = self._entry
        if not self._enabled or entry is None:
            return None
        generation, until = entry
        if until is not None and until <= datetime.now(UTC):
            return None
        return generation

    def put(self, session: Session, generation: Generation, epoch: int) -> None:
        if not self._enabled or session.info.get(GENERATIONS_CHANGED):
            return
        until = session.scalar(
            select(func.min(Generation.effective_at)).where(
                Generation.status == GenerationStatus.APPROVED,
                Generation.effective_at.is_not(None),
            )
        )
        columns = {c.key: getattr(generation, c.key) for c in Generation.__mapper__.column_attrs}
        copy = Generation(**columns)
        make_transient_to_detached(copy)
        with self._lock:
            if epoch == self._epoch:
                self._entry = (copy, until)

    def invalidate(self, *_: Any) -> None:
        with self._lock:
            self._epoch += 1
            self._entry = None

    def set_enabled(self, enabled: bool) -> None:
        with self._lock:
            self._enabled = enabled
            self._epoch += 1
            self._entry = None


ACTIVE_CACHE = ActiveGenerationCache()


def due_publications(session: Session, when: datetime, limit: int | None = None) -> list[int]:
    """Ids of the approved generations whose ``effective_at`` has come by ``when``, the oldest
    first (``layers.planning.review.apply_due_publications`` activates them)."""
    return list(
        session.scalars(
            select(Generation.id)
            .where(Generation.status == GenerationStatus.APPROVED)
            .where(Generation.effective_at.is_not(None), Generation.effective_at <= when)
            .order_by(Generation.effective_at, Generation.id)
            .limit(limit)
        ).all()
    )


def active_generation(*, session: Session, at: datetime | None = None) -> Generation:
    """The generation in force at ``at`` (now if None).

    Scheduled publications whose time has come are applied first
    (``layers.planning.review.apply_due_publications``), so a lookup never answers a
    generation that a scheduled one has replaced. In a server, the current one comes from
    :data:`ACTIVE_CACHE` without a query.
    """
    if at is None and (cached := ACTIVE_CACHE.get(session)) is not None:
        return cached
    epoch = ACTIVE_CACHE.epoch
    if not session.info.get("gridgis_applying_publications") and due_publications(
        session, datetime.now(UTC), limit=1
    ):  # the review code (and geopandas with it) is imported only when there is work
        from layers.planning.review import apply_due_publications

        apply_due_publications(session)
    if at is None:
        found = session.scalar(
            select(Generation).where(Generation.status == GenerationStatus.ACTIVE)
        )
        if found is None:
            raise GenerationNotFound(
                "no active grid generation; load the demo city with `gridgis demo` "
                "or publish a generation",
                field="generation",
            )
        ACTIVE_CACHE.put(session, found, epoch)
        return found
    if at.tzinfo is None:
        at = at.replace(tzinfo=UTC)
    found = session.scalar(
        select(Generation)
        .where(Generation.activated_at <= at)
        .where((Generation.retired_at.is_(None)) | (Generation.retired_at > at))
        .order_by(Generation.activated_at.desc())
        .limit(1)
    )
    if found is None:
        raise GenerationNotFound(
            f"no grid generation was in force at {at.isoformat()}; the earliest one was "
            "activated later — ask for a later date",
            field="at",
        )
    return found


def resolve_generation(
    *, session: Session, generation_id: int | None = None, at: datetime | None = None
) -> Generation:
    """An explicit generation id wins; otherwise the one in force at ``at`` (or now)."""
    if generation_id is not None:
        return get_generation(session=session, generation_id=generation_id)
    return active_generation(session=session, at=at)


def read_grid_frame(
    *, session: Session, generation_id: int, level: int | None = None
) -> gpd.GeoDataFrame:
    """The grids of a generation as a grid frame (EPSG:4490)."""
    sql = (
        "SELECT code, level, parent_code, name, area_m2, ST_AsBinary(geom) AS geometry "
        "FROM grid WHERE generation_id = :g"
        + (" AND level = :level" if level else "")
        + " ORDER BY level, code"
    )
    import geopandas as gpd

    rows = session.execute(text(sql), {"g": generation_id, "level": level}).all()
    frame = gpd.GeoDataFrame(
        {
            "code": [r.code for r in rows],
            "level": [r.level for r in rows],
            "parent_code": [r.parent_code for r in rows],
            "name": [r.name for r in rows],
            "area_m2": [r.area_m2 for r in rows],
        },
        geometry=shapely.from_wkb([bytes(r.geometry) for r in rows]),
        crs=SRID_CGCS2000,
    )
    return frame


@dataclass(frozen=True)
class GridQuery:
    """Filters of a grid listing. ``bbox`` is (west, south, east, north) in EPSG:4490."""

    generation_id: int
    level: int | None = None
    parent_code: str | None = None
    bbox: tuple[float, float, float, float] | None = None
    simplify_m: float | None = None
    limit: int | None = None
    offset: int = 0


def _grid_where(query: GridQuery) -> tuple[str, dict[str, Any]]:
    clauses = ["generation_id = :g"]
    params: dict[str, Any] = {"g": query.generation_id}
    if query.level is not None:
        clauses.append("level = :level")
        params["level"] = query.level
    if query.parent_code is not None:
        clauses.append("parent_code = :parent")
        params["parent"] = query.parent_code
    if query.bbox is not None:
        # The envelope is built in the column's SRID so the GiST index on geom is used;
        # ST_Intersects tests the geometry itself (an L-shaped grid whose envelope alone meets
        # the bbox is not returned), after the index's envelope test.
        clauses.append("ST_Intersects(geom, ST_MakeEnvelope(:w, :s, :e, :n, 4490))")
        params.update(dict(zip("wsen", query.bbox, strict=True)))
    return " AND ".join(clauses), params


def count_grids(*, session: Session, query: GridQuery) -> int:
    where, params = _grid_where(query)
    return int(
        session.execute(text(f"SELECT count(*) FROM grid WHERE {where}"), params).scalar_one()
    )


def grid_features(*, session: Session, query: GridQuery) -> list[dict[str, Any]]:
    """GeoJSON features (dicts) for the grids matching ``query``, geometry built by PostGIS.

    ``simplify_m`` simplifies with topology preserved per polygon, tolerance given in metres and
    converted to degrees at the city's latitude (1e-5 deg ~ 1.1 m).
    """
    where, params = _grid_where(query)
    geom_sql = "geom"
    if query.simplify_m:
        geom_sql = "ST_SimplifyPreserveTopology(geom, :tol)"
        params["tol"] = query.simplify_m / 111_000.0
    page = ""
    if query.limit is not None:
        page = " LIMIT :limit OFFSET :offset"
        params.update(limit=query.limit, offset=query.offset)
    sql = (
        f"SELECT code, name, level, parent_code, area_m2, ST_AsGeoJSON({geom_sql}, 7, 0) AS gj "
        f"FROM grid WHERE {where} ORDER BY level, code{page}"
    )
    return [grid_feature(row) for row in session.execute(text(sql), params)]


def get_grid(*, session: Session, generation_id: int, code: str) -> Grid:
    grid = session.scalar(
        select(Grid).where(Grid.generation_id == generation_id, Grid.code == code)
    )
    if grid is None:
        raise GridNotFound(
            f"no grid {code} in generation {generation_id}; find codes with /api/v1/grids",
            field="code",
        )
    return grid


def grid_summary(grid: Grid) -> dict[str, Any]:
    return {
        "code": grid.code,
        "name": grid.name,
        "level": grid.level,
        "parent_code": grid.parent_code,
        "area_m2": round(grid.area_m2, 1),
    }


def grid_relations(*, session: Session, generation_id: int, code: str) -> dict[str, Any]:
    """Ancestors (nearest first), children and edge-sharing neighbours of the same level."""
    grid = get_grid(session=session, generation_id=generation_id, code=code)
    ancestors = [
        grid_summary(get_grid(session=session, generation_id=generation_id, code=a))
        for a in ancestors_of(code)
    ]
    children = session.scalars(
        select(Grid)
        .where(Grid.generation_id == generation_id, Grid.parent_code == code)
        .order_by(Grid.code)
    ).all()
    # Neighbours share a boundary line (DE-9IM boundary/boundary dimension 1), not just a point.
    neighbour_codes = session.execute(
        text(
            "SELECT n.code FROM grid g JOIN grid n ON n.generation_id = g.generation_id "
            "AND n.level = g.level AND n.code <> g.code AND n.geom && g.geom "
            "AND ST_Relate(g.geom, n.geom, 'F***1****') "
            "WHERE g.generation_id = :g AND g.code = :code ORDER BY n.code"
        ),
        {"g": generation_id, "code": code},
    ).scalars()
    neighbours = [
        grid_summary(get_grid(session=session, generation_id=generation_id, code=c))
        for c in neighbour_codes
    ]
    return {
        **grid_summary(grid),
        "ancestors": ancestors,
        "children": [grid_summary(c) for c in children],
        "neighbours": neighbours,
    }


def grid_geometry_geojson(*, session: Session, grid: Grid) -> dict[str, Any]:
    gj = session.scalar(select(func.ST_AsGeoJSON(Grid.geom, 7, 0)).where(Grid.id == grid.id))
    return dict(orjson.loads(gj or "null"))


def locate_in_postgis(
    *, session: Session, generation_id: int, lon: float, lat: float
) -> str | None:
    """The L3 code covering (lon, lat) by PostGIS, with the locator's tie rule (smallest code).

    Used to cross-check ``gis.locate`` and as the server-side baseline in benchmarks.
    """
    return session.execute(
        text(
            "SELECT code FROM grid_part WHERE generation_id = :g "
            "AND ST_Covers(geom, ST_SetSRID(ST_MakePoint(:lon, :lat), 4490)) "
            "ORDER BY code LIMIT 1"
        ),
        {"g": generation_id, "lon": lon, "lat": lat},
    ).scalar()
