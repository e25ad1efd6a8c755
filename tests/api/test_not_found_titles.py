"""Every 404 is titled by what was not found (never "Grid not found" for a calendar year, an
event, a zone or an OGC collection): application/problem+json naming the field."""

from __future__ import annotations

import pytest

PROBLEM = "application/problem+json"


@pytest.mark.parametrize(
    ("path", "title", "field"),
    [
        ("/api/v1/calendar/2150", "Calendar year not loaded", "year"),
        ("/api/v1/events/987654321", "Event not found", "event_id"),
        ("/api/v1/zones/NO-SUCH-ZONE", "Zone not found", "code"),
        ("/ogc/collections/no-such-collection/items", "Collection not found", "collectionId"),
        ("/ogc/collections/zones/items/NO-SUCH-ZONE", "Zone not found", "featureId"),
        ("/ogc/collections/grids-l3/items/" + "9" * 101, "Feature not found", "featureId"),
        ("/api/v1/grids/999999999999999", "Grid not found", "code"),
    ],
)
def test_a_404_names_what_is_missing(client, demo_generation, path, title, field) -> None:  # type: ignore[no-untyped-def]
    r = client.get(path)
    assert r.status_code == 404, r.text
    assert r.headers["content-type"].startswith(PROBLEM), r.headers
    body = r.json()
    assert (body["title"], body["field"]) == (title, field), body
    assert body["detail"]


def test_the_calendar_404_says_how_to_load_the_year(client) -> None:  # type: ignore[no-untyped-def]
    body = client.get("/api/v1/calendar/2150").json()
    assert (
        body["title"] == "Calendar year not loaded"
        and "PUT /api/v1/calendar/2150" in body["detail"]
    )
