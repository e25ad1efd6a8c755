"""Fix ingest over HTTP: Traccar Client / OsmAnd, OwnTracks, our batch upload, GPX upload.

Each request's fixes are committed *before* the answer is sent, so an acknowledged fix is on
disk (OsmAnd single fixes arriving together share one transaction: api/ingest/group.py); a
client that got no answer resends, and the primary key makes the resend a no-op. Devices
authenticate with their secret (Bearer header, ``X-Device-Secret``, HTTP Basic password as
OwnTracks sends it, or ``key=`` in the URL as Traccar Client can).
"""

from __future__ import annotations

import base64
from typing import Annotated, Any

import orjson
from fastapi import APIRouter, Query, Request
from fastapi.responses import JSONResponse, Response
from starlette.concurrency import run_in_threadpool

from api.big_json import json_answer
from api.coords import client_crs
from api.errors import STATUS, InvalidParameter, UnsupportedMediaType, problem
from api.forms import read_form
from api.ingest import formats
from api.ingest.group import SingleFix, writer_for
from api.ingest.pipeline import (
    FixColumns,
    FixRefused,
    IngestResult,
    ingest,
    ingest_one,
    pack_columns,
    unpack_columns,
)
from api.schemas.bodies import (
    BATCH_MAX_FIXES,
    GPX,
    GPX_FORM,
    INGEST_BATCH,
    OSMAND_FORM,
    OSMAND_JSON,
    OWNTRACKS,
    body,
    device_key,
)
from api.schemas.tracks import OWNTRACKS_RESPONSES, IngestAnswer
from api.uploads import read_upload
from gis.crs import Datum
from layers.devices import check_secret, device_by_external_id, preauthenticate
from layers.tables import PARSE_IN_PROCESS_MAX_BYTES, TableError, run_isolated

router = APIRouter(prefix="/api/v1/ingest", tags=["ingest"])

# A single fix that cannot be stored as sent: 400, as Traccar answers a bad request.
STATUS.setdefault(FixRefused, (400, "Fix refused"))
STATUS.setdefault(formats.BadRequestBody, (400, "Bad request"))


def _presented_secret(request: Request, params: dict[str, str] | None = None) -> str | None:
    header = request.headers.get("authorization", "")
    if header.lower().startswith("bearer "):
        return header[7:].strip()
    if header.lower().startswith("basic "):
        try:
            return base64.b64decode(header[6:]).decode("utf-8").split(":", 1)[1]
        except (ValueError, IndexError):
            return None
    if request.headers.get("x-device-secret"):
        return request.headers["x-device-secret"].strip()
    params = params if params is not None else dict(request.query_params)
    return params.get("key") or params.get("token")


async def _body(request: Request) -> bytes:
    """The body; its size limit is enforced while it arrives (api/limits.py)."""
    return await request.body()


async def _preauthenticate(
    request: Request, external_id: str | None, secret: str | None, field: str
) -> None:
    """Credentials checked before the body is read (layers.devices.preauthenticate)."""
    if not external_id and not secret:
        return

    def check() -> None:
        with request.app.state.sessions() as session:
            preauthenticate(session=session, external_id=external_id, presented=secret, field=field)

    await run_in_threadpool(check)


def _json(body: bytes) -> Any:
    try:
        return orjson.loads(body)
    except orjson.JSONDecodeError as exc:
        raise InvalidParameter(f"the body is not valid JSON: {exc}", field="body") from None


def _store(
    request: Request,
    external_id: str,
    secret: str | None,
    fixes: FixColumns,
    source: str,
    received: int | None = None,
    id_field: str = "id",
) -> IngestResult:
    """Authenticate the device and ingest in one transaction, committed before returning."""
    state = request.app.state
    with state.sessions() as session, session.begin():
        device = device_by_external_id(session=session, external_id=external_id, field=id_field)
        check_secret(device, secret)
        return ingest(
            state=state,
            session=session,
            device=device,
            fixes=fixes,
            source=source,
            received=received,
            metric_srid=state.settings.geo.metric_srid,
        )


def _store_one(
    request: Request,
    external_id: str,
    secret: str | None,
    fixes: FixColumns,
    source: str,
    id_field: str = "id",
) -> IngestResult:
    """One fix: authenticate and store it in two round trips, committed before returning."""
    state = request.app.state
    return ingest_one(
        state=state, external_id=external_id, secret=secret, fixes=fixes, source=source,
        id_field=id_field, metric_srid=state.settings.geo.metric_srid,
    )  # fmt: skip


@router.get(
    "/osmand",
    summary="Traccar Client / OsmAnd protocol (the fix as query parameters)",
    response_class=Response,
    responses={200: {"description": "stored (empty body)"}},
    openapi_extra=device_key(osmand=True),
)
@router.post(
    "/osmand",
    summary="Traccar Client / OsmAnd protocol (query, form or Traccar JSON body)",
    response_class=Response,
    responses={200: {"description": "stored (empty body)"}},
    openapi_extra=body(
        ("application/x-www-form-urlencoded", OSMAND_FORM),
        ("application/json", OSMAND_JSON),
        required=False,
    )
    | device_key(osmand=True),
)
async def ingest_osmand(request: Request) -> Response:
    """One fix as query or form parameters (speed in the device's unit: knots by default, m/s
    for a device set to ``mps``), or the newer Traccar JSON body (m/s).

    Point Traccar Client at ``http://<host>:8000/api/v1/ingest/osmand`` (add ``?key=<device
    secret>`` if the device has a secret). 200 with an empty body once the fix is stored (a
    doubtful time is stored flagged); 400 for an unknown device, as the Traccar server does,
    and for a fix that cannot be stored as sent (the phone keeps it): docs/ingest.md.
    """
    params = dict(request.query_params)
    content_type = request.headers.get("content-type", "")
    source = "osmand"
    if request.method == "POST" and request.headers.get("content-length") != "0":
        # credentials first, when there is a body to read (Traccar Client's POST has none)
        await _preauthenticate(
            request,
            params.get("id") or params.get("deviceid"),
            _presented_secret(request, params),
            "id",
        )
    if request.method == "POST":
        body = await _body(request)
        if "json" in content_type:
            external_id, fixes = formats.osmand_json(_json(body))
            source = "osmand_json"
        elif body:
            form = await read_form(request)
            params.update({k: str(v) for k, v in form.items()})
    if source == "osmand":
        external_id, fixes = formats.osmand_params(params)
    # the datum of the phone's coordinates: crs in the query or the form (WGS 84 if none)
    in_datum(fixes, params.get("crs"))
    # stored with the other fixes arriving now, in one transaction (api/ingest/group.py);
    # answered once committed
    await writer_for(request.app.state).submit(
        SingleFix(external_id, _presented_secret(request, params), fixes, source,
                  "device_id" if source == "osmand_json" else "id")
    )  # fmt: skip
    return Response(status_code=200)


@router.post(
    "/owntracks",
    summary="OwnTracks HTTP mode",
    responses=OWNTRACKS_RESPONSES,
    openapi_extra=body(("application/json", OWNTRACKS)),
)
async def ingest_owntracks(
    request: Request,
    u: Annotated[str | None, Query(description="OwnTracks user")] = None,
    d: Annotated[str | None, Query(description="OwnTracks device")] = None,
) -> JSONResponse:
    """OwnTracks' HTTP mode: the device is ``user/device`` (``?u=&d=`` or ``X-Limit-U/D``)
    or just ``device``; the password of HTTP Basic is the device secret. Replies ``[]``."""
    user = u or request.headers.get("x-limit-u")
    dev = d or request.headers.get("x-limit-d")
    if not dev:
        raise formats.BadRequestBody(
            "OwnTracks needs the device name: set ?u=<user>&d=<device> or the X-Limit-D header",
            field="d",
        )
    for name, value in (("u", user), ("d", dev)):
        if value is not None:
            formats.device_id(value, name)
    secret = _presented_secret(request)
    if secret:
        await _preauthenticate(request, None, secret, "d")
    fixes = formats.owntracks(_json(await _body(request)))
    in_datum(fixes, request.query_params.get("crs"))
    if len(fixes):
        await run_in_threadpool(_store_owntracks, request, user, dev, fixes)
    return JSONResponse([])


def in_datum(fixes: FixColumns, query: str | None) -> None:
    """Every fix of a single-fix client (OsmAnd/Traccar, OwnTracks) in the datum its request
    names as ``crs`` (query or form; api.coords.client_crs, 422 naming ``crs`` for an unknown
    name); WGS 84, what GPS receivers report, when none is given."""
    datum = client_crs(query, default=Datum.WGS84)
    fixes.datum = [datum.value] * len(fixes.datum)


def _store_owntracks(request: Request, user: str | None, dev: str, fixes: FixColumns) -> None:
    external_id = f"{user}/{dev}" if user else dev
    with request.app.state.sessions() as session:
        from layers.people import Device

        exists = session.query(Device.id).filter(Device.external_id == external_id).first()
    _store_one(request, external_id if exists else dev, _presented_secret(request), fixes,
               "owntracks", "d")  # fmt: skip


def _parse_batch(body: bytes) -> tuple[str | None, FixColumns, int]:
    """:func:`formats.batch` of the JSON body; a body over
    :data:`layers.tables.PARSE_IN_PROCESS_MAX_BYTES` is read in a child process of the parse
    pool (JSON decoding and checking 50,000 fixes is Python work that stalls the server's
    event loop from a thread), its fixes sent back packed (pipeline.pack_columns)."""
    if len(body) <= PARSE_IN_PROCESS_MAX_BYTES:
        return _read_batch(body)
    try:
        external_id, packed, received = run_isolated(_batch_packed, body)
    except TableError as exc:
        if exc.field != "file":
            raise
        raise TableError(exc.detail, field="body") from None  # the child died (out of memory)
    return external_id, unpack_columns(packed), received


def _read_batch(body: bytes) -> tuple[str | None, FixColumns, int]:
    return formats.batch(_json(body), max_fixes=BATCH_MAX_FIXES)


def _batch_packed(body: bytes) -> tuple[str | None, dict[str, Any], int]:
    """Runs in the child: :func:`_read_batch`, its fixes packed."""
    external_id, fixes, received = _read_batch(body)
    return external_id, pack_columns(fixes), received


def _batch_response(result: IngestResult, **extra: Any) -> Response:
    body = {**result.as_dict(), **extra}
    if result.received and result.stored == 0 and result.duplicates == 0:
        first = result.rejected[0]
        return problem(
            422,
            "Invalid parameter",
            f"none of the {result.received} fixes could be stored; the first problem: "
            f"{first['detail']}",
            field=first.get("field"),
            **{k: v for k, v in body.items() if k != "errors"},
            errors=result.rejected[:1000],
        )
    return json_answer(body, long_list="errors")


@router.post(
    "/batch",
    summary="Many fixes of one device in one idempotent request",
    response_model=IngestAnswer,
    openapi_extra=body(("application/json", INGEST_BATCH)) | device_key(),
)
async def ingest_batch(request: Request) -> Response:
    """``{"device": "<external id>", "crs": "wgs84", "fixes": [{"time", "lon", "lat", "crs"?,
    "seq"?, "accuracy_m"?, "speed_mps"?, "course_deg"?, "altitude_m"?, "battery_pct"?,
    "attributes"?}, …]}``; ``time`` as ISO 8601 or epoch s/ms; ``crs`` (WGS 84 by default) is
    any name of api.deps.parse_crs (gcj02, bd09, cgcs2000, EPSG:4326, EPSG:4490, OGC URIs);
    ``datum`` is its older name (422 if both are sent and disagree).

    Resending any part stores nothing twice (``duplicates`` counts them). A bad fix is listed in
    ``errors`` with its ``index``, ``field`` and the reason, and the others are stored.
    """
    if "json" not in request.headers.get("content-type", "application/json"):
        raise UnsupportedMediaType("send the batch as application/json", field="Content-Type")
    named = request.query_params.get("device")
    await _preauthenticate(request, named, _presented_secret(request), "device")
    body = await _body(request)
    external_id, fixes, received = await run_in_threadpool(_parse_batch, body)
    external_id = external_id or named
    if not external_id:
        raise InvalidParameter('name the device: {"device": "<external id>", …}', field="device")
    return await run_in_threadpool(
        _store_and_answer, request, external_id, fixes, "batch", received, {}
    )


def _store_and_answer(
    request: Request,
    external_id: str,
    fixes: FixColumns,
    source: str,
    received: int,
    extra: dict[str, Any],
) -> Response:
    """:func:`_store` and the answer, rendered here in the worker thread: a big answer (tens
    of thousands of per-point errors) is never serialized on the event loop."""
    result = _store(request, external_id, _presented_secret(request), fixes, source, received,
                    "device")  # fmt: skip
    return _batch_response(result, **extra)


@router.post(
    "/gpx",
    summary="Upload a GPX 1.1 track of a device",
    response_model=IngestAnswer,
    openapi_extra=body(
        ("application/gpx+xml", GPX), ("application/xml", GPX), ("multipart/form-data", GPX_FORM)
    )
    | device_key(),
)
async def ingest_gpx(
    request: Request,
    device: Annotated[str, Query(description="the device's external id")],
) -> Response:
    """The GPX file as the body or as the multipart part ``file`` (``curl -F file=@x.gpx``),
    read in its declared encoding (BOM, XML declaration, else the charset of its Content-Type:
    UTF-8, GBK/GB18030, ISO-8859-1, …); every ``trkpt`` with a ``time`` becomes a fix (WGS 84).
    """
    formats.device_id(device, "device")
    await _preauthenticate(request, device, _presented_secret(request), "device")
    upload = await read_upload(request)  # raw body or the multipart part 'file'
    fixes, received, name = await run_in_threadpool(_parse_gpx, upload.content, upload.charset)
    return await run_in_threadpool(
        _store_and_answer, request, device, fixes, "gpx", received, {"track_name": name}
    )


def _gpx_packed(content: bytes, charset: str | None) -> tuple[dict[str, Any], int, str | None]:
    """Runs in the child: :func:`formats.gpx`, its fixes packed (pipeline.pack_columns)."""
    fixes, received, name = formats.gpx(content, charset)
    return pack_columns(fixes), received, name


def _parse_gpx(content: bytes, charset: str | None) -> tuple[FixColumns, int, str | None]:
    """:func:`formats.gpx`; a file over :data:`layers.tables.PARSE_IN_PROCESS_MAX_BYTES` is
    parsed in a child process of the parse pool (:func:`layers.tables.run_isolated`): the XML
    parser holds the GIL for the whole document (a 40,000-point track: 250 ms in one call),
    which in a thread of the server stalls every other request. Its errors are the same."""
    if len(content) <= PARSE_IN_PROCESS_MAX_BYTES:
        return formats.gpx(content, charset)
    try:
        packed, received, name = run_isolated(_gpx_packed, content, charset)
        return unpack_columns(packed), received, name
    except TableError as exc:
        if exc.field != "file":  # the file's own encoding error (field body)
            raise
        # the child died (out of memory): the upload here is the body
        raise TableError(exc.detail, field="body") from None
