"""One rule for every edit path (edits API, OGC writes, split/merge lines, undo/redo, uploads):
a geometry GEOS cannot process (``GEOSException``: a self-crossing ring, ``TopologyException:
side location conflict`` after a vertex moved across its grid, …) is the caller's bad input,
an :class:`~layers.errors.InvalidGeometry` (HTTP 422, problem+json naming ``field`` and the fix),
never a 500. The caller's transaction rolls back, so nothing is stored.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import shapely
from shapely.geometry import MultiPolygon, Polygon

from layers.errors import InvalidGeometry, with_zh

GEOMETRY_ERRORS = (shapely.errors.GEOSException, shapely.errors.ShapelyError)


def geometry_refused(field: str, reason: str) -> InvalidGeometry:
    """The 422 for an outline or line GEOS cannot process (``reason``: GEOS's own words)."""
    return with_zh(  # type: ignore[return-value]
        InvalidGeometry(
            f"{field} cannot be processed ({reason.strip()[:300]}); nothing was stored — send a "
            "ring that does not cross itself, keep the vertices in their order, and move a vertex "
            "only as far as its neighbouring grids (use split or merge for larger changes)",
            field=field,
        ),
        f"{field} 无法处理（{reason.strip()[:300]}），未做任何修改；请提交不自相交的边界，"
        "保持顶点顺序，移动顶点不要越过相邻网格（较大的改动请用拆分 split 或合并 merge）",
    )


@contextmanager
def geometry_errors(field: str = "geometry") -> Iterator[None]:
    """Turn a GEOS/shapely error raised inside the block into :func:`geometry_refused`."""
    try:
        yield
    except GEOMETRY_ERRORS as exc:
        raise geometry_refused(field, str(exc) or type(exc).__name__) from None


def edit_field(op: str, params: dict[str, Any]) -> str:
    """The parameter of an edit whose geometry is at fault when GEOS fails on it."""
    for name in ("geometry", "line", "to", "offset_m"):
        if name in params:
            return name
    return "geometry" if op != "merge" else "codes"


def require_valid_outline(geom: Polygon | MultiPolygon, field: str = "geometry") -> None:
    """An outline sent by a client must be a valid polygon (OGC simple features): a ring that
    crosses itself (two vertices swapped, a vertex moved across the grid) is refused, with
    GEOS's reason and where."""
    with geometry_errors(field):
        if shapely.is_valid(geom):
            return
        reason = shapely.is_valid_reason(geom)
    raise geometry_refused(field, str(reason))
