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
  city-wide planner or an admin (:func:`require_draft_in_scope` with ``step``).

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


def require_edit_by(*, session: Session, identity: Identity, answer: dict[str, Any]) -> None:
    """:func:`require_edit_in_scope` for the caller ``identity`` (a token or page session)."""
    require_edit_in_scope(
        answer=answer,
        role=identity.role,
        codes=scope_codes(session=session, identity=identity),
        scope=str(identity.scope),
    )


def require_draft_by(
    *, session: Session, identity: Identity, generation_id: int, step: str
) -> None:
    """:func:`require_draft_in_scope` for the caller ``identity`` against the generation in
    force now (none: every grid of the draft is a change)."""
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
