"""Where a planner may change the grids: their scope (issue 11).

A planner's account has a scope (layers.accounts: the city, a town ``town:CODE``, a village, own
grids); ``codes`` below are its grid-code prefixes from :func:`layers.accounts.scope_codes`, None
for the city. One rule, applied on every path that changes a draft's grids:

- an edit (``POST /drafts/{id}/edits``, undo, redo, OGC ``PUT``/``PATCH``/``POST``/``DELETE``) may
  change only grids inside the scope: :func:`require_edit_in_scope` checks the grids the edit
  changed before and after (``edit.grids_before``/``grids_after`` of the edit's answer, every
  level: moving a town's outer edge changes the neighbouring town too), raised inside the
  request's transaction so nothing is stored;
- a file import (``POST /generations`` multipart) may differ from the active generation only
  inside the scope (:func:`require_draft_in_scope`);
- approving or publishing a draft that changes grids outside the approver's scope needs a
  city-wide planner or an admin (:func:`require_draft_in_scope` with ``step``);
- a draft belongs to the scope of the planner who made it (``generation.owner_scope``, written
  by :func:`claim_draft` when a draft is copied or imported; None, drafts made before or by the
  OS user on the command line: the city's). Anyone may read a draft, but renaming, editing
  (HTTP, OGC, ``--as``), submitting, rejecting, approving, rebasing or publishing it needs the
  draft's scope within the caller's (:func:`require_owner`), as well as the grids rule above:
  an unedited draft changes no grid, so the grids rule alone let a town's planner publish
  another town's (or the city's) draft, or lock its owner out with edits of their own (issue 11).

Admins are not bounded (they manage the accounts that set scopes). Errors: ``Forbidden`` (403)
naming the field and up to 10 of the codes outside, in English and Chinese (``with_zh``).
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from layers.accounts import Identity, in_codes, scope_codes
from layers.errors import Forbidden, with_zh
from layers.models import Role

LISTED = 10
"""How many outside codes a refusal names."""

_PARAM_FIELDS = ("code", "codes", "new_code", "to_parent")


def bounded(role: Role | str, codes: tuple[str, ...] | None) -> bool:
    """Whether the scope limits this caller's grid changes (not for admins or the city)."""
    return codes is not None and Role(role) is not Role.ADMIN


def _listed(codes: list[str]) -> str:
    more = f" and {len(codes) - LISTED} more" if len(codes) > LISTED else ""
    return ", ".join(codes[:LISTED]) + more


def _field_of(params: dict[str, Any], codes: tuple[str, ...]) -> str:
    """The edit parameter that names a code outside ``codes``, else ``grids`` (a vertex or an
    edge whose move reaches grids outside)."""
    for key in _PARAM_FIELDS:
        value = params.get(key)
        values = value if isinstance(value, list) else [value]
        if any(isinstance(v, str) and not in_codes(v, codes) for v in values):
            return key
    return "grids"


def require_edit_in_scope(
    *, answer: dict[str, Any], role: Role | str, codes: tuple[str, ...] | None, scope: str
) -> None:
    """Forbidden unless every grid the edit in ``answer`` (layers.planning.edits.apply_edit,
    undo_edit, redo_edit) changed lies inside ``codes``; ``scope`` is the scope's text for the
    message (``town:320281001``)."""
    if not bounded(role, codes):
        return
    edit = answer.get("edit") or {}
    touched = set(edit.get("grids_before") or []) | set(edit.get("grids_after") or [])
    outside = sorted(c for c in touched if not in_codes(c, codes))
    if not outside:
        return
    params = edit.get("params")
    params = params if isinstance(params, dict) else {}
    raise with_zh(
        Forbidden(
            f"this {edit.get('op', 'edit')} changes grids outside your scope ({scope}): "
            f"{_listed(outside)}; nothing was stored — edit inside your area, or ask a "
            "city-wide planner",
            field=_field_of(params, codes or ()),
            extra={"outside": outside[:100]},
        ),
        f"此次编辑会改动您权限范围（{scope}）以外的网格：{_listed(outside)}；未做任何修改——"
        "请只编辑本辖区的网格，或请全市规划员处理",
    )


def changed_outside(
    *, session: Session, generation_id: int, against_id: int | None, codes: tuple[str, ...]
) -> list[str]:
    """Codes (any level) outside ``codes`` that differ between the generations by the diff's
    own rule (layers.planning.lineage.changed_codes: added, removed, renamed, or reshaped beyond
    the shape tolerance, so a file's rounding is no change). ``against_id`` None: every grid of
    the generation is new."""
    from layers.planning.lineage import changed_codes

    outside: set[str] = set()
    for level in (1, 2, 3):
        changes = changed_codes(
            session=session, old_generation_id=against_id if against_id is not None else -1,
            new_generation_id=generation_id, level=level,
        )  # fmt: skip
        for kind in ("added", "removed", "reshaped", "renamed"):
            outside |= {c for c in getattr(changes, kind) if not in_codes(c, codes)}
    return sorted(outside)


def require_draft_in_scope(
    *,
    session: Session,
    generation_id: int,
    against_id: int | None,
    role: Role | str,
    codes: tuple[str, ...] | None,
    scope: str,
    step: str,
) -> None:
    """Forbidden when the generation differs from ``against_id`` (the active one) outside
    ``codes``: ``step`` is what the caller tried (``approve``, ``publish``, ``import``)."""
    if not bounded(role, codes):
        return
    assert codes is not None
    outside = changed_outside(
        session=session, generation_id=generation_id, against_id=against_id, codes=codes
    )
    if not outside:
        return
    who = "an admin or a city-wide planner must " + step + " it"
    raise with_zh(
        Forbidden(
            f"generation {generation_id} changes grids outside your scope ({scope}): "
            f"{_listed(outside)}; {who}",
            field="file" if step == "import" else "scope",
            extra={"outside": outside[:100]},
        ),
        f"版本 {generation_id} 改动了您权限范围（{scope}）以外的网格：{_listed(outside)}；"
        "须由管理员或全市规划员处理",
    )


CITY_OWNED = "city"
_CREATING_STEPS = ("copy", "import")


def owner_of(identity: Identity) -> str:
    """The ``owner_scope`` a draft made by ``identity`` gets: its scope's text (``city``,
    ``town:CODE``, ``village:CODE``), ``user:ID`` for a planner scoped to their own grids."""
    from layers.accounts import ScopeKind

    if identity.scope.kind is ScopeKind.GRIDS:
        return f"user:{identity.user_id}"
    return str(identity.scope)


def claim_draft(*, session: Session, identity: Identity, generation_id: int) -> None:
    """Store the scope of the draft's maker (``identity``) on the generation, unless one is
    stored already; an admin's draft is the city's."""
    from layers.models import Generation

    generation = session.get(Generation, generation_id)
    if generation is None or generation.owner_scope is not None:
        return
    codes = scope_codes(session=session, identity=identity)
    generation.owner_scope = owner_of(identity) if bounded(identity.role, codes) else CITY_OWNED
    session.flush()


def pass_on(*, session: Session, source_id: int, generation_id: int, identity: Identity) -> None:
    """A draft made from draft ``source_id`` (a rebase) belongs where the source did; a source
    of no stored scope: as :func:`claim_draft` for ``identity``."""
    from layers.models import Generation

    owner = session.scalar(select(Generation.owner_scope).where(Generation.id == source_id))
    made = session.get(Generation, generation_id)
    if made is not None and made.owner_scope is None and owner is not None:
        made.owner_scope = owner
        session.flush()
    claim_draft(session=session, identity=identity, generation_id=generation_id)


def owned_by(owner: str | None, *, identity: Identity, codes: tuple[str, ...] | None) -> bool:
    """Whether a draft whose ``owner_scope`` is ``owner`` lies within the caller's scope
    (``codes`` from :func:`layers.accounts.scope_codes`): always for admins and city-wide
    planners; the city's (None, ``city``) for them only; ``user:ID`` for that user only; a town's
    or a village's when its code is inside ``codes``."""
    if not bounded(identity.role, codes):
        return True
    if owner is None or owner == CITY_OWNED:
        return False
    kind, _, code = owner.partition(":")
    if kind == "user":
        return identity.user_id is not None and code == str(identity.user_id)
    return bool(code) and in_codes(code, codes)


def require_owner(*, session: Session, identity: Identity, generation_id: int, step: str) -> None:
    """Forbidden (403, field ``scope``) unless the draft ``generation_id`` belongs to a scope
    within the caller's (:func:`owned_by`); ``step`` is what the caller tried (``rename``,
    ``edit``, ``submit``, ``approve``, ``publish``, …). An unknown id passes (the step answers
    its own 404)."""
    from layers.models import Generation

    codes = scope_codes(session=session, identity=identity)
    if not bounded(identity.role, codes):
        return
    owner = session.scalar(select(Generation.owner_scope).where(Generation.id == generation_id))
    exists = session.scalar(select(Generation.id).where(Generation.id == generation_id))
    if exists is None or owned_by(owner, identity=identity, codes=codes):
        return
    whose = "the city's draft" if owner in (None, CITY_OWNED) else f"a draft of {owner}"
    whose_zh = "全市的" if owner in (None, CITY_OWNED) else f"属于 {owner} 的"
    # Advise a copy only when a copy would be taken: a draft changing grids outside the
    # caller's scope is refused as a copy too (require_draft_in_scope, step "copy").
    from layers.models import GenerationStatus

    active = session.scalar(
        select(Generation.id).where(Generation.status == GenerationStatus.ACTIVE).limit(1)
    )
    assert codes is not None
    outside = changed_outside(
        session=session, generation_id=generation_id, against_id=active, codes=codes
    )
    if outside:
        can = (
            f"a copy of it would be refused too, as it changes grids outside your scope "
            f"({_listed(outside)}); make a draft of your own from the published generation "
            "and redo the changes of your area there, or ask a planner of that area or a "
            "city-wide planner"
        )
        can_zh = (
            f"复制它也会被拒绝（它改动了您权限范围以外的网格：{_listed(outside)}）；请从已发布"
            "版本新建自己的草案并在其中修改本辖区的网格，或请该辖区的规划员或全市规划员处理"
        )
    else:
        can = "copy it to a draft of your own, or ask a planner of that area or a city-wide planner"
        can_zh = "请复制为自己的草案，或请该辖区的规划员或全市规划员处理"
    raise with_zh(
        Forbidden(
            f"generation {generation_id} is {whose}, outside your scope "
            f"({identity.scope}): you may read it but not {step} it; {can}",
            field="scope",
            extra={
                "owner_scope": owner or CITY_OWNED,
                "step": step,
                "copy_allowed": not outside,
            },
        ),
        f"版本 {generation_id} 是{whose_zh}草案，不在您的权限范围（{identity.scope}）内：可以查看，"
        f"但不能修改或审批；{can_zh}",
    )


def require_edit_by(
    *, session: Session, identity: Identity, answer: dict[str, Any], generation_id: int
) -> None:
    """:func:`require_owner` and :func:`require_edit_in_scope` for the caller ``identity`` (a
    token or page session) of an edit, undo or redo of the draft ``generation_id``."""
    require_edit_in_scope(
        answer=answer,
        role=identity.role,
        codes=scope_codes(session=session, identity=identity),
        scope=str(identity.scope),
    )
    require_owner(session=session, identity=identity, generation_id=generation_id, step="edit")


def require_draft_by(
    *, session: Session, identity: Identity, generation_id: int, step: str
) -> None:
    """:func:`require_draft_in_scope` for the caller ``identity`` against the generation in
    force now (none: every grid of the draft is a change), then :func:`require_owner`; for
    ``step`` ``copy`` or ``import`` (a draft just made) :func:`claim_draft` instead of the
    latter."""
    if step in _CREATING_STEPS:
        claim_draft(session=session, identity=identity, generation_id=generation_id)
    codes = scope_codes(session=session, identity=identity)
    if not bounded(identity.role, codes):
        return
    from layers.models import Generation, GenerationStatus

    active = session.scalar(
        select(Generation.id).where(Generation.status == GenerationStatus.ACTIVE).limit(1)
    )
    require_draft_in_scope(
        session=session, generation_id=generation_id, against_id=active, role=identity.role,
        codes=codes, scope=str(identity.scope), step=step,
    )  # fmt: skip
    if step not in _CREATING_STEPS:
        require_owner(session=session, identity=identity, generation_id=generation_id, step=step)
