"""The event dictionary: read by everyone, edited by city-scoped dispatchers and admins (a
town's dispatcher gets 403 ``scope``: api/city_wide.py), imported from CSV/XLSX. DELETE of a
subclass is a soft retire (``active`` false): new reports of it are refused (422), cases that
use it keep it and go on through their workflow; PUT of the same code brings it back."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request
from sqlalchemy.orm import Session
from starlette.concurrency import run_in_threadpool

from api.city_wide import require_city_wide
from api.deps import Reader, SessionDep
from api.errors import InvalidParameter
from api.lang import LangDep
from api.routes.events import read_body
from api.schemas.bodies import refuse_unknown
from api.schemas.common import TABLE_BODY, body_schema
from api.schemas.event_dictionary import (
    ClassPut,
    DictionaryImported,
    DictionaryPublic,
    EventClassPublic,
    SubclassPublic,
    SubclassPut,
)
from api.uploads import read_upload
from layers.events import dictionary
from layers.models import Role

router = APIRouter(prefix="/api/v1/event-dictionary", tags=["event dictionary"])
Editor = Annotated[
    Any,
    Depends(require_city_wide(Role.DISPATCHER, what="the event dictionary", what_zh="事件字典")),
]
"""A city-scoped dispatcher or an admin: the dictionary is one for the whole city (issue 11)."""


@router.get("", summary="Classes with their subclasses", response_model=DictionaryPublic)
def read_dictionary(session: SessionDep, _: Reader, lang: LangDep) -> dict[str, Any]:
    """``name`` in the request's language (``lang=en`` or ``Accept-Language``), with
    ``name_zh`` and ``name_en`` beside it."""
    data = dictionary.list_dictionary(session=session, lang=lang)
    return {"data": data, "count": len(data)}


@router.get("/subclasses/{code}", summary="One subclass", response_model=SubclassPublic)
def read_subclass(session: SessionDep, _: Reader, code: str, lang: LangDep) -> dict[str, Any]:
    return dictionary.subclass_dict(
        dictionary.get_subclass(session=session, code=code, field="code"), lang
    )


@router.put(
    "/classes/{code}",
    summary="Create or rename a class",
    response_model=EventClassPublic,
    openapi_extra=body_schema(ClassPut),
)
async def put_class(
    request: Request, session: SessionDep, _: Editor, code: str, lang: LangDep
) -> dict[str, Any]:
    """The body is read on the event loop, the database work runs in a worker thread."""
    data, _files = await read_body(request)
    refuse_unknown(data, list(ClassPut.model_fields))
    return await run_in_threadpool(_put_class, session, code, data, lang)


def _put_class(session: Session, code: str, data: dict[str, Any], lang: str) -> dict[str, Any]:
    if not data.get("name"):
        raise InvalidParameter("name is required", field="name")
    name_en = data.get("name_en")
    found = dictionary.upsert_class(
        session=session,
        code=code,
        name=str(data["name"]),
        kind=str(data.get("kind", "event")),
        name_en=None if name_en is None else str(name_en),
    )
    return dictionary.class_dict(found, lang)


@router.put(
    "/subclasses/{code}",
    summary="Create or replace a subclass",
    response_model=SubclassPublic,
    openapi_extra=body_schema(SubclassPut),
)
async def put_subclass(
    request: Request, session: SessionDep, _: Editor, code: str, lang: LangDep
) -> dict[str, Any]:
    """The body is read on the event loop, the database work runs in a worker thread."""
    data, _files = await read_body(request)
    refuse_unknown(data, list(SubclassPut.model_fields))
    return await run_in_threadpool(_put_subclass, session, code, data, lang)


def _put_subclass(session: Session, code: str, data: dict[str, Any], lang: str) -> dict[str, Any]:
    row = dictionary.upsert_subclass(session=session, row={**data, "code": code})
    return dictionary.subclass_dict(row, lang)


@router.delete("/subclasses/{code}", status_code=204, summary="Deactivate a subclass")
def delete_subclass(session: SessionDep, _: Editor, code: str) -> None:
    dictionary.deactivate_subclass(session=session, code=code)


@router.post(
    "/import",
    summary="Import subclasses from CSV or XLSX (all rows or none)",
    response_model=DictionaryImported,
    openapi_extra=TABLE_BODY,
)
async def import_file(request: Request, session: SessionDep, _: Editor) -> dict[str, Any]:
    upload = await read_upload(request)  # raw body or the multipart part 'file'
    n = await run_in_threadpool(
        dictionary.import_subclasses,
        session=session,
        content=upload.content,
        filename=upload.filename or "dictionary",
        charset=upload.charset,
    )
    return {"imported": n}
