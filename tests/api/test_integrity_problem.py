"""Issue 10 (F10.4): a write refused by a database constraint answers 409 problem+json naming
the field and the fix in the caller's language — never the constraint's name or the SQL text."""

from __future__ import annotations

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy import Engine, text
from sqlalchemy.exc import IntegrityError

from api.errors import install_error_handlers
from layers.integrity import describe_integrity

LEAKS = (
    "_key",
    "unique_per_generation",
    "constraint",
    "duplicate key",
    "Key (",
    "INSERT",
    "violat",
)


def _refusal(engine: Engine, sql: str, params: dict[str, object]) -> IntegrityError:
    """The IntegrityError PostGIS raises for ``sql`` (run twice where needed; rolled back)."""
    with engine.connect() as conn, conn.begin():
        try:
            conn.execute(text(sql), params)
            conn.execute(text(sql), params)
        except IntegrityError as exc:
            return exc
    raise AssertionError("the database accepted it")


DUP_USER = ("INSERT INTO app_user (name, display_name, role) VALUES (:n, :n, 'viewer')",
            {"n": "integrity-dup-user"})  # fmt: skip
DUP_CODE = (
    "INSERT INTO grid (generation_id, level, code, parent_code, name, geom, area_m2) "
    "SELECT generation_id, level, code, parent_code, name, geom, area_m2 FROM grid "
    "WHERE generation_id = :g AND level = 3 ORDER BY code LIMIT 1",
    None,
)


@pytest.fixture
def refusals(engine: Engine, demo_generation: int) -> dict[str, IntegrityError]:
    return {
        "user": _refusal(engine, *DUP_USER),
        "code": _refusal(engine, DUP_CODE[0], {"g": demo_generation}),
        "fk": _refusal(
            engine,
            "INSERT INTO grid_part (generation_id, code, geom) "
            "VALUES (2147483000, '320281001001001', 'SRID=4490;POLYGON((0 0,1 0,1 1,0 0))')",
            {},
        ),
    }


def _client(exc: IntegrityError) -> TestClient:
    app = FastAPI()
    install_error_handlers(app)

    @app.post("/write")
    def write() -> None:
        raise exc

    return TestClient(app, raise_server_exceptions=False)


@pytest.mark.parametrize(
    ("kind", "field", "en", "zh"),
    [
        (
            "user",
            "name",
            "a user named integrity-dup-user already exists",
            "用户名 integrity-dup-user",
        ),
        ("code", "code", "is already used in this generation", "在该版本中已被使用"),
        ("fk", "generation_id", "does not exist", "不存在"),
    ],
)
def test_a_constraint_refusal_names_the_field_and_the_fix(
    refusals: dict[str, IntegrityError], kind: str, field: str, en: str, zh: str
) -> None:
    client = _client(refusals[kind])
    r = client.post("/write")
    assert r.status_code == 409 and r.headers["content-type"] == "application/problem+json"
    body = r.json()
    assert body["field"] == field and en in body["detail"], body
    assert "nothing was stored" in body["detail"]
    assert not any(leak in body["detail"] or leak in body["field"] for leak in LEAKS), body
    zh_body = client.post("/write", headers={"Accept-Language": "zh-CN,zh;q=0.9"}).json()
    assert zh_body["field"] == field and zh in zh_body["detail"], zh_body
    assert not any(leak in zh_body["detail"] for leak in LEAKS), zh_body
    assert client.post("/write?lang=zh").json()["detail"] == zh_body["detail"]


def test_the_words_of_a_real_refusal_hold_no_sql(refusals: dict[str, IntegrityError]) -> None:
    for exc in refusals.values():
        words = describe_integrity(exc)
        assert not any(leak in words.en or leak in words.zh for leak in LEAKS), words
