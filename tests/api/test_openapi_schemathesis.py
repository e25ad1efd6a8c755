"""schemathesis over every operation of /openapi.json, on the real server (live_server, real
HTTP) with an admin token: no answer may be a server error, and every answer must be declared
(status code, content type) and match its declared schema.

Bounded and reproducible: at most ``MAX_EXAMPLES`` examples an operation, ``derandomize=True``
(the same examples every run, whatever the hypothesis profile).

Operations left out here (they cannot be fuzzed without changing the city for the other tests
that share the database, or they stop something the other tests use) are fuzzed by
tests/api/test_openapi_schemathesis_writes.py on a server and database of their own:

- ``DELETE /api/v1/tokens/{token_id}``: would revoke the other tests' tokens (ids are small
  integers schemathesis tries first), the admin token of this very test included.
- ``PATCH /api/v1/users/{user_id}``, ``PUT /api/v1/users/{user_id}/password``: would disable
  accounts, change their roles or passwords that other tests sign in with.
- ``POST /api/v1/devices/{device_id}/secret``, ``PATCH /api/v1/devices/{device_id}``: would
  rotate the secrets / speed units of the devices the ingest tests send as.
- ``DELETE /api/v1/event-dictionary/subclasses/{code}``: would deactivate the subclasses the
  event tests report under.
- ``PUT /api/v1/calendar/{year}``: replaces a year's holiday table (e.g. this year's) and
  recomputes every open deadline in it.
- ``PUT /api/v1/zones/towns/{town_code}``: replaces a town's enforcement zones.
- ``POST /api/v1/events/{event_id}/actions``, ``POST /api/v1/events/{event_id}/routing``,
  ``POST /api/v1/events/overdue/escalate``: would move the other tests' cases through the
  workflow.
- ``PATCH /api/v1/generations/{generation_id}``: would rename the other tests' drafts.
- ``POST /api/v1/generations/{generation_id}/submit|approve|reject``: would change the review
  state of the other tests' drafts. ``…/publish`` IS fuzzed, always with ``commit=false`` (a
  dry run), so nothing is published.
- ``POST /api/v1/generations/{generation_id}/edits[/undo|/redo]``: would edit the other tests'
  drafts.
- ``POST /api/v1/staff/import``, ``POST /api/v1/events/import/hotline``,
  ``POST /api/v1/event-dictionary/import``: bulk imports that replace rosters / dictionaries.
- ``PUT /api/v1/event-dictionary/classes|subclasses/{code}``: would rename the classes and
  subclasses other tests read by name.
- ``POST /api/v1/coverage/runs``: computes a day's city-wide coverage (minutes of CPU each).
"""

from __future__ import annotations

from typing import Any

import schemathesis
from hypothesis import HealthCheck, settings
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)

MAX_EXAMPLES = 6
CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_schema_conformance,
]
EXCLUDED: list[tuple[str, str]] = [
    ("DELETE", r"^/api/v1/tokens/\{token_id\}$"),
    ("PATCH", r"^/api/v1/users/\{user_id\}$"),
    ("PUT", r"^/api/v1/users/\{user_id\}/password$"),
    ("POST", r"^/api/v1/devices/\{device_id\}/secret$"),
    ("PATCH", r"^/api/v1/devices/\{device_id\}$"),
    ("DELETE", r"^/api/v1/event-dictionary/subclasses/\{code\}$"),
    ("PUT", r"^/api/v1/event-dictionary/(classes|subclasses)/\{code\}$"),
    ("POST", r"^/api/v1/event-dictionary/import$"),
    ("PUT", r"^/api/v1/calendar/\{year\}$"),
    ("PUT", r"^/api/v1/zones/towns/\{town_code\}$"),
    ("POST", r"^/api/v1/events/\{event_id\}/(actions|routing)$"),
    ("POST", r"^/api/v1/events/overdue/escalate$"),
    ("PATCH", r"^/api/v1/generations/\{generation_id\}$"),
    ("POST", r"^/api/v1/generations/\{generation_id\}/(submit|approve|reject)$"),
    ("POST", r"^/api/v1/generations/\{generation_id\}/edits(/undo|/redo)?$"),
    ("POST", r"^/api/v1/staff/import$"),
    ("POST", r"^/api/v1/events/import/hotline$"),
    ("POST", r"^/api/v1/coverage/runs$"),
]


def _document() -> dict[str, Any]:
    """The document the server answers at /openapi.json (built without a database)."""
    from api.main import create_app

    return create_app().openapi()


# Built at collection (the schema is the app's; the server is the live one, given per call):
# the fixture-based lazy loader of schemathesis does not run under pytest 9.
schema = schemathesis.openapi.from_dict(_document())
for _method, _path in EXCLUDED:
    schema = schema.exclude(method=_method, path_regex=_path)


def _dry_run(case: Any) -> None:
    """A publication is fuzzed as a dry run only (``commit`` forced false)."""
    if case.path.endswith("/publish"):
        if isinstance(case.body, dict):
            case.body["commit"] = False
        if isinstance(case.query, dict):
            case.query["commit"] = "false"


@schema.parametrize()
@settings(
    max_examples=MAX_EXAMPLES,
    derandomize=True,
    deadline=None,
    suppress_health_check=list(HealthCheck),
)
def test_every_operation(case: Any, live_server: str, tokens: dict[str, str]) -> None:
    _dry_run(case)
    case.call_and_validate(
        base_url=live_server,
        headers={"Authorization": f"Bearer {tokens['admin']}"},
        checks=CHECKS,
        timeout=60,
    )
