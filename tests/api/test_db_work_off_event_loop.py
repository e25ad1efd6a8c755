"""Routes that read a body do their database work in a worker thread, never on the event loop:
while such a request waits on the database (here: on a table lock the test holds), /health and
other requests are answered. Before, Open311 ``create_request`` and the event dictionary's
``put_class``/``put_subclass`` ran their queries on the event loop and froze the server.

Also the calendar upload through the one upload helper and table reader (declared charset,
the streaming body limit)."""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager

import httpx
import pytest
from sqlalchemy import Engine, text

PROBLEM = "application/problem+json"


@contextmanager
def table_locked(engine: Engine, table: str) -> Iterator[None]:
    """Hold an EXCLUSIVE lock on ``table`` (reads pass, writes wait) until the block ends."""
    with engine.connect() as conn:
        trans = conn.begin()
        conn.execute(text(f"LOCK TABLE {table} IN EXCLUSIVE MODE"))
        try:
            yield
        finally:
            trans.rollback()


def _waiting_on_lock(engine: Engine) -> bool:
    with engine.connect() as conn:
        return bool(
            conn.execute(
                text(
                    "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() "
                    "AND wait_event_type = 'Lock'"
                )
            ).scalar()
        )


def _health_answers_while_blocked(
    engine: Engine, live_server: str, table: str, send: Callable[[], httpx.Response]
) -> httpx.Response:
    """Send the request while ``table`` is locked; once it waits on the lock, /health must
    answer; then release the lock and return the request's answer."""
    result: dict[str, httpx.Response] = {}
    with table_locked(engine, table):
        worker = threading.Thread(target=lambda: result.setdefault("r", send()))
        worker.start()
        for _ in range(600):  # until the request waits on the lock (at most ~60 s)
            if _waiting_on_lock(engine):
                break
            threading.Event().wait(0.1)
        else:
            pytest.fail("the request never reached the database")
        health = httpx.get(f"{live_server}/health", timeout=30)
        assert health.status_code == 200, health.text
    worker.join(60)
    return result["r"]


def test_open311_create_request_does_not_block_the_server(
    engine: Engine, live_server: str, tokens: dict[str, str], client: httpx.Client
) -> None:
    town = client.get("/api/v1/grids", params={"level": 1}).json()["features"][0]
    form = {
        "api_key": tokens["viewer"],
        "service_code": "0101",
        "address_id": town["properties"]["code"],
        "description": "off the event loop",
    }
    answer = _health_answers_while_blocked(
        engine,
        live_server,
        "event",
        lambda: httpx.post(f"{live_server}/open311/v2/requests.json", data=form, timeout=120),
    )
    assert answer.status_code == 201, answer.text
    assert answer.json()[0]["service_request_id"].isdigit()


def test_event_dictionary_puts_do_not_block_the_server(
    engine: Engine, live_server: str, tokens: dict[str, str]
) -> None:
    headers = {"Authorization": f"Bearer {tokens['dispatcher']}"}
    answer = _health_answers_while_blocked(
        engine,
        live_server,
        "event_class",
        lambda: httpx.put(
            f"{live_server}/api/v1/event-dictionary/classes/97",
            json={"name": "锁等待测试"},
            headers=headers,
            timeout=120,
        ),
    )
    assert answer.status_code == 200, answer.text
    assert answer.json() == {"code": "97", "name": "锁等待测试", "name_zh": "锁等待测试",
                             "name_en": None, "kind": "event"}  # fmt: skip
    row = {"class_code": "97", "name": "锁等待子类", "accept_rule": "a", "limit_value": 2,
           "limit_unit": "work_days", "close_rule": "c", "department": "市城管局"}  # fmt: skip
    answer = _health_answers_while_blocked(
        engine,
        live_server,
        "event_subclass",
        lambda: httpx.put(
            f"{live_server}/api/v1/event-dictionary/subclasses/9701",
            json=row,
            headers=headers,
            timeout=120,
        ),
    )
    assert answer.status_code == 200, answer.text
    assert answer.json()["limit_value"] == 2 and answer.json()["class_code"] == "97"


def test_calendar_upload_reads_a_declared_charset_and_keeps_the_body_limit(
    live_server: str, tokens: dict[str, str]
) -> None:
    headers = {"Authorization": f"Bearer {tokens['admin']}"}
    url = f"{live_server}/api/v1/calendar/2191"
    # GBK-declared CSV with Chinese header and kinds (read by layers.tables.read_table)
    body = "日期,类型,名称\n2191-01-01,休,元旦\n2191-01-02,班,补班\n".encode("gbk")
    r = httpx.put(url, content=body, headers=headers | {"Content-Type": "text/csv; charset=GBK"})
    assert r.status_code == 200, r.text
    assert (r.json()["holidays"], r.json()["workdays"]) == (1, 1)
    days = httpx.get(url, headers=headers).json()["days"]
    assert [d["name"] for d in days] == ["元旦", "补班"]

    def chunks() -> Iterator[bytes]:  # no Content-Length: limited while streaming
        yield b"date,kind,name\n"
        for _ in range(2048):
            yield b"2191-01-03,holiday,x" + b"x" * 1000 + b"\n"

    r = httpx.put(url, content=chunks(), headers=headers | {"Content-Type": "text/csv"})
    assert r.status_code == 413, r.text
    assert r.headers["content-type"].startswith(PROBLEM)
    # an unreadable workbook is a 422 naming the file, from the one table reader
    r = httpx.put(
        url,
        content=b"PK\x03\x04 not a workbook",
        headers=headers
        | {"Content-Type": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"},
    )
    assert r.status_code == 422, r.text
    assert r.json()["field"] == "file"
