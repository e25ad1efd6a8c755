"""Review and publication of generations, with who, when and why of every step.

States: ``draft`` → ``submitted`` (a planner, with a reason; only a valid draft) →
``approved`` (by a planner or admin other than the submitter: four eyes for everyone) →
``active`` (published now, or at a scheduled ``effective_at``) → ``retired`` (when the next
one is published). ``reject`` sends a submitted generation back to ``draft``.

Publishing (:func:`publish`) is a dry run unless ``commit``: the dry run answers what would
happen (validation, comparison with the active generation and the impact report of
``layers.planning.impact`` when that module exists, else "impact: not available") and changes
nothing. A committed publication runs in the caller's transaction: the generation is
activated, the previous one retired at the same instant and the living data re-anchored
(``layers.planning.impact.reanchor``), so an error leaves the city as it was. A scheduled one
is activated by :func:`apply_due_publications`, which ``layers.grids.active_generation`` runs
before every lookup, with ``activated_at`` = the scheduled time (so ``at=`` queries before it
answer the old generation, after it the new one).

Rolling back = publishing a retired generation (admin): it is copied into a new generation,
which is published as above with the same report.

Every step is a row of ``generation_review``; every change bumps ``generation.version``
(optimistic locking: a caller that read version v and sends it back gets VersionConflict if
someone changed the generation meanwhile).
"""

from __future__ import annotations

import logging
from datetime import UTC, datetime, timedelta
from typing import Any

import orjson
from sqlalchemy import select, text
from sqlalchemy.orm import Session

from gis.crs import SRID_METRIC_DEFAULT
from layers.errors import DomainError, GenerationNotFound, GridNotFound, InvalidState, with_zh
from layers.grids import due_publications, get_generation, publish_generation
from layers.models import Generation, GenerationStatus
from layers.planning.drafts import (
    Actor,
    DraftInvalid,
    compare_generations,
    copy_generation,
    kinds_text,
    problems_summary,
    validate_stored,
)
from layers.planning.lineage import DEFAULT_TOLERANCE, ShapeTolerance
from layers.planning.newer_work import newer_publications
from layers.planning.newer_work import refusal as newer_work_refusal
from layers.planning.review_log import GenerationReview, record_step

log = logging.getLogger(__name__)
PUBLISH_LOCK_KEY = 72_032_281  # pg advisory lock: one publication at a time
PAST_TOLERANCE = timedelta(minutes=1)
REVIEW_ROLES = ("planner", "admin")
STATUS_ZH = {"draft": "草案", "submitted": "待审核", "approved": "已批准", "active": "现行",
             "retired": "已停用"}  # fmt: skip
SCHEDULER = Actor(name="scheduler", role="system")
IMPACT_NOT_AVAILABLE = "impact: not available"


class VersionConflict(DomainError):
    """The generation changed since the caller read it (409); ``extra['current_version']``."""


class ReviewRefused(DomainError):
    """A review step the actor may not take (403), e.g. approving one's own submission."""


class ReviewInputInvalid(DomainError):
    """A missing reason, a bad effective time (422)."""


def review_log(*, session: Session, generation_id: int) -> list[dict[str, Any]]:
    get_generation(session=session, generation_id=generation_id)
    rows = session.scalars(
        select(GenerationReview)
        .where(GenerationReview.generation_id == generation_id)
        .order_by(GenerationReview.id)
    )
    return [r.to_dict() for r in rows]


# -- helpers ----------------------------------------------------------------------------------
zh = with_zh  # layers/errors.py: the one way a refusal gets its Chinese text


def _reason(reason: str | None, step: str) -> str:
    if reason is None or not str(reason).strip():
        raise zh(
            ReviewInputInvalid(f"a {step} needs a reason; say why in 'reason'", field="reason"),
            "请填写理由（reason），说明为什么这样做",
        )
    return str(reason).strip()


def lock_generation(*, session: Session, generation_id: int) -> Generation:
    """The generation row, locked for update and re-read (never a stale identity-map copy)."""
    found = session.scalar(
        select(Generation)
        .where(Generation.id == generation_id)
        .with_for_update()
        .execution_options(populate_existing=True)
    )
    if found is None:
        raise GenerationNotFound(
            f"no generation {generation_id}; list them at /api/v1/generations", field="generation"
        )
    return found


def check_version(generation: Generation, expected: int | None) -> None:
    """Raise VersionConflict unless ``expected`` is None or the current version."""
    if expected is not None and int(expected) != generation.version:
        raise zh(VersionConflict(
            f"generation {generation.id} was changed by someone else (version {expected} -> "
            f"{generation.version}); read it again (GET /api/v1/generations/{generation.id}), "
            "then repeat your change with the current version",
            field="version",
            extra={"current_version": generation.version},
        ), f"版本 {generation.id} 已被他人修改（版本 {expected} → {generation.version}），"
           "请重新加载后用当前版本再操作")  # fmt: skip


def _require_status(generation: Generation, *allowed: GenerationStatus, step: str) -> None:
    if generation.status not in allowed:
        names = " or ".join(s.value for s in allowed)
        zh_names = "或".join(STATUS_ZH.get(s.value, s.value) for s in allowed)
        raise zh(InvalidState(
            f"generation {generation.id} is {generation.status.value}; only a {names} "
            f"generation can be {step}",
            field="status",
        ), f"版本 {generation.id} 的状态是“{STATUS_ZH.get(generation.status.value)}”，"
           f"只有“{zh_names}”状态的版本可以进行这一步")  # fmt: skip


def _check_emergency(actor: Actor, effective: datetime, now: datetime) -> None:
    """An unreviewed (emergency) publication: an admin's, taking effect now."""
    if actor.role != "admin":
        raise zh(ReviewRefused(
            f"role {actor.role} may not publish without review; submit the draft and have "
            "another planner or an admin approve it (an emergency publication needs an admin)",
            field="Authorization",
        ), "未经审核不能发布：请提交草稿，由另一名规划员或管理员批准后再发布"
           "（紧急发布只能由管理员进行）")  # fmt: skip
    if effective > now:
        raise zh(ReviewInputInvalid(
            "an emergency publication takes effect now; leave 'at' out, or take the draft "
            "through review to schedule it",
            field="at",
        ), "紧急发布立即生效，不能指定生效时间；如需定时发布，请走审核流程")  # fmt: skip


def _require_role(actor: Actor, step: str) -> None:
    if actor.role not in REVIEW_ROLES:
        raise zh(ReviewRefused(
            f"role {actor.role} may not {step}; it needs a planner or admin token",
            field="Authorization",
        ), f"角色 {actor.role} 无权进行这一步，需要规划员或管理员账号")  # fmt: skip


def _same_person(a: Actor, step: GenerationReview) -> bool:
    """The four-eyes rule: the same account (whichever of its tokens or page sessions it used),
    else the same token, else the same name (accounts without users, the command line)."""
    if a.user_id is not None and step.actor_user_id is not None:
        return a.user_id == step.actor_user_id
    if a.token_id is not None and step.actor_token_id is not None:
        return a.token_id == step.actor_token_id
    return a.name == step.actor


def _validate_or_refuse(*, session: Session, generation: Generation, metric_srid: int) -> dict:
    from layers.planning.problem_words import problem_text

    report = validate_stored(session=session, generation_id=generation.id, metric_srid=metric_srid)
    summary = problems_summary(report)
    if not report.ok:
        first = report.problems[0].detail
        raise zh(DraftInvalid(
            f"generation {generation.id} has {len(report.problems)} validation problems "
            f"({kinds_text(report.by_kind())}), e.g. {first}; fix them in the draft (or import a "
            "corrected file) before it can be submitted or published",
            field="generation",
            extra={"validation": summary},
        ), f"版本 {generation.id} 有 {len(report.problems)} 个校验问题"
           f"（{kinds_text(report.by_kind())}），例如 {problem_text(report.problems[0], 'zh')}；"
           "请先在草案中改正，"
           "再提交或发布")  # fmt: skip
    return summary


# -- metadata and review steps ----------------------------------------------------------------
def update_draft(
    *,
    session: Session,
    generation_id: int,
    actor: Actor,
    version: int | None,
    name: str | None = None,
    note: str | None = None,
) -> Generation:
    """Rename or annotate a draft (optimistic locking by ``version``)."""
    generation = lock_generation(session=session, generation_id=generation_id)
    check_version(generation, version)
    _require_status(generation, GenerationStatus.DRAFT, step="edited")
    changes: dict[str, list[str | None]] = {}
    if name is not None:
        if not name.strip():
            raise with_zh(
                ReviewInputInvalid("name is empty; give the draft a name", field="name"),
                "名称为空，请给草案起个名字",
            )
        changes["name"] = [generation.name or "", name.strip()]
        generation.name = name.strip()
    if note is not None:
        changes["note"] = [generation.note, note]
        generation.note = note
    generation.version += 1
    record_step(
        session=session, generation=generation, action="edit", actor=actor,
        reason="metadata", from_status="draft", details=changes,
    )  # fmt: skip
    return generation


def submit(
    *,
    session: Session,
    generation_id: int,
    actor: Actor,
    reason: str | None,
    version: int | None,
    metric_srid: int,
) -> Generation:
    """draft → submitted; the draft must be valid (DraftInvalid with the problems)."""
    _require_role(actor, "submit a draft")
    why = _reason(reason, "submission")
    generation = lock_generation(session=session, generation_id=generation_id)
    check_version(generation, version)
    _require_status(generation, GenerationStatus.DRAFT, step="submitted")
    summary = _validate_or_refuse(session=session, generation=generation, metric_srid=metric_srid)
    generation.status = GenerationStatus.SUBMITTED
    generation.version += 1
    record_step(
        session=session, generation=generation, action="submit", actor=actor, reason=why,
        from_status="draft", details={"counts": summary["counts"]},
    )  # fmt: skip
    return generation


def _last_submission(session: Session, generation_id: int) -> GenerationReview | None:
    return session.scalar(
        select(GenerationReview)
        .where(GenerationReview.generation_id == generation_id, GenerationReview.action == "submit")
        .order_by(GenerationReview.id.desc())
        .limit(1)
    )


def approve(
    *, session: Session, generation_id: int, actor: Actor, reason: str | None, version: int | None
) -> Generation:
    """submitted → approved, by a planner or an admin other than the submitter (four eyes for
    everyone, admins and the command line included)."""
    _require_role(actor, "approve a draft")
    why = _reason(reason, "approval")
    generation = lock_generation(session=session, generation_id=generation_id)
    check_version(generation, version)
    _require_status(generation, GenerationStatus.SUBMITTED, step="approved")
    submitted = _last_submission(session, generation_id)
    if submitted is not None and _same_person(actor, submitted):
        raise zh(ReviewRefused(
            f"{actor.name} submitted generation {generation_id} and may not approve it too; "
            "another planner or admin must approve it (four eyes)",
            field="Authorization",
        ), f"{actor.name} 提交了第 {generation_id} 代网格，不能再由本人批准；"
           "请由另一位规划员或管理员批准（双人审核）")  # fmt: skip
    generation.status = GenerationStatus.APPROVED
    generation.version += 1
    record_step(
        session=session, generation=generation, action="approve", actor=actor, reason=why,
        from_status="submitted",
        details={"submitted_by": submitted.actor if submitted else None},
    )  # fmt: skip
    return generation


def reject(
    *, session: Session, generation_id: int, actor: Actor, reason: str | None, version: int | None
) -> Generation:
    """submitted or approved (not yet in force) → draft, with a reason."""
    _require_role(actor, "send a draft back")
    why = _reason(reason, "rejection")
    generation = lock_generation(session=session, generation_id=generation_id)
    check_version(generation, version)
    _require_status(
        generation, GenerationStatus.SUBMITTED, GenerationStatus.APPROVED, step="sent back"
    )
    before = generation.status.value
    generation.status = GenerationStatus.DRAFT
    generation.effective_at = None
    generation.version += 1
    record_step(
        session=session, generation=generation, action="reject", actor=actor, reason=why,
        from_status=before,
    )  # fmt: skip
    return generation


# -- impact and re-anchoring (layers.planning.impact, built separately) ------------------------
def impact_of(
    *,
    session: Session,
    draft_id: int,
    against_id: int | None,
    metric_srid: int = SRID_METRIC_DEFAULT,
    tolerance: ShapeTolerance = DEFAULT_TOLERANCE,
) -> Any:
    """The impact report of publishing ``draft_id`` over ``against_id``, or the text
    "impact: not available" while ``layers.planning.impact`` does not exist."""
    try:
        from layers.planning.impact import impact_report
    except ImportError:
        return IMPACT_NOT_AVAILABLE
    return impact_report(
        session=session, draft_id=draft_id, against_id=against_id, metric_srid=metric_srid,
        tolerance=tolerance,
    )  # fmt: skip


def pending_decisions(session: Session, generation_id: int | None) -> list[dict[str, Any]]:
    """Assignments still to decide from earlier publications (layers.planning.decisions)."""
    if generation_id is None:
        return []
    from layers.planning.decisions import assignments_to_decide

    return assignments_to_decide(session=session, generation_id=generation_id)


def _reanchor(
    *, session: Session, from_id: int, to_id: int, metric_srid: int, tolerance: ShapeTolerance
) -> Any:
    try:
        from layers.planning.impact import reanchor
    except ImportError:
        return "re-anchoring: not available"
    return reanchor(
        session=session, from_generation_id=from_id, to_generation_id=to_id,
        metric_srid=metric_srid, tolerance=tolerance,
    )  # fmt: skip


def _current(session: Session) -> Generation | None:
    return session.scalar(select(Generation).where(Generation.status == GenerationStatus.ACTIVE))


def _activate(
    *,
    session: Session,
    generation: Generation,
    at: datetime,
    actor: Actor,
    reason: str,
    metric_srid: int = SRID_METRIC_DEFAULT,
    tolerance: ShapeTolerance = DEFAULT_TOLERANCE,
    unreviewed: bool = False,
    reverts: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """Publish ``generation`` at ``at`` and re-anchor the living data; one transaction.
    ``unreviewed``: an admin's emergency publication, marked so in the log; ``reverts``: the
    newer work it undoes on purpose (``revert_newer``), logged as ``details.revert_newer``."""
    previous = _current(session)
    if previous is not None and previous.activated_at and at < previous.activated_at:
        at = previous.activated_at
    before = generation.status.value
    publish_generation(session=session, generation_id=generation.id, at=at)
    generation.effective_at = at
    generation.version += 1
    summary = None
    if previous is not None:
        summary = _reanchor(
            session=session, from_id=previous.id, to_id=generation.id, metric_srid=metric_srid,
            tolerance=tolerance,
        )  # fmt: skip
    record_step(
        session=session, generation=generation, action="publish", actor=actor, reason=reason,
        from_status=before, to_status="active", effective_at=at,
        details={"replaces": previous.id if previous else None, "reanchor": summary,
                 **({"unreviewed": True, "emergency": True} if unreviewed else {}),
                 **({"revert_newer": reverts} if reverts else {})},
    )  # fmt: skip
    if reverts:
        log.warning("generation %s published over newer work on purpose by %s: %s",
                    generation.id, actor.label, reason)  # fmt: skip
    return {"replaces": previous.id if previous else None, "reanchor": summary}


def _parse_effective(at: datetime | None, now: datetime) -> datetime:
    if at is None:
        return now
    if at.tzinfo is None:
        at = at.replace(tzinfo=UTC)
    if at < now - PAST_TOLERANCE:
        raise with_zh(
            ReviewInputInvalid(
                f"effective time {at.isoformat()} is in the past; publish now (leave 'at' out) or "
                "give a future time — the past cannot be rewritten",
                field="at",
            ),
            f"生效时间 {at.isoformat()} 已经过去；请立即发布（不填生效时间）或填写将来的时间",
        )
    return max(at, now)


def publish(
    *,
    session: Session,
    generation_id: int,
    actor: Actor,
    reason: str | None,
    at: datetime | None = None,
    commit: bool = False,
    version: int | None = None,
    metric_srid: int,
    emergency: bool = False,
    tolerance: ShapeTolerance = DEFAULT_TOLERANCE,
    revert_newer: bool = False,
) -> dict[str, Any]:
    """Publish an approved generation now or at ``at``; a dry run unless ``commit`` (a dry
    run is answered for any valid generation that is not active, so a planner sees the impact
    before submitting).

    A retired generation is rolled back to (admin): copied into a new generation that is
    published. Committing needs an approved generation (submitted by one planner, approved by
    another or an admin), for everyone. The one exception is ``emergency`` (admin only, now,
    with a reason): a draft or submitted generation is published unreviewed and its log's
    publish step says so (``details.unreviewed``).

    Returns a JSON-able dict: ``dry_run``, ``generation`` (the id asked for; once a rollback is
    committed, the new copy that is or will be active), ``rollback``, ``rollback_of`` (a
    rollback's retired generation), ``effective_at``, ``scheduled``, ``replaces``,
    ``validation``, ``comparison`` (within ``tolerance``), ``impact``, ``message`` and, when
    committed, ``published`` (the id that is or will be active) and, when it took effect now,
    ``reanchor``. Keys without a meaning in a case are left out (no nulls).

    ``newer_publications`` (left out when the draft's base is the generation in force): the
    generations published since the draft was copied and the grids it would revert or
    override (``layers.planning.newer_work``); committing such a draft is refused
    (NewerWorkWouldBeReverted, 409) unless ``revert_newer`` (logged in the publish step).

    Raises ReviewRefused, ReviewInputInvalid, InvalidState, VersionConflict, DraftInvalid,
    NewerWorkWouldBeReverted.
    """
    _require_role(actor, "publish")
    why = _reason(reason, "publication")
    now = datetime.now(UTC)
    effective = _parse_effective(at, now)
    generation = lock_generation(session=session, generation_id=generation_id)
    check_version(generation, version)
    rollback = generation.status is GenerationStatus.RETIRED
    if generation.status is GenerationStatus.ACTIVE:
        raise with_zh(
            InvalidState(
                f"generation {generation_id} is already active; nothing to publish", field="status"
            ),
            f"版本 {generation_id} 已是现行版本，无需发布",
        )
    if rollback and actor.role != "admin":
        raise with_zh(
            ReviewRefused(
                f"generation {generation_id} is retired: publishing it again is a rollback, which "
                "needs an admin (or copy it as a draft and take it through review)",
                field="Authorization",
            ),
            f"版本 {generation_id} 已停用：再次发布即回退，需要管理员（"
            "或将其复制为草案并走审核流程）",
        )
    validation = _validate_or_refuse(
        session=session, generation=generation, metric_srid=metric_srid
    )
    unreviewed = commit and not rollback and generation.status is not GenerationStatus.APPROVED
    if unreviewed and not emergency:
        _require_status(
            generation, GenerationStatus.APPROVED,
            step="published (submit it, and have another planner or an admin approve it)",
        )  # fmt: skip
    if unreviewed:
        _check_emergency(actor, effective, now)
    current = _current(session)
    answer: dict[str, Any] = {
        "dry_run": not commit,
        "generation": generation.id,
        "rollback": rollback,
        **({"rollback_of": generation.id} if rollback else {}),
        "effective_at": effective.isoformat(),
        "scheduled": effective > now,
        "replaces": {"id": current.id, "name": current.name} if current else None,
        "validation": validation,
        "comparison": compare_generations(
            session=session,
            generation_id=generation.id,
            against_id=current.id if current else None,
            metric_srid=metric_srid,
            tolerance=tolerance,
        )
        if current
        else None,
        "impact": impact_of(
            session=session,
            draft_id=generation.id,
            against_id=current.id if current else None,
            metric_srid=metric_srid,
            tolerance=tolerance,
        ),
    }
    answer.update(_pending_conflicts(session, generation.id, current, effective))
    newer = None if rollback else newer_publications(
        session=session, generation=generation, current=current
    )  # fmt: skip
    if newer is not None:
        answer["newer_publications"] = newer
        if commit and newer["loses_work"] and not revert_newer:
            raise newer_work_refusal(newer, generation.id)
    if not commit:
        answer["message"] = "dry run: nothing changed; send commit=true to publish"
        return answer
    session.execute(text("SELECT pg_advisory_xact_lock(:k)"), {"k": PUBLISH_LOCK_KEY})
    target = generation
    if rollback:
        target = copy_generation(
            session=session,
            source_id=generation.id,
            name=f"{generation.name} (rollback {now:%Y-%m-%d %H:%M} UTC)",
            note=why,
            actor=actor,
        )
        record_step(
            session=session, generation=target, action="rollback", actor=actor, reason=why,
            from_status="draft", details={"copy_of": generation.id},
        )  # fmt: skip
    answer["published"] = answer["generation"] = target.id
    if answer["scheduled"]:
        before = target.status.value
        target.status = GenerationStatus.APPROVED
        target.effective_at = effective
        target.version += 1
        record_step(
            session=session, generation=target, action="schedule", actor=actor, reason=why,
            from_status=before, effective_at=effective,
            details={**({"base": current.id} if current else {}),
                     **({"revert_newer": newer} if newer else {})} or None,
        )  # fmt: skip
        answer["message"] = (
            f"generation {target.id} will take effect at {effective.isoformat()}; until then "
            f"generation {current.id if current else '-'} stays in force"
        )
        return answer
    done = _activate(
        session=session, generation=target, at=effective, actor=actor, reason=why,
        metric_srid=metric_srid, tolerance=tolerance, unreviewed=unreviewed,
        reverts=newer if newer and newer["loses_work"] else None,
    )  # fmt: skip
    answer["reanchor"] = done["reanchor"]
    pending = pending_decisions(session, target.id)
    if pending:
        answer["assignments_to_decide"] = pending
    answer["message"] = f"generation {target.id} is active since {effective.isoformat()}"
    return answer


def _scheduled_base(session: Session, generation_id: int) -> int | None:
    """The generation that was in force when ``generation_id`` was scheduled (None if unknown:
    scheduled before the base was recorded, or over an empty city)."""
    step = session.scalar(
        select(GenerationReview)
        .where(GenerationReview.generation_id == generation_id)
        .where(GenerationReview.action == "schedule")
        .order_by(GenerationReview.id.desc())
        .limit(1)
    )
    base = (step.details or {}).get("base") if step is not None else None
    return int(base) if base is not None else None


def _pending_conflicts(
    session: Session, generation_id: int, current: Generation | None, effective: datetime
) -> dict[str, Any]:
    """Scheduled publications on the same base as a publication of ``generation_id`` at
    ``effective``: ``supersedes`` (those due after it: they will be refused at their time, their
    base being gone) and ``superseded_by`` (those due before it: this one would be refused).
    Empty keys are left out."""
    if current is None:
        return {}
    rows = session.scalars(
        select(Generation)
        .where(Generation.status == GenerationStatus.APPROVED, Generation.id != generation_id)
        .where(Generation.effective_at.is_not(None))
        .order_by(Generation.effective_at, Generation.id)
    ).all()
    later: list[dict[str, Any]] = []
    earlier: list[dict[str, Any]] = []
    for g in rows:
        if _scheduled_base(session, g.id) not in (current.id, None):
            continue
        due = g.effective_at
        if due is None:
            continue
        item = {"id": g.id, "name": g.name, "effective_at": due.isoformat()}
        (later if due > effective else earlier).append(item)
    out: dict[str, Any] = {}
    if later:
        out["supersedes"] = later
    if earlier:
        out["superseded_by"] = earlier
    return out


def _refuse_stale(session: Session, gen: Generation, base: int, active: Generation | None) -> None:
    """A scheduled publication whose base is no longer in force goes back to draft, with the
    reason in its review log (it would silently revert the newer publication)."""
    gen.status = GenerationStatus.DRAFT
    gen.effective_at = None
    gen.version += 1
    reason = (
        f"scheduled publication refused: it was prepared over generation {base}, but generation "
        f"{active.id if active else '-'} was published since; compare the draft with the active "
        "generation again (impact), then submit it again"
    )
    record_step(
        session=session, generation=gen, action="reject", actor=SCHEDULER, reason=reason,
        from_status="approved", to_status="draft",
        details={"refused": "base_changed", "base": base,
                 "active": active.id if active else None},
    )  # fmt: skip
    log.warning("generation %s: %s", gen.id, reason)


def apply_due_publications(session: Session, now: datetime | None = None) -> list[int]:
    """Activate approved generations whose ``effective_at`` has come (oldest first), each at its
    effective time; returns their ids. One whose base (the generation in force when it was
    scheduled) is no longer active is refused instead: back to draft, the reason logged.
    Never raises: a failure is logged and rolled back to a
    savepoint, and the lookup goes on with the generation in force."""
    if session.info.get("gridgis_applying_publications"):
        return []
    when = now or datetime.now(UTC)
    due = due_publications(session, when)
    if not due:
        return []
    session.info["gridgis_applying_publications"] = True
    done: list[int] = []
    try:
        with session.begin_nested():
            locked = session.execute(
                text("SELECT pg_try_advisory_xact_lock(:k)"), {"k": PUBLISH_LOCK_KEY}
            ).scalar()
            if not locked:
                return []
            for gen_id in due:
                gen = lock_generation(session=session, generation_id=gen_id)
                if gen.status is not GenerationStatus.APPROVED or gen.effective_at is None:
                    continue
                if gen.effective_at > when:
                    continue
                base, active = _scheduled_base(session, gen.id), _current(session)
                if base is not None and (active is None or active.id != base):
                    _refuse_stale(session, gen, base, active)
                    continue
                _activate(
                    session=session, generation=gen, at=gen.effective_at, actor=SCHEDULER,
                    reason=f"scheduled publication at {gen.effective_at.isoformat()}",
                )  # fmt: skip
                done.append(gen_id)
    except Exception:
        log.exception("scheduled publication of generations %s failed; retried later", due)
        return []
    finally:
        session.info.pop("gridgis_applying_publications", None)
    return done


# -- history of a grid ------------------------------------------------------------------------
def grid_history(*, session: Session, code: str, drafts: bool = False) -> dict[str, Any]:
    """A grid's geometry in every generation that has it (published ones, or all with
    ``drafts``), with the period each was in force, and its lineage rows when the
    ``grid_lineage`` table exists. Geometry as GeoJSON (EPSG:4490), areas in m²."""
    apply_due_publications(session)
    where = "" if drafts else "AND g.activated_at IS NOT NULL"
    rows = session.execute(
        text(
            "SELECT g.id, g.name AS generation_name, g.status, g.activated_at, g.retired_at, "
            "g.effective_at, gr.name, gr.level, gr.parent_code, gr.area_m2, "
            "ST_AsGeoJSON(gr.geom, 7, 0) AS gj FROM grid gr JOIN generation g "
            f"ON g.id = gr.generation_id WHERE gr.code = :code {where} "
            "ORDER BY g.activated_at NULLS LAST, g.id"
        ),
        {"code": code},
    ).all()
    if not rows:
        raise GridNotFound(
            f"grid {code} is in no {'generation' if drafts else 'published generation'}; "
            "find codes with /api/v1/grids" + ("" if drafts else " (drafts=true adds drafts)"),
            field="code",
        )
    history = [
        {
            "generation": {"id": r.id, "name": r.generation_name, "status": str(r.status)},
            "valid_from": r.activated_at.isoformat() if r.activated_at else None,
            "valid_to": r.retired_at.isoformat() if r.retired_at else None,
            **(
                {"scheduled_for": r.effective_at.isoformat()}
                if r.effective_at and not r.activated_at
                else {}
            ),
            "name": r.name,
            "level": r.level,
            "parent_code": r.parent_code,
            "area_m2": round(r.area_m2, 1),
            "geometry": orjson.loads(r.gj),
        }
        for r in rows
    ]
    lineage = None
    if session.execute(text("SELECT to_regclass('grid_lineage')")).scalar() is not None:
        lineage = [
            dict(m)
            for m in session.execute(
                text(
                    "SELECT old_generation_id, new_generation_id, level, old_code, new_code, "
                    "kind, overlap_m2, share_of_old, share_of_new FROM grid_lineage "
                    "WHERE old_code = :code OR new_code = :code ORDER BY new_generation_id, id"
                ),
                {"code": code},
            ).mappings()
        ]
    return {"code": code, "history": history, "lineage": lineage}
