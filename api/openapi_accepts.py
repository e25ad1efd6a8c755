"""The OpenAPI document says what the server accepts (issue 11, third trial: schemathesis found
schema-valid requests refused, check ST202 "positive data acceptance").

Two app-wide rules are enforced outside the routes' own declarations, so FastAPI's document
did not show them; :func:`document_accepted_values` writes them into every operation:

- an integer path or query parameter without bounds of its own must fit PostgreSQL's
  ``integer`` (api/http_rules.py ``check_parameters``): ``minimum``/``maximum`` −2147483648 …
  2147483647 (a ``photo_id`` of 2^40 was schema-valid and refused);
- a ``date`` query parameter is a calendar day ``YYYY-MM-DD`` in the years 1970..2100
  (api/deps.py ``parse_day``): ``pattern`` :data:`DAY_PATTERN` (``date=''`` was schema-valid
  and refused where the day is required; where it is optional, empty means the default day).

Sources: api/http_rules.py (INT_MIN, INT_MAX), api/deps.py (YEAR_MIN, YEAR_MAX, parse_day).
"""

from __future__ import annotations

from typing import Any

from api.deps import YEAR_MAX, YEAR_MIN
from api.http_rules import INT_MAX, INT_MIN

assert (YEAR_MIN, YEAR_MAX) == (1970, 2100), "update DAY_PATTERN's years"
DAY_PATTERN = r"^(19[7-9]\d|20\d\d|2100)-(0[1-9]|1[0-2])-(0[1-9]|[12]\d|3[01])$"
"""YYYY-MM-DD in 1970..2100 (a day past the month's end, 2026-02-30, is still refused)."""


def _branches(schema: dict[str, Any]) -> list[dict[str, Any]]:
    """The schema itself, or the branches of its ``anyOf`` (FastAPI writes ``int | None`` so)."""
    return [b for b in schema.get("anyOf", [schema]) if isinstance(b, dict)]


def _bound_int(schema: dict[str, Any]) -> None:
    for branch in _branches(schema):
        if branch.get("type") != "integer":
            continue
        low = branch.get("minimum", branch.get("exclusiveMinimum"))
        high = branch.get("maximum", branch.get("exclusiveMaximum"))
        if low is None or low < INT_MIN:
            branch.pop("exclusiveMinimum", None)
            branch["minimum"] = INT_MIN
        if high is None or high > INT_MAX:
            branch.pop("exclusiveMaximum", None)
            branch["maximum"] = INT_MAX


def _day(schema: dict[str, Any], required: bool) -> None:
    """An optional ``date`` may also be empty (the default day, as if left out)."""
    pattern = DAY_PATTERN if required else f"^$|{DAY_PATTERN}"
    for branch in _branches(schema):
        if branch.get("type") == "string" and "pattern" not in branch:
            branch["pattern"] = pattern


def document_accepted_values(doc: dict[str, Any]) -> None:
    """Write the app-wide parameter rules into ``doc`` (an OpenAPI 3.1 dict, changed in
    place)."""
    for item in doc.get("paths", {}).values():
        for op in item.values():
            if not isinstance(op, dict):
                continue
            for param in op.get("parameters", []):
                schema = param.get("schema")
                if not isinstance(schema, dict) or param.get("in") not in ("path", "query"):
                    continue
                _bound_int(schema)
                if param.get("in") == "query" and param.get("name") == "date":
                    _day(schema, bool(param.get("required")))
