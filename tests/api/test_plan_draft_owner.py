"""Issue 10 (F10.5): each generation tells the caller who made it (``owner``, a user name) and
whether the caller may act on it (``may_change``: the scope rule of layers/planning/scope.py,
asked of the API so /plan greys out the actions it may not take)."""

from __future__ import annotations

from typing import Any

from tests.api.test_draft_owner_s2 import setting  # noqa: F401 - the fixture


def _seen(client: Any, gid: int) -> dict[str, Any]:
    one = client.get(f"/api/v1/generations/{gid}")
    assert one.status_code == 200, one.text
    listed = [g for g in client.get("/api/v1/generations").json()["data"] if g["id"] == gid]
    assert listed and listed[0]["may_change"] == one.json()["may_change"], listed
    assert listed[0]["owner"] == one.json()["owner"]
    return dict(one.json())


def test_owner_and_may_change_follow_the_scope_rule(setting: dict[str, Any]) -> None:  # noqa: F811
    a, b, city = setting["a"], setting["b"], setting["city"]
    mine, citys = setting["draft"], setting["citys"]
    by_a = _seen(a, mine)
    assert by_a["may_change"] is True and by_a["owner"], by_a
    assert "(" not in by_a["owner"]  # the user name, not the "name (role)" label
    assert _seen(b, mine)["may_change"] is False  # another town's planner: read only
    assert _seen(city, mine)["may_change"] is True  # a city-wide planner: any draft
    assert _seen(a, citys)["may_change"] is False  # the city's draft: not a town's
    assert _seen(city, citys)["may_change"] is True
    # what the flag says is what the API does: B may not rename A's draft
    r = b.patch(f"/api/v1/generations/{mine}", json={"name": "not mine"})
    assert r.status_code == 403 and r.json()["field"] == "scope", r.text
