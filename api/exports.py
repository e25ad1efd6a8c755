"""Tables as downloads people read: CSV (UTF-8 with a BOM, without which Excel garbles Chinese
names) and XLSX, one place for every report endpoint (``format=json|csv|xlsx``, ``lang=zh|en``).

What a downloaded table looks like (JSON answers keep the machine keys and units):

- headers in Chinese by default, English with ``lang=en``, each with its unit:
  ``里程(km)``/``Mileage (km)``, ``巡查时长(小时)``/``Patrol time (h)``, ``覆盖率(%)``;
- durations in hours (``*_s`` seconds -> h) or minutes (``minutes``), distances in km
  (``*_m``/``metres`` -> km), shares and rates in percent (0..1 -> %); areas stay m²;
- every text value that a spreadsheet would read as a formula (starting with ``=``, ``+``,
  ``-``, ``@``, a tab or a carriage return) is written with a leading single quote in CSV and
  XLSX alike (as OWASP recommends against CSV injection: one helper, :func:`csv_safe`), and as a
  plain string cell, never a formula, in XLSX. Numbers are numbers (a negative number is not text);
- booleans as 是/否 (yes/no with ``lang=en``), never True/False (:func:`yes_no`).
"""

from __future__ import annotations

import csv
import io
from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import Annotated, Any, Literal

from fastapi import Depends, Query
from fastapi.responses import Response

from api.errors import InvalidParameter

XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


class TableChoice(str):
    """The ``format`` value (compares equal to ``"json"``, ``"csv"``, ``"xlsx"``) carrying the
    ``lang`` of the download's headers."""

    lang: str = "zh"


async def table_format(
    format: Annotated[Literal["json", "csv", "xlsx"], Query(description="json | csv | xlsx")] = (
        "json"
    ),
    lang: Annotated[
        str, Query(max_length=10, description="headers of csv/xlsx: zh (default) or en")
    ] = "zh",
) -> TableChoice:
    choice = TableChoice(format)
    choice.lang = "en" if lang.lower().startswith("en") else "zh"
    return choice


TableFormat = Annotated[TableChoice, Depends(table_format)]
"""A report's ``format`` (and ``lang``) parameters, checked before any work is done."""


def _hours(v: Any) -> Any:
    return None if v is None else round(float(v) / 3600.0, 2)


def _km(v: Any) -> Any:
    return None if v is None else round(float(v) / 1000.0, 3)


def _pct(v: Any) -> Any:
    return None if v is None else round(float(v) * 100.0, 1)


def _same(v: Any) -> Any:
    return v


Convert = Callable[[Any], Any]
# key -> (zh, en, unit zh, unit en, conversion); units are of the converted value.
COLUMNS: dict[str, tuple[str, str, str, str, Convert]] = {
    # identities
    "date": ("日期", "Date", "", "", _same),
    "run": ("计算批次", "Run", "", "", _same),
    "rank": ("排名", "Rank", "", "", _same),
    "code": ("网格编码", "Grid code", "", "", _same),
    "level": ("层级", "Level", "", "", _same),
    "name": ("名称", "Name", "", "", _same),
    "key": ("单位", "Unit", "", "", _same),
    "bucket": ("时段", "Period", "", "", _same),
    "device_id": ("终端编号", "Device ID", "", "", _same),
    "device": ("终端", "Device", "", "", _same),
    "devices": ("终端数", "Devices", "", "", _same),
    "person_id": ("人员编号", "Person ID", "", "", _same),
    "own_grids": ("责任网格", "Own grids", "", "", _same),
    # grid changes of a draft (impact report)
    "kind": ("类别", "Kind", "", "", _same),
    "id": ("编号", "ID", "", "", _same),
    "label": ("对象", "Object", "", "", _same),
    "old_grid": ("原网格", "Old grid", "", "", _same),
    "new_grid": ("新网格", "New grid", "", "", _same),
    "action": ("变化", "Change", "", "", _same),
    "detail": ("说明", "Detail", "", "", _same),
    # generation diff and lineage (GET /api/v1/generations/{id}/diff|lineage)
    "parent_code": ("上级网格编码", "Parent grid code", "", "", _same),
    "change": ("变更类型", "Change", "", "", _same),
    "area_before_m2": ("变更前面积", "Area before", "m²", "m²", _same),
    "area_after_m2": ("变更后面积", "Area after", "m²", "m²", _same),
    "area_change_m2": ("面积变化", "Area change", "m²", "m²", _same),
    "old_code": ("原网格编码", "Old grid code", "", "", _same),
    "new_code": ("新网格编码", "New grid code", "", "", _same),
    "overlap_m2": ("重叠面积", "Overlap", "m²", "m²", _same),
    "share_of_old": ("占原网格比例", "Share of the old grid", "%", "%", _pct),
    "share_of_new": ("占新网格比例", "Share of the new grid", "%", "%", _pct),
    # coverage
    "h3_share": ("六边形覆盖率", "Coverage by hexagons", "%", "%", _pct),
    "buffer_share": ("缓冲区覆盖率", "Coverage by buffer", "%", "%", _pct),
    "cells": ("六边形数", "Cells", "", "", _same),
    "covered_cells": ("已覆盖六边形数", "Covered cells", "", "", _same),
    "area_m2": ("面积", "Area", "m²", "m²", _same),
    "covered_area_m2": ("已覆盖面积", "Covered area", "m²", "m²", _same),
    "officers": ("巡查人数", "Officers", "", "", _same),
    "minutes": ("巡查时长", "Patrol time", "分钟", "min", _same),
    "metres": ("巡查里程", "Patrol distance", "km", "km", _km),
    # compliance
    "window_s": ("统计时段", "Window", "小时", "h", _hours),
    "duty_s": ("在岗时长", "Duty time", "小时", "h", _hours),
    "tracked_s": ("有轨迹时长", "Tracked time", "小时", "h", _hours),
    "inside_s": ("责任网格内时长", "Time in own grids", "小时", "h", _hours),
    "outside_s": ("责任网格外时长", "Time outside own grids", "小时", "h", _hours),
    "silence_s": ("无信号时长", "Time without GPS", "小时", "h", _hours),
    "silences": ("无信号次数", "Silences", "", "", _same),
    "share_inside": ("在岗率", "Share inside own grids", "%", "%", _pct),
    "below": ("低于标准", "Below threshold", "", "", _same),
    "absent": ("缺岗", "Absent", "", "", _same),
    # patrol statistics
    "fixes": ("定位点数", "Fixes", "", "", _same),
    "mileage_m": ("里程", "Mileage", "km", "km", _km),
    "patrol_time_s": ("巡查时长", "Patrol time", "小时", "h", _hours),
    "moving_time_s": ("移动时长", "Moving time", "小时", "h", _hours),
    "stops": ("停留次数", "Stops", "", "", _same),
    "stop_time_s": ("停留时长", "Stop time", "小时", "h", _hours),
    "own_grid_time_s": ("责任网格内时长", "Time in own grids", "小时", "h", _hours),
    "own_grid_share": ("责任网格内占比", "Share in own grids", "%", "%", _pct),
    "silence_time_s": ("无信号时长", "Time without GPS", "小时", "h", _hours),
    "first_fix": ("首个定位时间", "First fix", "", "", _same),
    "last_fix": ("末个定位时间", "Last fix", "", "", _same),
    # case indicators
    "reported": ("上报数", "Reported", "", "", _same),
    "accepted": ("立案数", "Accepted", "", "", _same),
    "handled": ("处置数", "Handled", "", "", _same),
    "closed": ("结案数", "Closed", "", "", _same),
    "closed_on_time": ("按期结案数", "Closed on time", "", "", _same),
    "rework": ("返工数", "Reworked", "", "", _same),
    "proper": ("妥处数", "Properly handled", "", "", _same),
    "patrol": ("巡查发现数", "Found on patrol", "", "", _same),
    "overdue_unhandled": ("超期未处置数", "Overdue, unhandled", "", "", _same),
    "due": ("应处置数", "Due", "", "", _same),
    "acceptance_rate": ("立案率", "Acceptance rate", "%", "%", _pct),
    "handling_rate": ("处置率", "Handling rate", "%", "%", _pct),
    "closure_rate": ("结案率", "Closure rate", "%", "%", _pct),
    "on_time_closure_rate": ("按期结案率", "On-time closure rate", "%", "%", _pct),
    "rework_rate": ("返工率", "Rework rate", "%", "%", _pct),
    "proper_handling_rate": ("任务妥处率", "Proper handling rate", "%", "%", _pct),
    "closure_h_median": ("结案用时中位数", "Closure time, median", "工作小时", "work-h", _same),
    "closure_h_p90": ("结案用时90分位", "Closure time, 90th pct", "工作小时", "work-h", _same),
}
UNIT_SUFFIXES: tuple[tuple[str, str, str, Convert], ...] = (
    ("_s", "小时", "h", _hours),
    ("_m2", "m²", "m²", _same),
    ("_m", "km", "km", _km),
)


# What a row is about comes first in a download (rank, unit code and name, period), whatever
# order the row's keys were added in; the figures follow in their own order.
LEADING = ("rank", "date", "run", "code", "key", "name", "level", "bucket")


def default_columns(rows: Sequence[Mapping[str, Any]]) -> list[str]:
    """The columns of a download when none are given: the first row's keys, those of
    :data:`LEADING` first."""
    keys = list(rows[0]) if rows else []
    return [k for k in LEADING if k in keys] + [k for k in keys if k not in LEADING]


def column(key: str, lang: str = "zh") -> tuple[str, Convert]:
    """The header (with its unit) and the value conversion of a column key. A key not in
    :data:`COLUMNS` keeps its name; a unit suffix (``_s``, ``_m``, ``_m2``) still converts."""
    if key in COLUMNS:
        zh, en, unit_zh, unit_en, convert = COLUMNS[key]
        if lang == "en":
            return (f"{en} ({unit_en})" if unit_en else en), convert
        return (f"{zh}({unit_zh})" if unit_zh else zh), convert
    for suffix, unit_zh, unit_en, convert in UNIT_SUFFIXES:
        if key.endswith(suffix):
            stem = key[: -len(suffix)]
            return (f"{stem} ({unit_en})" if lang == "en" else f"{stem}({unit_zh})"), convert
    return key, _same


def csv_safe(value: Any) -> Any:
    """A text value that a spreadsheet would read as a formula, prefixed with ``'``: the one
    rule of CSV and XLSX downloads (:func:`csv_bytes`, :func:`xlsx_bytes`)."""
    if isinstance(value, str) and value.startswith(FORMULA_START):
        return "'" + value
    return value


YES_NO = {"zh": ("是", "否"), "en": ("yes", "no")}


def yes_no(value: Any, lang: str = "zh") -> Any:
    """A boolean as a word people read (是/否, yes/no); any other value as it is."""
    if isinstance(value, bool):
        yes, no = YES_NO.get(lang, YES_NO["zh"])
        return yes if value else no
    return value


def readable(
    rows: Sequence[Mapping[str, Any]], names: Sequence[str], lang: str
) -> tuple[list[str], list[list[Any]]]:
    """Headers and converted values of ``rows`` (in ``names`` order); every boolean of every
    column as 是/否 (``lang=en``: yes/no), never True/False."""
    cols = [column(n, lang) for n in names]
    headers = [h for h, _ in cols]
    values = [
        [yes_no(conv(row.get(n)), lang) for n, (_, conv) in zip(names, cols, strict=True)]
        for row in rows
    ]
    return headers, values


def csv_bytes(
    rows: Sequence[Mapping[str, Any]], columns: Iterable[str] | None = None, *, lang: str = "zh"
) -> bytes:
    """Rows as CSV with readable headers (``columns``, default :func:`default_columns`), a BOM,
    and formula-like text escaped."""
    names = list(columns) if columns is not None else default_columns(rows)
    out = io.StringIO()
    if names:
        headers, values = readable(rows, names, lang)
        writer = csv.writer(out)
        writer.writerow([csv_safe(h) for h in headers])
        writer.writerows([[csv_safe(v) for v in row] for row in values])
    return ("\ufeff" + out.getvalue()).encode()


def xlsx_bytes(
    rows: Sequence[Mapping[str, Any]],
    columns: Iterable[str] | None = None,
    *,
    lang: str = "zh",
    sheet: str | None = None,
) -> bytes:
    """Rows as an XLSX workbook with readable headers; every text cell is a string cell (a
    value starting with ``=`` is never stored as a formula) and formula-like text is prefixed
    with ``'`` as in CSV (:func:`csv_safe`: a copy into another sheet stays text)."""
    from openpyxl import Workbook

    names = list(columns) if columns is not None else default_columns(rows)
    book = Workbook()
    ws = book.active
    assert ws is not None
    if sheet:
        ws.title = sheet[:31]
    if names:
        headers, values = readable(rows, names, lang)
        for r, row in enumerate([headers, *values], start=1):
            for c, value in enumerate(row, start=1):
                cell = ws.cell(row=r, column=c)
                cell.value = value = csv_safe(value)  # the CSV rule: a leading ' (issue 11)
                if isinstance(value, str):
                    cell.data_type = "s"  # openpyxl would store "=…" as a formula
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


def table_response(
    rows: Sequence[Mapping[str, Any]],
    *,
    name: str,
    fmt: str,
    columns: Iterable[str] | None = None,
    sheet: str | None = None,
    lang: str | None = None,
) -> Response:
    """``rows`` as a ``name.csv`` or ``name.xlsx`` attachment; any other ``fmt`` is a 422 that
    names the field (JSON is the caller's own answer). Headers in ``lang`` (default: the
    ``lang`` the request's :data:`TableFormat` carries, else Chinese)."""
    names = list(columns) if columns is not None else default_columns(rows)
    lang = lang or getattr(fmt, "lang", "zh")
    if fmt == "csv":
        return Response(
            csv_bytes(rows, names, lang=lang),
            media_type="text/csv; charset=utf-8",
            headers={"Content-Disposition": f'attachment; filename="{name}.csv"'},
        )
    if fmt == "xlsx":
        return Response(
            xlsx_bytes(rows, names, lang=lang, sheet=sheet),
            media_type=XLSX,
            headers={"Content-Disposition": f'attachment; filename="{name}.xlsx"'},
        )
    raise InvalidParameter(
        f"format {fmt!r} is not json, csv or xlsx; use one of them", field="format"
    )
