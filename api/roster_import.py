"""The staff roster import run whole in a child process of the parse pool (issue 11.6).

Reading a 49,000-row workbook, checking every cell, storing the good rows and writing the
report is Python work of a second or more; in a thread of the server it competes for the GIL
with the event loop, and ``/health`` waited up to 0.6-1.2 s behind it (docs/ingest.md). Here
it runs in a parse-pool child (:func:`layers.tables.run_isolated`, niceness 10) on its own
database connection, in one transaction (nothing is half-written: a failure rolls it back),
and the server receives only the finished answer as bytes.

Errors are the same as in the server: domain errors (unreadable file 422, too many rows 413,
rows outside the planner's scope 403, no active generation 404, ``on_error=refuse`` 422 with
its report, answered by :func:`refusal`) come back as their own classes; a fault of the
database server (read-only, disk full, unreachable) comes back as
:class:`ChildDatabaseFault` and is answered 503 with Retry-After by
:func:`api.errors.database_problem`; a constraint the database refused (a concurrent import
of the same person) is a 409 naming the constraint.
"""

from __future__ import annotations

from typing import Literal

import orjson
from fastapi.responses import Response
from sqlalchemy import Engine, create_engine
from sqlalchemy.exc import DBAPIError, IntegrityError
from sqlalchemy.pool import NullPool

from api.big_json import render_json
from api.errors import PROBLEM, problem_type
from layers import accounts
from layers.db import DatabaseFault, database_fault, make_sessionmaker, transaction
from layers.errors import CodeConflict, DomainError, Forbidden, with_zh
from layers.grids import active_generation
from layers.integrity import describe_integrity
from layers.roster import RosterInvalid, import_roster, read_roster

_ENGINES: dict[str, Engine] = {}


class ChildDatabaseFault(DomainError):
    """A database fault met in the child (``extra``: kind, sqlstate, message)."""

    def fault(self) -> DatabaseFault:
        return DatabaseFault(self.extra["kind"], self.extra["sqlstate"], self.extra["message"])


def _engine(url: str) -> Engine:
    """The child's engine on ``url``: no pool (a connection per import, closed after it)."""
    if url not in _ENGINES:
        _ENGINES[url] = create_engine(
            url, poolclass=NullPool, connect_args={"options": "-c timezone=UTC"}
        )
    return _ENGINES[url]


def require_rows_in_scope(
    rows: list[dict[str, str]], codes: tuple[str, ...] | None, scope: str
) -> None:
    """Forbidden (nothing imported) if a roster row names a grid outside the planner's scope
    ``codes`` (None: the whole city): a town's planner imports its town's people only (file
    row numbers, header = row 1)."""
    if codes is None:
        return
    outside = [
        i + 2
        for i, r in enumerate(rows)
        if (r.get("grid_code") or "").strip()
        and not accounts.in_codes(r["grid_code"].strip(), codes)
    ]
    if outside:
        shown = ", ".join(map(str, outside[:10])) + (" …" if len(outside) > 10 else "")
        raise Forbidden(
            f"rows {shown} name grids outside your scope ({scope}); nothing was "
            "imported: remove them, or have a planner of the city import the file",
            field="file",
        )


def import_file(
    url: str,
    data: bytes,
    kind: Literal["csv", "xlsx"],
    charset: str | None,
    codes: tuple[str, ...] | None,
    scope: str,
    on_error: Literal["keep", "refuse"],
    dry_run: bool,
) -> bytes:
    """Runs in the child: read, check, store (unless ``dry_run``) and report a roster file.

    ``url`` the database URL with its password; ``codes``/``scope`` the planner's scope
    (:func:`layers.accounts.scope_codes`, its label). Returns the report as JSON bytes
    (``StaffImportReport``: rows, imported_rows, rejected_rows, …, errors last)."""
    rows = read_roster(data, kind=kind, charset=charset)
    require_rows_in_scope(rows, codes, scope)
    try:
        with transaction(make_sessionmaker(_engine(url))) as session:
            generation = active_generation(session=session)
            report = import_roster(
                session=session, generation_id=generation.id, rows=rows, on_error=on_error,
                dry_run=dry_run,
            )  # fmt: skip
    except RosterInvalid as exc:  # its report, rendered here (it may list 200,000 errors)
        report_json = render_json(exc.extra["report"], long_list="errors")
        raise RosterInvalid(
            exc.detail, field=exc.field, extra={"report_json": report_json}
        ) from None
    except IntegrityError as exc:
        words = describe_integrity(exc)  # the field and the fix, never the constraint's name
        raise with_zh(
            CodeConflict(
                f"the roster conflicts with stored data ({words.field}: {words.en}; another "
                "import of the same people at the same time?); nothing was stored — send the "
                "file again",
                field="file",
            ),
            f"名册与已存数据冲突（{words.field}：{words.zh}；是否有人同时导入了同一批人员？）；"
            "未保存任何内容，请重新发送文件",
        ) from None
    except DBAPIError as exc:
        fault = database_fault(exc)
        if fault is None:
            raise
        raise ChildDatabaseFault(
            fault.message,
            extra={"kind": fault.kind, "sqlstate": fault.sqlstate, "message": fault.message},
        ) from None
    return render_json(report.as_dict(), long_list="errors")


def refusal(exc: RosterInvalid, *, title: str, instance: str) -> Response:
    """The 422 problem+json of an ``on_error=refuse`` import, as api/errors.py answers a
    domain error (type, title, status, detail, field, instance, then ``report``), with the
    report the child rendered spliced in as it came (never parsed or rendered again here)."""
    head = orjson.dumps({
        "type": problem_type(422), "title": title, "status": 422, "detail": exc.detail,
        "field": exc.field, "instance": instance,
    })  # fmt: skip
    body = b"".join((head[:-1], b',"report":', exc.extra["report_json"], b"}"))
    return Response(body, status_code=422, media_type=PROBLEM)
