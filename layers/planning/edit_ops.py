"""The operations of a draft edit, each a function ``(session, draft_id, params,
metric_srid) -> Change``: it reads the few grids it touches, checks the parameters (raising
InvalidEdit, InvalidGeometry, CodeConflict, GridNotFound with the offending field) and computes
the rows after the edit with ``gis.topoedit`` (shared vertices move in every grid that has
them). It writes nothing: ``layers.planning.edits.apply_edit`` stores, re-derives the parents
and logs. Parameters (JSON, EPSG:4490 lon/lat, metres): docs/planning.md section 2.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import shapely
from shapely.geometry import shape
from sqlalchemy.orm import Session

from gis import topoedit
from gis.codes import code_problems, parent_of
from layers.errors import CodeConflict, InvalidGeometry, with_zh
from layers.planning.draft_rows import (
    Change,
    GridRow,
    InvalidEdit,
    code_ever_used,
    next_unit_codes,
    next_village_code,
    one_row,
    read_rows,
    rows_by_codes,
    units_near,
)

DEFAULT_SNAP_M = 5.0
MAX_SNAP_M = 100.0
MAX_OFFSET_M = 5_000.0


_NEAR_DEG = 1e-8  # ~1 mm: grids this close to a point or edge share it


def _coord(params: dict[str, Any], key: str) -> tuple[float, float]:
    value = params.get(key)
    try:
        lon, lat = (float(v) for v in value)  # type: ignore[union-attr]
    except (TypeError, ValueError):
        raise with_zh(
            InvalidEdit(f"{key} must be [lon, lat] in CGCS2000 degrees, got {value!r}", field=key),
            f"{key} 应为 [经度, 纬度]（CGCS2000 度），收到的是 {value!r}",
        ) from None
    if not (-180 <= lon <= 180 and -90 <= lat <= 90):
        raise with_zh(
            InvalidEdit(f"{key} {value!r} is not a lon/lat in degrees", field=key),
            f"{key} {value!r} 不是以度为单位的经纬度",
        )
    return lon, lat


def _number(params: dict[str, Any], key: str, default: float, lo: float, hi: float) -> float:
    value = params.get(key, default)
    try:
        number = float(value)
    except (TypeError, ValueError):
        number = float("nan")
    if isinstance(value, bool) or not lo <= number <= hi:
        raise with_zh(
            InvalidEdit(f"{key} must be a number from {lo:g} to {hi:g}, got {value!r}", field=key),
            f"{key} 应为 {lo:g} 到 {hi:g} 之间的数，收到的是 {value!r}",
        )
    return number


def _text_param(params: dict[str, Any], key: str) -> str:
    value = params.get(key)
    if not isinstance(value, str) or not value.strip():
        raise with_zh(
            InvalidEdit(f"{key} is required (a non-empty string)", field=key),
            f"请填写 {key}（不能为空）",
        )
    return value.strip()


def _pair(params: dict[str, Any], key: str = "codes") -> tuple[str, str]:
    value = params.get(key)
    if not (isinstance(value, list) and len(value) == 2 and all(isinstance(v, str) for v in value)):
        raise with_zh(
            InvalidEdit(f"{key} must be a list of two grid codes, got {value!r}", field=key),
            f"{key} 应为两个网格编码的列表，收到的是 {value!r}",
        )
    if value[0] == value[1]:
        raise with_zh(
            InvalidEdit(f"{key} names the same grid twice; give two neighbours", field=key),
            f"{key} 两次写了同一个网格；请给出两个相邻网格",
        )
    return value[0], value[1]


def move_shared_vertices(
    session: Session, gen: int, moves: dict[tuple[float, float], tuple[float, float]]
) -> Change:
    """Move vertices (EPSG:4490 lon/lat, ``{from: to}``) in every unit grid that has them;
    the grids' neighbours keep their vertices on a deforming edge. InvalidGeometry if a
    grid would become invalid."""
    where = shapely.multipoints(list(moves.keys()))
    having = units_near(session, gen, where, _NEAR_DEG)
    if not having:
        return [], [], set()
    # ... and their neighbours, whose vertices on a deforming edge must stay on it
    around = shapely.geometrycollections([r.geom for r in having.values()])
    involved = units_near(session, gen, around, _NEAR_DEG)
    try:
        changed = topoedit.move_vertices({c: r.geom for c, r in involved.items()}, moves)
    except topoedit.TopologyEditError as exc:
        raise with_zh(
            InvalidGeometry(str(exc), field=exc.field),
            "移动后网格会无效或相互重叠（顶点越过了其他边界）；请少移一些，或先移动挡在中间的顶点",
        ) from None
    before = [involved[c] for c in sorted(changed)]
    after = [GridRow(r.code, 3, r.parent_code, r.name, changed[r.code]) for r in before]
    return before, after, {r.parent_code for r in before if r.parent_code}


def op_move_vertex(session: Session, gen: int, params: dict[str, Any], srid: int) -> Change:
    at, to = _coord(params, "at"), _coord(params, "to")
    snap_m = _number(params, "snap_m", DEFAULT_SNAP_M, 0.0, MAX_SNAP_M)
    near = units_near(session, gen, shapely.Point(at), snap_m / 80_000.0)
    vertex = topoedit.snap_vertex([r.geom for r in near.values()], at, snap_m, srid)
    if vertex is None:
        raise with_zh(
            InvalidEdit(
                f"no grid vertex within {snap_m} m of {list(at)}; click on a vertex or raise "
                "snap_m",
                field="at",
            ),
            f"{list(at)} 附近 {snap_m} 米内没有网格顶点；请点在顶点上，或调大吸附距离 snap_m",
        )
    return move_shared_vertices(session, gen, {vertex: to})


def op_move_edge(session: Session, gen: int, params: dict[str, Any], srid: int) -> Change:
    a_code, b_code = _pair(params)
    a, b = one_row(session, gen, a_code, "codes"), one_row(session, gen, b_code, "codes")
    if a.level != 3 or b.level != 3 or not topoedit.shares_edge(a.geom, b.geom):
        raise with_zh(
            InvalidEdit(
                f"{a_code} and {b_code} are not neighbouring unit grids; give two unit grids that "
                "share the edge to move (an edge between villages is an edge between their grids)",
                field="codes",
            ),
            f"{a_code} 和 {b_code} 不是相邻的单元网格；请给出共享要移动的边的两个单元网格（"
            "村社区之间的边就是其网格之间的边）",
        )
    offset = params.get("offset_m")
    try:
        dx, dy = (float(v) for v in offset)  # type: ignore[union-attr]
    except (TypeError, ValueError):
        raise with_zh(
            InvalidEdit(
                f"offset_m must be [dx_east, dy_north] in metres, got {offset!r}", field="offset_m"
            ),
            f"offset_m 应为 [东向偏移, 北向偏移]（米），收到的是 {offset!r}",
        ) from None
    if not (abs(dx) <= MAX_OFFSET_M and abs(dy) <= MAX_OFFSET_M):
        raise with_zh(
            InvalidEdit(
                f"offset_m {offset!r} is more than {MAX_OFFSET_M:.0f} m (or not a number); move an "
                "edge in smaller steps",
                field="offset_m",
            ),
            f"offset_m {offset!r} 超过 {MAX_OFFSET_M:.0f} 米（或不是数字）；请分几次小步移动",
        )
    verts = topoedit.shared_vertices(a.geom, b.geom)
    try:
        return move_shared_vertices(session, gen, topoedit.offset_moves(verts, dx, dy, srid))
    except InvalidGeometry as exc:  # the offset is what to change, not a vertex's "to"
        exc.field = "offset_m"
        exc.detail = exc.detail.replace("move the vertex less far", "move the edge less far")
        raise


def _line(params: dict[str, Any]) -> shapely.LineString:
    value = params.get("line")
    try:
        geom = shape(value) if isinstance(value, dict) else shapely.LineString(value)
    except (TypeError, ValueError, AttributeError, shapely.errors.GEOSException):
        geom = None
    if not isinstance(geom, shapely.LineString) or geom.is_empty:
        raise with_zh(
            InvalidEdit(
                "line must be a GeoJSON LineString or a list of [lon, lat] points (EPSG:4490)",
                field="line",
            ),
            "line 应为 GeoJSON LineString 或 [经度, 纬度] 点的列表（EPSG:4490）",
        )
    return shapely.force_2d(geom)


def op_split(session: Session, gen: int, params: dict[str, Any], srid: int) -> Change:
    row = one_row(session, gen, _text_param(params, "code"))
    if row.level != 3 or row.parent_code is None:
        raise with_zh(
            InvalidEdit(
                "only unit grids (level 3) are split; split a village's grids", field="code"
            ),
            "只能拆分单元网格（第 3 级）；要拆分村社区，请拆分它的单元网格",
        )
    names = params.get("names") or []
    if not (isinstance(names, list) and all(isinstance(n, str) and n.strip() for n in names)):
        raise with_zh(
            InvalidEdit("names must be a list of non-empty names, one per part", field="names"),
            "names 应为名称列表（每部分一个，不能为空）",
        )
    try:
        parts = topoedit.split_polygon(row.geom, _line(params))
    except topoedit.TopologyEditError as exc:
        raise with_zh(
            InvalidGeometry(str(exc), field=exc.field),
            "拆分线无法把该网格分成两部分：请画一条从网格外一点穿过网格到网格外另一点、"
            "不自相交的线",
        ) from None
    codes = next_unit_codes(session, gen, row.parent_code, len(parts))
    after = [
        GridRow(c, 3, row.parent_code, names[i] if i < len(names) else f"{row.name}-{i + 1}", p)
        for i, (c, p) in enumerate(zip(codes, parts, strict=True))
    ]
    # The cut's end points are new nodes on the edges of the neighbours and of the parents
    # (without them the parents would differ from their children by a sliver that is 0 in
    # degrees but not once projected to measure it).
    old_v = {tuple(v) for v in topoedit.vertices(row.geom)}
    new_pts = [tuple(v) for p in parts for v in topoedit.vertices(p) if tuple(v) not in old_v]
    near = read_rows(
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
    a, b = one_row(session, gen, a_code, "codes"), one_row(session, gen, b_code, "codes")
    if a.level != 3 or b.level != 3 or a.parent_code != b.parent_code or a.parent_code is None:
        raise with_zh(
            InvalidEdit(
                f"{a_code} and {b_code} are not unit grids of one village; move one to the other's "
                "village first (op reparent), then merge",
                field="codes",
            ),
            f"{a_code} 和 {b_code} 不属于同一村社区的单元网格；"
            "请先把其中一个调整到另一个的村社区（reparent），再合并",
        )
    try:
        geom = topoedit.merge_polygons(a.geom, b.geom)
    except topoedit.TopologyEditError as exc:
        raise with_zh(
            InvalidGeometry(str(exc), field=exc.field),
            "这两个网格没有共享边界，或合并后会分成几块；只能合并共享一条边的相邻网格",
        ) from None
    (code,) = next_unit_codes(session, gen, a.parent_code, 1)
    name = params.get("name") or a.name
    if not isinstance(name, str):
        raise with_zh(InvalidEdit("name must be a string", field="name"), "名称应为文字")
    return [a, b], [GridRow(code, 3, a.parent_code, str(name), geom)], set()


def op_reparent(session: Session, gen: int, params: dict[str, Any], srid: int) -> Change:
    row = one_row(session, gen, _text_param(params, "code"))
    target = one_row(session, gen, _text_param(params, "to_parent"), "to_parent")
    if row.level == 1 or target.level != row.level - 1 or target.code == row.parent_code:
        raise with_zh(
            InvalidEdit(
                f"to_parent {target.code} is not another level-{row.level - 1} grid; a unit grid "
                "moves to a neighbouring village, a village to a neighbouring town",
                field="to_parent",
            ),
            f"{target.code} 不是另一个第 {row.level - 1} 级网格；单元网格只能调入相邻村社区，"
            "村社区只能调入相邻镇街",
        )
    if not topoedit.shares_edge(row.geom, target.geom):
        raise with_zh(
            InvalidEdit(
                f"{row.code} does not border {target.code}; move a grid only to a neighbour",
                field="to_parent",
            ),
            f"{row.code} 与 {target.code} 不相邻；只能调入相邻的上级网格",
        )
    old_parent = row.parent_code or ""
    if row.level == 3:
        (code,) = next_unit_codes(session, gen, target.code, 1)
        moved = GridRow(code, 3, target.code, row.name, row.geom)
        return [row], [moved], {old_parent, target.code}
    village = next_village_code(session, gen, target.code, row.code[-3] == "0")
    kids = read_rows(session, gen, "parent_code = :p", p=row.code)
    before = [row, *kids.values()]
    after = [GridRow(village, 2, target.code, row.name, row.geom)] + [
        GridRow(village + k.code[-3:], 3, village, k.name, k.geom) for k in kids.values()
    ]
    return before, after, {old_parent, target.code}


def op_rename(session: Session, gen: int, params: dict[str, Any], srid: int) -> Change:
    row = one_row(session, gen, _text_param(params, "code"))
    name = _text_param(params, "name")
    if len(name) > 200:
        raise with_zh(
            InvalidEdit("name is longer than 200 characters; shorten it", field="name"),
            "名称超过 200 个字符，请缩短",
        )
    return [row], [GridRow(row.code, row.level, row.parent_code, name, row.geom)], set()


def op_recode(session: Session, gen: int, params: dict[str, Any], srid: int) -> Change:
    row = one_row(session, gen, _text_param(params, "code"))
    new_code = _text_param(params, "new_code")
    problems = code_problems(new_code, row.level, row.parent_code)
    if problems:
        raise with_zh(
            InvalidEdit("; ".join(problems), field="new_code"),
            f"新编码 {new_code} 格式不对：" + "；".join(problems),
        )
    if row.level > 1 and parent_of(new_code) != row.parent_code:
        raise with_zh(
            InvalidEdit(
                f"{new_code} would move the grid out of {row.parent_code}; use op reparent",
                field="new_code",
            ),
            f"新编码 {new_code} 会使网格离开 {row.parent_code}；请用调整归属（reparent）",
        )
    if rows_by_codes(session, gen, {new_code}):
        raise with_zh(
            CodeConflict(f"code {new_code} is already used in this draft", field="new_code"),
            f"编码 {new_code} 在本草案中已被使用",
        )
    if code_ever_used(session, new_code):
        raise with_zh(
            CodeConflict(
                f"code {new_code} belonged to a grid of another generation; a retired code is "
                "never "
                "given to another grid — choose an unused code",
                field="new_code",
            ),
            f"编码 {new_code} 曾属于其他版本的网格；停用的编码不会给另一个网格使用，"
            "请选择未用过的编码",
        )
    n = len(row.code)
    kids = read_rows(session, gen, "left(code, :n) = :c AND code <> :c", n=n, c=row.code)
    before = [row, *kids.values()]
    after = [GridRow(new_code, row.level, row.parent_code, row.name, row.geom)] + [
        GridRow(new_code + k.code[n:], k.level, new_code + (k.parent_code or "")[n:], k.name,
                k.geom)
        for k in kids.values()
    ]  # fmt: skip
    return before, after, set()


OPERATIONS: dict[str, Callable[[Session, int, dict[str, Any], int], Change]] = {
    "move_vertex": op_move_vertex,
    "move_edge": op_move_edge,
    "split": op_split,
    "merge": op_merge,
    "reparent": op_reparent,
    "rename": op_rename,
    "recode": op_recode,
}
OPS = tuple(OPERATIONS)
"""The operations of the edit API (``layers.planning.feature_ops`` registers one more)."""


def register_operation(
    name: str, operation: Callable[[Session, int, dict[str, Any], int], Change]
) -> None:
    """Make ``operation`` available to ``apply_edit`` as op ``name`` (logged and undoable like
    the others)."""
    OPERATIONS.setdefault(name, operation)
