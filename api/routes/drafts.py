"""Editing a draft generation (planners): edits that keep the tiling, undo/redo, the edit log;
the diff, lineage and impact report of a draft against the active generation.

Every edit names the draft version it was made on (``If-Match`` with the ETag of
``GET /api/v1/generations/{id}`` or of the edit log, or ``version`` in the body); a stale
version is a 409 problem with ``current_version``. The answer carries the new version as ETag.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Header, Query, Request, Response

from api.deps import Planner, Reader, SessionDep
from api.errors import STATUS, InvalidParameter
from api.exports import TableFormat, table_response
from api.lang import LangDep
from api.routes.generations import _json, _version, actor_of
from api.schemas.bodies import DRAFT_EDIT, UNDO_REDO, body, check_edit, refuse_unknown
from api.schemas.common import table_responses
from api.schemas.generations import PlanningSettings
from api.schemas.grids import (
    EditLog,
    EditResult,
    GenerationDiff,
    GenerationImpact,
    GenerationLineage,
)
from layers.errors import with_zh
from layers.grids import active_generation, get_generation
from layers.planning.edits import (
    OPERATIONS,
    DraftVersionConflict,
    InvalidEdit,
    apply_edit,
    list_edits,
    redo_edit,
    undo_edit,
)
from layers.planning.impact import impact_report
from layers.planning.lineage import diff_features, lineage_pairs
from layers.planning.scope import require_edit_by

router = APIRouter(prefix="/api/v1/generations", tags=["drafts"])

STATUS.setdefault(DraftVersionConflict, (409, "Version conflict"))
STATUS.setdefault(InvalidEdit, (422, "Invalid edit"))

IfMatch = Annotated[str | None, Header(description='the draft version you edited, e.g. "7"')]
_CONTROL = ("op", "reason", "version")


def _srid(request: Request) -> int:
    return int(request.app.state.settings.geo.metric_srid)


def _required_version(body: dict[str, Any], if_match: str | None) -> int:
    raw = body.get("version")
    if raw is not None and (isinstance(raw, bool) or not isinstance(raw, int)):
        raise with_zh(
            InvalidParameter("version must be an integer (the draft's ETag)", field="version"),
            "version 应为整数（草案的 ETag）",
        )
    version = _version(raw, if_match)
    if version is None:
        raise with_zh(
            InvalidParameter(
                "say which version of the draft you edited: send If-Match with the ETag of "
                "GET /api/v1/generations/{id}/edits, or version in the body",
                field="If-Match",
            ),
            "请说明你编辑的是草案的哪个版本：发送 If-Match（GET /api/v1/generations/{id}/edits "
            "返回的 ETag），或在请求体中给出 version",
        )
    return version


def _done(response: Response, answer: dict[str, Any]) -> dict[str, Any]:
    response.headers["ETag"] = f'"{answer["version"]}"'
    return answer


def _check_edit(body: dict[str, Any]) -> None:
    """``check_edit`` (the body's schema), its refusal also in Chinese for the pages: the
    schema's checks are worded in English, so the Chinese text names the field and keeps them."""
    try:
        check_edit(body)
    except InvalidParameter as exc:
        if exc.field == "op":
            text = f"编辑操作 {body.get('op')!r} 不存在，可用：{'、'.join(OPERATIONS)}"
        else:
            text = f"编辑参数 {exc.field} 不符合要求（{exc.detail}）；参数说明见 docs/planning.md"
        raise with_zh(exc, text) from None


@router.post(
    "/{generation_id}/edits",
    summary="Edit a draft (keeps the tiling; logged, undoable)",
    response_model=EditResult,
    openapi_extra=body(("application/json", DRAFT_EDIT)),
)
async def create_edit(
    generation_id: int,
    request: Request,
    response: Response,
    session: SessionDep,
    principal: Planner,
    if_match: IfMatch = None,
) -> dict[str, Any]:
    """Body: ``{"op": …, "reason": …, "version"?: n, …parameters}``; ops and parameters:
    ``move_vertex`` (``at``, ``to`` [lon, lat], ``snap_m``), ``move_edge`` (``codes`` [a, b],
    ``offset_m`` [east, north]), ``split`` (``code``, ``line`` GeoJSON LineString or
    [[lon, lat], …], ``names``), ``merge`` (``codes``, ``name``), ``reparent`` (``code``,
    ``to_parent``), ``rename`` (``code``, ``name``), ``recode`` (``code``, ``new_code``).
    Answers the changed grids (GeoJSON), removed codes and the validation of the touched towns."""
    body = await _json(request)
    if not isinstance(body, dict):
        raise with_zh(
            InvalidParameter("the body must be a JSON object with op and reason", field="body"),
            "请求体应为包含 op 和 reason 的 JSON 对象",
        )
    _check_edit(body)  # the op's own parameters, by their schema (unknown ones named)
    version = _required_version(body, if_match)
    op, reason = body.get("op"), body.get("reason")
    if not isinstance(op, str):
        raise with_zh(
            InvalidParameter("op is required (move_vertex, move_edge, split, …)", field="op"),
            "请填写编辑操作 op（move_vertex、move_edge、split 等）",
        )
    answer = apply_edit(
        session=session,
        draft_id=generation_id,
        op=op,
        params={k: v for k, v in body.items() if k not in _CONTROL},
        reason=reason if isinstance(reason, str) else "",
        actor=actor_of(principal).label,
        expected_version=version,
        metric_srid=_srid(request),
    )
    require_edit_by(  # 403 (another scope's draft, or grids outside), rolled back
        session=session, identity=principal.identity, answer=answer, generation_id=generation_id
    )
    return _done(response, answer)


@router.get(
    "/{generation_id}/edits",
    summary="The draft's edit log and current version",
    response_model=EditLog,
)
def read_edits(
    generation_id: int, response: Response, session: SessionDep, _: Reader
) -> dict[str, Any]:
    return _done(response, list_edits(session=session, draft_id=generation_id))


async def _step(
    undo: bool, generation_id: int, request: Request, response: Response, session: Any,
    principal: Any, if_match: str | None,
) -> dict[str, Any]:  # fmt: skip
    body = await _json(request)
    if isinstance(body, dict):
        refuse_unknown(body, UNDO_REDO)
    version = _required_version(body if isinstance(body, dict) else {}, if_match)
    fn = undo_edit if undo else redo_edit
    answer = fn(
        session=session,
        draft_id=generation_id,
        actor=actor_of(principal).label,
        expected_version=version,
        metric_srid=_srid(request),
    )
    require_edit_by(  # 403 (another scope's draft, or grids outside), rolled back
        session=session, identity=principal.identity, answer=answer, generation_id=generation_id
    )
    return _done(response, answer)


@router.post(
    "/{generation_id}/edits/undo",
    summary="Undo the draft's last edit",
    response_model=EditResult,
    openapi_extra=body(("application/json", UNDO_REDO), required=False),
)
async def undo(
    generation_id: int, request: Request, response: Response, session: SessionDep,
    principal: Planner, if_match: IfMatch = None,
) -> dict[str, Any]:  # fmt: skip
    return await _step(True, generation_id, request, response, session, principal, if_match)


@router.post(
    "/{generation_id}/edits/redo",
    summary="Redo the edit undone last",
    response_model=EditResult,
    openapi_extra=body(("application/json", UNDO_REDO), required=False),
)
async def redo(
    generation_id: int, request: Request, response: Response, session: SessionDep,
    principal: Planner, if_match: IfMatch = None,
) -> dict[str, Any]:  # fmt: skip
    return await _step(False, generation_id, request, response, session, principal, if_match)


def _against(session: Any, generation_id: int, against: int | None) -> int:
    get_generation(session=session, generation_id=generation_id)
    if against is not None:
        return get_generation(session=session, generation_id=against).id
    return active_generation(session=session).id


@router.get(
    "/{generation_id}/diff",
    summary="Grids added / removed / reshaped (GeoJSON)",
    response_model=GenerationDiff,
    responses=table_responses(None, "JSON, or CSV/XLSX with format=csv|xlsx"),
)
def read_diff(
    generation_id: int,
    request: Request,
    session: SessionDep,
    _: Reader,
    against: Annotated[int | None, Query(description="default: the active generation")] = None,
    format: TableFormat = "json",
) -> Any:
    """Grids added, removed, reshaped (beyond the tolerance named in ``tolerance``) or renamed.

    ``format=csv|xlsx``: one row per grid (its properties, areas in m², no geometry), formula-like
    text escaped (api/exports.py); another ``format`` is a 422 naming it."""
    old = _against(session, generation_id, against)
    diff = diff_features(
        session=session, old_generation_id=old, new_generation_id=generation_id,
        metric_srid=_srid(request), tolerance=PlanningSettings().tolerance,
    )  # fmt: skip
    if format == "json":
        return diff
    # the change in the download's language (zh default, en with lang=en; headers with units
    # from api/exports.py COLUMNS, the one export-header rule)
    words = IMPACT_WORDS[_table_lang(format)]
    rows = [f["properties"] for f in diff["features"]]
    rows = [r | {"change": words.get(r["change"], r["change"])} for r in rows]
    return table_response(
        rows, name=f"diff-{generation_id}-vs-{old}", fmt=format, sheet="diff",
        columns=DIFF_COLUMNS,
    )  # fmt: skip


@router.get(
    "/{generation_id}/lineage",
    summary="Old -> new code mapping by area overlap",
    response_model=GenerationLineage,
    responses=table_responses(None, "JSON, or CSV/XLSX with format=csv|xlsx"),
)
def read_lineage(
    generation_id: int,
    request: Request,
    session: SessionDep,
    _: Reader,
    against: Annotated[int | None, Query(description="default: the active generation")] = None,
    format: TableFormat = "json",
) -> Any:
    """Old -> new codes of every changed grid; ``format=csv|xlsx`` the same rows as a table
    (formula-like text escaped, api/exports.py); another ``format`` is a 422 naming it."""
    old = _against(session, generation_id, against)
    rows = lineage_pairs(
        session=session, old_generation_id=old, new_generation_id=generation_id,
        metric_srid=_srid(request), tolerance=PlanningSettings().tolerance,
    )  # fmt: skip
    if format == "json":
        return {"old_generation": old, "new_generation": generation_id, "lineage": rows}
    words = IMPACT_WORDS[_table_lang(format)]
    rows = [r | {"kind": words.get(r["kind"], r["kind"])} for r in rows]
    return table_response(
        rows, name=f"lineage-{generation_id}-vs-{old}", fmt=format, sheet="lineage"
    )


DIFF_COLUMNS = ("code", "level", "name", "parent_code", "change", "area_before_m2",
                "area_after_m2", "area_change_m2")  # fmt: skip
IMPACT_COLUMNS = ("kind", "id", "label", "old_grid", "new_grid", "action", "detail")
# The impact table's words (kinds of rows, grid changes, what happens to each object); event
# statuses and roles come from their one tables (maps/styles.py).
IMPACT_WORDS: dict[str, dict[str, str]] = {
    "zh": {
        "grid": "网格", "household": "住户", "event": "事件", "assignment": "人员分工",
        "zone": "执法片区", "device": "设备", "grid_role": "待配人员的网格岗位",
        "added": "新增", "removed": "删除", "reshaped": "形状改变", "renamed": "改名",
        "keep": "网格不变", "move": "随网格移动", "decide": "需人工确定",
        "event_keeps": "保留上报时的网格", "members rewritten": "成员已替换",
        "geometry re-derived": "范围重新生成", "person": "人员 {id}",
        "merged_into": "并入", "split_from": "拆分自", "moved_from": "改号自",
        "recoded_from": "改码自",
    },
    "en": {
        "grid": "grid", "household": "household", "event": "event", "assignment": "assignment",
        "zone": "zone", "device": "device", "grid_role": "grid role to staff",
        "added": "added", "removed": "removed", "reshaped": "reshaped", "renamed": "renamed",
        "keep": "grid unchanged", "move": "moves with its grid", "decide": "to decide",
        "event_keeps": "keeps its report-time grid", "members rewritten": "members rewritten",
        "geometry re-derived": "geometry re-derived", "person": "person {id}",
        "merged_into": "merged into", "split_from": "split from", "moved_from": "moved from",
        "recoded_from": "recoded from",
    },
}  # fmt: skip


def _table_lang(fmt: Any) -> str:
    """The language of a download: the TableFormat's ``lang`` (zh default, en)."""
    from maps.styles import resolve_lang

    return resolve_lang(getattr(fmt, "lang", "zh"))


def _areas(before: float | None, after: float | None) -> str:
    """Areas as "12.5 m² → 20.1 m²"; an added grid has no area before, a removed one none after (the
    side left empty, never "None m²")."""
    return " → ".join("" if a is None else f"{a} m²" for a in (before, after)).strip()


def impact_rows(report: dict[str, Any], lang: str = "zh") -> list[dict[str, Any]]:
    """The impact report as one table in ``lang`` (zh/en): a row per changed grid (its change,
    area before and after, lineage), then one per object whose grid changes. Codes and ids stay
    as they are; kinds, changes, actions, event statuses and roles are names, not API words."""
    from maps.status_names import event_status_names
    from maps.styles import ROLE_NAMES, resolve_lang

    lang = resolve_lang(lang)
    words, statuses, roles = IMPACT_WORDS[lang], event_status_names(lang), ROLE_NAMES[lang]

    def say(word: str) -> str:
        return words.get(word, word)

    rows: list[dict[str, Any]] = []
    for g in report["changed_grids"]:
        lineage = " ".join(
            f"{x['old_code']}→{x['new_code']} {say(x['kind'])}" for x in g["lineage"]
        )
        rows.append({"kind": say("grid"), "id": g["code"], "label": say(g["change"]),
                     "action": _areas(g['area_before_m2'], g['area_after_m2']),
                     "detail": lineage})  # fmt: skip
    for h in report["households"]["items"]:
        rows.append({"kind": say("household"), "id": h["id"], "label": h["code"],
                     "old_grid": h["old_grid"], "new_grid": h["new_grid"]})  # fmt: skip
    for e in report["events"]["items"]:
        rows.append({"kind": say("event"), "id": e["id"], "label": e["subclass"],
                     "old_grid": e["grid_at_report"], "new_grid": e["new_grid"],
                     "action": say("event_keeps"),
                     "detail": statuses.get(e["status"], e["status"])})  # fmt: skip
    for a in report["assignments"]["items"]:
        role = roles.get(a["role"], a["role"])
        rows.append({"kind": say("assignment"), "id": a["id"], "label": f"{a['name']} {role}",
                     "old_grid": a["grid_code"], "new_grid": a["new_grid"],
                     "action": say(a["action"]), "detail": " ".join(a["candidates"])})  # fmt: skip
    for i in report.get("grids_to_staff", {}).get("items", []):
        people = " ".join(f"{c['name']} ({c['person_id']})" for c in i["candidates"])
        rows.append({"kind": say("grid_role"), "id": i["grid_code"],
                     "label": roles.get(i["role"], i["role"]),
                     "old_grid": " ".join(i["sources"]), "new_grid": i["grid_code"],
                     "action": say("decide"), "detail": people})  # fmt: skip
    for z in report["zones"]["items"]:
        removed = " ".join(m["code"] for m in z["members_removed"])
        rows.append({"kind": say("zone"), "id": z["id"], "label": f"{z['code']} {z['name']}",
                     "action": say("members rewritten" if removed else "geometry re-derived"),
                     "detail": removed or " ".join(z["members_reshaped"])})  # fmt: skip
    for d in report["devices"]["items"]:
        rows.append({"kind": say("device"), "id": d["id"], "label": d["external_id"],
                     "detail": say("person").format(id=d["person_id"])})  # fmt: skip
    return rows


@router.get(
    "/{generation_id}/impact",
    summary="What publishing the draft changes (JSON, XLSX)",
    response_model=GenerationImpact,
    responses=table_responses(None, "JSON, or CSV/XLSX with format=csv|xlsx"),
)
def read_impact(
    generation_id: int,
    request: Request,
    session: SessionDep,
    _: Planner,
    against: Annotated[int | None, Query(description="default: the active generation")] = None,
    format: Annotated[str, Query(description="json | csv | xlsx")] = "json",
    lang: LangDep = "zh",
) -> Any:
    if format not in ("json", "csv", "xlsx"):
        raise with_zh(
            InvalidParameter(f"format {format!r} is not json, csv or xlsx", field="format"),
            f"格式 {format!r} 不是 json、csv 或 xlsx",
        )
    old = _against(session, generation_id, against)
    report = impact_report(
        session=session, draft_id=generation_id, against_id=old, metric_srid=_srid(request),
        tolerance=PlanningSettings().tolerance,
    )  # fmt: skip
    if format == "json":
        return report
    return impact_table(report, name=f"impact-{generation_id}-vs-{old}", fmt=format, lang=lang)


def impact_table(report: dict[str, Any], *, name: str, fmt: str, lang: str) -> Response:
    """The impact report as a CSV/XLSX attachment, the one table of HTTP and the CLI
    (``gridgis drafts impact --xlsx``): rows of :func:`impact_rows` in ``lang``, sheet
    ``impact``."""
    return table_response(
        impact_rows(report, lang), name=name, fmt=fmt, columns=IMPACT_COLUMNS, sheet="impact",
        lang=lang,
    )  # fmt: skip
