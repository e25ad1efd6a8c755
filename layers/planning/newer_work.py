"""Approved work is never lost silently: a draft copied from generation *B* and published after
newer generations took over from *B* would put back *B*'s outlines and names wherever the newer
publications changed them (drafts A and B both copied from 17, A published, then B published:
A's rename is undone).

:func:`newer_publications` names them before anyone publishes: the generations published since
the draft's base (``generation.created_from``, or for a draft copied from a draft the first
published generation up its copy chain: :func:`published_base`), and the grids they changed
that the draft would *revert* (the draft still has the base's version) or *override* (the draft
changed them too, differently). ``review.publish`` shows it in every dry run and refuses to
commit (HTTP 409, :class:`NewerWorkWouldBeReverted`) unless the planner confirms with
``revert_newer`` (logged with the reason). A rollback (publishing a retired generation again)
is not checked here: it reverts on purpose and has its own impact report. A draft imported from
a file has no base and is compared with the generation in force by its impact report only.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import select, text
from sqlalchemy.orm import Session

from layers.errors import InvalidState, with_zh
from layers.models import Generation, GenerationStatus

MAX_LISTED = 200  # grid codes listed per kind in an answer (the counts are always exact)


class NewerWorkWouldBeReverted(InvalidState):
    """Publishing would revert grids changed by generations published since the draft's base
    (HTTP 409); ``extra`` holds :func:`newer_publications`' report."""


# Grids that differ between the base and the generation in force (added, removed, reshaped,
# renamed, re-parented), and for each whether the draft still has the base's version
# (``reverted``) or a third one (``overridden``). Exact comparison: a draft's untouched rows are
# byte copies of its base (copy_generation), so ST_OrderingEquals is the right test.
_CHANGED_SQL = text(
    """
    WITH b AS (SELECT code, level, name, parent_code, geom FROM grid WHERE generation_id = :base),
         c AS (SELECT code, level, name, parent_code, geom FROM grid WHERE generation_id = :cur),
         d AS (SELECT code, name, parent_code, geom FROM grid WHERE generation_id = :draft),
         changed AS (
           SELECT coalesce(b.code, c.code) AS code, coalesce(c.level, b.level) AS level
           FROM b FULL JOIN c ON c.code = b.code
           WHERE b.code IS NULL OR c.code IS NULL OR b.name IS DISTINCT FROM c.name
              OR b.parent_code IS DISTINCT FROM c.parent_code
              OR NOT ST_OrderingEquals(b.geom, c.geom))
    SELECT ch.code, ch.level,
           CASE WHEN (b.code IS NULL AND d.code IS NULL)
                  OR (b.code IS NOT NULL AND d.code IS NOT NULL AND b.name = d.name
                      AND b.parent_code IS NOT DISTINCT FROM d.parent_code
                      AND ST_OrderingEquals(b.geom, d.geom)) THEN 'reverted'
                WHEN (c.code IS NULL AND d.code IS NULL)
                  OR (c.code IS NOT NULL AND d.code IS NOT NULL AND c.name = d.name
                      AND c.parent_code IS NOT DISTINCT FROM d.parent_code
                      AND ST_OrderingEquals(c.geom, d.geom)) THEN 'kept'
                ELSE 'overridden' END AS fate
    FROM changed ch
    LEFT JOIN b ON b.code = ch.code
    LEFT JOIN c ON c.code = ch.code
    LEFT JOIN d ON d.code = ch.code
    ORDER BY ch.level, ch.code
    """
)


def published_base(
    *, session: Session, generation_id: int | None, draft_id: int | None = None
) -> int | None:
    """The generation a draft really started from: ``generation_id`` itself when it was ever
    in force (``activated_at`` set), else the first ancestor along ``created_from`` that was (a
    draft copied from a draft has its source's base; the source's own edits are the copy's,
    not newer work). None when the chain ends at a never-published generation (an import) or
    loops. ``draft_id`` is never its own base."""
    seen: set[int] = set()
    gid = generation_id
    while gid is not None and gid not in seen and gid != draft_id:
        seen.add(gid)
        row = session.get(Generation, gid)
        if row is None:
            return None
        if row.activated_at is not None:
            return gid
        if row.created_from is None and gid != generation_id:  # a draft of an imported draft
            from layers.planning.rebase_import import imported_base

            return imported_base(session=session, draft=row)
        gid = row.created_from
    return None


def newer_publications(
    *,
    session: Session,
    generation: Generation,
    current: Generation | None,
    base_id: int | None = None,
) -> dict[str, Any] | None:
    """What publishing ``generation`` over ``current`` (the generation in force) would undo,
    or None when the draft's base is the generation in force (or unknown: an import).

    Returns ``{base, in_force, published_since: [{id, name, activated_at}], reverted:
    {count, codes}, overridden: {count, codes}, loses_work}``: ``reverted`` grids go back to
    the base's version, ``overridden`` ones get the draft's own version instead of the newer
    one (codes at most :data:`MAX_LISTED` per kind, L1 first), and ``changed_since`` (how
    many grids the newer publications changed: what a rebase would bring in). ``base_id``
    overrides the base (an imported draft's, ``layers.planning.rebase_import.imported_base``).
    """
    base_id = base_id if base_id is not None else generation.created_from
    base_id = published_base(session=session, generation_id=base_id, draft_id=generation.id)
    if base_id is None or current is None or current.id == base_id:
        return None
    base = session.get(Generation, base_id)
    # since the base left force: only work PUBLISHED after it counts
    since = (base.retired_at or base.activated_at) if base is not None else None
    since = since or generation.created_at
    rows = session.execute(
        text(
            "SELECT id, name, activated_at FROM generation WHERE activated_at IS NOT NULL "
            "AND id NOT IN (:base, :draft) AND activated_at >= :since "
            "ORDER BY activated_at, id"
        ),
        {"base": base_id, "draft": generation.id, "since": since},
    ).all()
    fates: dict[str, list[str]] = {"reverted": [], "overridden": []}
    changed_since = 0
    for code, _level, fate in session.execute(
        _CHANGED_SQL, {"base": base_id, "cur": current.id, "draft": generation.id}
    ):
        changed_since += 1
        if fate in fates:
            fates[fate].append(code)
    return {
        "base": base_id,
        "in_force": current.id,
        "published_since": [
            {"id": r.id, "name": r.name, "activated_at": r.activated_at.isoformat()} for r in rows
        ],
        **{k: {"count": len(v), "codes": v[:MAX_LISTED]} for k, v in fates.items()},
        "changed_since": changed_since,
        "loses_work": bool(fates["reverted"] or fates["overridden"]),
    }


def newer_than_in_force(
    *, session: Session, generation: Generation, imported: bool = False
) -> dict[str, Any] | None:
    """:func:`newer_publications` over the generation in force now (for the review answers);
    with ``imported``, an imported draft's base is found too (for /plan's rebase offer)."""
    current = session.scalar(select(Generation).where(Generation.status == GenerationStatus.ACTIVE))
    if current is not None and current.id == generation.id:
        return None  # the generation in force is behind nothing
    base_id = None
    if imported and generation.created_from is None:
        from layers.planning.rebase_import import imported_base

        base_id = imported_base(session=session, draft=generation)
        if base_id is None:
            return None
    return newer_publications(
        session=session, generation=generation, current=current, base_id=base_id
    )


def refusal(report: dict[str, Any], generation_id: int) -> NewerWorkWouldBeReverted:
    """The 409 for a publication that would undo newer published work (English and Chinese),
    with the report as ``extra`` (``newer_publications``)."""
    ids = ", ".join(str(g["id"]) for g in report["published_since"]) or str(report["in_force"])
    rev, ovr = report["reverted"]["count"], report["overridden"]["count"]
    sample = ", ".join((report["reverted"]["codes"] + report["overridden"]["codes"])[:5])
    return with_zh(  # type: ignore[return-value]
        NewerWorkWouldBeReverted(
            f"generation {generation_id} was copied from generation {report['base']}, but "
            f"generation(s) {ids} were published since: publishing it would revert {rev} grids "
            f"and override {ovr} more that they changed (e.g. {sample}); rebase the draft onto the "
            f"active generation (POST /api/v1/generations/{generation_id}/rebase, gridgis drafts "
            "rebase), or, to undo that work on purpose, send revert_newer=true with a reason "
            "(--revert-newer on the command line)",
            field="revert_newer",
            extra={"newer_publications": report},
        ),
        f"版本 {generation_id} 复制自版本 {report['base']}，但之后已发布了版本 {ids}："
        f"发布它会撤销其中 {rev} 个网格的修改、覆盖 {ovr} 个网格的修改（如 {sample}）；"
        "请将草案变基到现行版本（rebase），或确要撤销这些修改时，填写原因并设置 revert_newer=true"
        "（命令行 --revert-newer）",
    )
