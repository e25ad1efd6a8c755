"""The one reader of uploaded text and tables (CSV, XLSX) for every import (issue 14.4, 11.5/6).

Text is decoded by, in this order: a byte-order mark; the declared charset (HTTP
``Content-Type: text/csv; charset=GBK``, an XML declaration); strict UTF-8; else the encoding
charset-normalizer detects among the ones Chinese and Western offices save in (GB18030, Big5,
UTF-16, Windows-1252). GBK and GB2312 are read as GB18030 (their superset).

Tables are bounded while they are read, never after: at most ``max_rows`` data rows (the
header excluded) and :data:`MAX_COLUMNS` columns; a CSV field over the csv module's limit
(128 KiB) and an XLSX whose parts unpack to more than :data:`XLSX_MAX_UNPACKED_BYTES` are
refused. XLSX is read with openpyxl in read-only (streaming) mode, first sheet.

Big files are read in a child process (:func:`run_isolated`: a pool of
:data:`PARSE_WORKERS` spawned processes, started on first use, never at import): every XLSX
and every CSV over :data:`PARSE_IN_PROCESS_MAX_BYTES`. openpyxl and the csv module hold the
GIL for long stretches; in a thread of the server they stall every other request (``/health``
waited up to 1 s during a 600k-row workbook). Before openpyxl opens a workbook, its first
sheet's ``<row>`` elements are counted while it unpacks (cheap: no cell is parsed), so a
workbook over the row limit is refused in well under a second. Rows count there if they hold
any cell, even an empty formatted one, so such a workbook is refused a little early.

Errors: :class:`TableError` (unreadable file, 422) and :class:`TooManyRows` (413), each naming
the field (``file`` unless the caller says otherwise) and the fix.
"""

from __future__ import annotations

import codecs
import contextlib
import csv
import io
import multiprocessing
import os
import re
import threading
import time
import zipfile
from collections.abc import Callable, Iterator
from concurrent.futures import ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from datetime import date, datetime
from typing import Any, Literal
from zlib import error as zlib_error

import orjson

from layers.errors import DomainError

MAX_ROWS = 50_000
MAX_COLUMNS = 200
XLSX_MAX_UNPACKED_BYTES = 200 * 1024 * 1024
DETECT_SAMPLE_BYTES = 256 * 1024
DETECT_CANDIDATES = ["utf_8", "gb18030", "big5", "utf_16", "cp1252"]
SUPERSETS = {"gbk": "gb18030", "gb2312": "gb18030", "cp936": "gb18030"}
BOMS = ((codecs.BOM_UTF8, "utf-8-sig"), (codecs.BOM_UTF16_LE, "utf-16"),
        (codecs.BOM_UTF16_BE, "utf-16"))  # fmt: skip
XML_DECLARATION = re.compile(rb"^\s*<\?xml[^>]*?encoding\s*=\s*[\"']([A-Za-z0-9._:-]+)[\"']")

TableKind = Literal["csv", "xlsx"]
PARSE_WORKERS = 2  # child processes reading files (each one file at a time)
PARSE_IN_PROCESS_MAX_BYTES = 64 * 1024  # a CSV up to this size is read in the caller
# the first sheet of a workbook (workbook.xml -> its relationship -> the part's path)
_FIRST_SHEET = re.compile(rb"<(?:\w+:)?sheet\b[^>]*?\b\w+:id=\"([^\"]+)\"")
_ROW_TAG = re.compile(rb"<(?:\w+:)?row\b[^>]*?(/?)>")


class TableError(DomainError):
    """A file that cannot be read as text or as a table (encoding, format, a field too long)."""


class TooManyRows(DomainError):
    """A table over its row limit (refused as soon as the limit is passed)."""


def codec_name(declared: str, field: str = "charset") -> str:
    """The Python codec for a declared charset name (GBK -> gb18030), or a TableError."""
    name = declared.strip().strip("\"'").lower()
    try:
        canonical = codecs.lookup(name).name
    except LookupError:
        raise TableError(
            f"the declared encoding {declared!r} is unknown; use UTF-8, GB18030/GBK or ISO-8859-1",
            field=field,
        ) from None
    return SUPERSETS.get(name, SUPERSETS.get(canonical, canonical))


def decode_text(data: bytes, *, declared: str | None = None, field: str = "file") -> str:
    """``data`` as text: BOM, then the declared charset, then UTF-8, then detection."""
    for bom, codec in BOMS:
        if data.startswith(bom):
            try:
                return data.decode(codec)
            except UnicodeDecodeError:
                break
    if declared:
        codec = codec_name(declared, field="charset")
        try:
            return data.decode(codec)
        except UnicodeDecodeError as exc:
            raise TableError(
                f"the file is declared as {declared} but byte {exc.start} is not {declared}; "
                "declare the encoding it was saved in (or save it as UTF-8)",
                field=field,
            ) from None
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        pass
    from charset_normalizer import from_bytes

    best = from_bytes(data[:DETECT_SAMPLE_BYTES], cp_isolation=DETECT_CANDIDATES).best()
    if best is not None:
        try:
            return data.decode(best.encoding)
        except UnicodeDecodeError:
            pass
    raise TableError(
        "the file's text encoding cannot be recognised; save it as UTF-8, or declare its "
        "encoding (e.g. Content-Type: text/csv; charset=GB18030)",
        field=field,
    )


def xml_text(data: bytes, *, field: str = "body", charset: str | None = None) -> str:
    """An XML document as text in its declared encoding (BOM, ``<?xml encoding=…?>``, else the
    ``charset`` of its Content-Type, UTF-8), with the declaration removed so that parsers of
    text do not re-apply it.

    The one rule for every XML upload (GPX, KML, …): XML without a BOM or a declared encoding
    IS UTF-8 (XML 1.0, 4.3.3), so bytes that are not UTF-8 there are refused (TableError, 422,
    naming the fix: an encoding declaration), never guessed -- a guess garbles short names.
    """
    match = XML_DECLARATION.match(data[:200])
    declared = match.group(1).decode("ascii") if match else charset
    has_bom = data.startswith((codecs.BOM_UTF8, codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE))
    if declared and has_bom:
        declared = None  # a BOM wins over the declaration (XML 1.0, appendix F)
    if not declared and not has_bom:
        try:
            data.decode("utf-8")
        except UnicodeDecodeError as exc:
            raise TableError(
                f"the XML file has no encoding declaration, so it must be UTF-8, but byte "
                f"{exc.start} is not UTF-8; add the encoding it was saved in as its first line "
                '(e.g. <?xml version="1.0" encoding="GBK"?>), send Content-Type: '
                "application/gpx+xml; charset=GBK, or save it as UTF-8",
                field=field,
            ) from None
    text = decode_text(data, declared=declared, field=field)
    return re.sub(r"^\ufeff?\s*<\?xml[^>]*\?>", "", text, count=1)


def table_kind(content_type: str | None, filename: str | None = None) -> TableKind | None:
    """``csv`` or ``xlsx`` from a media type or a file name (None if neither says)."""
    ctype = (content_type or "").split(";")[0].strip().lower()
    name = (filename or "").lower()
    if ctype == "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet" or (
        name.endswith(".xlsx")
    ):
        return "xlsx"
    if ctype in ("text/csv", "application/csv", "text/plain") or name.endswith((".csv", ".txt")):
        return "csv"
    return None


def read_table(
    data: bytes,
    *,
    kind: TableKind | None = None,
    charset: str | None = None,
    max_rows: int = MAX_ROWS,
    field: str = "file",
) -> list[list[str]]:
    """The rows (header first) of a CSV or XLSX file as text cells; blank rows dropped.

    ``kind`` None: XLSX if the bytes are a zip archive, else CSV. ``charset``: the declared
    encoding of a CSV (see :func:`decode_text`). At most ``max_rows`` rows after the header.
    """
    if kind is None:
        kind = "xlsx" if data[:2] == b"PK" else "csv"
    if kind == "xlsx" or len(data) > PARSE_IN_PROCESS_MAX_BYTES:
        packed = run_isolated(_read_table_packed, data, kind, charset, max_rows, field)
        rows: list[list[str]] = []
        for part in packed:  # one short call a slice: other threads run in between
            rows.extend(orjson.loads(part))
        return rows
    return _read_table_here(data, kind, charset, max_rows, field)


ROWS_PER_SLICE = 2000


def _read_table_packed(
    data: bytes, kind: TableKind, charset: str | None, max_rows: int, field: str
) -> list[bytes]:
    """:func:`_read_table_here` in a child, its rows as JSON slices of :data:`ROWS_PER_SLICE`
    rows: unpickling 50,000 rows of strings in the server is one call holding the GIL for up
    to 100 ms (``/health`` waited for it); a few dozen byte strings unpickle at once and are
    decoded slice by slice."""
    rows = _read_table_here(data, kind, charset, max_rows, field)
    return [orjson.dumps(rows[i : i + ROWS_PER_SLICE]) for i in range(0, len(rows), ROWS_PER_SLICE)]


def _read_table_here(
    data: bytes, kind: TableKind, charset: str | None, max_rows: int, field: str
) -> list[list[str]]:
    """:func:`read_table` in this process."""
    rows = _xlsx_rows(data, field, max_rows) if kind == "xlsx" else _csv_rows(data, charset, field)
    out: list[list[str]] = []
    for row in rows:
        if not any(c.strip() for c in row):
            continue
        if len(row) > MAX_COLUMNS:
            raise TableError(
                f"row {len(out) + 1} has {len(row)} columns; at most {MAX_COLUMNS} are read",
                field=field,
            )
        out.append(row)
        if len(out) > max_rows + 1:
            raise TooManyRows(
                f"the file has more than {max_rows} rows; split it into files of at most "
                f"{max_rows} rows",
                field=field,
            )
    return out


def _csv_rows(data: bytes, charset: str | None, field: str) -> Iterator[list[str]]:
    reader = csv.reader(io.StringIO(decode_text(data, declared=charset, field=field)))
    try:
        yield from reader
    except csv.Error as exc:
        raise TableError(
            f"CSV line {reader.line_num}: {exc}; a field may be at most "
            f"{csv.field_size_limit() // 1024} KiB (check for an unclosed quote)",
            field=field,
        ) from None


def _cell(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    if isinstance(value, datetime | date):
        return value.isoformat(sep=" ") if isinstance(value, datetime) else value.isoformat()
    return str(value)


def _first_sheet_part(archive: zipfile.ZipFile) -> str | None:
    """The archive path of a workbook's first sheet (``xl/worksheets/sheet1.xml``), or None
    if the workbook does not say (openpyxl then reads it without the early count)."""
    try:
        book = archive.read("xl/workbook.xml")
        rels = archive.read("xl/_rels/workbook.xml.rels")
    except KeyError:
        return None
    sheet = _FIRST_SHEET.search(book)
    if sheet is None:
        return None
    for rel in re.finditer(rb"<(?:\w+:)?Relationship\b[^>]*>", rels):
        if re.search(rb'\bId="' + re.escape(sheet.group(1)) + rb'"', rel.group(0)):
            target = re.search(rb'\bTarget="([^"]+)"', rel.group(0))
            if target is None:
                return None
            path = target.group(1).decode("utf-8", "replace")
            return path.lstrip("/") if path.startswith("/") else f"xl/{path}"
    return None


def _sheet_rows_over(archive: zipfile.ZipFile, limit: int) -> int | None:
    """The number of ``<row>`` elements with content in the first sheet, counted while it
    unpacks and stopped as soon as it passes ``limit`` (returned then); None if it does not."""
    part = _first_sheet_part(archive)
    if part is None or part not in archive.namelist():
        return None
    count, tail = 0, b""
    with archive.open(part) as stream:
        while chunk := stream.read(1 << 20):
            buffer = tail + chunk
            cut = buffer.rfind(b"<")  # a tag may continue in the next chunk
            scan, tail = (buffer[:cut], buffer[cut:]) if cut >= 0 else (buffer, b"")
            count += sum(1 for empty in _ROW_TAG.findall(scan) if not empty)
            if count > limit:
                return count
    return None


def _xlsx_rows(data: bytes, field: str, max_rows: int = MAX_ROWS) -> Iterator[list[str]]:
    import openpyxl

    try:
        with zipfile.ZipFile(io.BytesIO(data)) as archive:
            unpacked = sum(info.file_size for info in archive.infolist())
            over = (
                _sheet_rows_over(archive, max_rows + 1)
                if unpacked <= XLSX_MAX_UNPACKED_BYTES
                else None
            )
    except (zipfile.BadZipFile, ValueError, OSError, EOFError, zlib_error):
        raise TableError(
            "the file is not a readable .xlsx workbook; save it from Excel/WPS as .xlsx or CSV",
            field=field,
        ) from None
    if unpacked > XLSX_MAX_UNPACKED_BYTES:
        raise TooManyRows(
            f"the workbook unpacks to {unpacked // (1024 * 1024)} MiB; the limit is "
            f"{XLSX_MAX_UNPACKED_BYTES // (1024 * 1024)} MiB: split it",
            field=field,
        )
    if over is not None:
        raise TooManyRows(
            f"the file has more than {max_rows} rows; split it into files of at most "
            f"{max_rows} rows",
            field=field,
        )
    try:
        book = openpyxl.load_workbook(io.BytesIO(data), read_only=True, data_only=True)
    except Exception:  # openpyxl raises many kinds on a file that is not a workbook
        raise TableError(
            "the file is not a readable .xlsx workbook; save it from Excel/WPS as .xlsx or CSV",
            field=field,
        ) from None
    try:
        if not book.worksheets:
            return
        sheet = book.worksheets[0]
        try:
            # read-only rows are padded to the sheet's width: trailing empty cells dropped
            for row in sheet.iter_rows(values_only=True, max_col=MAX_COLUMNS):
                cells = [_cell(v) for v in row]
                while cells and cells[-1] == "":
                    cells.pop()
                yield cells
        except (TableError, TooManyRows):
            raise
        except Exception:
            raise TableError(
                "the workbook's first sheet cannot be read; save it again from Excel/WPS",
                field=field,
            ) from None
    finally:
        book.close()


def header_dicts(rows: list[list[str]]) -> list[dict[str, str]]:
    """Rows after the header as dicts by header text (stripped); missing cells are ''."""
    if not rows:
        return []
    header = [h.strip() for h in rows[0]]
    return [{h: (r[i] if i < len(r) else "") for i, h in enumerate(header)} for r in rows[1:]]


# -- reading in a child process ----------------------------------------------------------------
_POOL: ProcessPoolExecutor | None = None
_POOL_LOCK = threading.Lock()


def _pool() -> ProcessPoolExecutor:
    """The parse pool, started on first use (spawned processes: nothing of the server's
    state, threads or database connections is inherited)."""
    global _POOL
    with _POOL_LOCK:
        if _POOL is None:
            _POOL = ProcessPoolExecutor(
                max_workers=PARSE_WORKERS,
                mp_context=multiprocessing.get_context("spawn"),
                max_tasks_per_child=200,  # memory of a big file goes back with its process
                initializer=_child_start,
                initargs=(os.getpid(),),
            )
        return _POOL


PARSE_NICENESS = 10
"""Scheduling niceness of the parse pool's children (as the password hashing's): on a busy
machine the server's own requests (``/health``, the pages) get the CPU before a file is parsed."""


def _child_start(parent_pid: int) -> None:
    """A parse child's start: nicer than the server, and ending with it: a watcher thread
    ends the child within a second of the server process's end (stopped or killed), so no
    parser is left behind. (Not ``prctl(PR_SET_PDEATHSIG)``: it fires when the *thread* that
    started the child ends, and children are started from the server's worker threads.)"""
    with contextlib.suppress(OSError):  # not allowed here: parse at the server's priority
        os.nice(PARSE_NICENESS)

    def watch() -> None:
        while os.getppid() == parent_pid:
            time.sleep(1.0)
        os._exit(0)

    threading.Thread(target=watch, name="parent-watch", daemon=True).start()


def shutdown_pool() -> None:
    """Stop the parse pool's children (the app's shutdown); a later parse starts it again."""
    global _POOL
    with _POOL_LOCK:
        pool, _POOL = _POOL, None
    if pool is not None:
        pool.shutdown(wait=False, cancel_futures=True)


def _call(fn: Callable[..., Any], args: tuple[Any, ...]) -> tuple[str, Any]:
    """Runs in the child: the result, or a domain error as plain values (it pickles
    reliably and is raised again as its own class in the caller)."""
    try:
        return "ok", fn(*args)
    except DomainError as exc:
        return "error", (type(exc), exc.detail, exc.field, exc.extra,
                         getattr(exc, "detail_zh", None))  # fmt: skip


def run_isolated(fn: Callable[..., Any], *args: Any) -> Any:
    """``fn(*args)`` in a child process of the parse pool, blocking the calling thread (not
    the GIL) until it returns; a :class:`DomainError` raised there is raised here. ``fn``
    and the arguments must pickle (a module-level function). A child that dies (out of
    memory) is a :class:`TableError` and the pool is started afresh."""
    global _POOL
    try:
        status, value = _pool().submit(_call, fn, args).result()
    except BrokenProcessPool:
        with _POOL_LOCK:
            _POOL = None
        raise TableError(
            "the file could not be read (its reader ran out of resources); split it into "
            "smaller files",
            field="file",
        ) from None
    if status == "error":
        cls, detail, field, extra, detail_zh = value
        error = cls(detail, field=field, extra=extra)
        if detail_zh is not None:
            error.detail_zh = detail_zh
        raise error
    return value
