"""Tables as downloads: CSV (UTF-8 with a BOM, without which Excel garbles Chinese names) and
XLSX, one place for every report endpoint (``format=json|csv|xlsx``)."""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable, Mapping, Sequence
from typing import Annotated, Any, Literal

from fastapi import Query
from fastapi.responses import Response

from api.errors import InvalidParameter

XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
TableFormat = Annotated[Literal["json", "csv", "xlsx"], Query(description="json | csv | xlsx")]
"""A report's ``format`` parameter, checked before any work is done."""


def csv_bytes(rows: Sequence[Mapping[str, Any]], columns: Iterable[str] | None = None) -> bytes:
    """Rows as CSV with a header (``columns``, default the first row's keys) and a BOM."""
    names = list(columns) if columns is not None else (list(rows[0]) if rows else [])
    out = io.StringIO()
    if names:
        writer = csv.DictWriter(out, fieldnames=names, extrasaction="ignore")
        writer.writeheader()
        writer.writerows(rows)
    return ("\ufeff" + out.getvalue()).encode()


def table_response(
    rows: Sequence[Mapping[str, Any]],
    *,
    name: str,
    fmt: str,
    columns: Iterable[str] | None = None,
    sheet: str | None = None,
) -> Response:
    """``rows`` as a ``name.csv`` or ``name.xlsx`` attachment; any other ``fmt`` is a 422 that
    names the field (JSON is the caller's own answer)."""
    names = list(columns) if columns is not None else (list(rows[0]) if rows else [])
    if fmt == "csv":
        return Response(
            csv_bytes(rows, names),
            media_type="text/csv; charset=utf-8",
            headers={"Content-Disposition": f'attachment; filename="{name}.csv"'},
        )
    if fmt == "xlsx":
        from openpyxl import Workbook

        book = Workbook()
        ws = book.active
        assert ws is not None
        if sheet:
            ws.title = sheet
        if names:
            ws.append(names)
        for row in rows:
            ws.append([row.get(c) for c in names])
        out = io.BytesIO()
        book.save(out)
        return Response(
            out.getvalue(),
            media_type=XLSX,
            headers={"Content-Disposition": f'attachment; filename="{name}.xlsx"'},
        )
    raise InvalidParameter(f"format {fmt!r} is not json, csv or xlsx; use one of them",
                           field="format")  # fmt: skip
