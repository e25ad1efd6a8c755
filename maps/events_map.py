"""The dispatcher's events map (``/events/map``): a filtered list beside the map, dots coloured
by status (red overdue, a thick amber ring when due soon), clusters coloured by their most
urgent member, town outlines from the vector tiles; a click on a dot or a row opens the case:
its details, its timeline and the workflow actions the caller's role may take.

``build_events_map(lang=…, towns=…, classes=…)`` returns a ``folium.Map`` that carries no event:
the page script ``maps/static/gridgis-events.js`` reads them from
``/api/v1/event-map/points`` and ``/rows`` with the filter of the page's URL, and polls them
(``poll_ms``), updating dots in place; ``gridgis-events-case.js`` shows one case in a popup and
acts on it through ``POST /api/v1/events/{id}/actions`` and ``…/routing``.

Hooks for tests: ``window.gridgisEvents`` (``ready``, ``events``, ``overdue``, ``polls``,
``markers`` by id, ``map``, ``cluster``, ``select(id)``); every popup's root element has the CSS
class ``gridgis-event-popup``.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import folium
from branca.element import Element

from maps.assets import localize_all
from maps.basemaps import Basemap
from maps.elements import HtmlControl, PageSetup, ViewScript, render_control
from maps.styles import ROLE_NAMES, label, resolve_lang

OVERDUE_COLOR = "#d7191c"
DUE_SOON_COLOR = "#f18f01"
NORMAL_CLUSTER_COLOR = "#2b6cb0"
STATUS_COLORS: dict[str, str] = {
    "reported": "#2b83ba",
    "accepted": "#3a9bd9",
    "dispatched": "#fdae61",
    "in_handling": "#f29e2e",
    "extension_requested": "#c77c02",
    "returned": "#9e62c4",
    "handled": "#80cdc1",
    "verified": "#35978f",
    "rework": "#e45a9b",
    "parked": "#7f7f7f",
    "closed": "#1a9641",
    "rejected": "#bdbdbd",
}
SOURCES = ("patrol", "informant", "hotline", "public", "centre")
POLL_MS = 15_000

# This page's own words (the statuses are maps.styles LABELS). API errors are shown by kind in
# the page's language (``error_*``); on English pages the API's own detail is shown.
WORDS: dict[str, dict[str, str]] = {
    "zh": {
        "title": "事件列表", "filter": "筛选", "status": "状态", "class": "类别", "town": "镇街",
        "overdue": "超时", "source": "来源", "from": "上报自", "to": "上报至", "any": "全部",
        "yes": "是", "no": "否", "apply": "查询", "reset": "清除", "count": "共 {n} 件",
        "page": "第 {p} / {n} 页", "prev": "上一页", "next": "下一页", "none": "没有符合条件的事件",
        "due_soon": "即将到期", "deadline": "处置时限", "reported": "上报", "grid": "网格",
        "timeline": "处置过程", "loading": "加载中…", "events": "事件", "event": "事件详情",
        "actions_title": "操作", "note": "说明", "note_needed": "（必填）", "dispatch_to": "派遣至",
        "grid_code": "单元网格编码", "person": "处置人", "keep": "（不变）",
        "routing_reason": "派遣时调整", "done": "已{action}", "updated": "已更新",
        "truncated": "仅显示最新的 {n} 件，请缩小筛选范围",
        "error_403": "您无权对该事件执行此操作。", "error_404": "该事件或网格不存在。",
        "error_state": "事件状态已变化，该操作现在不可用；已重新载入。",
        "error_version": "事件已被他人修改；已重新载入，请再试一次。",
        "error_note": "此操作需要填写说明（理由）。",
        "error_photos": "该类事件处置反馈须附处置后照片。", "photos": "处置后照片",
        "error_grid_code": "网格编码无效：请填写现行网格中的单元网格编码（15 位数字）。",
        "error_filter": "筛选条件无效：{field}",
        "error_other": "操作失败：{why}（HTTP {status}）。",
        "error_network": "无法连接服务器，请稍后再试。",
        "error_list": "加载事件列表失败：{why}", "error_points": "加载地图上的事件失败：{why}",
        "why_status": "服务器出错（{status}）", "why_expired": "登录已过期", "retry": "重试",
        "legend_dots": "事件（按状态着色）", "legend_clusters": "聚合点（按其中最紧急的事件着色）",
        "cluster_overdue": "含超时事件", "cluster_due": "含 {h} 小时内到期的事件",
        "cluster_normal": "无超时或即将到期", "ring_due": "橙色粗边：{h} 小时内到期",
        "accuracy": "定位精度 ±{m} 米", "received": "（{at} 收到）",
    },
    "en": {
        "title": "Events", "filter": "Filter", "status": "Status", "class": "Class",
        "town": "Town", "overdue": "Overdue", "source": "Source", "from": "Reported from",
        "to": "Reported to", "any": "Any", "yes": "Yes", "no": "No", "apply": "Search",
        "reset": "Clear", "count": "{n} events", "page": "Page {p} of {n}", "prev": "Previous",
        "next": "Next", "none": "No event matches", "due_soon": "Due soon",
        "deadline": "Deadline", "reported": "Reported", "grid": "Grid",
        "timeline": "Timeline", "loading": "Loading…", "events": "the events",
        "event": "the event", "actions_title": "Actions", "note": "Note",
        "note_needed": "(required)", "dispatch_to": "Dispatch to", "grid_code": "Unit grid code",
        "person": "Handler", "keep": "(unchanged)", "routing_reason": "changed on dispatch",
        "done": "Done: {action}", "updated": "Updated",
        "truncated": "Only the newest {n} are shown; narrow the filter",
        "error_403": "You may not do this to this event.",
        "error_404": "That event or grid does not exist.",
        "error_state": "The event has changed state; this action is no longer possible. "
        "Reloaded.",
        "error_version": "Someone else changed the event; reloaded, please try again.",
        "error_note": "This action needs a note giving the reason.",
        "error_photos": "Events of this kind are marked handled with a photo of the result.",
        "photos": "Photos of the result",
        "error_grid_code": "Unknown grid code: give a unit grid code (15 digits) of the grids "
        "in force.",
        "error_filter": "Invalid filter: {field}",
        "error_other": "The action failed: {why} (HTTP {status}).",
        "error_network": "The server cannot be reached; try again later.",
        "error_list": "Could not load the list of events: {why}",
        "error_points": "Could not load the events on the map: {why}",
        "why_status": "the server answered {status}", "why_expired": "the session has expired",
        "retry": "Retry",
        "legend_dots": "Events (by status)",
        "legend_clusters": "Clusters (coloured by their most urgent event)",
        "cluster_overdue": "holds an overdue event",
        "cluster_due": "holds an event due within {h} h",
        "cluster_normal": "nothing overdue or due soon",
        "ring_due": "thick amber ring: due within {h} h",
        "accuracy": "position accuracy ±{m} m", "received": "(received {at})",
    },
}  # fmt: skip

# The workflow's actions (layers.events.workflow.TRANSITIONS) as people call them.
ACTIONS: dict[str, dict[str, str]] = {
    "zh": {
        "accept": "立案", "reject": "不予立案", "dispatch": "派遣", "start": "开始处置",
        "return": "回退", "request_extension": "申请延期", "grant_extension": "同意延期",
        "refuse_extension": "不同意延期", "handle": "处理反馈", "verify": "核查通过",
        "verify_fail": "核查不通过", "close": "结案", "park": "挂账", "unpark": "解除挂账",
        "report": "上报", "reroute": "调整派遣", "escalate": "超时督办",
    },
    "en": {
        "accept": "Accept", "reject": "Reject", "dispatch": "Dispatch", "start": "Start",
        "return": "Return", "request_extension": "Request extension",
        "grant_extension": "Grant extension", "refuse_extension": "Refuse extension",
        "handle": "Report handled", "verify": "Verify", "verify_fail": "Send back for rework",
        "close": "Close", "park": "Park", "unpark": "Unpark", "report": "Reported",
        "reroute": "Rerouted", "escalate": "Escalated",
    },
}  # fmt: skip
NOTE_ACTIONS = ("reject", "return", "request_extension", "verify_fail", "park")
SOURCE_NAMES: dict[str, dict[str, str]] = {
    "zh": {"patrol": "巡查上报", "informant": "信息员", "hotline": "12345 热线",
           "public": "市民上报", "centre": "指挥中心"},
    "en": {"patrol": "Patrol", "informant": "Informant", "hotline": "12345 hotline",
           "public": "Citizens", "centre": "Command centre"},
}  # fmt: skip


def words(lang: str) -> dict[str, Any]:
    """Every text the page script shows, in ``lang``."""
    lang = resolve_lang(lang)
    return {
        **WORDS[lang],
        "unconfirmed": label("event_calendar_unconfirmed", lang, years="{years}"),
        "status_names": {s: label(f"event_status_{s}", lang) for s in STATUS_COLORS},
        "actions": ACTIONS[lang],
        "sources": SOURCE_NAMES[lang],
        "roles": ROLE_NAMES[lang],
    }


def _legend(lang: str, due_soon_h: float) -> str:
    w = WORDS[lang]
    h = f"{due_soon_h:g}"
    return render_control(
        "events_legend.html",
        title=label("legend_title", lang),
        dots_title=w["legend_dots"],
        rows=[(OVERDUE_COLOR, label("event_overdue", lang), "overdue")]
        + [(c, label(f"event_status_{s}", lang), s) for s, c in STATUS_COLORS.items()],
        ring=w["ring_due"].format(h=h),
        clusters_title=w["legend_clusters"],
        clusters=[
            (OVERDUE_COLOR, w["cluster_overdue"]),
            (DUE_SOON_COLOR, w["cluster_due"].format(h=h)),
            (NORMAL_CLUSTER_COLOR, w["cluster_normal"]),
        ],
    )


def _panel(
    lang: str, towns: Sequence[Mapping[str, str]], classes: Sequence[Mapping[str, str]]
) -> str:
    return render_control(
        "events_panel.html",
        w=WORDS[lang],
        statuses=[(s, label(f"event_status_{s}", lang)) for s in STATUS_COLORS],
        sources=list(SOURCE_NAMES[lang].items()),
        towns=[(t["code"], t["name"]) for t in towns],
        classes=[(c["code"], c["name"]) for c in classes],
    )


def build_events_map(
    *,
    lang: str = "zh",
    towns: Sequence[Mapping[str, str]] = (),
    classes: Sequence[Mapping[str, Any]] = (),
    assets_base: str = "/static",
    basemap: Basemap | None = None,
    poll_ms: int = POLL_MS,
    center: tuple[float, float] = (31.85, 120.3),
    due_soon_h: float = 2.0,
    bounds: Sequence[Sequence[float]] | None = None,
) -> folium.Map:
    """The page, without events (the script loads them).

    Parameters
    ----------
    towns
        ``{"code", "name"}`` of the towns (the filter's choices).
    classes
        The event dictionary as ``layers.events.dictionary.list_dictionary`` gives it in
        ``lang``: ``{"code", "name", "subclasses": [{"code", "name"}, …]}``.
    center
        (lat, lon) in EPSG:4490 degrees where the map opens before the events arrive.
    due_soon_h
        The "due soon" horizon in hours, for the legend (``layers.events.listing.DUE_SOON_H``).
    bounds
        ``[[south, west], [north, east]]`` (EPSG:4490 degrees) of the city: the map opens on
        it beside the legend, and shows it again when no event matches (None: ``center``).
    """
    lang = resolve_lang(lang)
    basemap = basemap or Basemap.none()
    folium_map = folium.Map(
        location=list(center), zoom_start=11, tiles=None, max_zoom=19, control_scale=True
    )
    folium_map.options["maxZoom"] = basemap.max_zoom() if basemap.tiles else 19
    no_basemap = ["gridgis-no-basemap"] if basemap.kind == "none" else []
    classes_out = ["gridgis-events-map", *no_basemap]
    PageSetup(lang, container_classes=classes_out).add_to(folium_map)
    basemap.add_to(folium_map)
    root = folium_map.get_root()
    root.title = label("events_map_title", lang)  # type: ignore[attr-defined]
    root.html.add_child(Element(_panel(lang, towns, classes)))  # type: ignore[attr-defined]
    legend = _legend(lang, due_soon_h)
    HtmlControl(legend, position="bottomright", css_class="gridgis-legend").add_to(folium_map)
    subclasses = {s["code"]: s["name"] for c in classes for s in c.get("subclasses", [])}
    ViewScript(
        "events",
        {
            "words": words(lang),
            "colors": {**STATUS_COLORS, "overdue": OVERDUE_COLOR, "due_soon": DUE_SOON_COLOR,
                       "normal_cluster": NORMAL_CLUSTER_COLOR},
            "subclasses": subclasses,
            "note_actions": list(NOTE_ACTIONS),
            "poll_ms": poll_ms,
            "bounds": [list(b) for b in bounds] if bounds else None,
        },
        scripts=["leaflet_vectorgrid", "gridgis_tiles_js", "markerclusterjs",
                 "gridgis_events_case_js"],
        styles=["markerclustercss", "gridgis_events_css"],
    ).add_to(folium_map)  # fmt: skip
    localize_all(root, assets_base)
    return folium_map
