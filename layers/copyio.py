"""Bulk reads by binary COPY into numpy arrays, without a Python loop per row.

PostgreSQL's binary COPY format (https://www.postgresql.org/docs/current/sql-copy.html, "Binary
Format") writes a 19-byte header, then per row an int16 field count and per field an int32 byte
length followed by the value in network byte order, then a 2-byte trailer. When every field has
a fixed width and is never NULL (the query must ``coalesce`` nullable columns), every row has the
same layout and numpy reads the whole body as one structured array.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
from sqlalchemy.orm import Session

COPY_HEADER_BYTES = 19  # signature (11), flags (4), header extension length (4)
COPY_TRAILER_BYTES = 2  # int16 -1


def row_dtype(fields: Sequence[tuple[str, str]]) -> np.dtype[Any]:
    """The structured dtype of one binary COPY row of ``fields`` ((name, numpy type) pairs in
    big-endian fixed-width types such as ``>i4``, ``>i8``, ``>f8``, ``>i2``, ``?``)."""
    layout: list[tuple[str, str]] = [("_count", ">i2")]
    for name, kind in fields:
        layout += [(f"_len_{name}", ">i4"), (name, kind)]
    return np.dtype(layout)


def copy_rows(
    session: Session,
    query: str,
    params: Sequence[Any] | Mapping[str, Any],
    fields: Sequence[tuple[str, str]],
) -> np.ndarray:
    """The rows of ``query`` (a SELECT with psycopg ``%s`` placeholders, its columns cast to the
    types of ``fields`` and never NULL) as a structured array with one named column per field.

    One round trip; the session's connection is used inside its current transaction.
    """
    dtype = row_dtype(fields)
    connection: Any = session.connection().connection.driver_connection
    buffer = bytearray()
    with (
        connection.cursor() as cursor,
        cursor.copy(f"COPY ({query}) TO STDOUT (FORMAT binary)", params) as copy,
    ):
        for block in copy:
            buffer += block
    body = memoryview(buffer)[COPY_HEADER_BYTES : len(buffer) - COPY_TRAILER_BYTES]
    if len(body) % dtype.itemsize:
        raise ValueError(
            "binary COPY rows are not of the expected fixed width: a NULL or a column type "
            "that differs from the declared fields"
        )
    return np.frombuffer(body, dtype=dtype)
