"""The one upload helper of the API: body (size-limited while streaming by api/limits.py),
kind and declared charset from the request, rows through the one table reader
(:mod:`layers.tables`), parsing off the event loop.

Every import endpoint (staff roster, batch locate, event dictionary, 12345 hotline, GPX) reads
its file here, so that a GB18030 CSV or a GBK GPX is read the same way everywhere.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from fastapi import Request
from starlette.concurrency import run_in_threadpool

from api.errors import STATUS, UnsupportedMediaType
from api.forms import read_form
from layers.tables import MAX_ROWS, TableError, TableKind, TooManyRows, read_table, table_kind

STATUS.setdefault(TableError, (422, "Unreadable file"))
STATUS.setdefault(TooManyRows, (413, "Too many rows"))


@dataclass(frozen=True)
class Upload:
    """An uploaded file: its bytes, media type, declared charset (if any) and file name."""

    content: bytes
    media_type: str
    charset: str | None
    filename: str | None


def content_charset(content_type: str | None) -> str | None:
    """The ``charset`` parameter of a Content-Type header (``text/csv; charset=GBK`` -> GBK)."""
    for part in (content_type or "").split(";")[1:]:
        key, _, value = part.partition("=")
        if key.strip().lower() == "charset" and value.strip():
            return value.strip().strip("\"'")
    return None


async def read_upload(request: Request, *, part: str = "file") -> Upload:
    """The file of a request: the raw body, or the ``part`` of a multipart form.

    The body limit is the route's (api/limits.py), enforced while the body arrives.
    """
    content_type = request.headers.get("content-type", "")
    media_type = content_type.split(";")[0].strip().lower()
    filename = request.query_params.get("filename")
    if media_type == "multipart/form-data":
        form = await read_form(request)
        upload: Any = form.get(part)
        if upload is None or not hasattr(upload, "read"):
            from api.errors import InvalidParameter

            raise InvalidParameter(f"send the file as the multipart part {part!r}", field=part)
        part_type = getattr(upload, "content_type", None) or ""
        return Upload(
            await upload.read(),
            part_type.split(";")[0].strip().lower(),
            content_charset(part_type),
            upload.filename or filename,
        )
    return Upload(await request.body(), media_type, content_charset(content_type), filename)


def upload_kind(upload: Upload, *, field: str = "Content-Type") -> TableKind:
    """``csv`` or ``xlsx`` of an upload (media type, file name, else its bytes)."""
    kind = table_kind(upload.media_type, upload.filename)
    if kind is not None:
        return kind
    if upload.media_type in ("", "application/octet-stream"):
        return "xlsx" if upload.content[:2] == b"PK" else "csv"
    raise UnsupportedMediaType(
        f"a table is sent as text/csv or application/vnd.openxmlformats-officedocument."
        f"spreadsheetml.sheet (the raw file as the body), not {upload.media_type}",
        field=field,
    )


async def upload_rows(
    upload: Upload, *, max_rows: int = MAX_ROWS, field: str = "file", kind: TableKind | None = None
) -> list[list[str]]:
    """The rows (header first) of an uploaded CSV/XLSX, read in a worker thread."""
    kind = kind or upload_kind(upload)
    return await run_in_threadpool(
        read_table,
        upload.content,
        kind=kind,
        charset=upload.charset,
        max_rows=max_rows,
        field=field,
    )
