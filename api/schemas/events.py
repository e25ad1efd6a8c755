"""Response schemas of the events, the officer app (``/api/v1/me``) and the dashboard."""

from __future__ import annotations

from typing import Any

from api.schemas.common import Answer, Listing


class EventPublic(Answer):
    """One case with its routing, deadline, log and photos."""

    id: int
    status: str


class EventsPublic(Listing):
    """Cases, newest first (``data``: the case summaries)."""


class EventWorkflow(Answer):
    states: list[str]
    transitions: list[dict[str, Any]]


class HotlineImport(Answer):
    """The 12345 hotline import's report by row."""


class Escalated(Answer):
    """How many overdue cases were escalated, by level."""


class MePublic(Answer):
    name: str
    role: str
    scope: str | None
    person_id: int | None
    person_name: str | None
    grids: list[Any]


class MyTasks(Listing):
    now: str


class MyTask(Answer):
    """One case of the officer's, with the actions they may take."""

    id: int


class MyGrid(Answer):
    grids: list[Any]
    events: dict[str, Any]


class DashboardAnswer(Answer):
    """A front-page panel, filtered by a town/village/grid code (``scope``)."""


class RoutingChanged(Answer):
    """The case's new routing (grid, chief, worker, squad, department), logged."""


PHOTO_RESPONSES: dict[int | str, dict[str, Any]] = {
    200: {
        "description": "the photo's bytes in its own type",
        "content": {
            m: {"schema": {"type": "string", "format": "binary"}}
            for m in ("image/jpeg", "image/png", "image/webp")
        },
    }
}
