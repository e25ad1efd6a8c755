"""The generation diff and lineage downloads speak the reader's language (issue 14 item 4, F14a):
Chinese headers and values by default, English with ``lang=en``, units in the headers, via the
one export-header rule (api/exports.py COLUMNS) — never ``parent_code``, ``change``,
``area_before(m²)`` or ``renamed`` on the Chinese default, never raw keys in English."""

from __future__ import annotations

import csv
import io

import httpx
import pytest
from openpyxl import load_workbook
from sqlalchemy import Engine, text

from tests.planning_fixtures import draft, planner  # noqa: F401 (fixtures)

RAW_KEYS = ("parent_code", "change", "area_before", "area_after", "area_change", "_m2")


@pytest.fixture
def renamed(engine: Engine, draft: int) -> tuple[int, str]:  # noqa: F811
    """The draft with one unit grid renamed; its code."""
    with engine.begin() as conn:
        code = conn.execute(
            text(
                "SELECT code FROM grid WHERE generation_id = :g AND level = 3 "
                "ORDER BY code DESC LIMIT 1"
            ),
            {"g": draft},
        ).scalar_one()
        conn.execute(
            text("UPDATE grid SET name = name || '（新）' WHERE generation_id = :g AND code = :c"),
            {"g": draft, "c": code},
        )
    return draft, code


def _csv(r: httpx.Response) -> list[list[str]]:
    assert r.status_code == 200, r.text
    assert r.headers["content-type"].startswith("text/csv")
    return list(csv.reader(io.StringIO(r.content.decode("utf-8-sig"))))


def _xlsx(r: httpx.Response) -> list[list[object]]:
    assert r.status_code == 200, r.text
    sheet = load_workbook(io.BytesIO(r.content)).active
    assert sheet is not None
    return [list(row) for row in sheet.iter_rows(values_only=True)]


def _row_of(table: list[list[object]], code: str) -> dict[str, object]:
    header = [str(h) for h in table[0]]
    [row] = [r for r in table[1:] if r[0] == code]
    return dict(zip(header, row, strict=True))


@pytest.mark.parametrize("fmt", ["csv", "xlsx"])
def test_diff_download_in_chinese_by_default_and_english_with_lang_en(
    planner: httpx.Client,  # noqa: F811
    renamed: tuple[int, str],
    fmt: str,
) -> None:
    draft_id, code = renamed
    read = _csv if fmt == "csv" else _xlsx
    url = f"/api/v1/generations/{draft_id}/diff"

    zh = read(planner.get(url, params={"format": fmt}))
    assert zh[0] == ["网格编码", "层级", "名称", "上级网格编码", "变更类型", "变更前面积(m²)",
                     "变更后面积(m²)", "面积变化(m²)"]  # fmt: skip
    row = _row_of(zh, code)
    assert row["变更类型"] == "改名", row
    assert not any(k in str(h) for h in zh[0] for k in RAW_KEYS), zh[0]
    assert all(str(r[4]) in ("新增", "删除", "形状改变", "改名") for r in zh[1:]), zh[1:]

    en = read(planner.get(url, params={"format": fmt, "lang": "en"}))
    assert en[0] == ["Grid code", "Level", "Name", "Parent grid code", "Change",
                     "Area before (m²)", "Area after (m²)", "Area change (m²)"]  # fmt: skip
    assert _row_of(en, code)["Change"] == "renamed"
    assert not {"parent_code", "change", "area_before_m2"} & {str(h) for h in en[0]}, en[0]

    # JSON keeps the API's own words
    as_json = planner.get(url).json()
    [f] = [f for f in as_json["features"] if f["properties"]["code"] == code]
    assert f["properties"]["change"] == "renamed"


def test_lineage_download_headers_follow_the_same_rule(
    planner: httpx.Client,  # noqa: F811
    draft: int,  # noqa: F811
) -> None:
    url = f"/api/v1/generations/{draft}/lineage"
    zh = _csv(planner.get(url, params={"format": "csv"}))
    en = _csv(planner.get(url, params={"format": "csv", "lang": "en"}))
    # an unchanged copy has no lineage rows: the headers are still the readable ones
    for header in (zh[0] if zh else [], en[0] if en else []):
        assert not any(k in h for h in header for k in ("old_code", "new_code", "share_of")), header


def test_bad_format_and_unknown_lang_on_the_diff(
    planner: httpx.Client,  # noqa: F811
    renamed: tuple[int, str],
) -> None:
    draft_id, _ = renamed
    url = f"/api/v1/generations/{draft_id}/diff"
    r = planner.get(url, params={"format": "docx"})
    assert r.status_code == 422 and r.json()["field"] == "format", r.text
    # an unknown language is the default (Chinese), never raw keys
    table = _csv(planner.get(url, params={"format": "csv", "lang": "fr"}))
    assert table[0][3] == "上级网格编码"
