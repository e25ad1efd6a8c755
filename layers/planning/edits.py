"""Edits of a draft generation that keep the tiling, logged, undoable, with optimistic locking.

Every edit reads the few grids it touches, computes their new geometries with
``gis.topoedit`` (shared vertices move in every grid that has them), re-derives the parents
that changed (a village is the union of its unit grids, a town of its villages), writes the
rows back and logs the edit with who and why and the exact rows before and after, so undo and
redo restore the draft byte for byte. The answer is the changed grids and the validation
problems that remain in the towns the edit touched (``gis.hierarchy`` checks).

Codes (DOMAIN.md section 1): a grid whose boundary moves keeps its code; split parts, a merged
grid and a re-parented grid get the next free sequence numbers of their village; a code used
by any generation (or by an earlier edit of this draft) is never given to another grid.

Locking: ``generation.version`` (the draft's ETag, shared with the review steps) goes up by one
with every edit, undo and redo; a caller passes the version it saw and gets
``DraftVersionConflict`` (HTTP 409, with the current version) if someone changed the draft in
between. The generation row is locked (``FOR UPDATE``) for the edit.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

import geopandas as gpd
import shapely
from shapely.geometry import shape
from sqlalchemy import (
    CheckConstraint,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    func,
    select,
    text,
)
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import Mapped, Session, mapped_column

from gis import topoedit
from gis.codes import LEVEL_CODE_LENGTH, code_problems, parent_of
from gis.crs import SRID_CGCS2000, SRID_METRIC_DEFAULT
from gis.hierarchy import validate_hierarchy
from layers.db import Base
from layers.errors import CodeConflict, DomainError, GridNotFound, InvalidGeometry, InvalidState
from layers.grids import SUBDIVIDE_MAX_VERTICES, get_generation
from layers.models import Generation, GenerationStatus

OPS = ("move_vertex", "move_edge", "split", "merge", "reparent", "rename", "recode")
DEFAULT_SNAP_M = 5.0
MAX_SNAP_M = 100.0
MAX_OFFSET_M = 5_000.0


class DraftVersionConflict(DomainError):
    """The draft changed since the caller read it (another editor); HTTP 409."""


class InvalidEdit(DomainError):
    """An edit that cannot be made as asked (wrong op, missing value); HTTP 422."""


class DraftEdit(Base):
    """One edit of a draft: what, who, why, and the grid rows before and after it."""

    __tablename__ = "draft_edit"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    generation_id: Mapped[int] = mapped_column(ForeignKey("generation.id", ondelete="CASCADE"))
    version: Mapped[int] = mapped_column(Integer)  # the draft's version after the edit
    op: Mapped[str] = mapped_column(String(20))
    params: Mapped[Any] = mapped_column(JSONB)
    reason: Mapped[str] = mapped_column(Text)
    actor: Mapped[str] = mapped_column(String(200))
    at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())
    before: Mapped[Any] = mapped_column(JSONB)  # [{code, level, parent_code, name, wkb}]
    after: Mapped[Any] = mapped_column(JSONB)
    state: Mapped[str] = mapped_column(String(10), server_default="done")
    undone_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    undone_by: Mapped[str | None] = mapped_column(String(200))

    __table_args__ = (
        CheckConstraint("state IN ('done', 'undone', 'discarded')", name="draft_edit_state_valid"),
        Index("draft_edit_generation", "generation_id", "id"),
    )


@dataclass
class GridRow:
    code: str
    level: int
    parent_code: str | None
    name: str
    geom: shapely.Geometry

    def to_json(self) -> dict[str, Any]:
        return {
            "code": self.code,
            "level": self.level,
            "parent_code": self.parent_code,
            "name": self.name,
            "wkb": shapely.to_wkb(topoedit.as_multipolygon(self.geom), hex=True),
        }

    @classmethod
    def from_json(cls, d: dict[str, Any]) -> GridRow:
        return cls(d["code"], d["level"], d["parent_code"], d["name"], shapely.from_wkb(d["wkb"]))


# -- reading -----------------------------------------------------------------------------------
def _read(session: Session, gen: int, where: str, **params: Any) -> dict[str, GridRow]:
    sql = (
        "SELECT code, level, parent_code, name, ST_AsBinary(geom) AS wkb FROM grid "
        f"WHERE generation_id = :gen AND {where}"
    )
    rows = session.execute(text(sql), {"gen": gen, **params}).all()
    return {
        r.code: GridRow(r.code, r.level, r.parent_code, r.name, shapely.from_wkb(bytes(r.wkb)))
        for r in rows
    }


def _by_codes(session: Session, gen: int, codes: set[str]) -> dict[str, GridRow]:
    return _read(session, gen, "code = ANY(:codes)", codes=sorted(codes)) if codes else {}


def _one(session: Session, gen: int, code: str, field: str = "code") -> GridRow:
    found = _by_codes(session, gen, {code})
    if code not in found:
        raise GridNotFound(
            f"no grid {code} in draft {gen}; list its grids at /api/v1/grids?generation={gen}",
            field=field,
        )
    return found[code]


def _l3_near(
    session: Session, gen: int, geom: shapely.Geometry, dist_deg: float
) -> dict[str, GridRow]:
    """Unit grids within ``dist_deg`` of ``geom`` (GiST index on grid.geom)."""
    return _read(
        session, gen,
        "level = 3 AND ST_DWithin(geom, ST_GeomFromWKB(:g, 4490), :d)",
        g=shapely.to_wkb(geom), d=dist_deg,
    )  # fmt: skip


def _next_unit_codes(session: Session, gen: int, village: str, n: int) -> list[str]:
    """``n`` new unit-grid codes in ``village``: after the highest sequence any generation or
    any edit of this draft ever used there, so retired codes are never reused."""
    used = session.execute(
        text(
            "SELECT max(right(code, 3)::int) FROM ("
            " SELECT code FROM grid WHERE level = 3 AND parent_code = :p"
            " UNION ALL SELECT e->>'code' FROM draft_edit d,"
            "  jsonb_array_elements(d.after) e WHERE d.generation_id = :gen"
            "  AND e->>'parent_code' = :p) c"
        ),
        {"p": village, "gen": gen},
    ).scalar()
    start = int(used or 0) + 1
    if start + n - 1 > 999:
        raise CodeConflict(
            f"village {village} has no free sequence numbers left (next would be "
            f"{start + n - 1}); renumber its grids in a separate adjustment",
            field="code",
        )
    return [f"{village}{s:03d}" for s in range(start, start + n)]


def _next_village_code(session: Session, gen: int, town: str, community: bool) -> str:
    lo, hi = (1, 99) if community else (200, 299)
    used = session.execute(
        text(
            "SELECT max(right(code, 3)::int) FROM grid WHERE level = 2 AND left(code, 9) = :t "
            "AND right(code, 3)::int BETWEEN :lo AND :hi"
        ),
        {"t": town, "lo": lo, "hi": hi},
    ).scalar()
    nxt = max(int(used or 0) + 1, lo)
    if nxt > hi:
        raise CodeConflict(f"town {town} has no free village codes left", field="to_parent")
    return f"{town}{nxt:03d}"


def _code_ever_used(session: Session, code: str) -> bool:
    return bool(
        session.execute(
            text(
                "SELECT EXISTS (SELECT 1 FROM grid WHERE code = :c) OR EXISTS (SELECT 1 FROM "
                "draft_edit d, jsonb_array_elements(d.after) e WHERE e->>'code' = :c)"
            ),
            {"c": code},
        ).scalar()
    )


# -- writing -----------------------------------------------------------------------------------
def _apply(
    session: Session, gen: int, before: list[GridRow], after: list[GridRow], metric_srid: int
) -> None:
    """Replace the ``before`` rows by the ``after`` rows (update same codes, delete gone ones
    children first, insert new ones parents first); areas and grid parts follow."""
    old = {r.code: r for r in before}
    new = {r.code: r for r in after}
    gone = sorted(old.keys() - new.keys(), key=lambda c: -old[c].level)
    if gone:
        session.execute(
            text("DELETE FROM grid WHERE generation_id = :gen AND code = ANY(:codes)"),
            {"gen": gen, "codes": gone},
        )
    upsert = [
        {"gen": gen, "code": r.code, "level": r.level, "parent": r.parent_code, "name": r.name,
         "wkb": r.to_json()["wkb"]}
        for r in sorted(new.values(), key=lambda r: r.level)
    ]  # fmt: skip
    if upsert:
        session.execute(
            text(
                "INSERT INTO grid (generation_id, level, code, parent_code, name, geom, area_m2) "
                "VALUES (:gen, :level, :code, :parent, :name, "
                "ST_SetSRID(ST_GeomFromWKB(decode(:wkb, 'hex')), 4490), 0) "
                "ON CONFLICT (generation_id, code) DO UPDATE SET parent_code = "
                "excluded.parent_code, name = excluded.name, geom = excluded.geom"
            ),
            upsert,
        )
        session.execute(
            text(
                "UPDATE grid SET area_m2 = ST_Area(ST_Transform(geom, :srid)) "
                "WHERE generation_id = :gen AND code = ANY(:codes)"
            ),
            {"srid": metric_srid, "gen": gen, "codes": sorted(new)},
        )
    l3 = sorted({c for c, r in {**old, **new}.items() if r.level == 3})
    if l3:
        session.execute(
            text("DELETE FROM grid_part WHERE generation_id = :gen AND code = ANY(:codes)"),
            {"gen": gen, "codes": l3},
        )
        session.execute(
            text(
                "INSERT INTO grid_part (generation_id, code, geom) SELECT generation_id, code, "
                "ST_Subdivide(geom, :n) FROM grid WHERE generation_id = :gen AND level = 3 "
                "AND code = ANY(:codes)"
            ),
            {"n": SUBDIVIDE_MAX_VERTICES, "gen": gen, "codes": l3},
        )


def _rederive_parents(
    session: Session, gen: int, parents: set[str], metric_srid: int
) -> tuple[list[GridRow], list[GridRow]]:
    """Re-derive the villages and towns in ``parents`` (and the towns of changed villages) as
    the union of their children, after the children were written; returns the (before, after)
    rows of the parents whose geometry changed."""
    before: list[GridRow] = []
    after: list[GridRow] = []
    carry: set[str] = set()
    for level in (2, 1):
        todo = {p for p in parents | carry if len(p) == LEVEL_CODE_LENGTH[level]}
        if not todo:
            continue
        current = _by_codes(session, gen, todo)
        kids = _read(session, gen, "parent_code = ANY(:p)", p=sorted(todo))
        changed: list[GridRow] = []
        for code in sorted(todo & current.keys()):
            mine = [k.geom for k in kids.values() if k.parent_code == code]
            if not mine:
                raise InvalidEdit(
                    f"the edit would leave grid {code} without any children; move or merge "
                    "grids so that every village and town keeps at least one grid",
                    field="code",
                )
            geom = topoedit.as_multipolygon(topoedit.union_coverage(mine))
            row = current[code]
            if not shapely.equals_exact(geom, topoedit.as_multipolygon(row.geom), 0.0):
                changed.append(GridRow(code, level, row.parent_code, row.name, geom))
                before.append(row)
        _apply(session, gen, [current[c.code] for c in changed], changed, metric_srid)
        after.extend(changed)
        carry = {p for c in changed if (p := c.parent_code)}
    return before, after


# -- locking and log ---------------------------------------------------------------------------
def lock_draft(*, session: Session, draft_id: int, expected_version: int | None) -> int:
    """Check the generation is a draft, lock its row and compare ``generation.version`` (the
    same version the review steps and ``GET /api/v1/generations/{id}``'s ETag use) with the
    caller's; returns the current version."""
    get_generation(session=session, generation_id=draft_id)
    row = session.execute(
        text("SELECT status::text AS status, version FROM generation WHERE id = :g FOR UPDATE"),
        {"g": draft_id},
    ).one()
    if row.status != GenerationStatus.DRAFT.value:
        raise InvalidState(
            f"generation {draft_id} is {row.status}; only a draft can be edited — make a draft "
            "from it first (POST /api/v1/generations)",
            field="generation",
        )
    current = int(row.version)
    if expected_version is not None and expected_version != current:
        raise DraftVersionConflict(
            f"draft {draft_id} is at version {current}, you edited version {expected_version}: "
            "someone else changed it; reload the draft and redo your edit on version "
            f"{current}",
            field="version",
            extra={"current_version": current},
        )
    return current


def draft_version(*, session: Session, draft_id: int) -> int:
    return int(
        session.execute(
            text("SELECT version FROM generation WHERE id = :g"), {"g": draft_id}
        ).scalar_one()
    )


def _bump(session: Session, draft_id: int) -> int:
    version = int(
        session.execute(
            text("UPDATE generation SET version = version + 1 WHERE id = :g RETURNING version"),
            {"g": draft_id},
        ).scalar_one()
    )
    for obj in list(session.identity_map.values()):
        if isinstance(obj, Generation):  # they carry the old version
            session.expire(obj, ["version"])
    return version


# -- operations: each returns (before rows, after rows, parents to re-derive) -------------------
Change = tuple[list[GridRow], list[GridRow], set[str]]
_NEAR_DEG = 1e-8  # ~1 mm: grids this close to a point or edge share it


def _coord(params: dict[str, Any], key: str) -> tuple[float, float]:
    value = params.get(key)
    try:
        lon, lat = (float(v) for v in value)  # type: ignore[union-attr]
    except (TypeError, ValueError):
        raise InvalidEdit(
            f"{key} must be [lon, lat] in CGCS2000 degrees, got {value!r}", field=key
        ) from None
    if not (-180 <= lon <= 180 and -90 <= lat <= 90):
        raise InvalidEdit(f"{key} {value!r} is not a lon/lat in degrees", field=key)
    return lon, lat


def _number(params: dict[str, Any], key: str, default: float, lo: float, hi: float) -> float:
    value = params.get(key, default)
    try:
        number = float(value)
    except (TypeError, ValueError):
        number = float("nan")
    if isinstance(value, bool) or not lo <= number <= hi:
        raise InvalidEdit(f"{key} must be a number from {lo:g} to {hi:g}, got {value!r}", field=key)
    return number


def _text_param(params: dict[str, Any], key: str) -> str:
    value = params.get(key)
    if not isinstance(value, str) or not value.strip():
        raise InvalidEdit(f"{key} is required (a non-empty string)", field=key)
    return value.strip()


def _pair(params: dict[str, Any], key: str = "codes") -> tuple[str, str]:
    value = params.get(key)
    if not (isinstance(value, list) and len(value) == 2 and all(isinstance(v, str) for v in value)):
        raise InvalidEdit(f"{key} must be a list of two grid codes, got {value!r}", field=key)
    if value[0] == value[1]:
        raise InvalidEdit(f"{key} names the same grid twice; give two neighbours", field=key)
    return value[0], value[1]


def _moved(
    session: Session, gen: int, moves: dict[tuple[float, float], tuple[float, float]]
) -> Change:
    where = shapely.multipoints(list(moves.keys()))
    having = _l3_near(session, gen, where, _NEAR_DEG)
    if not having:
        return [], [], set()
    # ... and their neighbours, whose vertices on a deforming edge must stay on it
    around = shapely.geometrycollections([r.geom for r in having.values()])
    involved = _l3_near(session, gen, around, _NEAR_DEG)
    try:
        changed = topoedit.move_vertices({c: r.geom for c, r in involved.items()}, moves)
    except topoedit.TopologyEditError as exc:
        raise InvalidGeometry(str(exc), field=exc.field) from None
    before = [involved[c] for c in sorted(changed)]
    after = [GridRow(r.code, 3, r.parent_code, r.name, changed[r.code]) for r in before]
    return before, after, {r.parent_code for r in before if r.parent_code}


def op_move_vertex(session: Session, gen: int, params: dict[str, Any], srid: int) -> Change:
    at, to = _coord(params, "at"), _coord(params, "to")
    snap_m = _number(params, "snap_m", DEFAULT_SNAP_M, 0.0, MAX_SNAP_M)
    near = _l3_near(session, gen, shapely.Point(at), snap_m / 80_000.0)
    vertex = topoedit.snap_vertex([r.geom for r in near.values()], at, snap_m, srid)
    if vertex is None:
        raise InvalidEdit(
            f"no grid vertex within {snap_m} m of {list(at)}; click on a vertex or raise snap_m",
            field="at",
        )
    return _moved(session, gen, {vertex: to})


def op_move_edge(session: Session, gen: int, params: dict[str, Any], srid: int) -> Change:
    a_code, b_code = _pair(params)
    a, b = _one(session, gen, a_code, "codes"), _one(session, gen, b_code, "codes")
    if a.level != 3 or b.level != 3 or not topoedit.shares_edge(a.geom, b.geom):
        raise InvalidEdit(
            f"{a_code} and {b_code} are not neighbouring unit grids; give two unit grids that "
            "share the edge to move (an edge between villages is an edge between their grids)",
            field="codes",
        )
    offset = params.get("offset_m")
    try:
        dx, dy = (float(v) for v in offset)  # type: ignore[union-attr]
    except (TypeError, ValueError):
        raise InvalidEdit(
            f"offset_m must be [dx_east, dy_north] in metres, got {offset!r}", field="offset_m"
        ) from None
    if not (abs(dx) <= MAX_OFFSET_M and abs(dy) <= MAX_OFFSET_M):
        raise InvalidEdit(
            f"offset_m {offset!r} is more than {MAX_OFFSET_M:.0f} m (or not a number); move an "
            "edge in smaller steps",
            field="offset_m",
        )
    verts = topoedit.shared_vertices(a.geom, b.geom)
    return _moved(session, gen, topoedit.offset_moves(verts, dx, dy, srid))


def _line(params: dict[str, Any]) -> shapely.LineString:
    value = params.get("line")
    try:
        geom = shape(value) if isinstance(value, dict) else shapely.LineString(value)
    except (TypeError, ValueError, AttributeError, shapely.errors.GEOSException):
        geom = None
    if not isinstance(geom, shapely.LineString) or geom.is_empty:
        raise InvalidEdit(
            "line must be a GeoJSON LineString or a list of [lon, lat] points (EPSG:4490)",
            field="line",
        )
    return shapely.force_2d(geom)


def op_split(session: Session, gen: int, params: dict[str, Any], srid: int) -> Change:
    row = _one(session, gen, _text_param(params, "code"))
    if row.level != 3 or row.parent_code is None:
        raise InvalidEdit(
            "only unit grids (level 3) are split; split a village's grids", field="code"
        )
    names = params.get("names") or []
    if not (isinstance(names, list) and all(isinstance(n, str) and n.strip() for n in names)):
        raise InvalidEdit("names must be a list of non-empty names, one per part", field="names")
    try:
        parts = topoedit.split_polygon(row.geom, _line(params))
    except topoedit.TopologyEditError as exc:
        raise InvalidGeometry(str(exc), field=exc.field) from None
    codes = _next_unit_codes(session, gen, row.parent_code, len(parts))
    after = [
        GridRow(c, 3, row.parent_code, names[i] if i < len(names) else f"{row.name}-{i + 1}", p)
        for i, (c, p) in enumerate(zip(codes, parts, strict=True))
    ]
    # The cut's end points are new nodes on the edges of the neighbours and of the parents
    # (without them the parents would differ from their children by a sliver that is 0 in
    # degrees but not once projected to measure it).
    old_v = {tuple(v) for v in topoedit.vertices(row.geom)}
    new_pts = [tuple(v) for p in parts for v in topoedit.vertices(p) if tuple(v) not in old_v]
    near = _read(
        session, gen, "ST_DWithin(geom, ST_GeomFromWKB(:g, 4490), :d)",
        g=shapely.to_wkb(shapely.multipoints(new_pts)), d=_NEAR_DEG,
    )  # fmt: skip
    near.pop(row.code, None)
    noded = topoedit.node_at({c: r.geom for c, r in near.items()}, new_pts)
    before = [row] + [near[c] for c in sorted(noded)]
    after += [
        GridRow(c, near[c].level, near[c].parent_code, near[c].name, g)
        for c, g in sorted(noded.items())
    ]
    return before, after, set()


def op_merge(session: Session, gen: int, params: dict[str, Any], srid: int) -> Change:
    a_code, b_code = _pair(params)
    a, b = _one(session, gen, a_code, "codes"), _one(session, gen, b_code, "codes")
    if a.level != 3 or b.level != 3 or a.parent_code != b.parent_code or a.parent_code is None:
        raise InvalidEdit(
            f"{a_code} and {b_code} are not unit grids of one village; move one to the other's "
            "village first (op reparent), then merge",
            field="codes",
        )
    try:
        geom = topoedit.merge_polygons(a.geom, b.geom)
    except topoedit.TopologyEditError as exc:
        raise InvalidGeometry(str(exc), field=exc.field) from None
    (code,) = _next_unit_codes(session, gen, a.parent_code, 1)
    name = params.get("name") or a.name
    if not isinstance(name, str):
        raise InvalidEdit("name must be a string", field="name")
    return [a, b], [GridRow(code, 3, a.parent_code, str(name), geom)], set()


def op_reparent(session: Session, gen: int, params: dict[str, Any], srid: int) -> Change:
    row = _one(session, gen, _text_param(params, "code"))
    target = _one(session, gen, _text_param(params, "to_parent"), "to_parent")
    if row.level == 1 or target.level != row.level - 1 or target.code == row.parent_code:
        raise InvalidEdit(
            f"to_parent {target.code} is not another level-{row.level - 1} grid; a unit grid "
            "moves to a neighbouring village, a village to a neighbouring town",
            field="to_parent",
        )
    if not topoedit.shares_edge(row.geom, target.geom):
        raise InvalidEdit(
            f"{row.code} does not border {target.code}; move a grid only to a neighbour",
            field="to_parent",
        )
    old_parent = row.parent_code or ""
    if row.level == 3:
        (code,) = _next_unit_codes(session, gen, target.code, 1)
        moved = GridRow(code, 3, target.code, row.name, row.geom)
        return [row], [moved], {old_parent, target.code}
    village = _next_village_code(session, gen, target.code, row.code[-3] == "0")
    kids = _read(session, gen, "parent_code = :p", p=row.code)
    before = [row, *kids.values()]
    after = [GridRow(village, 2, target.code, row.name, row.geom)] + [
        GridRow(village + k.code[-3:], 3, village, k.name, k.geom) for k in kids.values()
    ]
    return before, after, {old_parent, target.code}


def op_rename(session: Session, gen: int, params: dict[str, Any], srid: int) -> Change:
    row = _one(session, gen, _text_param(params, "code"))
    name = _text_param(params, "name")
    if len(name) > 200:
        raise InvalidEdit("name is longer than 200 characters; shorten it", field="name")
    return [row], [GridRow(row.code, row.level, row.parent_code, name, row.geom)], set()


def op_recode(session: Session, gen: int, params: dict[str, Any], srid: int) -> Change:
    row = _one(session, gen, _text_param(params, "code"))
    new_code = _text_param(params, "new_code")
    problems = code_problems(new_code, row.level, row.parent_code)
    if problems:
        raise InvalidEdit("; ".join(problems), field="new_code")
    if row.level > 1 and parent_of(new_code) != row.parent_code:
        raise InvalidEdit(
            f"{new_code} would move the grid out of {row.parent_code}; use op reparent",
            field="new_code",
        )
    if _by_codes(session, gen, {new_code}):
        raise CodeConflict(f"code {new_code} is already used in this draft", field="new_code")
    if _code_ever_used(session, new_code):
        raise CodeConflict(
            f"code {new_code} belonged to a grid of another generation; a retired code is never "
            "given to another grid — choose an unused code",
            field="new_code",
        )
    n = len(row.code)
    kids = _read(session, gen, "left(code, :n) = :c AND code <> :c", n=n, c=row.code)
    before = [row, *kids.values()]
    after = [GridRow(new_code, row.level, row.parent_code, row.name, row.geom)] + [
        GridRow(new_code + k.code[n:], k.level, new_code + (k.parent_code or "")[n:], k.name,
                k.geom)
        for k in kids.values()
    ]  # fmt: skip
    return before, after, set()


_OPS = {
    "move_vertex": op_move_vertex,
    "move_edge": op_move_edge,
    "split": op_split,
    "merge": op_merge,
    "reparent": op_reparent,
    "rename": op_rename,
    "recode": op_recode,
}


# -- the edit, undo, redo ----------------------------------------------------------------------
def _features(rows: list[GridRow]) -> dict[str, Any]:
    return {
        "type": "FeatureCollection",
        "features": [
            {
                "type": "Feature",
                "id": r.code,
                "geometry": shapely.geometry.mapping(r.geom),
                "properties": {"code": r.code, "level": r.level, "parent_code": r.parent_code,
                               "name": r.name},
            }
            for r in sorted(rows, key=lambda r: (r.level, r.code))
        ],
    }  # fmt: skip


def validate_affected(
    *, session: Session, draft_id: int, codes: set[str], metric_srid: int = SRID_METRIC_DEFAULT
) -> dict[str, Any]:
    """``gis.hierarchy`` checks of the towns that hold ``codes`` (every grid of those towns,
    so parents are checked against all their children); a full check is GET …/problems."""
    towns = sorted({c[:9] for c in codes})
    rows = _read(session, draft_id, "left(code, 9) = ANY(:t)", t=towns)
    frame = gpd.GeoDataFrame(
        {
            "code": [r.code for r in rows.values()],
            "level": [r.level for r in rows.values()],
            "parent_code": [r.parent_code for r in rows.values()],
            "name": [r.name for r in rows.values()],
        },
        geometry=[r.geom for r in rows.values()],
        crs=SRID_CGCS2000,
    )
    report = validate_hierarchy(frame, metric_srid=metric_srid)
    out = report.to_dict()
    out["towns_checked"] = towns
    return out


def _answer(
    session: Session, draft_id: int, edit: DraftEdit, before: list[GridRow],
    after: list[GridRow], metric_srid: int,
) -> dict[str, Any]:  # fmt: skip
    removed = sorted({r.code for r in before} - {r.code for r in after})
    touched = {r.code for r in before} | {r.code for r in after}
    return {
        "edit": edit_summary(edit),
        "version": edit.version if edit.state != "undone" else draft_version(
            session=session, draft_id=draft_id),
        "changed": _features(after),
        "removed": removed,
        "validation": validate_affected(
            session=session, draft_id=draft_id, codes=touched, metric_srid=metric_srid
        ),
    }  # fmt: skip


def edit_summary(edit: DraftEdit) -> dict[str, Any]:
    return {
        "id": edit.id,
        "version": edit.version,
        "op": edit.op,
        "params": edit.params,
        "reason": edit.reason,
        "actor": edit.actor,
        "at": edit.at.isoformat() if edit.at else None,
        "state": edit.state,
        "grids_before": sorted(r["code"] for r in edit.before),
        "grids_after": sorted(r["code"] for r in edit.after),
        "undone_at": edit.undone_at.isoformat() if edit.undone_at else None,
        "undone_by": edit.undone_by,
    }


def apply_edit(
    *,
    session: Session,
    draft_id: int,
    op: str,
    params: dict[str, Any],
    reason: str,
    actor: str,
    expected_version: int | None = None,
    metric_srid: int = SRID_METRIC_DEFAULT,
) -> dict[str, Any]:
    """Make one edit on a draft; returns ``{edit, version, changed (GeoJSON), removed,
    validation}``. Raises InvalidState (not a draft), DraftVersionConflict, InvalidEdit,
    InvalidGeometry, CodeConflict, GridNotFound; the caller's transaction rolls back on any."""
    if op not in _OPS:
        raise InvalidEdit(f"op {op!r} is not one of {', '.join(_OPS)}", field="op")
    if not isinstance(reason, str) or not reason.strip():
        raise InvalidEdit("reason is required: say why the grid changes", field="reason")
    lock_draft(session=session, draft_id=draft_id, expected_version=expected_version)
    before, after, parents = _OPS[op](session, draft_id, params, metric_srid)
    if not before and not after:
        raise InvalidEdit("the edit changes nothing", field="op")
    _apply(session, draft_id, before, after, metric_srid)
    if parents:
        p_before, p_after = _rederive_parents(session, draft_id, parents, metric_srid)
        before, after = before + p_before, after + p_after
    session.execute(
        text("UPDATE draft_edit SET state = 'discarded' WHERE generation_id = :g "
             "AND state = 'undone'"),
        {"g": draft_id},
    )  # fmt: skip
    edit = DraftEdit(
        generation_id=draft_id,
        version=_bump(session, draft_id),
        op=op,
        params=params,
        reason=reason.strip(),
        actor=actor[:200],
        before=[r.to_json() for r in before],
        after=[r.to_json() for r in after],
    )
    session.add(edit)
    session.flush()
    session.refresh(edit)
    return _answer(session, draft_id, edit, before, after, metric_srid)


def _step(
    *, session: Session, draft_id: int, actor: str, expected_version: int | None,
    metric_srid: int, undo: bool,
) -> dict[str, Any]:  # fmt: skip
    lock_draft(session=session, draft_id=draft_id, expected_version=expected_version)
    sql = "state = 'done' ORDER BY id DESC" if undo else "state = 'undone' ORDER BY id"
    edit_id = session.execute(
        text(f"SELECT id FROM draft_edit WHERE generation_id = :g AND {sql} LIMIT 1"),
        {"g": draft_id},
    ).scalar()
    if edit_id is None:
        word = "undo" if undo else "redo"
        raise InvalidState(f"draft {draft_id} has no edit to {word}", field="version")
    edit = session.get(DraftEdit, edit_id)
    assert edit is not None
    old = [GridRow.from_json(d) for d in edit.before]
    new = [GridRow.from_json(d) for d in edit.after]
    before, after = (new, old) if undo else (old, new)
    _apply(session, draft_id, before, after, metric_srid)
    version = _bump(session, draft_id)
    edit.state = "undone" if undo else "done"
    edit.undone_at = func.now() if undo else None
    edit.undone_by = actor[:200] if undo else None
    session.flush()
    session.refresh(edit)
    answer = _answer(session, draft_id, edit, before, after, metric_srid)
    answer["version"] = version
    return answer


def undo_edit(
    *, session: Session, draft_id: int, actor: str, expected_version: int | None = None,
    metric_srid: int = SRID_METRIC_DEFAULT,
) -> dict[str, Any]:  # fmt: skip
    """Undo the draft's last edit (restores the rows it replaced exactly)."""
    return _step(
        session=session, draft_id=draft_id, actor=actor,
        expected_version=expected_version, metric_srid=metric_srid, undo=True,
    )  # fmt: skip


def redo_edit(
    *, session: Session, draft_id: int, actor: str, expected_version: int | None = None,
    metric_srid: int = SRID_METRIC_DEFAULT,
) -> dict[str, Any]:  # fmt: skip
    """Redo the edit undone last (a new edit after an undo discards the redo stack)."""
    return _step(
        session=session, draft_id=draft_id, actor=actor,
        expected_version=expected_version, metric_srid=metric_srid, undo=False,
    )  # fmt: skip


def list_edits(*, session: Session, draft_id: int) -> dict[str, Any]:
    """The draft's edit log, oldest first, and its current version."""
    get_generation(session=session, generation_id=draft_id)
    edits = session.scalars(
        select_edits().where(DraftEdit.generation_id == draft_id).order_by(DraftEdit.id)
    ).all()
    return {
        "generation": draft_id,
        "version": draft_version(session=session, draft_id=draft_id),
        "edits": [edit_summary(e) for e in edits],
    }


def select_edits() -> Any:
    return select(DraftEdit)


# replace_geometry (an OGC API Features PUT read as moves of a grid's vertices) lives in its own
# module and registers itself in _OPS: imported here so every caller (API, CLI, OGC) knows it
from layers.planning import feature_ops as _feature_ops  # noqa: E402, F401
