"""Grid generations: list and read; planners make drafts (copy or file), review and publish.

- ``POST /api/v1/generations`` (planner): JSON ``{"from": "active"|id, "name", "note"}`` copies
  a generation; multipart with ``file`` (+ ``name``, ``layer``, ``crs``, ``force``, ``note``)
  imports a grid file. 201 with the generation, the comparison with the active generation and
  the validation problems.
- ``PATCH /{id}`` (name, note), ``POST /{id}/submit|approve|reject`` (reason), each with the
  version read (``version`` in the body or ``If-Match``; 409 with the current version if it
  changed), ``POST /{id}/publish`` (dry run unless ``commit``; ``at`` schedules; publishing a
  retired generation rolls back to it, admin), ``GET /{id}/review`` (who, when, why),
  ``GET /{id}/comparison``, ``GET /api/v1/grids/{code}/history``.
"""

from __future__ import annotations

import tempfile
from pathlib import Path
from typing import Annotated, Any

from fastapi import APIRouter, Header, Query, Request, Response
from pydantic import ValidationError
from sqlalchemy import select
from starlette.concurrency import run_in_threadpool

from api.deps import Planner, Principal, Reader, SessionDep, parse_at
from api.errors import STATUS, InvalidParameter, UnsupportedMediaType
from api.schemas.bodies import GENERATION_FILE, body
from api.schemas.common import EXPORT_RESPONSES, body_schema
from api.schemas.generations import (
    DraftCreated,
    DraftFromGeneration,
    DraftPatch,
    GenerationPublic,
    GenerationsPublic,
    NewerAnswer,
    PlanningSettings,
    PublishAnswer,
    PublishRequest,
    RebaseAnswer,
    RebaseRequest,
    ReviewAnswer,
    ReviewStep,
)
from api.schemas.grids import (
    GenerationComparison,
    GenerationProblems,
    GenerationReview,
    GridHistory,
)
from api.uploads import read_upload
from gis.gridfiles import GridFileError, save_upload, to_shapefile
from gis.hierarchy import validate_hierarchy
from layers.errors import DomainError, with_zh
from layers.grids import get_generation, list_generations, read_grid_frame
from layers.models import Generation, Role
from layers.planning import review, scope
from layers.planning.drafts import (
    Actor,
    DraftInvalid,
    DraftRefused,
    GridFileInvalid,
    compare_generations,
    copy_checks,
    copy_generation,
    generation_counts,
    import_draft,
    problems_summary,
    read_planner_file,
    report_dict,
    resolve_source,
)
from layers.planning.geometry_guard import geometry_errors
from layers.planning.newer_work import NewerWorkWouldBeReverted, newer_than_in_force
from layers.planning.problem_words import localise_problems
from layers.planning.rebase import RebaseConflict, rebase_draft
from layers.planning.rebase_import import RebaseChoiceInvalid

PREFIX = "/api/v1/generations"
router = APIRouter(tags=["generations"])  # full paths: the grid history lives under /grids

STATUS.setdefault(GridFileInvalid, (422, "Invalid grid file"))
STATUS.setdefault(DraftRefused, (422, "Draft refused"))
STATUS.setdefault(DraftInvalid, (422, "Invalid draft"))
STATUS.setdefault(review.VersionConflict, (409, "Version conflict"))
STATUS.setdefault(review.ReviewRefused, (403, "Review refused"))
STATUS.setdefault(review.ReviewInputInvalid, (422, "Invalid parameter"))
STATUS.setdefault(NewerWorkWouldBeReverted, (409, "Newer publications would be reverted"))
STATUS.setdefault(RebaseConflict, (409, "Rebase conflict"))
STATUS.setdefault(RebaseChoiceInvalid, (422, "Invalid parameter"))


def actor_of(principal: Principal) -> Actor:
    return Actor(
        name=principal.name,
        role=principal.role.value,
        token_id=principal.token_id,
        user_id=principal.user_id,
    )


def _require_scope(session: Any, principal: Principal, generation_id: int, step: str) -> None:
    """403 unless the draft's changes lie inside the caller's scope (layers/planning/scope.py:
    the one rule of approve and publish, also for rename, submit, reject and rebase)."""
    scope.require_draft_by(
        session=session, identity=principal.identity, generation_id=generation_id, step=step
    )


def _claimed(session: Any, made: dict[str, Any]) -> None:
    """Put the ``owner_scope`` stored by the scope check (claim_draft, after ``made`` was
    built) into the answer: the 201 says whose the draft is, as every later read does."""
    draft = made["generation"]
    draft["owner_scope"] = session.scalar(
        select(Generation.owner_scope).where(Generation.id == draft["id"])
    )


def public(generation: Generation) -> dict[str, Any]:
    return GenerationPublic.model_validate(generation).model_dump(mode="json")


def _metric_srid(request: Request) -> int:
    return int(request.app.state.settings.geo.metric_srid)


def _version(body_version: int | None, if_match: str | None) -> int | None:
    """The version the caller read: the body's, else the If-Match header (``"3"`` or ``3``)."""
    if body_version is not None:
        return body_version
    if not if_match:
        return None
    raw = if_match.strip().removeprefix("W/").strip('"').removeprefix("v")
    if not raw.isdigit():
        raise with_zh(
            InvalidParameter(
                f"If-Match {if_match!r} is not a version; send the ETag of GET "
                '/api/v1/generations/{id} (e.g. "3")',
                field="If-Match",
            ),
            f"If-Match {if_match!r} 不是版本号；"
            '请发送 GET /api/v1/generations/{id} 返回的 ETag（如 "3"）',
        )
    return int(raw)


def _model(model: type[Any], data: Any) -> Any:
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        first = exc.errors()[0]
        # the field itself, not pydantic's union branch ("from", not "from.constrained-int")
        where = str(first["loc"][0]) if first.get("loc") else "body"
        every = [
            {"field": str(e["loc"][0]) if e.get("loc") else "body", "message": e.get("msg")}
            for e in exc.errors()
        ]  # each invalid field, as the validation problems of api/errors.py list them
        refused = InvalidParameter(
            f"{where}: {first.get('msg')}", field=where, extra={"errors": every}
        )
        kind = str(first.get("type", ""))
        zh_text = MODEL_ERRORS_ZH.get(kind, "不符合要求（{msg}）")
        raise with_zh(refused, f"{where}：" + zh_text.format(msg=first.get("msg"))) from None


# pydantic's kinds of error as /plan says them in Chinese (the English detail is pydantic's)
MODEL_ERRORS_ZH = {
    "missing": "必须填写",
    "string_too_short": "不能为空，请填写",
    "string_too_long": "太长，请缩短",
    "string_type": "应为文字",
    "bool_type": "应为 true 或 false",
    "int_type": "应为整数",
    "greater_than_equal": "太小（{msg}）",
    "less_than_equal": "太大（{msg}）",
    "extra_forbidden": "不是这个请求的字段，请删除或改正字段名",
}


async def _json(request: Request) -> Any:
    body = await request.body()
    if not body:
        return {}
    try:
        import orjson

        return orjson.loads(body)
    except ValueError:
        raise with_zh(
            InvalidParameter("the body is not JSON; send a JSON object", field="body"),
            "请求内容不是 JSON；请发送 JSON 对象",
        ) from None


def _etag(response: Response, generation: Generation) -> None:
    response.headers["ETag"] = f'"{generation.version}"'


def _for_caller(
    generations: list[Generation], session: Any, caller: Principal
) -> list[GenerationPublic]:
    """Generations as answered to ``caller``: with the maker's user name (``owner``) and
    whether the caller may change each (``may_change``: the scope rule of
    ``layers.planning.scope.owned_by``, asked once here so /plan never re-codes it)."""
    from layers.accounts import scope_codes
    from layers.planning.scope import owned_by

    identity = caller.identity
    planner = caller.role in (Role.PLANNER, Role.ADMIN)
    codes = scope_codes(session=session, identity=identity) if planner else None
    out = []
    for g in generations:
        public = GenerationPublic.model_validate(g)
        public.owner = (g.created_by or "").rsplit(" (", 1)[0] or None
        public.may_change = planner and owned_by(g.owner_scope, identity=identity, codes=codes)
        out.append(public)
    return out


@router.get(PREFIX, response_model=GenerationsPublic)
def read_generations(session: SessionDep, caller: Reader) -> GenerationsPublic:
    rows = list(list_generations(session=session))
    return GenerationsPublic(data=_for_caller(rows, session, caller), count=len(rows))


@router.get(PREFIX + "/{generation_id}", response_model=GenerationPublic)
def read_generation(
    generation_id: int, response: Response, session: SessionDep, caller: Reader
) -> GenerationPublic:
    generation = get_generation(session=session, generation_id=generation_id)
    _etag(response, generation)
    return _for_caller([generation], session, caller)[0]


@router.get(
    PREFIX + "/{generation_id}/problems",
    summary="Validate a generation's three-level grid",
    response_model=GenerationProblems,
)
def read_generation_problems(
    generation_id: int, request: Request, session: SessionDep, _: Reader
) -> dict[str, Any]:
    """Overlaps, gaps (with widths), nesting and code problems, each with a location and the
    problem area as GeoJSON, so a planner can see them on a map."""
    get_generation(session=session, generation_id=generation_id)
    frame = read_grid_frame(session=session, generation_id=generation_id)
    report = validate_hierarchy(frame, metric_srid=request.app.state.settings.geo.metric_srid)
    return _in_lang({"generation": generation_id, **report_dict(report)}, asked_lang(request))


def _parse_bool(value: Any, field: str) -> bool:
    if isinstance(value, bool):
        return value
    text = str(value or "").strip().lower()
    if text in ("", "0", "false", "no", "off"):
        return False
    if text in ("1", "true", "yes", "on"):
        return True
    raise with_zh(
        InvalidParameter(f"{field} {value!r} is not true or false", field=field),
        f"{field} {value!r} 不是 true 或 false",
    )


LAYER_WORDS: dict[str, dict[str, str]] = {
    "zh": {
        "choose": "{file} 含 {n} 个图层：{layers}。请选择存放网格的图层；各级网格分层存放时，"
        "选择“全部图层”（all）。",
        "missing": "{file} 中没有图层“{layer}”。可选的图层：{layers}。",
        "layer": "{name}（{geometry}，{features} 个要素）",
        "no_geometry": "无几何",
        "separator": "；",
    },
    "en": {
        "choose": "{file} holds {n} layers: {layers}. Choose the layer with the grids, or all "
        "layers (all) when the levels are in separate layers.",
        "missing": "{file} has no layer “{layer}”. Its layers: {layers}.",
        "layer": "{name} ({geometry}, {features} features)",
        "no_geometry": "no geometry",
        "separator": "; ",
    },
}
"""The words for a file whose layer must be chosen (English detail, Chinese ``detail_zh``)."""


def layer_choice_problem(
    filename: str, layer: str | None, layers: list[dict[str, Any]]
) -> DomainError:
    """A 422 problem (field ``layer``) listing the file's ``layers`` (name, geometry_type,
    features), for /plan's layer chooser; in the request's language by the one rule of every
    problem (``layers.errors.with_zh``: Chinese when asked for, by ``lang`` or
    ``Accept-Language``)."""

    def detail(lang: str) -> str:
        words = LAYER_WORDS[lang]
        listed = words["separator"].join(
            words["layer"].format(
                name=x["name"],
                geometry=x["geometry_type"] or words["no_geometry"],
                features="?" if x["features"] is None else x["features"],
            )
            for x in layers
        )
        key = "choose" if not layer else "missing"
        return words[key].format(file=filename, n=len(layers), layers=listed, layer=layer)

    problem = GridFileInvalid(detail("en"), field="layer", extra={"layers": layers})
    return with_zh(problem, detail("zh"))


def asked_lang(request: Request, form_lang: str | None = None) -> str:
    """``"zh"`` when the caller asks for Chinese (a form's ``lang``, else ``?lang=``, else
    ``Accept-Language``), else ``"en"``: the rule of the refusals' ``detail`` (api/errors.py),
    for the validation problems' ``detail`` too."""
    from api.lang import accept_language

    asked = (
        form_lang
        or request.query_params.get("lang")
        or accept_language(request.headers.get("accept-language"))
    )
    return "zh" if str(asked or "").startswith("zh") else "en"


def _in_lang(answer: dict[str, Any], lang: str) -> dict[str, Any]:
    """``answer`` (or a refusal's ``extra``) with ``problems`` and ``validation.problems``
    worded in ``lang`` (layers.planning.problem_words)."""
    if lang != "zh":
        return answer
    out = dict(answer)
    if isinstance(out.get("problems"), list):
        out["problems"] = localise_problems(out["problems"], lang)
    validation = out.get("validation")
    if isinstance(validation, dict) and isinstance(validation.get("problems"), list):
        worded = localise_problems(validation["problems"], lang)
        out["validation"] = {**validation, "problems": worded}
    return out


def in_form_language(exc: DomainError, lang: str | None) -> DomainError:
    """``exc`` answered in the language a multipart form names in its ``lang`` field (the
    /plan page sends one), which comes before ``?lang=`` and ``Accept-Language``."""
    zh = getattr(exc, "detail_zh", None)
    if lang and zh:
        if str(lang).startswith("zh"):
            exc.detail = str(zh)
        exc.detail_zh = None  # type: ignore[attr-defined]
    return exc


def _import_file(
    session: Any,
    *,
    data: bytes,
    filename: str,
    fields: dict[str, str],
    actor: Actor,
    metric_srid: int,
) -> dict[str, Any]:
    name = (fields.get("name") or "").strip()
    if not name:
        raise with_zh(
            InvalidParameter("name is required; name the new draft", field="name"),
            "请填写名称（name），给新草案起个名字",
        )
    force = _parse_bool(fields.get("force"), "force")
    planning = PlanningSettings()
    with tempfile.TemporaryDirectory() as tmp:
        try:
            path = save_upload(data, filename, Path(tmp))
        except GridFileError as exc:
            refused = GridFileInvalid(exc.detail, field=exc.field)
            raise with_zh(refused, exc.detail_zh or exc.detail) from None
        layer = fields.get("layer") or None
        try:
            gridfile = read_planner_file(
                session=session,
                path=path,
                layer=layer,
                crs=fields.get("crs") or None,
                encoding=fields.get("encoding") or None,
            )
        except GridFileInvalid as exc:
            if exc.extra.get("layers") is None:
                raise
            raise layer_choice_problem(filename, layer, exc.extra["layers"]) from None
        with geometry_errors("file"):  # an outline GEOS cannot process: 422, never 500
            result = import_draft(
                session=session,
                gridfile=gridfile,
                name=name,
                note=fields.get("note") or f"imported from {filename}",
                actor=actor,
                metric_srid=metric_srid,
                max_drop_share=planning.max_drop_share,
                force=force,
                tolerance=planning.tolerance,
            )
    assert result.generation is not None
    return {"generation": public(result.generation), **result.to_dict()}


def _copy(
    session: Any, *, body: DraftFromGeneration, actor: Actor, metric_srid: int
) -> dict[str, Any]:
    source = resolve_source(session=session, source=body.from_)
    generation = copy_generation(
        session=session, source_id=source.id, name=body.name, note=body.note, actor=actor
    )
    counts = generation_counts(session=session, generation_id=generation.id)
    report, comparison = copy_checks(
        session=session,
        copy=generation,
        source=source,
        metric_srid=metric_srid,
        tolerance=PlanningSettings().tolerance,
    )
    return {
        "generation": public(generation),
        "counts": counts,
        "comparison": comparison,
        "validation": problems_summary(report),
        "publishable": report.ok,
    }


@router.post(
    PREFIX,
    status_code=201,
    summary="Make a draft: copy a generation or import a file",
    response_model=DraftCreated,
    response_model_exclude_unset=True,
    openapi_extra=body(
        ("application/json", DraftFromGeneration.model_json_schema()),
        ("multipart/form-data", GENERATION_FILE),
    ),
)
async def create_draft(request: Request, session: SessionDep, principal: Planner) -> dict[str, Any]:
    kind = request.headers.get("content-type", "").split(";")[0].strip().lower()
    actor, srid = actor_of(principal), _metric_srid(request)
    if kind == "multipart/form-data":
        try:
            upload = await read_upload(request)  # the one upload helper (api/uploads.py)
        except InvalidParameter:
            raise with_zh(
                InvalidParameter(
                    "send the grid file as the multipart part 'file' (with 'name', and 'layer', "
                    "'crs', 'force' as needed)",
                    field="file",
                ),
                "请把网格文件作为 multipart 的 file 部分上传（同时给出 name，需要时给出 layer、"
                "crs、force）",
            ) from None
        form = await request.form()  # the other fields (Starlette keeps the parsed form)
        data, filename = upload.content, upload.filename or "upload"
        fields = {k: str(v) for k, v in form.items() if k != "file" and isinstance(v, str)}
        try:
            made = await run_in_threadpool(
                _import_file,
                session,
                data=data,
                filename=filename,
                fields=fields,
                actor=actor,
                metric_srid=srid,
            )
            await run_in_threadpool(  # a file changing grids outside the planner's scope: 403
                lambda: scope.require_draft_by(
                    session=session,
                    identity=principal.identity,
                    generation_id=made["generation"]["id"],
                    step="import",
                )
            )
            await run_in_threadpool(_claimed, session, made)
            return _in_lang(made, asked_lang(request, fields.get("lang")))
        except DomainError as exc:  # every import problem in one language rule
            exc.extra = _in_lang(exc.extra, asked_lang(request, fields.get("lang")))
            raise in_form_language(exc, fields.get("lang")) from None
    if kind in ("application/json", ""):
        body = _model(DraftFromGeneration, await _json(request))
        made = await run_in_threadpool(_copy, session, body=body, actor=actor, metric_srid=srid)
        # a copy of a draft or an old generation changing grids outside the scope: 403 (undone)
        await run_in_threadpool(
            _require_scope, session, principal, made["generation"]["id"], "copy"
        )
        await run_in_threadpool(_claimed, session, made)
        return _in_lang(made, asked_lang(request))
    raise with_zh(
        UnsupportedMediaType(
            f"content type {kind!r} is not taken; send application/json (a copy) or "
            "multipart/form-data (a file)",
            field="Content-Type",
        ),
        f"不接受内容类型 {kind!r}；复制请发送 application/json，上传文件请发送 multipart/form-data",
    )


@router.patch(
    PREFIX + "/{generation_id}",
    summary="Rename or annotate a draft (optimistic locking)",
    response_model=GenerationPublic,
    openapi_extra=body_schema(DraftPatch, multipart=False),
)
async def patch_draft(
    generation_id: int,
    request: Request,
    response: Response,
    session: SessionDep,
    principal: Planner,
    if_match: Annotated[str | None, Header()] = None,
) -> dict[str, Any]:
    body = _model(DraftPatch, await _json(request))
    await run_in_threadpool(_require_scope, session, principal, generation_id, "rename")
    generation = review.update_draft(
        session=session,
        generation_id=generation_id,
        actor=actor_of(principal),
        version=_version(body.version, if_match),
        name=body.name,
        note=body.note,
    )
    _etag(response, generation)
    return public(generation)


async def _step(
    step: str,
    generation_id: int,
    request: Request,
    response: Response,
    session: Any,
    principal: Principal,
    if_match: str | None,
) -> dict[str, Any]:
    body = _model(ReviewStep, await _json(request))
    version, actor = _version(body.version, if_match), actor_of(principal)
    await run_in_threadpool(_require_scope, session, principal, generation_id, step)  # 403
    if step == "submit":
        try:
            generation = await run_in_threadpool(
                lambda: review.submit(
                    session=session,
                    generation_id=generation_id,
                    actor=actor,
                    reason=body.reason,
                    version=version,
                    metric_srid=_metric_srid(request),
                )
            )
        except DomainError as exc:  # an invalid draft: its problems in the asked language
            exc.extra = _in_lang(exc.extra, asked_lang(request))
            raise
    elif step == "approve":
        generation = review.approve(
            session=session,
            generation_id=generation_id,
            actor=actor,
            reason=body.reason,
            version=version,
        )
    else:
        generation = review.reject(
            session=session,
            generation_id=generation_id,
            actor=actor,
            reason=body.reason,
            version=version,
        )
    _etag(response, generation)
    newer = None
    if step != "reject":  # the reviewers see what publishing it would undo
        newer = newer_than_in_force(session=session, generation=generation)
    return {**public(generation), "newer_publications": newer}


@router.get(
    PREFIX + "/{generation_id}/newer",
    summary="What was published since a draft's base (what a rebase would bring in)",
    response_model=NewerAnswer,
)
def read_newer(generation_id: int, session: SessionDep, _: Reader) -> dict[str, Any]:
    """``{behind, newer_publications}``: ``behind`` is true when generations were published
    since the draft's base (its copy source, or for an imported draft the generation in force
    when it was imported); ``newer_publications`` as the publish dry run names them
    (``changed_since``: grids they changed), null when the draft is on the generation in
    force."""
    generation = get_generation(session=session, generation_id=generation_id)
    report = newer_than_in_force(session=session, generation=generation, imported=True)
    return {"behind": report is not None, "newer_publications": report}


@router.post(
    PREFIX + "/{generation_id}/rebase",
    summary="Carry a draft's edits onto the generation in force (a new draft)",
    status_code=201,
    response_model=RebaseAnswer,
    response_model_exclude_none=True,
    openapi_extra=body_schema(RebaseRequest, multipart=False),
)
async def rebase(
    generation_id: int, request: Request, session: SessionDep, principal: Planner
) -> dict[str, Any]:
    """A new draft: a copy of the generation in force with the ``done`` edits of draft
    ``generation_id`` replayed in order (layers.planning.rebase). 409 naming the edit when one
    does not replay cleanly (the newer publications changed its grids); nothing stored then.
    An imported draft is rebased by a three-way comparison (layers.planning.rebase_import):
    409 listing the conflicts unless the optional body chooses (``prefer``, ``choices``)."""
    wanted = _model(RebaseRequest, await _json(request))
    await run_in_threadpool(_require_scope, session, principal, generation_id, "rebase")
    lang = asked_lang(request)
    try:
        answer = await run_in_threadpool(
            lambda: rebase_draft(
                session=session,
                draft_id=generation_id,
                actor=actor_of(principal),
                metric_srid=_metric_srid(request),
                choices=dict(wanted.choices),
                prefer=wanted.prefer,
            )
        )
    except DomainError as exc:  # a mix that does not tile: its problems in the asked language
        exc.extra = _in_lang(exc.extra, lang)
        raise
    await run_in_threadpool(
        lambda: scope.pass_on(  # the rebased draft belongs where the draft did
            session=session, source_id=generation_id, generation_id=answer["generation"],
            identity=principal.identity,
        )
    )  # fmt: skip
    made = get_generation(session=session, generation_id=answer["generation"])
    why = (wanted.reason or "").strip() or None
    await run_in_threadpool(
        lambda: review.record_step(
            session=session, generation=made, action="edit", actor=actor_of(principal),
            reason=why or "rebase", from_status="draft", to_status="draft",
            details={"step": "rebase", "rebased_from": generation_id, "base": answer.get("base"),
                     "reason_given": why is not None},
        )
    )  # fmt: skip
    return _in_lang({**answer, "generation": public(made)}, lang)


@router.post(
    PREFIX + "/{generation_id}/submit",
    summary="Submit a valid draft for review (reason)",
    response_model=ReviewAnswer,
    openapi_extra=body_schema(ReviewStep, multipart=False),
)
async def submit_draft(
    generation_id: int,
    request: Request,
    response: Response,
    session: SessionDep,
    principal: Planner,
    if_match: Annotated[str | None, Header()] = None,
) -> dict[str, Any]:
    return await _step("submit", generation_id, request, response, session, principal, if_match)


@router.post(
    PREFIX + "/{generation_id}/approve",
    summary="Approve (another planner, or an admin)",
    response_model=ReviewAnswer,
    openapi_extra=body_schema(ReviewStep, multipart=False),
)
async def approve_draft(
    generation_id: int,
    request: Request,
    response: Response,
    session: SessionDep,
    principal: Planner,
    if_match: Annotated[str | None, Header()] = None,
) -> dict[str, Any]:
    return await _step("approve", generation_id, request, response, session, principal, if_match)


@router.post(
    PREFIX + "/{generation_id}/reject",
    summary="Send a submitted draft back (reason)",
    response_model=ReviewAnswer,
    openapi_extra=body_schema(ReviewStep, multipart=False),
)
async def reject_draft(
    generation_id: int,
    request: Request,
    response: Response,
    session: SessionDep,
    principal: Planner,
    if_match: Annotated[str | None, Header()] = None,
) -> dict[str, Any]:
    return await _step("reject", generation_id, request, response, session, principal, if_match)


@router.post(
    PREFIX + "/{generation_id}/publish",
    summary="Publish (dry run unless commit is true)",
    response_model=PublishAnswer,
    openapi_extra=body_schema(PublishRequest, multipart=False),
)
async def publish_generation(
    generation_id: int,
    request: Request,
    session: SessionDep,
    principal: Planner,
    if_match: Annotated[str | None, Header()] = None,
) -> dict[str, Any]:
    """``{"commit": false, "reason": …}`` answers what would happen (validation, comparison,
    impact) and changes nothing; ``commit: true`` publishes an approved generation now, or at
    ``at`` (ISO 8601). ``emergency: true`` (admin, now): a draft that was not approved, marked
    unreviewed in the review log."""
    body = _model(PublishRequest, await _json(request))
    try:
        at = parse_at(body.at, field="at")
    except InvalidParameter as exc:  # api/deps.py words it in English only
        text = (
            f"生效时间 {str(body.at)[:40]!r} 无法识别；"
            "请写成 ISO 8601，如 2027-01-01T00:00:00+08:00"
        )
        raise with_zh(exc, text) from None
    version, actor = _version(body.version, if_match), actor_of(principal)
    if body.commit:  # a draft changing grids outside the publisher's scope: 403
        await run_in_threadpool(
            lambda: scope.require_draft_by(
                session=session,
                identity=principal.identity,
                generation_id=generation_id,
                step="publish",
            )
        )
    lang = asked_lang(request)
    try:
        answer = await run_in_threadpool(
            lambda: review.publish(
                session=session,
                generation_id=generation_id,
                actor=actor,
                reason=body.reason,
                at=at,
                commit=body.commit,
                version=version,
                metric_srid=_metric_srid(request),
                emergency=body.emergency,
                tolerance=PlanningSettings().tolerance,
                revert_newer=body.revert_newer,
            )
        )
    except DomainError as exc:  # an invalid draft: its problems in the asked language
        exc.extra = _in_lang(exc.extra, lang)
        raise
    return _in_lang(answer, lang)


@router.get(
    PREFIX + "/{generation_id}/review",
    summary="Who did what, when and why",
    response_model=GenerationReview,
)
def read_review(generation_id: int, session: SessionDep, _: Reader) -> dict[str, Any]:
    steps = review.review_log(session=session, generation_id=generation_id)
    return {"generation": generation_id, "steps": steps, "count": len(steps)}


@router.get(
    PREFIX + "/{generation_id}/comparison",
    summary="Counts, outline and codes vs another",
    response_model=GenerationComparison,
)
def read_comparison(
    generation_id: int,
    request: Request,
    session: SessionDep,
    _: Reader,
    against: Annotated[int | None, Query(description="default: the active generation")] = None,
) -> dict[str, Any]:
    get_generation(session=session, generation_id=generation_id)
    return compare_generations(
        session=session,
        generation_id=generation_id,
        against_id=against,
        metric_srid=_metric_srid(request),
        tolerance=PlanningSettings().tolerance,
    )


EXPORT_TYPES = {
    "shp": ("application/zip", "zip"),
    "gpkg": ("application/geopackage+sqlite3", "gpkg"),
    "geojson": ("application/geo+json", "geojson"),
}


def _export_bytes(frame: Any, fmt: str, stem: str) -> bytes:
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / f"{stem}.{EXPORT_TYPES[fmt][1]}"
        if fmt == "shp":
            to_shapefile(frame, path)
        else:
            frame.to_file(path, driver="GPKG" if fmt == "gpkg" else "GeoJSON")
        return path.read_bytes()


@router.get(
    PREFIX + "/{generation_id}/export",
    summary="The grids as a file (Shapefile zip …)",
    response_class=Response,
    responses=EXPORT_RESPONSES,
)
def export_generation(
    generation_id: int,
    session: SessionDep,
    _: Reader,
    format: Annotated[
        str, Query(description="shp (zipped; parent_code as parent_cod), gpkg or geojson")
    ] = "gpkg",
) -> Response:
    """A generation's grids as a file a planner opens in QGIS and can import back: a zipped
    Shapefile (fields mapped to 10 characters by ``gis.gridfiles.SHAPEFILE_FIELDS``), a
    GeoPackage or GeoJSON, EPSG:4490."""
    fmt = format.strip().lower()
    if fmt not in EXPORT_TYPES:
        raise with_zh(
            InvalidParameter(
                f"format {format!r} is not offered; use shp, gpkg or geojson", field="format"
            ),
            f"不提供格式 {format!r}；请用 shp、gpkg 或 geojson",
        )
    get_generation(session=session, generation_id=generation_id)
    frame = read_grid_frame(session=session, generation_id=generation_id)
    stem = f"grids-{generation_id}"
    media, suffix = EXPORT_TYPES[fmt]
    return Response(
        _export_bytes(frame, fmt, stem),
        media_type=media,
        headers={"Content-Disposition": f'attachment; filename="{stem}.{suffix}"'},
    )


@router.get(
    "/api/v1/grids/{code}/history",
    tags=["grids"],
    summary="A grid in every generation, with lineage",
    response_model=GridHistory,
)
def read_grid_history(
    code: str,
    session: SessionDep,
    _: Reader,
    drafts: Annotated[bool, Query(description="include drafts and scheduled ones")] = False,
) -> dict[str, Any]:
    if not code.isdigit() or len(code) not in (9, 12, 15):
        raise with_zh(
            InvalidParameter(
                f"code {code!r} is not a grid code (9, 12 or 15 digits)", field="code"
            ),
            f"{code!r} 不是网格编码（9、12 或 15 位数字）",
        )
    return review.grid_history(session=session, code=code, drafts=drafts)
