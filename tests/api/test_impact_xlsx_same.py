"""The impact table is one table: the XLSX of GET …/impact?format=xlsx and of
``gridgis drafts impact --xlsx`` have the same sheet name and headers in the same language."""

from __future__ import annotations

import io

import httpx
from openpyxl import load_workbook
from typer.testing import CliRunner

from api.cli import app
from tests.planning_fixtures import draft, planner  # noqa: F401  (fixtures)

runner = CliRunner()


def test_http_and_cli_impact_xlsx_agree(  # type: ignore[no-untyped-def]
    planner: httpx.Client,  # noqa: F811
    draft: int,  # noqa: F811
    monkeypatch,
    database_url,
    tmp_path,
) -> None:
    monkeypatch.setenv("DATABASE_URL", database_url)
    for lang in ("en", "zh"):
        r = planner.get(f"/api/v1/generations/{draft}/impact", params={"format": "xlsx",
                                                                      "lang": lang})  # fmt: skip
        assert r.status_code == 200, r.text
        http_book = load_workbook(io.BytesIO(r.content))
        path = tmp_path / f"impact-{lang}.xlsx"
        done = runner.invoke(app, ["drafts", "impact", str(draft), "--xlsx", str(path),
                                   "--lang", lang])  # fmt: skip
        assert done.exit_code == 0, done.output
        cli_book = load_workbook(path)
        assert http_book.sheetnames == cli_book.sheetnames == ["impact"]
        books = (http_book, cli_book)
        head = [[c.value for c in next(b.active.iter_rows(max_row=1))] for b in books]
        assert head[0] == head[1], head
