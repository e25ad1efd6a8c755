"""Who may change CITY-WIDE data (issue 11, third trial): the one rule for every write whose
effect reaches every town (the event dictionary, a coverage run; the working calendar, devices,
users and tokens are admin-only through :data:`api.deps.Admin`).

Such a write is admitted for an admin, or for one of the task's roles whose scope is the whole
city (``scope=city``). A town-, village- or own-grids-scoped user is refused with 403
``field="scope"`` and a message naming who can do it: a city-wide change made by one town's
dispatcher or planner would change what every other town sees and may file. It is the same
rule as :func:`layers.accounts.require_in_scope` with ``grid_code=""`` ("city-wide, inside the
city's scope only"), checked on the principal without a database round trip.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from api.deps import Principal, PrincipalDep, require
from layers.accounts import ScopeKind
from layers.errors import Forbidden, with_zh
from layers.models import Role


def require_city_wide(
    *roles: Role, what: str, what_zh: str
) -> Callable[[Principal], Awaitable[Principal]]:
    """A dependency admitting an admin, or a caller of one of ``roles`` scoped to the whole
    city; ``what`` names the city-wide data in the refusal (e.g. "the event dictionary"),
    ``what_zh`` the same in Chinese.

    Errors: 403 ``Authorization`` for another role (as :func:`api.deps.require`), 403 ``scope``
    for one of ``roles`` scoped to a town, a village or their own grids."""
    by_role = require(*roles)

    async def check(principal: PrincipalDep) -> Principal:
        await by_role(principal)
        if principal.role is Role.ADMIN or principal.scope.kind is ScopeKind.CITY:
            return principal
        allowed = ", ".join(r.value for r in roles)
        refusal = Forbidden(
            f"{what} is city-wide: changing it changes it for every town, and your scope is "
            f"{principal.scope}; ask an admin or a city-scoped {allowed} to make this change",
            field="scope",
            extra={"scope": str(principal.scope)},
        )
        raise with_zh(
            refusal,
            f"{what_zh}是全市共用的，修改会影响每个镇街；您的范围是 {principal.scope}。"
            f"请由管理员或全市范围的 {allowed} 修改",
        )

    return check
