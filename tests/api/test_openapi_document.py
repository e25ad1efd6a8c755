"""The OpenAPI document describes the API as it is: unique operation ids, a request and a
response schema for every operation, errors declared as application/problem+json (Problem),
Open311's own GeoReport error array, no HTML page in the schema; a wrong method is a 405
with ``Allow``."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from api.main import create_app

METHODS = ("get", "post", "put", "patch", "delete", "options", "head")
PROBLEM = "application/problem+json"
NO_BODY = {"204", "304"}


@pytest.fixture(scope="module")
def document() -> dict[str, Any]:
    return create_app().openapi()


def _operations(doc: dict[str, Any]) -> list[tuple[str, str, dict[str, Any]]]:
    return [
        (method, path, op)
        for path, item in doc["paths"].items()
        for method, op in item.items()
        if method in METHODS
    ]


def test_operation_ids_are_unique(document: dict[str, Any]) -> None:
    ids = [op.get("operationId") for _, _, op in _operations(document)]
    assert all(ids), "every operation has an operationId"
    assert len(ids) == len(set(ids)), sorted(i for i in ids if ids.count(i) > 1)


def test_every_operation_declares_a_response_schema(document: dict[str, Any]) -> None:
    missing = []
    for method, path, op in _operations(document):
        ok = {code: r for code, r in op["responses"].items() if code.startswith("2")}
        if not ok:
            missing.append(f"{method.upper()} {path}: no 2xx response")
        for code, response in ok.items():
            content = response.get("content")
            if content is None:
                # no body: 204/304, or a description saying why (an empty body, never sent)
                said = response.get("description", "")
                if code not in NO_BODY and not ("empty body" in said or "never" in said):
                    missing.append(f"{method.upper()} {path} {code}: no content declared")
                continue
            for media, entry in content.items():
                if not entry.get("schema"):
                    missing.append(f"{method.upper()} {path} {code} {media}: no schema")
    assert not missing, "\n".join(missing)


def test_json_answers_are_named_schemas_or_described(document: dict[str, Any]) -> None:
    """A JSON answer is a named schema (components) or an explicit JSON Schema, never the
    catch-all ``{"type": "object", "additionalProperties": true}`` of an untyped dict."""
    untyped = []
    for method, path, op in _operations(document):
        for code, response in op["responses"].items():
            schema = response.get("content", {}).get("application/json", {}).get("schema", {})
            loose = schema.get("additionalProperties") is True and "properties" not in schema
            if code.startswith("2") and loose and "$ref" not in schema:
                untyped.append(f"{method.upper()} {path} {code}")
    assert not untyped, "\n".join(untyped)


def test_request_bodies_have_schemas(document: dict[str, Any]) -> None:
    missing = [
        f"{method.upper()} {path} {media}"
        for method, path, op in _operations(document)
        for media, entry in op.get("requestBody", {}).get("content", {}).items()
        if not entry.get("schema")
    ]
    assert not missing, "\n".join(missing)


def test_errors_are_problem_json(document: dict[str, Any]) -> None:
    problem = document["components"]["schemas"]["Problem"]
    assert {"type", "title", "status", "detail", "field"} <= set(problem["properties"])
    wrong = []
    for method, path, op in _operations(document):
        errors = {c: r for c, r in op["responses"].items() if c[0] in "45"}
        for status in ("401", "404", "422", "500", "503"):
            if status not in errors:
                wrong.append(f"{method.upper()} {path}: {status} not declared")
        for status, response in errors.items():
            content = response.get("content", {})
            if path.startswith("/open311/") and status in ("400", "403", "404", "413", "415"):
                schema = content["application/json"]["schema"]
                assert schema["type"] == "array", (path, status)  # the GeoReport error array
                assert "application/xml" in content
                continue
            if content.get(PROBLEM, {}).get("schema") != {"$ref": "#/components/schemas/Problem"}:
                wrong.append(f"{method.upper()} {path} {status}: not problem+json Problem")
            if "application/json" in content:
                wrong.append(f"{method.upper()} {path} {status}: declared as plain JSON")
    assert not wrong, "\n".join(wrong)


def test_pages_stay_out_of_the_schema(document: dict[str, Any]) -> None:
    for page in ("/map", "/login", "/live", "/playback", "/calendar", "/zones", "/events/map"):
        assert page not in document["paths"], page
    html = [
        f"{method.upper()} {path}"
        for method, path, op in _operations(document)
        for response in op["responses"].values()
        if "text/html" in response.get("content", {})
    ]
    assert not html, html


@pytest.mark.parametrize(
    ("method", "path", "allowed"),
    [
        ("DELETE", "/api/v1/events", {"GET", "POST"}),
        ("PUT", "/api/v1/generations", {"GET", "POST"}),
        ("POST", "/health", {"GET"}),
        ("PATCH", "/api/v1/locate", {"GET", "POST"}),
    ],
)
def test_a_wrong_method_is_405_with_allow(
    live_server: str, tokens: dict[str, str], method: str, path: str, allowed: set[str]
) -> None:
    r = httpx.request(
        method,
        f"{live_server}{path}",
        headers={"Authorization": f"Bearer {tokens['admin']}"},
        timeout=30,
    )
    assert r.status_code == 405, r.text
    assert {m.strip() for m in r.headers["allow"].split(",")} >= allowed
    assert r.headers["content-type"].startswith(PROBLEM)
    assert r.json()["status"] == 405 and method in r.json()["detail"]


def test_the_served_document_is_the_apps(live_server: str) -> None:
    served = httpx.get(f"{live_server}/openapi.json", timeout=30)
    assert served.status_code == 200
    ids = [op["operationId"] for _, _, op in _operations(served.json())]
    assert len(ids) == len(set(ids))
