"""Response schemas of the events, the officer app (``/api/v1/me``) and the dashboard."""

from __future__ import annotations

from typing import Any

from pydantic import Field

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


class DashboardEvents(DashboardAnswer):
    """Events today / this week, the overdue list and the newest cases."""

    now: str
    counts: dict[str, Any]
    overdue: list[dict[str, Any]]
    overdue_total: int = Field(description="overdue events in all (the list holds at most 30)")
    latest: list[dict[str, Any]]
    latest_total: int = Field(description="events reported today in all (the list: the newest)")


class DashboardPoints(DashboardAnswer):
    """Open events as compact rows named by ``columns``."""

    columns: list[str]
    data: list[Any]


class DashboardPatrols(DashboardAnswer):
    """Officers online/offline, the long-silent ones, coverage by day."""

    now: str
    devices: int
    online: int
    offline_long: int = Field(description="offline longer than offline_threshold_min, in all")
    outside: int = Field(description="city only: devices whose last fix lies in no grid")
    towns: list[Any] = Field(description="the same counts per town; the figures are their sums")
    silent: list[Any]
    coverage: dict[str, Any]


class DashboardKpis(DashboardAnswer):
    """The period's indicators (docs/kpis.md) and the ranking."""

    period: str
    kpis: dict[str, Any]
    ranking: list[Any]


class DashboardGrid(DashboardAnswer):
    """One grid: people, zone and squad, households, events, coverage."""

    code: str
    households: int
    events: dict[str, Any]
    coverage: dict[str, Any]


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
