"""Every kind of planner-facing refusal (edit ops, import/upload, scheduling, publish, decide,
OGC item writes) in Chinese for a request that asks for Chinese (``?lang=zh`` or
``Accept-Language: zh``, as /plan sends), in English for ``en`` and for clients that name no
language — one mechanism (``layers.errors.with_zh``, api/errors.py)."""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator

import httpx
import pytest
from sqlalchemy import Engine, text

from tests.planning_fixtures import draft_of, planner_client

HAN = re.compile(r"[\u4e00-\u9fff]")


@pytest.fixture(scope="module")
def draft(engine: Engine, demo_generation: int) -> Iterator[int]:
    with draft_of(engine, demo_generation) as draft_id:  # one draft for the module's refusals
        yield draft_id


@pytest.fixture(scope="module")
def planner(live_server: str, tokens: dict[str, str]) -> Iterator[httpx.Client]:
    with planner_client(live_server, tokens) as client:
        yield client


def _village(engine: Engine, draft: int) -> str:
    with engine.connect() as conn:
        return str(
            conn.execute(
                text("SELECT min(code) FROM grid WHERE generation_id = :g AND level = 2"),
                {"g": draft},
            ).scalar_one()
        )


Call = Callable[[httpx.Client, dict[str, str], dict[str, str], Engine, int], httpx.Response]


def _edit(op: dict) -> Call:  # type: ignore[type-arg]
    def call(c, params, headers, engine, draft):  # type: ignore[no-untyped-def]
        version = c.get(f"/api/v1/generations/{draft}/edits").headers["ETag"]
        body = {**op, "reason": "lang test"}
        if body.get("code") == "VILLAGE":
            body["code"] = _village(engine, draft)
        return c.post(
            f"/api/v1/generations/{draft}/edits", json=body, params=params,
            headers={**headers, "If-Match": version},
        )  # fmt: skip

    return call


def _far_edge(c, params, headers, engine, draft):  # type: ignore[no-untyped-def]
    """A shared edge moved 4.9 km: it would run across other grids."""
    with engine.connect() as conn:
        a, b = conn.execute(
            text(
                "SELECT a.code, b.code FROM grid a JOIN grid b ON b.generation_id = "
                "a.generation_id AND b.level = 3 AND a.code < b.code AND a.geom && b.geom "
                "AND ST_Relate(a.geom, b.geom, 'F***1****') "
                "WHERE a.generation_id = :g AND a.level = 3 ORDER BY a.code LIMIT 1"
            ),
            {"g": draft},
        ).one()
    return _edit({"op": "move_edge", "codes": [a, b], "offset_m": [4900, 0]})(
        c, params, headers, engine, draft
    )


def _upload(c, params, headers, engine, draft):  # type: ignore[no-untyped-def]
    return c.post(
        "/api/v1/generations", params=params, headers=headers,
        data={"name": "lang"}, files={"file": ("grids.txt", b"hello")},
    )  # fmt: skip


def _unnamed_copy(c, params, headers, engine, draft):  # type: ignore[no-untyped-def]
    return c.post(
        "/api/v1/generations", params=params, headers=headers,
        data={"force": "false"}, files={"file": ("a.geojson", b"{}")},
    )  # fmt: skip


def _past(c, params, headers, engine, draft):  # type: ignore[no-untyped-def]
    return c.post(
        f"/api/v1/generations/{draft}/publish", params=params, headers=headers,
        json={"reason": "r", "at": "2001-01-01T00:00:00+08:00"},
    )  # fmt: skip


def _unreadable_time(c, params, headers, engine, draft):  # type: ignore[no-untyped-def]
    return c.post(
        f"/api/v1/generations/{draft}/publish", params=params, headers=headers,
        json={"reason": "r", "at": "soon"},
    )  # fmt: skip


def _unapproved(c, params, headers, engine, draft):  # type: ignore[no-untyped-def]
    return c.post(
        f"/api/v1/generations/{draft}/publish", params=params, headers=headers,
        json={"reason": "r", "commit": True},
    )  # fmt: skip


def _submit_without_reason(c, params, headers, engine, draft):  # type: ignore[no-untyped-def]
    return c.post(
        f"/api/v1/generations/{draft}/submit", params=params, headers=headers,
        json={"reason": ""},
    )  # fmt: skip


def _decide(c, params, headers, engine, draft):  # type: ignore[no-untyped-def]
    return c.post(
        f"/api/v1/generations/{draft}/assignments-to-decide/1", params=params, headers=headers,
        json={"decision": "maybe", "reason": "r"},
    )  # fmt: skip


def _ogc_put(c, params, headers, engine, draft):  # type: ignore[no-untyped-def]
    with engine.connect() as conn:
        code = conn.execute(
            text("SELECT min(code) FROM grid WHERE generation_id = :g AND level = 3"),
            {"g": draft},
        ).scalar_one()
    url = f"/ogc/collections/grids-l3@{draft}/items/{code}"
    feature = c.get(url).json()
    return c.put(url, json=feature, params=params, headers=headers)


CASES = [  # (what, call, status, field, Chinese words, English words)
    ("edit op unknown", _edit({"op": "nope"}), 422, "op", "编辑操作", "is not one of"),
    ("split a village", _edit({"op": "split", "code": "VILLAGE", "line": [[0, 0], [1, 1]]}),
     422, "code", "只能拆分单元网格", "only unit grids"),
    ("move_edge bad offset", _edit({"op": "move_edge", "codes": ["a", "b"], "offset_m": 3}),
     422, "offset_m", "编辑参数 offset_m", "must be array"),
    ("move_edge across grids", _far_edge, 422, "offset_m", "移动后网格会无效", "less far"),
    ("merge unknown grids", _edit({"op": "merge", "codes": ["1", "2"]}),
     404, "codes", "草案", "no grid"),
    ("upload not a grid file", _upload, 422, "file", "不是网格文件", "is not a grid file"),
    ("upload without name", _unnamed_copy, 422, "name", "请填写名称", "name is required"),
    ("schedule in the past", _past, 422, "at", "已经过去", "in the past"),
    ("submit without reason", _submit_without_reason, 422, "reason", "不能为空", "at least 1"),
    ("schedule at an unreadable time", _unreadable_time, 422, "at", "无法识别", "ISO 8601"),
    ("publish unapproved", _unapproved, 409, "status", "已批准", "approved"),
    ("decide unknown", _decide, 422, "decision", "处理方式", "is unknown"),
    ("ogc put without If-Match", _ogc_put, 428, "If-Match", "If-Match", "needs If-Match"),
]  # fmt: skip


@pytest.mark.parametrize(("what", "call", "status", "field", "zh", "en"), CASES,
                         ids=[c[0] for c in CASES])  # fmt: skip
def test_refusals_in_the_page_language(
    planner: httpx.Client, engine: Engine, draft: int,
    what: str, call: Call, status: int, field: str, zh: str, en: str,
) -> None:  # fmt: skip
    asked = {
        "zh (lang=)": ({"lang": "zh"}, {}),
        "zh (Accept-Language)": ({}, {"Accept-Language": "zh-CN,zh;q=0.9"}),
        "en (lang=)": ({"lang": "en"}, {"Accept-Language": "zh-CN"}),
        "en (Accept-Language)": ({}, {"Accept-Language": "en-GB"}),
        "none": ({}, {}),
    }
    for how, (params, headers) in asked.items():
        r = call(planner, params, headers, engine, draft)
        assert r.status_code == status, (what, how, r.text)
        assert r.headers["content-type"].startswith("application/problem+json")
        body = r.json()
        assert body["field"] == field, (what, how, body)
        if how.startswith("zh"):
            assert zh in body["detail"] and HAN.search(body["detail"]), (what, how, body)
        else:
            assert en in body["detail"] and not HAN.search(body["detail"]), (what, how, body)
