"""The grid rows of a draft as the edits see them: read, allocate codes, write back.

A :class:`GridRow` is one grid (code, level, parent, name, EPSG:4490 geometry); an operation
(``layers.planning.edit_ops``) turns some rows into others (a :data:`Change`), and
:func:`write_rows` stores them (areas in m² in the metric CRS, grid parts re-subdivided),
after which :func:`rederive_parents` makes every changed village and town the union of its
children. Codes (DOMAIN.md section 1): :func:`next_unit_codes` / :func:`next_village_code`
give the next free sequence numbers; :func:`code_ever_used` tells a retired code, never given
to another grid. Used by ``layers.planning.edits`` (the logged, undoable edit) and
``layers.planning.feature_ops`` (OGC API Part 4 writes).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import shapely
from sqlalchemy import text
from sqlalchemy.orm import Session

from gis import topoedit
from gis.codes import LEVEL_CODE_LENGTH
from layers.errors import CodeConflict, DomainError, GridNotFound, with_zh
from layers.grids import SUBDIVIDE_MAX_VERTICES


class DraftVersionConflict(DomainError):
    """The draft changed since the caller read it (another editor); HTTP 409."""


class InvalidEdit(DomainError):
    """An edit that cannot be made as asked (wrong op, missing value); HTTP 422."""


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
def read_rows(session: Session, gen: int, where: str, **params: Any) -> dict[str, GridRow]:
    """The grids of draft ``gen`` matching the SQL condition ``where`` (bound ``params``)."""
    sql = (
        "SELECT code, level, parent_code, name, ST_AsBinary(geom) AS wkb FROM grid "
        f"WHERE generation_id = :gen AND {where}"
    )
    rows = session.execute(text(sql), {"gen": gen, **params}).all()
    return {
        r.code: GridRow(r.code, r.level, r.parent_code, r.name, shapely.from_wkb(bytes(r.wkb)))
        for r in rows
    }


def rows_by_codes(session: Session, gen: int, codes: set[str]) -> dict[str, GridRow]:
    return read_rows(session, gen, "code = ANY(:codes)", codes=sorted(codes)) if codes else {}


def one_row(session: Session, gen: int, code: str, field: str = "code") -> GridRow:
    found = rows_by_codes(session, gen, {code})
    if code not in found:
        raise with_zh(
            GridNotFound(
                f"no grid {code} in draft {gen}; list its grids at /api/v1/grids?generation={gen}",
                field=field,
            ),
            f"草案 {gen} 中没有网格 {code}",
        )
    return found[code]


def units_near(
    session: Session, gen: int, geom: shapely.Geometry, dist_deg: float
) -> dict[str, GridRow]:
    """Unit grids within ``dist_deg`` of ``geom`` (GiST index on grid.geom)."""
    return read_rows(
        session, gen,
        "level = 3 AND ST_DWithin(geom, ST_GeomFromWKB(:g, 4490), :d)",
        g=shapely.to_wkb(geom), d=dist_deg,
    )  # fmt: skip


def next_unit_codes(session: Session, gen: int, village: str, n: int) -> list[str]:
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
        raise with_zh(
            CodeConflict(
                f"village {village} has no free sequence numbers left (next would be "
                f"{start + n - 1}); renumber its grids in a separate adjustment",
                field="code",
            ),
            f"村社区 {village} 已没有空余的网格序号；请另行调整编号",
        )
    return [f"{village}{s:03d}" for s in range(start, start + n)]


def next_village_code(session: Session, gen: int, town: str, community: bool) -> str:
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
        raise with_zh(
            CodeConflict(f"town {town} has no free village codes left", field="to_parent"),
            f"镇街 {town} 已没有空余的村社区编码",
        )
    return f"{town}{nxt:03d}"


def code_ever_used(session: Session, code: str) -> bool:
    return bool(
        session.execute(
            text(
                "SELECT EXISTS (SELECT 1 FROM grid WHERE code = :c) OR EXISTS (SELECT 1 FROM "
                "draft_edit d, jsonb_array_elements(d.after) e WHERE e->>'code' = :c)"
            ),
            {"c": code},
        ).scalar()
    )


Change = tuple[list[GridRow], list[GridRow], set[str]]
"""What an operation does: (rows before, rows after, parent codes to re-derive)."""


# -- writing -----------------------------------------------------------------------------------
def write_rows(
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


def rederive_parents(
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
        current = rows_by_codes(session, gen, todo)
        kids = read_rows(session, gen, "parent_code = ANY(:p)", p=sorted(todo))
        changed: list[GridRow] = []
        for code in sorted(todo & current.keys()):
            mine = [k.geom for k in kids.values() if k.parent_code == code]
            if not mine:
                raise with_zh(
                    InvalidEdit(
                        f"the edit would leave grid {code} without any children; move or merge "
                        "grids so that every village and town keeps at least one grid",
                        field="code",
                    ),
                    f"这次编辑会使网格 {code} 没有任何下级网格；请移动或合并网格，"
                    "使每个村社区和镇街至少保留一个网格",
                )
            geom = topoedit.as_multipolygon(topoedit.union_coverage(mine))
            row = current[code]
            if not shapely.equals_exact(geom, topoedit.as_multipolygon(row.geom), 0.0):
                changed.append(GridRow(code, level, row.parent_code, row.name, geom))
                before.append(row)
        write_rows(session, gen, [current[c.code] for c in changed], changed, metric_srid)
        after.extend(changed)
        carry = {p for c in changed if (p := c.parent_code)}
    return before, after
