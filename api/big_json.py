"""JSON answers with long lists, rendered in pieces off the event loop (issue 11.6).

A serializer is one C call that holds the GIL for the whole document: a roster report of
49,000 rows (about 200,000 per-cell errors) took half a second in :mod:`json` and 60 ms in
orjson, and FastAPI validates and renders an ``async`` route's answer on the event loop, where
``/health`` waited for it. :func:`json_answer` renders the long list in slices (each one short
call, so the interpreter can switch threads between them); call it in a worker thread and
return its response (FastAPI then sends the bytes as they are).
"""

from __future__ import annotations

from typing import Any

import orjson
from fastapi.responses import Response

SLICE_ITEMS = 2000  # items of the long list per orjson call (a few ms each)


def render_json(body: dict[str, Any], *, long_list: str, slice_items: int = SLICE_ITEMS) -> bytes:
    """``body`` as compact UTF-8 JSON, the same document as ``orjson.dumps(body)`` with the
    list ``body[long_list]`` rendered ``slice_items`` items per call (and placed last)."""
    items = body.get(long_list) or []
    head = orjson.dumps({k: v for k, v in body.items() if k != long_list})
    parts = [
        orjson.dumps(items[i : i + slice_items])[1:-1] for i in range(0, len(items), slice_items)
    ]
    separator = b"," if len(head) > 2 else b""
    return b"".join((head[:-1], separator, orjson.dumps(long_list), b":[", b",".join(parts), b"]}"))


def json_answer(
    body: dict[str, Any],
    *,
    long_list: str,
    status_code: int = 200,
    media_type: str = "application/json",
) -> Response:
    """A response of :func:`render_json` (render it in a worker thread, not on the loop)."""
    return Response(
        render_json(body, long_list=long_list), status_code=status_code, media_type=media_type
    )
