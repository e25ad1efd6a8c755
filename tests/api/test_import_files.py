"""Issue 10: grid files over HTTP name the user's file, say what a file should hold, answer
in the request's language by one rule, and read level and parent_code from the codes when an
L3-only file has no such column."""

from __future__ import annotations

import io
import re
import zipfile
from collections.abc import Iterator

import httpx
import pytest
from sqlalchemy import Engine, text

from tests.planning_fixtures import planner

__all__ = ["planner"]

HAN = re.compile(r"[\u4e00-\u9fff]")


def upload(
    client: httpx.Client, filename: str, data: bytes, headers: dict[str, str] | None = None,
    **fields: str,
) -> httpx.Response:  # fmt: skip
    return client.post(
        "/api/v1/generations", headers=headers or {},
        data={"name": "import files test", **fields},
        files={"file": (filename, data, "application/octet-stream")},
    )  # fmt: skip


def problem(r: httpx.Response, field: str) -> dict:  # type: ignore[type-arg]
    assert r.status_code == 422, r.text
    assert r.headers["content-type"].startswith("application/problem+json")
    body = r.json()
    assert body["field"] == field, body
    return body  # type: ignore[no-any-return]


@pytest.fixture
def drafts_made(engine: Engine) -> Iterator[list[int]]:
    made: list[int] = []
    yield made
    with engine.begin() as conn:
        conn.execute(text("DELETE FROM generation WHERE id = ANY(:ids)"), {"ids": made})


def test_a_junk_zip_names_the_users_file_and_what_it_should_hold(
    planner: httpx.Client,
) -> None:
    en = problem(upload(planner, "我的网格 2026.zip", b"junk, not a zip"), "file")["detail"]
    assert en.startswith("我的网格 2026.zip cannot be read as a grid file: it is not a zip")
    assert "upload" not in en and "does not exist" not in en and "/tmp" not in en
    assert ".shp" in en and ".dbf" in en
    zh = upload(planner, "我的网格 2026.zip", b"junk", {"Accept-Language": "zh-CN"})
    assert (
        "我的网格 2026.zip 无法作为网格文件读取：它不是 zip 压缩包" in problem(zh, "file")["detail"]
    )
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as zf:
        zf.writestr("readme.txt", "the grids are in the next mail")
    body = problem(upload(planner, "units.zip", buffer.getvalue()), "file")
    assert "units.zip" in body["detail"] and "holds no Shapefile (.shp)" in body["detail"]
    assert "readme.txt" in body["detail"]
    gj = problem(upload(planner, "边界.geojson", b"{not json"), "file")["detail"]
    assert gj.startswith("边界.geojson cannot be read") and "upload" not in gj


def test_the_layer_choice_follows_the_one_language_rule(
    planner: httpx.Client,
    demo_grids,
    tmp_path,  # type: ignore[no-untyped-def]
) -> None:
    path = tmp_path / "city.gpkg"
    small = demo_grids[demo_grids.code.str.startswith("320281001")]
    for level, layer in ((1, "towns"), (3, "units")):
        small[small.level == level].to_file(path, layer=layer)
    data = path.read_bytes()
    asked = {  # how the language is asked -> Chinese?
        "none": ({}, {}, False),
        "Accept-Language zh": ({"Accept-Language": "zh-CN,zh;q=0.9"}, {}, True),
        "Accept-Language en": ({"Accept-Language": "en-GB"}, {}, False),
        "form lang zh": ({}, {"lang": "zh"}, True),
        "form lang en over Accept-Language zh": ({"Accept-Language": "zh-CN"}, {"lang": "en"},
                                                 False),
    }  # fmt: skip
    for how, (headers, fields, chinese) in asked.items():
        body = problem(upload(planner, "区划 city.gpkg", data, headers, **fields), "layer")
        assert [x["name"] for x in body["layers"]] == ["towns", "units"], how
        assert body["detail"].startswith("区划 city.gpkg"), (how, body["detail"])
        rest = body["detail"].removeprefix("区划 city.gpkg")
        assert bool(HAN.search(rest)) is chinese, (how, body["detail"])
    # another import problem of the same request, the same rule (the column check)
    no_name = small[small.level == 3][["code", "geometry"]]
    path2 = tmp_path / "nameless.gpkg"
    no_name.to_file(path2)
    for headers, chinese in (({}, False), ({"Accept-Language": "zh"}, True)):
        body = problem(upload(planner, "nameless.gpkg", path2.read_bytes(), headers), "columns")
        assert bool(HAN.search(body["detail"].replace("nameless.gpkg", ""))) is chinese


@pytest.mark.parametrize("columns", [["code", "name"], ["code", "level", "name"]])
def test_an_l3_only_file_without_parent_code_is_imported(
    planner: httpx.Client,
    demo_grids,
    tmp_path,
    drafts_made: list[int],
    columns: list[str],  # type: ignore[no-untyped-def]
) -> None:
    path = tmp_path / "units.gpkg"
    demo_grids[demo_grids.level == 3][[*columns, "geometry"]].to_file(path)
    r = upload(planner, "units.gpkg", path.read_bytes())
    assert r.status_code == 201, r.text
    body = r.json()
    drafts_made.append(body["generation"]["id"])
    assert body["file"]["counts"] == {"1": 17, "2": 271, "3": 1558}
    assert body["publishable"] is True
    assert any("read from the codes" in n for n in body["file"]["notes"])
