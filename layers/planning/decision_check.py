"""The one shape of a decision on what a publication left to decide (issue 10): staff
assignments on retired codes (``layers.planning.decisions``), grids left without a role
(``layers.planning.staffing``) and zone members on retired codes (``layers.planning.to_decide``).

Every such decision makes the same checks in the same order -- :func:`open_decision`: a planner
or admin (ReviewRefused, 403), a reason (ReviewInputInvalid, 422), a known decision (422), the
generation locked for update and in force -- and ends the same way -- :func:`close_decision`: an
``edit`` step of the generation's review log (who, when, why, what) and the answer
``{**details, remaining}``. :func:`successors_sql` is the one SQL of a retired code's
candidates: its lineage successors that are grids of the generation.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from sqlalchemy.orm import Session

from layers.errors import with_zh
from layers.models import Generation
from layers.planning.drafts import Actor


def successors_sql(code_column: str) -> str:
    """SQL expression (``text[]``, sorted, ``ARRAY[]`` for none): the lineage successors of the
    retired code ``code_column`` (e.g. ``"a.grid_code"``) that are grids of generation ``:g``
    (a bind parameter the query supplies)."""
    return (
        "COALESCE((\n"
        "    SELECT array_agg(DISTINCT l.new_code ORDER BY l.new_code) FROM grid_lineage l\n"
        "    JOIN grid n ON n.generation_id = :g AND n.code = l.new_code\n"
        f"    WHERE l.old_code = {code_column} AND l.new_code IS NOT NULL\n"
        "), ARRAY[]::text[])"
    )


def open_decision(
    *,
    session: Session,
    generation_id: int,
    actor: Actor,
    reason: str | None,
    decision: str,
    decisions: tuple[str, ...],
    what: str,
    send_en: str,
    send_zh: str,
    require: Callable[[Generation], None] | None = None,
) -> tuple[Generation, str]:
    """The checks of a decision, in order: ``actor`` a planner or admin (ReviewRefused, 403,
    naming ``what``, e.g. "decide an assignment"), a ``reason`` (ReviewInputInvalid, 422),
    ``decision`` one of ``decisions`` (422; ``send_en``/``send_zh`` say what to send), then the
    generation locked for update and checked by ``require`` (default
    ``layers.planning.staffing.require_active``: GenerationSuperseded 410 / InvalidState 409).
    Returns ``(locked generation, stripped reason)``; GenerationNotFound (404)."""
    from layers.planning.review import ReviewInputInvalid, _reason, _require_role, lock_generation
    from layers.planning.staffing import require_active

    _require_role(actor, what)
    why = _reason(reason, "decision")
    if decision not in decisions:
        raise with_zh(
            ReviewInputInvalid(
                f"decision {decision!r} is unknown; send {send_en}", field="decision"
            ),
            f"处理方式 {decision!r} 不存在：{send_zh}",
        )
    generation = lock_generation(session=session, generation_id=generation_id)
    (require or require_active)(generation)
    return generation, why


def close_decision(
    *,
    session: Session,
    generation: Generation,
    actor: Actor,
    why: str,
    details: dict[str, Any],
    remaining: Callable[[], list[dict[str, Any]]],
) -> dict[str, Any]:
    """Record the decision ``details`` (``{"step": …, …}``) as an ``edit`` step of the active
    ``generation``'s review log and answer ``{**details, "remaining": remaining()}`` (what is
    still to decide of that kind, read after the change)."""
    from layers.planning.review import record_step

    record_step(
        session=session, generation=generation, action="edit", actor=actor,
        reason=why, from_status="active", to_status="active", details=details,
    )  # fmt: skip
    return {**details, "remaining": remaining()}


__all__ = ["close_decision", "open_decision", "successors_sql"]
