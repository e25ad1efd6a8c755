"""Generation diff and lineage as downloads (issue 11, kind of fault 3).

Proves: ``GET /api/v1/generations/{id}/diff|lineage?format=csv|xlsx`` answer the rows as CSV
(UTF-8 with BOM) and XLSX with formula-like names escaped (api/exports.py), JSON stays the
default, and an unknown ``format`` is a 422 naming ``format`` on every endpoint taking it.
"""

from __future__ import annotations

import csv
import io

import pytest
from openpyxl import load_workbook
from sqlalchemy import Engine, text

from tests.planning_fixtures import draft, planner  # noqa: F401 (fixtures)

PROBLEM = "application/problem+json"
FORMULA = '=HYPERLINK("http://x")'


@pytest.fixture
def renamed(engine: Engine, draft: int) -> tuple[int, str]:  # noqa: F811
    """The draft with one unit grid renamed to a formula; its code."""
    with engine.begin() as conn:
        code = conn.execute(
            text(
                "SELECT code FROM grid WHERE generation_id = :g AND level = 3 ORDER BY code LIMIT 1"
            ),
            {"g": draft},
        ).scalar_one()
        conn.execute(
            text("UPDATE grid SET name = :n WHERE generation_id = :g AND code = :c"),
            {"n": FORMULA, "g": draft, "c": code},
        )
    return draft, code


def test_diff_as_csv_and_xlsx(planner, renamed) -> None:  # noqa: F811
    draft_id, code = renamed
    as_json = planner.get(f"/api/v1/generations/{draft_id}/diff")
    assert as_json.status_code == 200, as_json.text
    [feature] = [f for f in as_json.json()["features"] if f["properties"]["code"] == code]
    assert feature["properties"]["change"] == "renamed"
    r = planner.get(f"/api/v1/generations/{draft_id}/diff", params={"format": "csv", "lang": "en"})
    assert r.status_code == 200 and r.headers["content-type"].startswith("text/csv")
    rows = list(csv.reader(io.StringIO(r.content.decode("utf-8-sig"))))
    [row] = [x for x in rows[1:] if x[0] == code]
    assert "'" + FORMULA in row  # a spreadsheet shows the text, never runs it
    r = planner.get(f"/api/v1/generations/{draft_id}/diff", params={"format": "xlsx"})
    assert r.status_code == 200 and "spreadsheetml" in r.headers["content-type"]
    sheet = load_workbook(io.BytesIO(r.content)).active
    # escaped as in CSV (a leading ', task S part 7) and a string cell
    cells = [c for row in sheet.iter_rows() for c in row if c.value == "'" + FORMULA]
    assert cells and all(c.data_type == "s" for c in cells)


def test_lineage_as_csv_and_xlsx(planner, draft) -> None:  # noqa: F811
    for fmt, kind in (("csv", "text/csv"), ("xlsx", "spreadsheetml")):
        r = planner.get(f"/api/v1/generations/{draft}/lineage", params={"format": fmt})
        assert r.status_code == 200 and kind in r.headers["content-type"], r.text
        assert "attachment" in r.headers["content-disposition"]
    assert planner.get(f"/api/v1/generations/{draft}/lineage").json()["lineage"] == []


@pytest.mark.parametrize(
    "path",
    [
        "/api/v1/generations/{g}/diff",
        "/api/v1/generations/{g}/lineage",
        "/api/v1/generations/{g}/impact",
        "/api/v1/generations/{g}/export",
        "/api/v1/patrol/daily",
        "/api/v1/kpis",
    ],
)
def test_unknown_format_is_refused(planner, draft, path) -> None:  # noqa: F811
    for bogus in ("bogus", "CSV2", "pdf"):
        r = planner.get(path.format(g=draft), params={"format": bogus})
        assert r.status_code == 422, (path, r.text)
        assert r.headers["content-type"] == PROBLEM
        assert r.json()["field"] == "format"
