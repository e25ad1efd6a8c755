"""Rebase a draft: carry its own edits (the ``done`` entries of its edit log, in order) onto a
fresh copy of the generation in force, so a draft copied before newer publications can be
published without reverting them (``layers.planning.newer_work``).

The replay is *clean* only if every edit finds the unit grids it changed (and the grid it names)
exactly as it found them on its old base — the newer publications did not touch them. Else the
rebase is refused (409 :class:`RebaseConflict`, naming the edit and the grids) and nothing is
stored: the planner makes a new draft from the active generation and redoes that edit by hand.
Each replayed edit keeps its op, parameters, reason and author; the new draft's note says what it
was rebased from. The old draft stays as it was.

A draft copied from a draft carries its source's edits too: the replay is the whole chain of
edits since the published base (``layers.planning.newer_work.published_base``), the oldest
ancestor's first, each ancestor's edits as they stood when the next draft of the chain was
copied from it (done at that time, not undone before it), then the draft's own ``done`` edits.
(An edit undone before the copy and redone after it counts as in force at the copy: the log
keeps no earlier undo times.)
"""

from __future__ import annotations

from typing import Any

import shapely
from sqlalchemy import or_, select
from sqlalchemy.orm import Session

from layers.errors import DomainError, InvalidState, with_zh
from layers.grids import get_generation
from layers.models import Generation, GenerationStatus
from layers.planning.draft_rows import GridRow, rows_by_codes
from layers.planning.drafts import Actor, copy_generation
from layers.planning.edits import DraftEdit, apply_edit
from layers.planning.newer_work import published_base

SAME_DEG = 1e-9  # exact copies: a stored row either is the same or was edited


class RebaseConflict(InvalidState):
    """An edit of the draft does not replay cleanly on the generation in force (HTTP 409)."""


def _named_codes(params: dict[str, Any]) -> set[str]:
    named = {params["code"]} if isinstance(params.get("code"), str) else set()
    return named | {c for c in params.get("codes") or [] if isinstance(c, str)}


def _changed_since(session: Session, gen: int, rows: list[GridRow]) -> list[str]:
    """Codes of ``rows`` that the generation ``gen`` does not hold as they were."""
    now = rows_by_codes(session, gen, {r.code for r in rows})
    out = []
    for r in rows:
        n = now.get(r.code)
        if (
            n is None
            or n.name != r.name
            or n.parent_code != r.parent_code
            or not shapely.equals_exact(n.geom, r.geom, SAME_DEG)
        ):
            out.append(r.code)
    return sorted(out)


def _boxed(row: GridRow) -> dict[str, Any]:
    """A conflicting grid as the page zooms to it: code, level, bbox [w, s, e, n] (EPSG:4490)."""
    return {"code": row.code, "level": row.level,
            "bbox": [round(float(v), 7) for v in row.geom.bounds]}  # fmt: skip


def _edits_in_force(session: Session, generation_id: int, at: Any = None) -> list[DraftEdit]:
    """The edits of ``generation_id`` in force now (``at`` None: state ``done``) or at time
    ``at`` (made by then and not undone by then), in the order they were made."""
    q = select(DraftEdit).where(DraftEdit.generation_id == generation_id)
    if at is None:
        q = q.where(DraftEdit.state == "done")
    else:
        q = q.where(
            DraftEdit.at <= at,
            or_(DraftEdit.state == "done", DraftEdit.undone_at > at),
        )
    return list(session.scalars(q.order_by(DraftEdit.id)))


def chain_edits(*, session: Session, draft: Generation) -> tuple[list[DraftEdit], int | None]:
    """The edits a rebase replays for ``draft`` and the published base they were made on.

    Walks ``created_from`` from the draft up to the first generation that was ever in force
    (:func:`layers.planning.newer_work.published_base`): each unpublished ancestor contributes
    the edits in force when its child was copied from it. Returns ``(edits, base_id)``, the
    oldest ancestor's edits first; ``base_id`` is None when the chain ends at an imported draft
    (or loops) — the caller refuses that case."""
    base_id = published_base(session=session, generation_id=draft.created_from, draft_id=draft.id)
    chain = [_edits_in_force(session, draft.id)]
    child, seen = draft, {draft.id}
    while child.created_from is not None and child.created_from != base_id:
        parent = session.get(Generation, child.created_from)
        if parent is None or parent.id in seen or parent.created_from is None:
            return [e for part in reversed(chain) for e in part], None
        seen.add(parent.id)
        chain.append(_edits_in_force(session, parent.id, at=child.created_at))
        child = parent
    return [e for part in reversed(chain) for e in part], base_id


def rebase_draft(
    *,
    session: Session,
    draft_id: int,
    actor: Actor,
    metric_srid: int,
    choices: dict[str, str] | None = None,
    prefer: str | None = None,
) -> dict[str, Any]:
    """A new draft = the generation in force + the ``done`` edits of draft ``draft_id``.
    Returns ``{generation, rebased_from, base, edits}``. Raises InvalidState (not a draft,
    already on the generation in force, no edit log) and RebaseConflict; the caller's
    transaction rolls back on any (nothing stored).

    An imported draft (no base it was copied from, no edits) is rebased by the three-way
    comparison of ``layers.planning.rebase_import`` instead; ``choices`` (``{code:
    "draft"|"active"}``) and ``prefer`` decide its conflicts (they are refused for a draft
    with an edit log, whose conflicts are redone by hand)."""
    draft = get_generation(session=session, generation_id=draft_id)
    if draft.status is not GenerationStatus.DRAFT:
        raise with_zh(
            InvalidState(
                f"generation {draft_id} is {draft.status.value}; only a draft is rebased (reject "
                "it back to draft first)",
                field="generation",
            ),
            f"版本 {draft_id} 的状态为 {draft.status.value}；只能对草案变基（请先退回为草案）",
        )
    current = session.scalar(select(Generation).where(Generation.status == GenerationStatus.ACTIVE))
    if current is not None and draft.created_from is None:
        from layers.planning.rebase_import import rebase_imported

        return rebase_imported(
            session=session, draft=draft, current=current, actor=actor,
            metric_srid=metric_srid, choices=choices, prefer=prefer,
        )  # fmt: skip
    if choices or prefer:
        raise with_zh(
            InvalidState(
                f"draft {draft_id} is rebased by replaying its edits: choices and prefer are "
                "for imported drafts only; leave them out",
                field="choices" if choices else "prefer",
            ),
            f"草案 {draft_id} 通过重放编辑来变基：choices 和 prefer 仅用于导入的草案，请删去",
        )
    edits, base_id = chain_edits(session=session, draft=draft)
    if base_id is None:
        raise with_zh(
            InvalidState(
                f"draft {draft_id} was copied from a draft that was imported from a file (or its "
                "copy chain loops): rebase that imported draft first, then copy the rebased one",
                field="generation",
            ),
            f"草案 {draft_id} 复制自一个由文件导入的草案：请先对该导入草案变基，再复制变基后的草案",
        )
    if current is None or base_id == current.id:
        raise with_zh(
            InvalidState(
                f"draft {draft_id} is already based on the generation in force; nothing to rebase",
                field="generation",
            ),
            f"草案 {draft_id} 已基于现行版本，无需变基",
        )
    if not edits:
        raise with_zh(
            InvalidState(
                f"draft {draft_id} has no edits to carry (an imported draft, or nothing edited); "
                "make a new draft from the active generation instead",
                field="generation",
            ),
            f"草案 {draft_id} 没有可迁移的编辑（导入的草案或未编辑）；请从现行版本新建草案",
        )
    new = copy_generation(
        session=session, source_id=current.id, name=f"{draft.name} (rebased)"[:200],
        note=f"draft {draft_id} rebased from generation {base_id} onto {current.id}",
        actor=actor,
    )  # fmt: skip
    for e in edits:
        rows = [GridRow.from_json(d) for d in e.before]
        named = _named_codes(e.params or {})
        touched = [r for r in rows if r.level == 3 or r.code in named]
        conflict = _changed_since(session, new.id, touched)
        detail = None
        if conflict:
            detail = f"grids {', '.join(conflict[:10])} were changed by the newer publication(s)"
        else:
            try:
                apply_edit(
                    session=session, draft_id=new.id, op=e.op, params=e.params, reason=e.reason,
                    actor=e.actor, metric_srid=metric_srid,
                )  # fmt: skip
            except DomainError as exc:
                detail = exc.detail
        if detail is not None:
            raise with_zh(
                RebaseConflict(
                    f"edit {e.id} ({e.op}) of draft {e.generation_id} does not replay on "
                    f"generation {current.id}: {detail}; nothing was stored — make a new draft "
                    "from the active generation and redo that edit by hand",
                    field="generation",
                    extra={
                        "edit": e.id,
                        "op": e.op,
                        "grids": conflict,
                        "conflicts": [_boxed(r) for r in touched if r.code in conflict],
                    },
                ),
                f"草案 {e.generation_id} 的编辑 {e.id}（{e.op}）无法在版本 {current.id} 上重放"
                f"（{'、'.join(conflict[:10]) or detail}）；未做任何修改——"
                "请从现行版本新建草案并手工重做该编辑",
            )
    return {"generation": new.id, "rebased_from": draft_id, "base": current.id,
            "edits": len(edits)}  # fmt: skip
