"""The roster import runs whole in a parse-pool child (api/roster_import.py, issue 11.6).

Proves, over real HTTP: a database that refuses the import's writes (SQLSTATE 25006, as a
read-only database or a standby does; raised by a trigger for this test's person only, so
other tests are untouched) is answered 503 naming the cause with Retry-After, and nothing of
the file is stored; the same file is imported once the database takes writes again; a report
with thousands of errors lists every one (rendered in slices, api/big_json.py).
"""

from __future__ import annotations

import random
from collections.abc import Iterator

import httpx
import pytest
from sqlalchemy import Engine, text

from api.errors import problem_type
from tests.people_fixtures import *  # noqa: F403  (session fixtures of issue 3)

PROBLEM = "application/problem+json"
WEIGHTS = [7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2]


def _id_number() -> str:
    """A fresh valid resident ID number (GB 11643 check digit)."""
    born = f"{random.randint(1950, 1999)}{random.randint(1, 12):02}{random.randint(1, 28):02}"
    base = f"110105{born}{random.randint(100, 999)}"
    return base + "10X98765432"[sum(int(d) * w for d, w in zip(base, WEIGHTS, strict=True)) % 11]


def _count(engine: Engine, id_number: str) -> int:
    with engine.connect() as conn:
        return int(conn.execute(
            text("SELECT count(*) FROM person WHERE id_number = :i"), {"i": id_number}
        ).scalar_one())  # fmt: skip


@pytest.fixture
def planner(live_server: str, tokens: dict[str, str]) -> Iterator[httpx.Client]:
    auth = {"Authorization": f"Bearer {tokens['planner']}"}
    with httpx.Client(base_url=live_server, timeout=60, headers=auth) as client:
        yield client


def test_a_read_only_database_stores_nothing_of_a_roster(engine, planner, people_demo) -> None:
    code = planner.get("/api/v1/grids", params={"level": 3}).json()["features"][0]["id"]
    first, second = _id_number(), _id_number()
    roster = (f"姓名,身份证号,手机号,角色,网格编码\n甲,{first},13900001111,网格员,{code}\n"
              f"乙,{second},13900001112,网格员,{code}\n")  # fmt: skip
    with engine.begin() as conn:
        conn.execute(text(
            "CREATE OR REPLACE FUNCTION test_roster_read_only() RETURNS trigger "
            "LANGUAGE plpgsql AS $$ BEGIN RAISE EXCEPTION 'cannot execute INSERT in a "
            "read-only transaction' USING ERRCODE = 'read_only_sql_transaction'; END $$"
        ))  # fmt: skip
        conn.execute(text(
            "CREATE TRIGGER test_roster_ro BEFORE INSERT ON person FOR EACH ROW "
            f"WHEN (NEW.id_number = '{second}') EXECUTE FUNCTION test_roster_read_only()"
        ))  # fmt: skip
    try:
        r = planner.post("/api/v1/staff/import", content=roster.encode(),
                         headers={"content-type": "text/csv"})  # fmt: skip
    finally:
        with engine.begin() as conn:
            conn.execute(text("DROP TRIGGER IF EXISTS test_roster_ro ON person"))
    assert r.status_code == 503, r.text
    assert r.headers["content-type"] == PROBLEM
    assert r.headers["Retry-After"] == "30"
    assert r.json()["database"] == "read_only" and "read-only" in r.json()["detail"]
    assert "nothing of it was stored" in r.json()["detail"]
    assert _count(engine, first) == 0 and _count(engine, second) == 0  # not half-written
    again = planner.post("/api/v1/staff/import", content=roster.encode(),
                         headers={"content-type": "text/csv"})  # fmt: skip
    assert again.status_code == 200, again.text
    assert again.json()["imported_rows"] == 2 and again.json()["people_created"] == 2
    assert _count(engine, first) == 1 and _count(engine, second) == 1


def test_a_long_report_lists_every_error(planner, people_demo) -> None:
    rows = 3000
    roster = "姓名,身份证号,手机号,角色,网格编码\n" + "".join(
        f"人{i},,,网格员,\n" for i in range(rows)
    )
    r = planner.post("/api/v1/staff/import", params={"dry_run": "true"}, content=roster.encode(),
                     headers={"content-type": "text/csv"})  # fmt: skip
    assert r.status_code == 200, r.text
    body = r.json()
    assert (body["rows"], body["imported_rows"], body["rejected_rows"]) == (rows, 0, rows)
    assert {e["row"] for e in body["errors"]} == set(range(2, rows + 2))
    assert {(e["row"], e["column"]) for e in body["errors"] if e["row"] == 2} >= {
        (2, "id_number"),
        (2, "grid_code"),
    }


def test_a_refused_roster_lists_every_error_and_stores_nothing(
    engine, planner, people_demo
) -> None:
    code = planner.get("/api/v1/grids", params={"level": 3}).json()["features"][0]["id"]
    good = _id_number()
    roster = (f"姓名,身份证号,手机号,角色,网格编码\n好,{good},13900001111,网格员,{code}\n"
              + "".join(f"人{i},,,网格员,\n" for i in range(2500)))  # fmt: skip
    r = planner.post("/api/v1/staff/import", params={"on_error": "refuse"},
                     content=roster.encode(), headers={"content-type": "text/csv"})  # fmt: skip
    assert r.status_code == 422, r.text
    assert r.headers["content-type"] == PROBLEM
    body = r.json()
    assert (body["status"], body["title"], body["field"]) == (422, "Invalid roster rows", "file")
    assert body["instance"] == "/api/v1/staff/import" and "nothing was imported" in body["detail"]
    assert body["type"] == problem_type(422)
    assert body["report"]["refused"] is True and body["report"]["rows"] == 2501
    assert {e["row"] for e in body["report"]["errors"]} == set(range(3, 2503))
    assert _count(engine, good) == 0
