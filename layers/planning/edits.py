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

This module: the edit log (``DraftEdit``), locking, apply / undo / redo and the answers. The
operations themselves are in ``layers.planning.edit_ops``; reading, code allocation and
writing the rows in ``layers.planning.draft_rows``.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

import geopandas as gpd
import shapely
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

from gis.crs import SRID_CGCS2000, SRID_METRIC_DEFAULT
from gis.hierarchy import validate_hierarchy
from layers.db import Base
from layers.errors import InvalidState, with_zh
from layers.grids import get_generation
from layers.models import Generation, GenerationStatus
from layers.planning.draft_rows import (
    Change,
    DraftVersionConflict,
    GridRow,
    InvalidEdit,
    read_rows,
    rederive_parents,
    write_rows,
)
from layers.planning.drafts import report_dict
from layers.planning.edit_ops import OPERATIONS, OPS
from layers.planning.geometry_guard import edit_field, geometry_errors

__all__ = [
    "OPS",
    "Change",
    "DraftEdit",
    "DraftVersionConflict",
    "GridRow",
    "InvalidEdit",
    "apply_edit",
    "draft_version",
    "edit_summary",
    "list_edits",
    "lock_draft",
    "redo_edit",
    "select_edits",
    "undo_edit",
    "validate_affected",
]


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
        raise with_zh(
            InvalidState(
                f"generation {draft_id} is {row.status}; only a draft can be edited — make a draft "
                "from it first (POST /api/v1/generations)",
                field="generation",
            ),
            f"版本 {draft_id} 的状态是 {row.status}，只有草案可以编辑；请先以它为基础新建草案",
        )
    current = int(row.version)
    if expected_version is not None and expected_version != current:
        raise with_zh(
            DraftVersionConflict(
                f"draft {draft_id} is at version {current}, you edited version {expected_version}: "
                "someone else changed it; reload the draft and redo your edit on version "
                f"{current}",
                field="version",
                extra={"current_version": current},
            ),
            f"草案 {draft_id} 已是版本 {current}，你编辑的是版本 "
            f"{expected_version}：其他人已修改；请重新加载草案，在版本 {current} 上重做你的编辑",
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
    rows = read_rows(session, draft_id, "left(code, 9) = ANY(:t)", t=towns)
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
    out = report_dict(report)
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
    if op not in OPERATIONS:
        raise with_zh(
            InvalidEdit(f"op {op!r} is not one of {', '.join(OPERATIONS)}", field="op"),
            f"编辑操作 {op!r} 不存在，可用：{'、'.join(OPERATIONS)}",
        )
    if not isinstance(reason, str) or not reason.strip():
        raise with_zh(
            InvalidEdit("reason is required: say why the grid changes", field="reason"),
            "请填写修改原因（reason），说明网格为什么改变",
        )
    lock_draft(session=session, draft_id=draft_id, expected_version=expected_version)
    with geometry_errors(edit_field(op, params)):  # GEOS failing on the input: 422, not 500
        before, after, parents = OPERATIONS[op](session, draft_id, params, metric_srid)
    if not before and not after:
        raise with_zh(
            InvalidEdit("the edit changes nothing", field="op"), "这次编辑没有改变任何东西"
        )
    write_rows(session, draft_id, before, after, metric_srid)
    if parents:
        with geometry_errors(edit_field(op, params)):
            p_before, p_after = rederive_parents(session, draft_id, parents, metric_srid)
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
    with geometry_errors(edit_field(op, params)):
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
        raise with_zh(
            InvalidState(f"draft {draft_id} has no edit to {word}", field="version"),
            f"草案 {draft_id} 没有可{'撤销' if undo else '重做'}的编辑",
        )
    edit = session.get(DraftEdit, edit_id)
    assert edit is not None
    old = [GridRow.from_json(d) for d in edit.before]
    new = [GridRow.from_json(d) for d in edit.after]
    before, after = (new, old) if undo else (old, new)
    write_rows(session, draft_id, before, after, metric_srid)
    version = _bump(session, draft_id)
    edit.state = "undone" if undo else "done"
    edit.undone_at = func.now() if undo else None
    edit.undone_by = actor[:200] if undo else None
    session.flush()
    session.refresh(edit)
    with geometry_errors("version"):  # a stored edit GEOS cannot re-validate: 422, not 500
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
# module and registers itself in OPERATIONS: imported here so every caller (API, CLI, OGC) knows it
from layers.planning import feature_ops as _feature_ops  # noqa: E402, F401
