"""The request handling shared by the routes that decide what a publication left (issue 10):
``POST /api/v1/generations/{id}/assignments-to-decide/{assignment_id}``
(api/routes/assignment_decisions.py), ``POST …/grids-to-staff`` and ``POST …/to-decide``
(api/routes/grid_staffing.py).

- :func:`decision_object`: the JSON body, an object (422 naming the shape to send).
- :func:`refuse_unknown_fields`: 422 naming the first field the decision does not have (a typo
  must not pass as a decision without it).
- :func:`require_decision_scope`: a planner bounded to towns or villages decides only on grids
  of their area (403 naming the grid); a city-wide planner or admin is not checked.

No router here: a helper module of api/routes.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any

from fastapi import Request
from sqlalchemy.orm import Session

from api.errors import InvalidParameter
from api.routes.generations import _json
from layers import accounts
from layers.errors import with_zh
from layers.planning import scope


async def decision_object(request: Request, shape: str) -> dict[str, Any]:
    """The request's JSON body as a dict; InvalidParameter (422, field ``body``) when it is not
    JSON or not an object, saying to send ``shape`` (e.g. ``'{"decision": …, "reason": …}'``)."""
    body = await _json(request)
    if not isinstance(body, dict):
        raise with_zh(
            InvalidParameter(f"send a JSON object {shape}", field="body"),
            f"请发送 JSON 对象 {shape}",
        )
    return body


def refuse_unknown_fields(body: dict[str, Any], known: Iterable[str], what: str) -> None:
    """InvalidParameter (422, field: the key) for the first key of ``body`` not in ``known``;
    ``what`` names the decision in the message (e.g. ``"an assignment decision"``)."""
    allowed = set(known)
    for key in body:
        if key not in allowed:
            fields = ", ".join(sorted(allowed))
            raise with_zh(
                InvalidParameter(
                    f"{key} is not a field of {what}; send only {fields}", field=str(key)
                ),
                f"{key} 不是处理决定的字段：只可发送 {fields}",
            )


def require_decision_scope(
    *,
    session: Session,
    principal: Any,
    grid_codes: Callable[[], Iterable[str | None]],
    what: Callable[[str], str] = lambda grid: f"grid {grid}",
) -> None:
    """AccessDenied (403, ``layers.accounts.require_in_scope``) for the first of
    ``grid_codes()`` outside the area of a planner bounded to towns or villages
    (``layers.planning.scope.bounded``); non-strings are skipped. ``grid_codes`` is called only
    for such a planner (it may read the database); ``what(grid)`` names the thing refused."""
    codes = accounts.scope_codes(session=session, identity=principal.identity)
    if not scope.bounded(principal.identity.role, codes):
        return
    for grid in grid_codes():
        if isinstance(grid, str):
            accounts.require_in_scope(
                session=session, identity=principal.identity, grid_code=grid, what=what(grid)
            )


__all__ = ["decision_object", "refuse_unknown_fields", "require_decision_scope"]
