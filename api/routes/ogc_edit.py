"""OGC API - Features Part 4 (Create, Replace, Update, Delete) on the grid collections of a
draft (``/ogc/collections/grids-l3@42/items/{code}``), each write an edit of
``layers.planning.edits`` (the tiling kept, logged with who and why, undoable with
``POST /api/v1/generations/{id}/edits/undo``):

- ``PUT`` (a Feature): its geometry is read as moves of the grid's own vertices
  (``replace_geometry``, layers/planning/feature_ops.py: every neighbour with a moved vertex
  follows); an outline that adds or removes vertices would open a gap or an overlap: 422 with
  those problems, nothing stored. A changed ``name`` is a ``rename``.
- ``PATCH`` (JSON merge patch): ``properties.name`` → ``rename``, ``properties.code`` →
  ``recode``, ``properties.parent_code`` → ``reparent`` (the code changes by the numbering
  rule), ``geometry`` → ``replace_geometry``; one logged edit per change.
- ``DELETE ?merge_into=CODE`` → ``merge`` with that neighbour of the same village (both codes
  retire, the merged grid gets a new one); without ``merge_into``, 422 naming the neighbours
  (deleting a grid alone would open a gap).
- ``POST`` (create): refused with 422 — a new grid is made by ``split`` (or where a draft has a
  gap, by moving the neighbours' boundary into it); see docs/planning.md.

Locking (Part 4, /req/optimistic-locking-etags): ``GET`` of an item answers the draft's
version as ``ETag``; a write needs ``If-Match`` with it: none → 428, a stale one → 412. The
answer carries the new version as ``ETag``. The reason of the edit comes from the
``X-Edit-Reason`` header (percent-encoded UTF-8 for Chinese) or a default naming the method.
Writes to read-only collections (the active or a retired generation, zones) answer 405 with
``Allow``. The body's coordinates are in the CRS of its ``Content-Crs`` header (default CRS84).
"""

from __future__ import annotations

from typing import Any
from urllib.parse import unquote

from fastapi import APIRouter, Request
from fastapi.responses import Response
from sqlalchemy.orm import Session

from api.deps import PrincipalDep, SessionDep
from api.errors import STATUS, InvalidParameter
from api.ogc_crs import from_crs, parse_crs_uri
from api.routes.generations import _json, _version, actor_of
from api.routes.ogc import (
    FEATURE_RESPONSES,
    ITEM_ALLOW,
    ITEMS_ALLOW,
    READ_ONLY_ALLOW,
    Target,
    _is_id,
    check_feature_id,
    crs_of,
    feature_response,
    method_not_allowed,
    resolve,
)
from api.schemas.common import PROBLEM_MEDIA_TYPE, PROBLEM_REF
from layers.errors import DomainError, Forbidden, with_zh
from layers.grids import get_generation
from layers.models import Role
from layers.ogc_items import same_village_neighbours
from layers.planning.edits import DraftVersionConflict, InvalidEdit, apply_edit, validate_affected
from layers.planning.feature_ops import OP as REPLACE_GEOMETRY
from layers.planning.feature_ops import (
    ReplacementRefused,
    neighbour_codes,
    new_tiling_problems,
)
from layers.planning.geometry_guard import edit_field, geometry_errors
from layers.planning.scope import require_edit_by

router = APIRouter(prefix="/ogc", tags=["ogc"])


class PreconditionRequired(DomainError):
    """A write without ``If-Match``; HTTP 428."""


class PreconditionFailed(DomainError):
    """``If-Match`` names a version the draft has left; HTTP 412 (with ``current_version``)."""


STATUS.setdefault(PreconditionRequired, (428, "Precondition required"))
STATUS.setdefault(PreconditionFailed, (412, "Precondition failed"))
STATUS.setdefault(InvalidEdit, (422, "Invalid edit"))
STATUS.setdefault(ReplacementRefused, (422, "Invalid edit"))
_WRITERS = frozenset({Role.PLANNER, Role.ADMIN})


def _problem_doc(text: str) -> dict[str, Any]:
    return {"description": text, "content": {PROBLEM_MEDIA_TYPE: {"schema": PROBLEM_REF}}}


LOCKING: dict[int | str, dict[str, Any]] = {
    412: _problem_doc("Precondition failed: If-Match names an older version (current_version)"),
    428: _problem_doc("Precondition required: send If-Match with the item's ETag"),
}
WRITE_DOC = (
    " Headers: If-Match (the ETag of GET item; required), X-Edit-Reason (why; percent-encoded"
    " UTF-8), Content-Crs (of the body's coordinates; default CRS84). Drafts only; elsewhere"
    " 405 with Allow."
)
READ_ONLY_PROPERTIES = ("level", "area_m2")

# -- the OpenAPI declarations of the writes (request bodies, headers, answers) ------------------
_POLYGON = {
    "type": "object",
    "required": ["type", "coordinates"],
    "properties": {
        "type": {"type": "string", "enum": ["Polygon", "MultiPolygon"]},
        "coordinates": {"type": "array", "description": "in the CRS of Content-Crs"},
    },
}
_WRITABLE = {
    "type": "object",
    "properties": {
        "name": {"type": "string", "minLength": 1, "maxLength": 200},
        "code": {"type": "string", "pattern": "^[0-9]+$", "description": "PATCH: a recode"},
        "parent_code": {"type": "string", "pattern": "^[0-9]+$", "description": "PATCH only"},
    },
    "description": "level and area_m2 are read-only (422 if written)",
}
# GeoJSON: foreign members are allowed (RFC 7946 §6.1), so the objects stay open.
FEATURE_BODY = {
    "type": "object",
    "required": ["type", "geometry"],
    "properties": {
        "type": {"type": "string", "enum": ["Feature"]},
        "id": {"type": "string"},
        "geometry": _POLYGON,
        "properties": _WRITABLE,
    },
}
MERGE_PATCH_BODY = {
    "type": "object",
    "description": "a JSON merge patch (RFC 7396) of the feature: properties and/or geometry",
    "properties": {"geometry": _POLYGON, "properties": _WRITABLE},
}
_HEADERS = [
    {"name": "If-Match", "in": "header", "required": True,
     "description": "the ETag of GET item (the draft's version); none: 428, stale: 412",
     "schema": {"type": "string", "maxLength": 40}},
    {"name": "X-Edit-Reason", "in": "header", "required": False,
     "description": "why (percent-encoded UTF-8); default: the method",
     "schema": {"type": "string", "maxLength": 2000}},
    {"name": "Content-Crs", "in": "header", "required": False,
     "description": "CRS URI of the body's coordinates (default CRS84)",
     "schema": {"type": "string", "maxLength": 200}},
]  # fmt: skip


def _write_doc(*media: tuple[str, dict[str, Any]], headers: bool = True) -> dict[str, Any]:
    """``openapi_extra`` of a write: its request body (``media``) and headers."""
    doc: dict[str, Any] = {"parameters": _HEADERS} if headers else {}
    if media:
        doc["requestBody"] = {"required": True,
                              "content": {m: {"schema": sch} for m, sch in media}}  # fmt: skip
    return doc


_405 = {
    405: {
        **_problem_doc("Read-only collection (active or retired generation, zones): not a draft"),
        "headers": {
            "Allow": {
                "description": "the methods the collection takes",
                "schema": {"type": "string"},
            }
        },
    }
}
_422 = {422: _problem_doc("An edit the tiling refuses (gap, overlap, read-only property)")}


def _generation_param(request: Request) -> int | None:
    """``?generation=ID`` on a write (the same as writing to ``base@ID``)."""
    raw = request.query_params.get("generation")
    if not raw:
        return None
    if not _is_id(raw):
        raise with_zh(
            InvalidParameter(
                f"generation {raw[:40]!r} is not a generation id (a positive integer)",
                field="generation",
            ),
            f"generation {raw[:40]!r} 不是版本编号（正整数）",
        )
    return int(raw)


def _writable(request: Request, session: Session, collection_id: str) -> Target | Response:
    target = resolve(session, collection_id, _generation_param(request), None)
    if not target.writable:
        gen = target.generation
        why = (
            "enforcement zones are derived from their member grids; edit the grids"
            if target.kind.level is None
            else f"generation {gen.id} is {gen.status.value}, not a draft; make a draft "
            "(POST /api/v1/generations) and write to its collections (grids-l3@ID)"
        )
        return method_not_allowed(request, READ_ONLY_ALLOW, why)
    return target


def _expected_version(request: Request, target: Target) -> int:
    raw = request.headers.get("if-match")
    if raw is None or raw.strip() in ("", "*"):
        raise with_zh(
            PreconditionRequired(
                "a write needs If-Match with the ETag of the item you read (GET this item: the "
                f'draft\'s version, now "{target.generation.version}")',
                field="If-Match",
            ),
            "写入需要 If-Match，填写所读要素的 ETag"
            f'（草案当前版本为 "{target.generation.version}"）',
        )
    version = _version(None, raw.split(",")[0])
    assert version is not None
    if version != target.generation.version:
        raise with_zh(
            PreconditionFailed(
                f"draft {target.generation.id} is at version {target.generation.version}, you read "
                f"version {version}: someone changed it since; GET the item again and redo your "
                "change",
                field="If-Match",
                extra={"current_version": target.generation.version},
            ),
            f"草案 {target.generation.id} 已是版本 {target.generation.version}，你读取的是版本 "
            f"{version}：其他人已修改；请重新读取要素后再修改",
        )
    return version


def _reason(request: Request) -> str:
    given = unquote(request.headers.get("x-edit-reason", "")).replace("\x00", "").strip()[:1000]
    return given or f"OGC API Features {request.method} (no X-Edit-Reason given)"


class _Writer:
    """Applies edits one after another on one draft, each with the version the last left."""

    def __init__(self, request: Request, session: Session, principal: Any, target: Target):
        self.request, self.session, self.target = request, session, target
        self.identity = principal.identity  # the planner's scope bounds every edit
        self.actor = actor_of(principal).label
        self.version = _expected_version(request, target)
        self.reason = _reason(request)
        self.srid = int(request.app.state.settings.geo.metric_srid)
        self.answers: list[dict[str, Any]] = []

    def edit(self, op: str, **params: Any) -> dict[str, Any]:
        """One edit (validated before and after for an outline); a GEOS error on the sent
        geometry is a 422 naming it (layers.planning.geometry_guard), never a 500."""
        with geometry_errors(edit_field(op, params)):
            return self._edit(op, **params)

    def _edit(self, op: str, **params: Any) -> dict[str, Any]:
        draft = self.target.generation.id
        checked: set[str] = set()
        if op == REPLACE_GEOMETRY:  # the towns it may touch, validated before and after
            checked = neighbour_codes(session=self.session, draft_id=draft, code=params["code"])
            before = validate_affected(
                session=self.session, draft_id=draft, codes=checked, metric_srid=self.srid
            )
        try:
            answer = apply_edit(
                session=self.session, draft_id=draft, op=op, params=params,
                reason=self.reason, actor=self.actor, expected_version=self.version,
                metric_srid=self.srid,
            )  # fmt: skip
        except DraftVersionConflict as exc:  # someone edited between our check and the lock
            refused = PreconditionFailed(exc.detail, field="If-Match", extra=exc.extra)
            raise with_zh(refused, getattr(exc, "detail_zh", exc.detail)) from None
        require_edit_by(
            session=self.session, identity=self.identity, answer=answer, generation_id=draft
        )
        if op == REPLACE_GEOMETRY:
            after = validate_affected(
                session=self.session, draft_id=draft, codes=checked, metric_srid=self.srid
            )
            if problems := new_tiling_problems(before, after):
                # raised inside the request's transaction: nothing of the edit is stored
                raise with_zh(
                    ReplacementRefused(
                        f"the new outline of {params['code']} would open "
                        f"{', '.join(sorted({p['kind'] for p in problems}))}; nothing was stored — "
                        "move fewer vertices or less far, or use split/merge",
                        field="geometry",
                        extra={"problems": problems, "edits": ["move_vertex", "split", "merge"]},
                    ),
                    f"网格 {params['code']} 的新边界会造成缝隙或重叠，未做任何修改；"
                    "请少移一些顶点或移得近一些，或改用拆分（split）/合并（merge）",
                )
        self.version = int(answer["version"])
        self.answers.append(answer)
        return answer

    def done(self, code: str, status_code: int = 200) -> Response:
        self.session.expire_all()
        gen = get_generation(session=self.session, generation_id=self.target.generation.id)
        target = Target(self.target.cid, self.target.base, self.target.kind, gen, True)
        feature = target.kind.item(self.session, gen.id, code)
        extra: dict[str, Any] = {"edits": [a["edit"] for a in self.answers]}
        if self.answers:
            last = self.answers[-1]["validation"]
            extra["validation"] = {"ok": last["ok"], "by_kind": last["by_kind"],
                                   "towns_checked": last["towns_checked"]}  # fmt: skip
        return feature_response(
            self.request, target, feature, crs_of(self.request), status_code, extra
        )


def _body_crs(request: Request) -> str:
    return parse_crs_uri(request.headers.get("content-crs"), "Content-Crs")


def _geometry(request: Request, body: dict[str, Any]) -> dict[str, Any] | None:
    geometry = body.get("geometry")
    if geometry is None:
        return None
    if not isinstance(geometry, dict) or "crs" in geometry:
        raise with_zh(
            InvalidParameter(
                "geometry must be a GeoJSON geometry object without a crs member (state the CRS "
                "in the Content-Crs header)",
                field="geometry",
            ),
            "geometry 应为不含 crs 成员的 GeoJSON 几何对象（坐标系请在 Content-Crs 请求头中说明）",
        )
    return from_crs(geometry, _body_crs(request))


async def _feature_body(request: Request) -> dict[str, Any]:
    body = await _json(request)
    if not isinstance(body, dict):
        raise with_zh(
            InvalidParameter("the body must be a GeoJSON Feature (a JSON object)", field="body"),
            "请求体应为 GeoJSON Feature（JSON 对象）",
        )
    props = body.get("properties")
    if props is not None and not isinstance(props, dict):
        raise with_zh(
            InvalidParameter("properties must be a JSON object", field="properties"),
            "properties 应为 JSON 对象",
        )
    for key, value in (props or {}).items():
        if isinstance(value, str) and "\x00" in value:
            raise with_zh(
                InvalidParameter(
                    f"properties.{key} contains a NUL character (\\u0000); remove it",
                    field=f"properties/{key}",
                ),
                f"properties.{key} 含有 NUL 字符（\\u0000），请删除",
            )
    return body


def _planner(principal: Any) -> Any:
    """Writes are for planners and admins (checked in the handler, after a read-only collection
    was answered 405; plain code, so it holds whatever form ``api.deps.require`` takes)."""
    if principal.role not in _WRITERS:
        names = ", ".join(sorted(r.value for r in _WRITERS))
        raise Forbidden(
            f"role {principal.role.value} may not do this; it needs one of: {names}",
            field="Authorization",
        )
    return principal


@router.post(
    "/collections/{collection_id}/items",
    status_code=201,
    summary="Create a grid: refused (422) with the edits to use (split, merge, move)",
    description="A new grid comes from split/merge/move edits, never added alone." + WRITE_DOC,
    response_class=Response,  # no body is ever answered with 201
    responses={201: {"description": "never: creation is refused"}, **_405, **_422},
    openapi_extra=_write_doc(
        ("application/geo+json", FEATURE_BODY), ("application/json", FEATURE_BODY), headers=False
    ),
)
async def create_item(
    collection_id: str, request: Request, session: SessionDep, principal: PrincipalDep
) -> Response:
    found = _writable(request, session, collection_id)
    if isinstance(found, Response):
        return found
    _planner(principal)
    raise with_zh(
        InvalidEdit(
            "a new grid cannot be added on its own to a draft that tiles the city (it would "
            "overlap its neighbours); make new grids by cutting one (op split), join grids with "
            "merge, and move boundaries with move_vertex/move_edge: POST "
            f"/api/v1/generations/{found.generation.id}/edits, or PUT the grid's outline here",
            field="body",
            extra={"edits": ["split", "merge", "move_vertex", "move_edge"]},
        ),
        "不能在铺满全市的草案中单独新增网格（会与相邻网格重叠）；请用拆分（split）产生新网格，"
        "用合并（merge）合并网格，用移动顶点/边（move_vertex/move_edge）调整边界：POST "
        f"/api/v1/generations/{found.generation.id}/edits，或在此 PUT 网格的边界",
    )


@router.put(
    "/collections/{collection_id}/items/{feature_id}",
    summary="Replace a draft grid's outline by moving its vertices (neighbours follow)",
    description="A changed name is a rename; code and parent_code change with PATCH." + WRITE_DOC,
    responses={**FEATURE_RESPONSES, **LOCKING, **_405, **_422},
    openapi_extra=_write_doc(
        ("application/geo+json", FEATURE_BODY), ("application/json", FEATURE_BODY)
    ),
)
async def replace_item(
    collection_id: str, feature_id: str, request: Request, session: SessionDep,
    principal: PrincipalDep,
) -> Response:  # fmt: skip
    found = _writable(request, session, collection_id)
    if isinstance(found, Response):
        return found
    _planner(principal)
    current = found.kind.item(session, found.generation.id, check_feature_id(feature_id))
    body = await _feature_body(request)
    geometry = _geometry(request, body)
    if geometry is None:
        raise with_zh(
            InvalidParameter(
                "PUT replaces the whole feature: send its geometry (or PATCH only properties)",
                field="geometry",
            ),
            "PUT 替换整个要素：请发送其 geometry（只改属性请用 PATCH）",
        )
    props: dict[str, Any] = body.get("properties") or {}
    for key in ("code", "parent_code"):
        if key in props and props[key] != current["properties"][key]:
            raise with_zh(
                InvalidEdit(
                    f"PUT keeps the grid's {key}; change it with PATCH (properties.{key}), which "
                    "makes the recode/reparent edit",
                    field=f"properties/{key}",
                ),
                f"PUT 不改变网格的 {key}；请用 PATCH（properties.{key}）修改，"
                "它会进行改编码/调整归属的编辑",
            )
    writer = _Writer(request, session, principal, found)
    try:
        writer.edit(REPLACE_GEOMETRY, code=feature_id, geometry=geometry)
    except InvalidEdit as exc:
        if exc.detail != "the edit changes nothing":
            raise
    name = props.get("name")
    if isinstance(name, str) and name.strip() and name != current["properties"]["name"]:
        writer.edit("rename", code=feature_id, name=name)
    return writer.done(feature_id)


@router.patch(
    "/collections/{collection_id}/items/{feature_id}",
    summary="Update a draft grid: name (rename), code (recode), parent_code (reparent)",
    description="A JSON merge patch of the feature; geometry as in PUT." + WRITE_DOC,
    responses={**FEATURE_RESPONSES, **LOCKING, **_405, **_422},
    openapi_extra=_write_doc(
        ("application/merge-patch+json", MERGE_PATCH_BODY), ("application/json", MERGE_PATCH_BODY)
    ),
)
async def update_item(
    collection_id: str, feature_id: str, request: Request, session: SessionDep,
    principal: PrincipalDep,
) -> Response:  # fmt: skip
    found = _writable(request, session, collection_id)
    if isinstance(found, Response):
        return found
    _planner(principal)
    current = found.kind.item(session, found.generation.id, check_feature_id(feature_id))
    body = await _feature_body(request)
    props: dict[str, Any] = body.get("properties") or {}
    fixed = [k for k in props if k in READ_ONLY_PROPERTIES]
    unknown = [k for k in props if k not in (*READ_ONLY_PROPERTIES, "name", "code", "parent_code")]
    if fixed or unknown:
        raise with_zh(
            InvalidEdit(
                f"properties {', '.join(fixed + unknown)} cannot be written; name, code and "
                "parent_code can (level and area_m2 follow from the grid)",
                field=f"properties/{(fixed + unknown)[0]}",
            ),
            f"属性 {'、'.join(fixed + unknown)} 不能修改；可以修改 name、code 和 parent_code（"
            "level 和 area_m2 由网格决定）",
        )
    if "code" in props and "parent_code" in props:
        raise with_zh(
            InvalidEdit(
                "change code or parent_code, not both at once (a re-parented grid gets its code "
                "from the numbering rule)",
                field="properties/code",
            ),
            "code 和 parent_code 不能同时修改（调整归属后的网格按编号规则获得新编码）",
        )
    geometry = _geometry(request, body)
    writer = _Writer(request, session, principal, found)
    code = feature_id
    if geometry is not None:
        writer.edit(REPLACE_GEOMETRY, code=code, geometry=geometry)
    if "name" in props and props["name"] != current["properties"]["name"]:
        writer.edit("rename", code=code, name=props["name"])
    if "parent_code" in props and props["parent_code"] != current["properties"]["parent_code"]:
        answer = writer.edit("reparent", code=code, to_parent=props["parent_code"])
        code = next(c for c in answer["edit"]["grids_after"] if len(c) == len(code)
                    and c.startswith(str(props["parent_code"])))  # fmt: skip
    if "code" in props and props["code"] != code:
        writer.edit("recode", code=code, new_code=props["code"])
        code = str(props["code"])
    if not writer.answers:
        raise with_zh(
            InvalidEdit("the patch changes nothing", field="body"), "这次修改没有改变任何东西"
        )
    response = writer.done(code)
    if code != feature_id:
        response.headers["Location"] = (
            f"{str(request.base_url).rstrip('/')}/ogc/collections/{collection_id}/items/{code}"
        )
    return response


@router.delete(
    "/collections/{collection_id}/items/{feature_id}",
    status_code=204,
    summary="Delete a draft grid by merging it into a neighbour (?merge_into=CODE)",
    description="Without merge_into: 422 naming the neighbours (a grid alone leaves a gap)."
    + WRITE_DOC,
    responses={
        204: {"description": "merged (Location: the merged grid; ETag)"},
        **LOCKING,
        **_405,
        **_422,
    },
    openapi_extra=_write_doc(),
)
def delete_item(
    collection_id: str, feature_id: str, request: Request, session: SessionDep,
    principal: PrincipalDep, merge_into: str | None = None,
) -> Response:  # fmt: skip
    found = _writable(request, session, collection_id)
    if isinstance(found, Response):
        return found
    _planner(principal)
    found.kind.item(session, found.generation.id, check_feature_id(feature_id))
    if not merge_into:
        neighbours = same_village_neighbours(
            session=session, generation_id=found.generation.id, code=feature_id
        )
        raise with_zh(
            InvalidEdit(
                f"deleting {feature_id} alone would leave a gap in the city; merge it into a "
                f"neighbour of its village: DELETE …/items/{feature_id}?merge_into=CODE (CODE one "
                f"of {', '.join(neighbours) or 'none: re-parent it first'}), or the merge edit at "
                f"POST /api/v1/generations/{found.generation.id}/edits",
                field="merge_into",
                extra={"neighbours": neighbours, "edits": ["merge"]},
            ),
            f"单独删除 {feature_id} 会在城市中留下缝隙；请把它合并到同一村社区的相邻网格：DELETE "
            f"…/items/{feature_id}?merge_into=编码",
        )
    writer = _Writer(request, session, principal, found)
    answer = writer.edit("merge", codes=[feature_id, check_feature_id(merge_into)])
    new_code = next(c for c in answer["edit"]["grids_after"] if len(c) == len(feature_id))
    base = str(request.base_url).rstrip("/")
    return Response(
        status_code=204,
        headers={
            "ETag": f'"{writer.version}"',
            "Location": f"{base}/ogc/collections/{collection_id}/items/{new_code}",
        },
    )


def _options(allow: str) -> Response:
    return Response(status_code=204, headers={"Allow": allow})


@router.options(
    "/collections/{collection_id}/items", status_code=204, responses={204: {"description": "Allow"}}
)
def items_options(collection_id: str, request: Request, session: SessionDep) -> Response:
    target = resolve(session, collection_id, _generation_param(request), None)
    return _options(ITEMS_ALLOW if target.writable else READ_ONLY_ALLOW)


@router.options(
    "/collections/{collection_id}/items/{feature_id}",
    status_code=204,
    responses={204: {"description": "Allow"}},
)
def item_options(
    collection_id: str, feature_id: str, request: Request, session: SessionDep
) -> Response:
    target = resolve(session, collection_id, _generation_param(request), None)
    return _options(ITEM_ALLOW if target.writable else READ_ONLY_ALLOW)
