"""``/plan``: the planners' page (网格调整) — drafts, shared-edge editing, problems, impact,
review and publish, all through the planning API (docs/planning.md).

Planners and admins only: a visitor who is not logged in goes to the login page (back here
afterwards), any other role gets a 403 page saying who may use it. The page is a Jinja2
template (``templates/plan.html``) with no inline script; ``maps/static/gridgis-plan.js``
does the work in the browser with Leaflet, Leaflet.VectorGrid (the generations' tiles) and
leaflet-geoman (the edit tools), all served locally (:mod:`maps.assets`).
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, Request
from fastapi.responses import HTMLResponse, Response

from api.deps import SessionDep, current_principal
from api.pages.map import login_redirect
from api.pages.templating import VIEW_ROLES, render_page
from layers.errors import AuthError
from layers.models import Role
from maps.assets import asset_url
from maps.status_names import event_status_names
from maps.styles import ROLE_NAMES, resolve_lang

router = APIRouter(tags=["pages"])

PLANNING_ROLES = frozenset(Role(r) for r in VIEW_ROLES["/plan"])
# The page's own words (the script has its own table for what it writes).
TEXT: dict[str, dict[str, str]] = {
    "zh": {
        "title": "网格调整", "drafts": "草案", "pick": "选择草案", "open": "打开",
        "new": "新建草案", "name": "名称", "note": "说明", "source": "来源",
        "copy_active": "复制现行网格", "upload": "上传文件", "file": "文件",
        "file_hint": "GeoJSON、GeoPackage 或 Shapefile 压缩包 (.zip)", "layer": "图层",
        "layer_hint": "GeoPackage 有多个图层时填写；all 表示全部", "crs": "坐标系",
        "force": "强制（允许丢失面积）", "create": "创建",
        "active_map": "现行网格", "draft_map": "草案",
        "tools": "编辑", "reason": "修改原因", "default_reason": "调整网格边界",
        "tool_hint": "在右侧地图点击一个单元网格：拖动其顶点移动共享边界（自动吸附），"
        "或使用下列工具。",
        "undo": "撤销", "redo": "重做", "split": "画线拆分", "cancel": "取消",
        "merge_with": "与相邻网格合并", "merge": "合并", "merged_name": "合并后名称",
        "reparent_to": "划入相邻村社区（村社区：相邻镇街）", "reparent": "调整归属",
        "rename": "改名", "recode": "改编码", "new_code": "新编码",
        "move_edge": "平移共享边", "offset": "东/北偏移 (米)", "neighbour": "相邻网格",
        "edit_answer": "编辑结果", "edit_log": "编辑记录",
        "problems": "校验问题", "impact": "影响评估", "xlsx": "下载 XLSX",
        "review": "审核与发布", "review_reason": "理由", "effective_at": "生效时间（可选）",
        "submit": "提交审核", "approve": "批准", "reject": "退回", "dry_run": "发布预演",
        "publish": "确认发布", "forbidden_title": "无权访问",
        "rebase": "变基到现行版本", "revert_anyway": "仍然发布，撤销较新的修改",
        "forbidden": "网格调整页面仅供规划人员（planner）和管理员使用。当前账号角色：{role}。",
        "none_selected": "未选择网格",
        "choose_layer": "文件含多个图层，请选择", "send_layer": "按所选图层上传",
        "select_level": "点击地图选择", "level3": "单元网格", "level2": "所在村社区",
    },
    "en": {
        "title": "Grid planning", "drafts": "Drafts", "pick": "Choose a draft", "open": "Open",
        "new": "New draft", "name": "Name", "note": "Note", "source": "Source",
        "copy_active": "Copy of the active generation", "upload": "Upload a file",
        "file": "File", "file_hint": "GeoJSON, GeoPackage or a zipped Shapefile (.zip)",
        "layer": "Layer", "layer_hint": "for a GeoPackage with several layers; all = every layer",
        "crs": "CRS", "force": "Force (allow a smaller city)", "create": "Create",
        "active_map": "Active generation", "draft_map": "Draft",
        "tools": "Edit", "reason": "Reason", "default_reason": "boundary adjustment",
        "tool_hint": "Click a unit grid on the right-hand map: drag its vertices to move a "
        "shared boundary (with snapping), or use the tools below.",
        "undo": "Undo", "redo": "Redo", "split": "Split by a line", "cancel": "Cancel",
        "merge_with": "Merge with a neighbour", "merge": "Merge", "merged_name": "Merged name",
        "reparent_to": "Move to a neighbouring village (a village: town)", "reparent": "Re-parent",
        "rename": "Rename", "recode": "Recode", "new_code": "New code",
        "move_edge": "Move the shared edge", "offset": "East/north offset (m)",
        "neighbour": "Neighbour", "edit_answer": "Edit result", "edit_log": "Edit log",
        "problems": "Validation problems", "impact": "Impact", "xlsx": "Download XLSX",
        "review": "Review and publish", "review_reason": "Reason",
        "effective_at": "Effective time (optional)", "submit": "Submit for review",
        "approve": "Approve", "reject": "Send back", "dry_run": "Publish: dry run",
        "publish": "Publish now", "forbidden_title": "Not allowed",
        "rebase": "Rebase onto the active generation",
        "revert_anyway": "Publish anyway, undo newer work",
        "forbidden": "The planning page is for planners and administrators. Your role: {role}.",
        "none_selected": "No grid selected",
        "choose_layer": "The file has several layers: choose one",
        "send_layer": "Upload with this layer",
        "select_level": "A click on the map selects", "level3": "the unit grid",
        "level2": "its village",
    },
}  # fmt: skip
VENDOR = ("leaflet_css", "leaflet_geoman_css", "leaflet", "leaflet_vectorgrid", "leaflet_geoman_js")


@router.get("/plan", response_class=HTMLResponse, include_in_schema=False)
def plan_page(
    request: Request, session: SessionDep, lang: Annotated[str, Query()] = "zh"
) -> Response:
    try:
        principal = current_principal(request, session)
    except AuthError:
        return login_redirect(request)
    lang = resolve_lang(lang)
    allowed = principal.role in PLANNING_ROLES
    html = render_page(
        request,
        "plan.html",
        t=TEXT[lang],
        allowed=allowed,
        role=principal.role.value,
        roles=ROLE_NAMES[resolve_lang(lang)],
        statuses=event_status_names(lang),
        user=principal.name,
        vendor={name: asset_url(name) for name in VENDOR},
    )
    return HTMLResponse(html, status_code=200 if allowed else 403)
