"""``/m/``: the officer's phone app (PWA): my tasks, report an event, my grid, the outbox.

Routes: ``/m`` (redirects to ``/m/``, the app's scope), ``/m/`` (the app shell, login
required), ``/m/manifest.webmanifest`` (install) and ``/m/sw.js`` (the service worker; served
from ``/m/`` so that its scope is the app and nothing else). The page is
``templates/mobile.html``; its scripts and styles are ``maps/static/m/`` (classic scripts sharing
one global ``GridGISMobile``; no inline script, the Content-Security-Policy forbids it). Labels:
zh by default, en with ``?lang=en`` (:data:`TEXT`, handed to the scripts as JSON in a data
attribute). The data comes from ``/api/v1/me*`` (api/routes/mobile.py) and the events API.

Offline: the service worker keeps the shell, the scripts and the officer's data (last answers
of ``/api/v1/me*``, grids, dictionary); reports and actions wait in IndexedDB and are sent in
order, each with an ``Idempotency-Key`` (layers/idempotency.py) so a resend acts once.
A service worker needs a secure context: serve the app over https (or on localhost).
"""

from __future__ import annotations

import hashlib
from functools import cache
from pathlib import Path
from typing import Annotated, Any

from fastapi import APIRouter, Query, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from api.deps import SessionDep, current_principal
from api.pages.map import basemap_from_settings, login_redirect
from api.pages.templating import STATIC_URL, TEMPLATES
from layers.errors import AuthError
from maps.assets import STATIC_DIR, asset_url
from maps.styles import resolve_lang

router = APIRouter(tags=["pages"])

APP_DIR = STATIC_DIR / "m"
APP_URL = f"{STATIC_URL}/m"
MAX_PHOTOS = 9  # the events API takes up to 9 photos of up to 5 MB (layers/events/intake.py)
PHOTO_LONGEST_PX = 1600
POLL_S = 20

TEXT: dict[str, dict[str, Any]] = {
    "zh": {
        "title": "网格通 · 网格员", "short": "网格通", "lang_switch": "English",
        "logout": "退出", "tasks": "我的任务", "report": "上报事件", "grid": "我的网格",
        "outbox": "待发送", "online": "在线", "offline": "离线",
        "loading": "加载中…", "no_tasks": "暂无待办任务",
        "no_person": "账号未关联网格员，无法派单。",
        "deadline": "处置期限", "left_h": "剩余 {h} 工时", "overdue_h": "已超时 {h} 工时",
        "no_deadline": "未设期限", "unconfirmed": "日历待确认", "new": "新",
        "new_task": "新任务：#{id} {name}", "back": "返回", "timeline": "办理经过",
        "photos": "照片", "note": "说明", "note_required": "请填写原因",
        "take_photo": "拍照", "do": "提交", "queued": "已加入待发送（{n}）",
        "action_start": "开始处置", "action_handle": "处理反馈",
        "action_return": "回退指挥中心", "action_request_extension": "申请延期",
        "position": "位置", "use_gps": "使用当前位置", "accuracy": "精度 ±{m} 米",
        "or_pick": "或在地图上点选位置", "picked": "已选地图位置",
        "no_position": "请先定位或在地图上点选位置", "gps_failed": "无法定位：{e}",
        "category": "事件类别", "search": "搜索类别（名称或编码）", "choose": "请选择小类",
        "no_category": "请选择事件类别", "description": "描述",
        "description_hint": "现场情况（可选）", "photos_hint": "最多 {n} 张，自动压缩",
        "too_many": "最多 {n} 张照片", "submit": "上报",
        "duplicates": "附近 {m} 米内已有相似的未结事件：",
        "not_duplicate": "不是同一事件，仍然上报",
        "confirm_duplicate": "请确认不是重复事件",
        "households": "户数", "open_events": "未结事件", "patrol_time": "今日巡查时长",
        "mileage": "今日里程", "coverage": "今日覆盖率", "no_grid": "未分配网格",
        "hours_minutes": "{h} 小时 {m} 分", "km": "{km} 公里", "locate_me": "我的位置",
        "pending": "待发送 {n} 条", "none_pending": "没有待发送的内容",
        "last_error": "上次错误：{e}",
        "kind_report": "上报", "kind_action": "操作", "sending": "发送中", "waiting": "等待网络",
        "failed": "失败", "retry": "重试", "discard": "放弃", "send_anyway": "仍然上报",
        "expired": "登录已过期，请重新登录",
        "login": "重新登录", "network": "无法连接服务器", "sent": "已发送",
        "refused": "被拒绝：{e}", "status_dispatched": "已派遣", "status_in_handling": "处置中",
        "status_extension_requested": "延期审核中", "status_rework": "返工",
        "status_handled": "已处理", "status_reported": "已上报", "status_accepted": "已立案",
        "status_returned": "已回退", "status_verified": "已核查", "status_parked": "挂账",
        "install": "添加到主屏幕",
        "step_report": "上报", "step_accept": "立案", "step_reject": "不予立案",
        "step_dispatch": "派遣", "step_start": "开始处置", "step_return": "回退",
        "step_request_extension": "申请延期", "step_grant_extension": "同意延期",
        "step_refuse_extension": "不同意延期", "step_handle": "处理反馈", "step_verify": "核查通过",
        "step_verify_fail": "核查不通过，返工", "step_close": "结案", "step_park": "挂账",
        "step_unpark": "解除挂账", "step_escalate": "超时督办", "step_reroute": "改派",
        "step_recalendar": "期限重算", "other_user": "{user} 登录后发送",
        "session_expired": "登录已过期，请重新登录", "send_now": "按现在时间发送",
        "err_forbidden": "无权进行此操作（案件不属于您或您的网格）", "err_not_found": "案件不存在",
        "err_too_large": "照片太大，请少选几张", "err_busy": "服务器繁忙，稍后自动重试",
        "err_server": "服务器出错，稍后自动重试",
        "err_state": "案件状态已变为“{status}”，无法执行此操作",
        "err_acted_at": "操作时间超出允许范围（离线超过 72 小时或早于上一步），请按现在时间发送",
        "err_photos": "照片无法接收，请重新拍摄", "err_description": "请填写描述",
        "err_refused": "提交的内容未被接受，请检查后重试或放弃", "choose_photos": "拍照或选择照片",
        "err_duplicate": "附近已有相似的未结事件：确认不是同一事件可仍然上报，否则请放弃",
        "discard_confirm": "放弃“{what}”？放弃后不会发送。", "zoom_in": "放大", "zoom_out": "缩小",
        "gps_denied": "未获定位权限，请在浏览器设置中允许定位",
        "gps_unavailable": "暂时无法获得位置，请到开阔处重试或在地图上点选",
        "gps_timeout": "定位超时，请重试或在地图上点选", "locating": "正在定位…",
        "offline_ready": "已可离线使用", "recorded": "（{at} 收到）",
        "note_handled": "请填写处置说明（做了什么）",
        "photo_required": "此类事件须拍摄处置后照片",
        "take_photo_required": "处置后照片（必填）",
        "expired_kept": "登录已过期，请重新登录。待发送的 {n} 条已保存在手机上，登录后自动发送。",
        "rerouted_events": "改派给我的（网格外）", "my_position": "我的位置",
    },
    "en": {
        "title": "GridGIS · Officer", "short": "GridGIS", "lang_switch": "中文",
        "logout": "Sign out", "tasks": "My tasks", "report": "Report", "grid": "My grid",
        "outbox": "Outbox", "online": "Online", "offline": "Offline",
        "loading": "Loading…", "no_tasks": "No open tasks",
        "no_person": "This account is not linked to a staff member; no cases are routed to it.",
        "deadline": "Deadline", "left_h": "{h} work hours left",
        "overdue_h": "overdue by {h} work hours", "no_deadline": "no deadline",
        "unconfirmed": "calendar unconfirmed", "new": "new", "new_task": "New task: #{id} {name}",
        "back": "Back", "timeline": "Timeline", "photos": "Photos", "note": "Note",
        "note_required": "Give the reason", "take_photo": "Photo", "do": "Submit",
        "queued": "Queued ({n})", "action_start": "Start", "action_handle": "Handled",
        "action_return": "Return to the centre", "action_request_extension": "Ask for an extension",
        "position": "Position", "use_gps": "Use my position", "accuracy": "accuracy ±{m} m",
        "or_pick": "or tap the map to pick the point", "picked": "point picked on the map",
        "no_position": "Locate yourself or tap the map first", "gps_failed": "No position: {e}",
        "category": "Category", "search": "Search categories (name or code)",
        "choose": "Choose a subclass", "no_category": "Choose a category",
        "description": "Description", "description_hint": "What you see (optional)",
        "photos_hint": "Up to {n}, resized on the phone", "too_many": "At most {n} photos",
        "submit": "Send report",
        "duplicates": "Similar open events within {m} m:", "not_duplicate":
        "Not the same event; report anyway", "confirm_duplicate": "Confirm it is not a duplicate",
        "households": "Households", "open_events": "Open events",
        "patrol_time": "Patrol time today", "mileage": "Distance today",
        "coverage": "Coverage today", "no_grid": "No grid assigned",
        "hours_minutes": "{h} h {m} min",
        "km": "{km} km", "locate_me": "My position", "pending": "{n} waiting to be sent",
        "none_pending": "Nothing waiting to be sent", "last_error": "Last error: {e}",
        "kind_report": "Report", "kind_action": "Action", "sending": "sending",
        "waiting": "waiting for the network", "failed": "failed", "retry": "Retry",
        "discard": "Discard", "send_anyway": "Report anyway",
        "expired": "Your session has ended; log in again",
        "login": "Log in again", "network": "the server cannot be reached", "sent": "Sent",
        "refused": "Refused: {e}", "status_dispatched": "dispatched",
        "status_in_handling": "in handling", "status_extension_requested": "extension asked",
        "status_rework": "rework", "status_handled": "handled", "status_reported": "reported",
        "status_accepted": "accepted", "status_returned": "returned",
        "status_verified": "verified", "status_parked": "parked", "install": "Add to home screen",
        "step_report": "reported", "step_accept": "accepted", "step_reject": "rejected",
        "step_dispatch": "dispatched", "step_start": "started", "step_return": "returned",
        "step_request_extension": "extension asked", "step_grant_extension": "extension granted",
        "step_refuse_extension": "extension refused", "step_handle": "handled",
        "step_verify": "verified", "step_verify_fail": "verification failed, rework",
        "step_close": "closed", "step_park": "parked", "step_unpark": "unparked",
        "step_escalate": "escalated (overdue)", "step_reroute": "rerouted",
        "step_recalendar": "deadline recomputed",
        "other_user": "sent when {user} logs in",
        "session_expired": "Your session has ended; log in again",
        "send_now": "Send with the time now",
        "err_forbidden": "Not allowed: the case is not yours or your grids'",
        "err_not_found": "No such case", "err_too_large": "The photos are too large; choose fewer",
        "err_busy": "The server is busy; retried later",
        "err_server": "Server error; retried later",
        "err_state": "The case is now “{status}”; this cannot be done",
        "err_acted_at": "The action's time is out of range (offline over 72 h, or before the "
        "previous step); send it with the time now",
        "err_photos": "The photos were not accepted; take them again",
        "err_description": "Describe what you see",
        "err_refused": "Not accepted; check it and retry, or discard it",
        "err_duplicate": "A similar open event is near: report anyway if it is not the same "
        "event, or discard it",
        "discard_confirm": "Discard “{what}”? It will not be sent.", "zoom_in": "Zoom in",
        "zoom_out": "Zoom out",
        "gps_denied": "Location permission refused; allow it in the browser's settings",
        "gps_unavailable": "No position for now; try again in the open or tap the map",
        "gps_timeout": "Locating took too long; try again or tap the map",
        "locating": "Locating…",
        "choose_photos": "Take or choose photos", "offline_ready": "Ready for offline use",
        "recorded": "(received {at})",
        "note_handled": "Say what was done",
        "photo_required": "This kind of event needs a photo after handling",
        "take_photo_required": "Photo after handling (required)",
        "expired_kept": "Your session has ended; log in again. The {n} waiting items are kept "
        "on this phone and sent after you log in.",
        "rerouted_events": "Rerouted to me (outside my grid)", "my_position": "My position",
    },
}  # fmt: skip

SCRIPTS = ("api.js", "store.js", "photos.js", "tasks.js", "report.js", "grid.js", "app.js")


@cache
def app_version() -> str:
    """A hash of the app's files: a new one installs a new service worker (new cache)."""
    digest = hashlib.sha256()
    for path in [*sorted(APP_DIR.rglob("*")), STATIC_DIR / "gridgis-common.js"]:
        if path.is_file():
            digest.update(path.name.encode() + path.read_bytes())
    return digest.hexdigest()[:12]


def shell_urls() -> list[str]:
    """What the service worker keeps for offline use (besides the page and the data)."""
    return [
        asset_url("leaflet"), asset_url("leaflet_css"), asset_url("gridgis_common_js"),
        asset_url("leaflet_vectorgrid"), asset_url("gridgis_datum_js"),
        *(f"{APP_URL}/{name}" for name in SCRIPTS), f"{APP_URL}/app.css",
        f"{APP_URL}/icon.svg", f"{APP_URL}/icon-192.png", f"{APP_URL}/icon-512.png",
        "/m/manifest.webmanifest",
    ]  # fmt: skip


def basemap_config(request: Request, lang: str) -> tuple[list[dict[str, Any]], str]:
    """The configured basemap's tile layers for Leaflet (none by default) and its datum: an
    Amap (GCJ-02) or Baidu (BD-09) basemap gives the phone's maps that datum's CRS
    (gridgis-datum.js), so my grids, my position and a tapped point land where the basemap
    shows the place, and a tapped point comes back in WGS 84."""
    basemap = basemap_from_settings(request.app.state.settings.map, lang)
    if basemap is None:
        return [], "wgs84"
    return basemap.tile_config(), basemap.datum


@router.get("/m", include_in_schema=False)
def mobile_root(request: Request) -> RedirectResponse:
    """The app lives at ``/m/`` (the service worker's scope); keep the query."""
    query = f"?{request.url.query}" if request.url.query else ""
    return RedirectResponse(f"/m/{query}", status_code=308)


@router.get("/m/", response_class=HTMLResponse, include_in_schema=False)
def mobile_app(
    request: Request, session: SessionDep, lang: Annotated[str, Query()] = "zh"
) -> Response:
    try:
        principal = current_principal(request, session)
    except AuthError:
        return login_redirect(request)
    lang = resolve_lang(lang)
    tiles, datum = basemap_config(request, lang)
    config = {
        "lang": lang, "poll_s": POLL_S, "max_photos": MAX_PHOTOS,
        "photo_px": PHOTO_LONGEST_PX, "version": app_version(),
        "sw": f"/m/sw.js?v={app_version()}", "user": principal.name,
        "login": f"/login?next=/m/%3Flang%3D{lang}&lang={lang}",
        "tiles": tiles, "datum": datum,
    }  # fmt: skip
    html = TEMPLATES.get_template("mobile.html").render(
        lang=lang,
        other_lang="zh" if lang == "en" else "en",
        html_lang="zh-CN" if lang == "zh" else "en",
        t=TEXT[lang],
        config=config,
        app=APP_URL,
        leaflet_js=asset_url("leaflet"),
        leaflet_css=asset_url("leaflet_css"),
        vectorgrid_js=asset_url("leaflet_vectorgrid"),
        datum_js=asset_url("gridgis_datum_js"),
        common_js=asset_url("gridgis_common_js"),
        scripts=[f"{APP_URL}/{name}" for name in SCRIPTS],
        user=principal.name,
    )
    return HTMLResponse(html, headers={"Cache-Control": "no-cache"})


@router.get("/m/manifest.webmanifest", include_in_schema=False)
def manifest(lang: Annotated[str, Query()] = "zh") -> Response:
    """The Web App Manifest (install to the home screen, standalone, portrait)."""
    import orjson

    lang = resolve_lang(lang)
    body = {
        "name": TEXT[lang]["title"], "short_name": TEXT[lang]["short"],
        "lang": "zh-CN" if lang == "zh" else "en", "start_url": f"/m/?lang={lang}",
        "scope": "/m/", "display": "standalone", "orientation": "portrait",
        "background_color": "#ffffff", "theme_color": "#0b2e59",
        "icons": [
            {"src": f"{APP_URL}/icon-192.png", "sizes": "192x192", "type": "image/png"},
            {"src": f"{APP_URL}/icon-512.png", "sizes": "512x512", "type": "image/png"},
            {"src": f"{APP_URL}/icon.svg", "sizes": "any", "type": "image/svg+xml",
             "purpose": "any"},
        ],
    }  # fmt: skip
    return Response(
        orjson.dumps(body),
        media_type="application/manifest+json",
        headers={"Cache-Control": "no-cache"},
    )


@router.get("/m/sw.js", include_in_schema=False)
def service_worker() -> Response:
    """The service worker script (``maps/static/m/sw.js``), served under ``/m/`` so that its
    scope is the app; always revalidated (the browser also checks it at every start)."""
    return Response(
        (APP_DIR / "sw.js").read_bytes(),
        media_type="text/javascript",
        headers={"Cache-Control": "no-cache", "Service-Worker-Allowed": "/m/"},
    )


@router.get("/m/shell.json", include_in_schema=False)
def shell() -> dict[str, Any]:
    """The files the service worker keeps (read by ``sw.js`` at install)."""
    return {"version": app_version(), "urls": shell_urls(), "pages": ["/m/", "/m/?lang=en"]}


def app_files() -> list[Path]:
    """The app's own static files (for tests and size checks)."""
    return sorted(p for p in APP_DIR.rglob("*") if p.is_file())
