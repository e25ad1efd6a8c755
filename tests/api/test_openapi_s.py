"""The OpenAPI document describes the API as it is (issue 11, task S part 5): the batch fix
schema lists every field the validator takes (made from its tables), the device ``key`` query
parameter of OsmAnd/GPX/batch is documented, ``components.securitySchemes`` (bearer, HTTP Basic,
the session cookie, a device's key) with ``security`` on the operations that need a caller (so
Swagger UI shows Authorize), ``kpis``/``ranking`` ``from``/``to`` required; and schemathesis
over those operations (seed fixed: ``derandomize``) finds no server error and no answer outside
the document."""

from __future__ import annotations

from typing import Any

import schemathesis
from hypothesis import HealthCheck, settings

from api.ingest.formats import FIX_KEYS
from api.ingest.pipeline import VALUE_RANGES
from tests.api.test_openapi_schemathesis import CHECKS, MAX_EXAMPLES, _document

DOC = _document()
PATHS = DOC["paths"]


def test_the_batch_fix_schema_lists_every_field_the_validator_takes() -> None:
    body = PATHS["/api/v1/ingest/batch"]["post"]["requestBody"]["content"]["application/json"]
    fix = body["schema"]["properties"]["fixes"]["items"]
    assert set(fix["properties"]) == FIX_KEYS
    assert {"accuracy_m", "speed_mps", "battery_pct", "attributes", "valid"} <= set(
        fix["properties"]
    )
    assert fix["properties"]["battery_pct"]["maximum"] == VALUE_RANGES["battery_pct"][1]
    assert fix["additionalProperties"] is False


def test_the_device_key_is_documented() -> None:
    ingest = "/api/v1/ingest/"
    for method, path in (("get", ingest + "osmand"), ("post", ingest + "osmand"),
                         ("post", ingest + "gpx"), ("post", ingest + "batch")):  # fmt: skip
        names = [p["name"] for p in PATHS[path][method].get("parameters", [])]
        assert "key" in names, (method, path, names)
    osmand = {p["name"] for p in PATHS["/api/v1/ingest/osmand"]["get"]["parameters"]}
    assert {"id", "lat", "lon", "timestamp"} <= osmand


def test_security_schemes_and_operations_security() -> None:
    schemes = DOC["components"]["securitySchemes"]
    assert schemes["bearer"] == {"type": "http", "scheme": "bearer", "description": "an API token"}
    assert schemes["basic"]["scheme"] == "basic" and schemes["session"]["in"] == "cookie"
    names = lambda op: {k for s in op["security"] for k in s}  # noqa: E731
    assert names(PATHS["/api/v1/kpis"]["get"]) == {"bearer", "basic", "session"}
    assert names(PATHS["/ogc/collections"]["get"]) == {"bearer", "basic", "session"}
    assert names(PATHS["/api/v1/ingest/batch"]["post"]) == {"bearer", "basic", "deviceKey"}
    assert "security" not in PATHS["/health"]["get"]  # no caller needed


def test_kpi_periods_are_required() -> None:
    for path in ("/api/v1/kpis", "/api/v1/kpis/ranking"):
        if path not in PATHS:
            continue
        params = {p["name"]: p for p in PATHS[path]["get"]["parameters"]}
        assert params["from"]["required"] and params["to"]["required"], path


schema = schemathesis.openapi.from_dict(DOC).include(
    path_regex=r"^/api/v1/(ingest/(osmand|batch|gpx)|kpis(/ranking)?|market-entities)$"
)


@schema.parametrize()
@settings(
    max_examples=MAX_EXAMPLES,
    derandomize=True,
    deadline=None,
    suppress_health_check=list(HealthCheck),
)
def test_the_changed_operations_hold_to_the_document(
    case: Any, live_server: str, tokens: dict[str, str]
) -> None:
    case.call_and_validate(
        base_url=live_server,
        headers={"Authorization": f"Bearer {tokens['admin']}"},
        checks=CHECKS,
        timeout=60,
    )
