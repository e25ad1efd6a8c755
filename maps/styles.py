"""User-facing words (zh and en) and the look of the grid levels, in one place.

Every page takes its labels from :data:`LABELS` through :func:`label`, so a wording is changed
once and both languages stay side by side. Chinese is the default; an unknown language falls
back to Chinese rather than failing a page.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal, get_args

from gis.role_names import ROLE_NAMES as _ROLE_NAMES

Lang = Literal["zh", "en"]
DEFAULT_LANG: Lang = "zh"

# One table: key -> {lang: text}. Keys are English identifiers; values are what people read.
LABELS: dict[str, dict[Lang, str]] = {
    # Pages and titles
    "app_name": {"zh": "网格通", "en": "GridGIS"},
    "grid_map_title": {"zh": "网格通 · 网格地图", "en": "GridGIS · Grid map"},
    "switch_language": {"zh": "English", "en": "中文"},
    # Grid levels
    "level_1": {"zh": "一级网格（镇街）", "en": "Level 1 grids (towns / subdistricts)"},
    "level_2": {"zh": "二级网格（村社区）", "en": "Level 2 grids (villages / communities)"},
    "level_3": {"zh": "三级网格（单元网格）", "en": "Level 3 grids (unit grids)"},
    "level_1_short": {"zh": "一级网格", "en": "Level 1"},
    "level_2_short": {"zh": "二级网格", "en": "Level 2"},
    "level_3_short": {"zh": "三级网格", "en": "Level 3"},
    # Legend and tooltips
    "legend_title": {"zh": "图例", "en": "Legend"},
    "legend_count": {"zh": "{n} 个", "en": "{n}"},
    "legend_hint": {
        "zh": "悬停查看网格信息，右上角切换图层",
        "en": "Hover a grid for details; toggle layers top right",
    },
    "field_level": {"zh": "级别", "en": "Level"},
    "field_name": {"zh": "名称", "en": "Name"},
    "field_code": {"zh": "编码", "en": "Code"},
    "field_area": {"zh": "面积", "en": "Area"},
    "unit_km2": {"zh": "平方公里", "en": "km²"},
    "no_grids": {
        "zh": "没有网格数据：请先导入或生成网格",
        "en": "No grids yet: import or generate a grid generation first",
    },
    # Basemaps
    "tianditu_attribution": {
        "zh": "底图 © 天地图（国家地理信息公共服务平台）",
        "en": "Basemap © Tianditu (National Platform for Common GeoSpatial Information Services)",
    },
    "amap_attribution": {"zh": "底图 © 高德地图", "en": "Basemap © Amap (AutoNavi)"},
    "baidu_attribution": {"zh": "底图 © 百度地图", "en": "Basemap © Baidu Maps"},
    # Login page (api/pages/login.py)
    "login_title": {"zh": "网格通 · 登录", "en": "GridGIS · Sign in"},
    "login_token": {"zh": "访问令牌", "en": "Access token"},
    "login_submit": {"zh": "登录", "en": "Sign in"},
    "login_failed": {"zh": "令牌无效或已停用", "en": "Unknown or revoked token"},
    # Zones and households map (issue 3: maps/zones_map.py)
    "zones_map_title": {
        "zh": "网格通 · 执法片区与住户分布",
        "en": "GridGIS · Zones and households",
    },
    "zones_layer": {"zh": "执法片区", "en": "Enforcement zones"},
    "zones_legend_zone": {"zh": "每色一个片区（共 {n} 个）", "en": "One colour a zone ({n})"},
    "zones_legend_labels": {
        "zh": "标注：片区名 / 执法中队",
        "en": "Labels: zone / squad (town names omitted)",
    },
    "zones_legend_town": {"zh": "镇街边界", "en": "Town boundaries"},
    "zones_households_grid": {"zh": "住户数 · 三级网格", "en": "Households per unit grid"},
    "zones_households_h3": {"zh": "住户数 · H3 第{r}级", "en": "Households per H3 cell (res {r})"},
    "zones_legend_none": {"zh": "无住户", "en": "None"},
    "zones_show": {"zh": "填色显示", "en": "Fill shows"},
    "zones_cells_hint": {
        "zh": "圆点位于 H3 单元中心，面积按户数分级",
        "en": "Circles at H3 cell centres, area by class",
    },
    "zones_outline": {"zh": "执法片区边界", "en": "Zone outlines"},
    "zones_count_few": {"zh": "少于 {n} 户", "en": "fewer than {n}"},
    "zones_privacy": {
        "zh": "仅显示汇总户数，不显示单个住户；少于 {n} 户不显示精确数",
        "en": "Counts only, never single households; below {n} the exact count is hidden",
    },
    "zones_hint": {
        "zh": "右上角切换图层，悬停查看详情",
        "en": "Toggle layers top right; hover for details",
    },
    "zones_no_squad": {"zh": "未指定中队", "en": "No squad"},
    "zones_field_name": {"zh": "名称", "en": "Name"},
    "zones_field_code": {"zh": "编码", "en": "Code"},
    "zones_field_town": {"zh": "镇街", "en": "Town"},
    "zones_field_squad": {"zh": "执法中队", "en": "Squad"},
    "zones_field_members": {"zh": "成员网格", "en": "Member grids"},
    "zones_field_grids": {"zh": "单元网格数", "en": "Unit grids"},
    "zones_field_area": {"zh": "面积", "en": "Area"},
    "zones_field_households": {"zh": "住户数", "en": "Households"},
    "zones_field_cell": {"zh": "H3 单元", "en": "H3 cell"},
    "zones_field_resolution": {"zh": "级别", "en": "Resolution"},
    # 双随机 draw result page (issue 3: api/pages/draws.py)
    "draw_page_title": {"zh": "双随机抽查结果公示", "en": "Random inspection draw (双随机)"},
    "draw_published": {"zh": "第 {id} 号抽取 · {at} 抽取", "en": "Draw no. {id} · made {at}"},
    "draw_verification": {"zh": "复核", "en": "Verification"},
    "draw_verified": {
        "zh": "已复核：按记录的种子和输入重新抽取，结果完全一致",
        "en": "Verified: re-running with the recorded seed and inputs gives the same result",
    },
    "draw_not_verified": {
        "zh": "复核不一致：重新抽取的结果与记录不同",
        "en": "NOT verified: re-running gives a different result from the record",
    },
    "draw_verification_hint": {
        "zh": "本页打开时已在服务器上重新抽取一次；记录不可修改，任何人都可按下方方法复核。",
        "en": "The draw was re-run on the server as this page opened; the record cannot be "
        "changed, and anyone can re-run it as shown below.",
    },
    "draw_inputs": {"zh": "抽取条件", "en": "Inputs"},
    "draw_seed": {"zh": "随机种子", "en": "Seed"},
    "draw_area": {"zh": "抽查区域", "en": "Area"},
    "draw_area_all": {"zh": "全市", "en": "Whole city"},
    "draw_category": {"zh": "行业类别", "en": "Category"},
    "draw_n": {"zh": "抽取主体数 N", "en": "Entities drawn (N)"},
    "draw_m": {"zh": "每户检查人员数 M", "en": "Inspectors per entity (M)"},
    "draw_candidates": {"zh": "符合条件的主体", "en": "Matching entities"},
    "draw_pool": {"zh": "检查人员库", "en": "Inspector pool"},
    "draw_conflicts": {"zh": "回避规则", "en": "Conflict rule"},
    "draw_conflict_rule": {
        "zh": "检查人员不抽查本人负责网格（含上级网格）内的主体；共排除 {n} 个人员-主体组合",
        "en": "No inspector checks an entity in a grid they are assigned to (or under it); "
        "{n} inspector-entity pairs excluded",
    },
    "draw_digest": {"zh": "记录摘要 SHA-256", "en": "Record digest (SHA-256)"},
    "draw_result": {"zh": "抽取结果（{n} 户）", "en": "Result ({n} entities)"},
    "draw_no": {"zh": "序号", "en": "No."},
    "draw_entity": {"zh": "市场主体", "en": "Entity"},
    "draw_credit_code": {"zh": "统一社会信用代码", "en": "Unified social credit code"},
    "draw_grid": {"zh": "所在网格", "en": "Grid"},
    "draw_inspectors": {"zh": "检查人员", "en": "Inspectors"},
    "draw_rerun": {"zh": "如何复核", "en": "How to re-run it"},
    "draw_rerun_api": {
        "zh": "1. 调用接口，由服务器按记录重新抽取并比对：",
        "en": "1. Ask the server to re-run the recorded draw and compare:",
    },
    "draw_rerun_offline": {
        "zh": "2. 下载完整记录（种子、候选名单、回避组合、结果），在任意电脑上离线重算：",
        "en": "2. Download the full record (seed, candidate lists, conflicts, result) and "
        "re-run it offline on any computer:",
    },
    "draw_rerun_cli": {
        "zh": "3. 在服务器上用命令行复核：",
        "en": "3. On the server, from the command line:",
    },
    "draw_method": {
        "zh": "方法：候选主体和人员按编号排序；随机数发生器为 numpy PCG64，种子为随机种子文本的 "
        "SHA-256；先抽 N 个主体，再为每个主体在无回避冲突的人员中抽 M 人（优先任务少者）。",
        "en": "Method: candidates and inspectors are sorted by id; the generator is numpy "
        "PCG64 seeded with the SHA-256 of the seed text; N entities are drawn, then M "
        "conflict-free inspectors for each (least loaded first).",
    },
    "draw_cat_food": {"zh": "食品", "en": "Food"},
    "draw_cat_retail": {"zh": "商贸", "en": "Retail"},
    "draw_cat_catering": {"zh": "餐饮", "en": "Catering"},
    "draw_cat_manufacturing": {"zh": "制造", "en": "Manufacturing"},
    "draw_cat_pharmacy": {"zh": "医药", "en": "Pharmacy"},
    "draw_cat_construction": {"zh": "建设工程", "en": "Construction"},
    "draw_cat_hazardous_chemicals": {"zh": "危险化学品", "en": "Hazardous chemicals"},
    "draw_cat_other": {"zh": "其他", "en": "Other"},
    # Events map (issue 5: maps/events_map.py)
    "events_map_title": {"zh": "网格通 · 事件地图", "en": "GridGIS · Events"},
    "event_overdue": {"zh": "超时", "en": "Overdue"},
    "event_timeline": {"zh": "处置过程", "en": "Timeline"},
    "event_calendar_unconfirmed": {
        "zh": "期限待确认（{years} 年节假日未载入）",
        "en": "Deadline unconfirmed (no {years} holiday table)",
    },
    "event_loading": {"zh": "加载中…", "en": "Loading…"},
    "event_count": {"zh": "共 {n} 件", "en": "{n} events"},
    "event_status_reported": {"zh": "已上报", "en": "Reported"},
    "event_status_accepted": {"zh": "已立案", "en": "Accepted"},
    "event_status_rejected": {"zh": "不予立案", "en": "Rejected"},
    "event_status_dispatched": {"zh": "已派遣", "en": "Dispatched"},
    "event_status_in_handling": {"zh": "处置中", "en": "In handling"},
    "event_status_extension_requested": {"zh": "申请延期", "en": "Extension requested"},
    "event_status_handled": {"zh": "已反馈", "en": "Handled"},
    "event_status_verified": {"zh": "已核查", "en": "Verified"},
    "event_status_closed": {"zh": "已结案", "en": "Closed"},
    "event_status_returned": {"zh": "已回退", "en": "Returned"},
    "event_status_parked": {"zh": "挂账", "en": "Parked"},
    "event_status_rework": {"zh": "返工", "en": "Rework"},
    # Coverage page (issue 6: maps/coverage_map.py)
    "coverage_map_title": {"zh": "网格通 · 巡查覆盖率", "en": "GridGIS · Patrol coverage"},
    "coverage_legend_title": {"zh": "巡查覆盖率（H3）", "en": "Patrol coverage (H3 share)"},
    "coverage_run": {
        "zh": "{date} {shift} · 计算于 {at}（北京时间）",
        "en": "{date} {shift} · computed {at} (Beijing time)",
    },
    "coverage_today_partial": {
        "zh": "今日（截至 {hm}，北京时间）",
        "en": "today (until {hm}, Beijing time)",
    },
    "coverage_partial": {
        "zh": "不完整（截至 {hm}，北京时间）",
        "en": "partial (until {hm}, Beijing time)",
    },
    "coverage_classes_hint": {
        "zh": "按本级网格数值分位数分级",
        "en": "Classes: quantiles of this level's grids",
    },
    "coverage_trend_axis": {"zh": "覆盖率（%）", "en": "Coverage (%)"},
    "coverage_whole_day": {"zh": "全天", "en": "whole day"},
    "coverage_legend_zero": {"zh": "未巡查（0%）", "en": "Not patrolled (0%)"},
    "coverage_legend_nodata": {"zh": "无 H3 单元", "en": "No H3 cells"},
    "coverage_legend_blind": {"zh": "盲区（未覆盖单元）", "en": "Blind spots (cells not covered)"},
    "coverage_method": {"zh": "计算方法", "en": "Method"},
    "coverage_method_h3": {
        "zh": "H3 覆盖率：网格内 H3 第{r}级单元中，中心距有效轨迹不超过 {d} 米的比例",
        "en": "H3 share: the grid's H3 cells (res {r}) whose centre is within {d} m of a "
        "valid track",
    },
    "coverage_method_buffer": {
        "zh": "缓冲覆盖率：网格面积中距轨迹不超过 {d} 米的比例",
        "en": "Buffer share: the share of the grid's area within {d} m of the tracks",
    },
    "coverage_method_gap": {
        "zh": "相邻定位间隔超过 {s} 秒不连线；村社区、镇街按面积加权汇总",
        "en": "No line across GPS gaps over {s} s; villages and towns are area-weighted",
    },
    "coverage_hint": {
        "zh": "点击镇街查看村社区，点击村社区查看单元网格，点击单元网格查看盲区和巡查人员",
        "en": "Click a town for its villages, a village for its unit grids, a unit grid for "
        "its blind spots and who patrolled it",
    },
    "coverage_date": {"zh": "日期", "en": "Date"},
    "coverage_shift": {"zh": "班次", "en": "Shift"},
    "coverage_shift_hint": {
        "zh": "如 08:00-17:30，留空为全天",
        "en": "e.g. 08:00-17:30; empty = whole day",
    },
    "coverage_resolution": {"zh": "H3 级别", "en": "H3 res."},
    "coverage_resolution_auto": {"zh": "最新", "en": "Latest"},
    "coverage_show": {"zh": "查看", "en": "Show"},
    "coverage_no_run": {
        "zh": "{date} {shift} 尚未计算巡查覆盖率",
        "en": "No patrol coverage computed for {date} ({shift}) yet",
    },
    "coverage_no_run_fix": {
        "zh": "请在服务器上运行以下命令，然后刷新本页：",
        "en": "Run this on the server, then reload this page:",
    },
    "coverage_all": {"zh": "全市", "en": "Whole city"},
    "coverage_field_code": {"zh": "编码", "en": "Code"},
    "coverage_field_h3": {"zh": "H3 覆盖率", "en": "H3 share"},
    "coverage_field_buffer": {"zh": "缓冲覆盖率", "en": "Buffer share"},
    "coverage_field_cells": {"zh": "已覆盖 / 全部单元", "en": "Cells covered / all"},
    "coverage_field_officers": {"zh": "巡查人数", "en": "Officers"},
    "coverage_who": {"zh": "巡查人员", "en": "Who patrolled it"},
    "coverage_who_none": {"zh": "无人巡查", "en": "Nobody"},
    "coverage_minutes": {"zh": "{m} 分钟", "en": "{m} min"},
    "coverage_metres": {"zh": "{m} 米", "en": "{m} m"},
    "coverage_blind_count": {
        "zh": "盲区：{n} 个 H3 单元（红色）",
        "en": "Blind spots: {n} H3 cells (red)",
    },
    "coverage_loading": {"zh": "加载中…", "en": "Loading…"},
    "load_failed": {"zh": "加载失败：{e}", "en": "Could not load: {e}"},
    "coverage_click_town": {"zh": "点击镇街查看其村社区", "en": "Click a town for its villages"},
    "coverage_click_village": {
        "zh": "点击村社区查看其单元网格",
        "en": "Click a village for its unit grids",
    },
    "coverage_click_grid": {
        "zh": "点击单元网格查看盲区和巡查人员",
        "en": "Click a unit grid for its blind spots and who patrolled it",
    },
    # Coverage page panels (maps/coverage_panels.py)
    "coverage_legend_tracks": {
        "zh": "巡查轨迹（每人一色）",
        "en": "Patrol tracks (one colour per officer)",
    },
    "coverage_tracks": {"zh": "巡查轨迹", "en": "Tracks through this grid"},
    "coverage_tracks_none": {"zh": "无轨迹", "en": "No tracks"},
    "coverage_trend": {"zh": "近 {n} 天覆盖率趋势", "en": "Coverage over the last {n} days"},
    "coverage_trend_none": {
        "zh": "这些天尚未计算覆盖率",
        "en": "No coverage computed for these days",
    },
    "coverage_trend_h3": {"zh": "H3 覆盖率", "en": "H3 share"},
    "coverage_trend_buffer": {"zh": "缓冲覆盖率", "en": "Buffer share"},
    "coverage_ranking": {"zh": "本级排名（H3 覆盖率）", "en": "Ranking at this level (H3 share)"},
    "coverage_ranking_best": {"zh": "最好", "en": "Best"},
    "coverage_ranking_worst": {"zh": "最差", "en": "Worst"},
    "coverage_export": {"zh": "导出：", "en": "Export:"},
    "coverage_compliance": {
        "zh": "在岗率低于 {p} 的人员",
        "en": "People below {p} inside their own grids",
    },
    "coverage_compliance_none": {"zh": "无人低于达标线", "en": "Nobody below the threshold"},
    "coverage_absent": {
        "zh": "另有 {n} 人当班全无定位",
        "en": "{n} more sent no GPS fix at all (absent in the export)",
    },
    "coverage_col_name": {"zh": "姓名", "en": "Name"},
    "coverage_col_inside": {"zh": "在岗", "en": "Inside"},
    "coverage_col_outside": {"zh": "网格外", "en": "Outside"},
    "coverage_col_silence": {"zh": "GPS 中断", "en": "GPS silent"},
    "coverage_silences": {"zh": "{n} 次 · {t}", "en": "{n}× · {t}"},
    "coverage_threshold": {"zh": "在岗达标线", "en": "Threshold"},
    "coverage_threshold_hint": {
        "zh": "在本人网格内的时间占班次的比例（0–1），低于者列出",
        "en": "Share of the window inside one's own grids (0–1); people below it are listed",
    },
}

# People's roles as pages name them: the staff roles (layers.people.StaffRole) and the
# accounts' roles (layers.models.Role). The one table of role names for every page (/events/map
# popups, /plan's impact list, /live); kept in gis/role_names.py so that layers.roster reads
# the same words; a page script gets the table of its language from the page.
ROLE_NAMES: dict[Lang, dict[str, str]] = _ROLE_NAMES  # type: ignore[assignment]


def resolve_lang(lang: str | None) -> Lang:
    """The supported language for ``lang``: "zh" or "en"; anything else gives "zh"."""
    return lang if lang in get_args(Lang) else DEFAULT_LANG  # type: ignore[return-value]


def label(key: str, lang: str | None = DEFAULT_LANG, **values: object) -> str:
    """The text for ``key`` in ``lang`` (zh when the language is unknown).

    ``values`` fill ``{placeholders}``: ``label("legend_count", "zh", n=12)`` gives "12 个".
    Raises ``KeyError`` naming the key when it is missing from :data:`LABELS`.
    """
    try:
        texts = LABELS[key]
    except KeyError:
        raise KeyError(f"no label {key!r}: add it to maps.styles.LABELS in zh and en") from None
    text = texts[resolve_lang(lang)]
    return text.format(**values) if values else text


def html_lang(lang: str | None) -> str:
    """The BCP 47 tag for the page's ``<html lang>``: "zh-CN" or "en"."""
    return "en" if resolve_lang(lang) == "en" else "zh-CN"


def format_area_km2(area_m2: float | None, lang: str | None = DEFAULT_LANG) -> str:
    """An area in m² as the text people read: ``"1.23 平方公里"`` or ``"1.23 km²"``.

    Small grids keep three decimals so a 5,000 m² unit grid does not read as 0.01.
    """
    if area_m2 is None:
        return "—"
    km2 = area_m2 / 1_000_000.0
    digits = 3 if km2 < 1 else 2
    return f"{km2:,.{digits}f} {label('unit_km2', lang)}"


@dataclass(frozen=True)
class LevelStyle:
    """How one grid level is drawn (Leaflet path options). Label fonts live in gridgis-map.css."""

    color: str
    weight_px: float
    fill: bool
    fill_color: str
    fill_opacity: float
    dash_array: str | None
    highlight_color: str

    def path_options(self) -> dict[str, object]:
        """Leaflet path options (``L.Path``) for a GeoJSON layer of this level."""
        options: dict[str, object] = {
            "color": self.color,
            "weight": self.weight_px,
            "opacity": 1.0,
            "fill": self.fill,
            "fillColor": self.fill_color,
            "fillOpacity": self.fill_opacity if self.fill else 0.0,
            "lineJoin": "round",
        }
        if self.dash_array:
            options["dashArray"] = self.dash_array
        return options

    def highlight_options(self) -> dict[str, object]:
        """Path options while the pointer is over a grid: a heavier line, a stronger fill."""
        options = self.path_options()
        options["color"] = self.highlight_color
        options["weight"] = self.weight_px + 2
        if self.fill:
            options["fillColor"] = self.highlight_color
            options["fillOpacity"] = min(self.fill_opacity + 0.25, 0.6)
        return options


# Thick navy lines for towns on top, thinner teal villages, fine light-amber unit grids below.
# L1 and L2 are outlines only, so hovering inside a unit grid reaches the L3 polygon beneath.
LEVEL_STYLES: dict[int, LevelStyle] = {
    1: LevelStyle(
        color="#0b2e59",
        weight_px=3.5,
        fill=False,
        fill_color="#0b2e59",
        fill_opacity=0.0,
        dash_array=None,
        highlight_color="#1f5fbf",
    ),
    2: LevelStyle(
        color="#12898b",
        weight_px=1.8,
        fill=False,
        fill_color="#12898b",
        fill_opacity=0.0,
        # Solid: a dashed edge shared by two polygons is drawn twice, out of phase, and reads
        # as a muddle.
        dash_array=None,
        highlight_color="#0b6e70",
    ),
    3: LevelStyle(
        color="#eba56a",
        weight_px=0.7,
        fill=True,
        fill_color="#f6c889",
        fill_opacity=0.14,
        dash_array=None,
        highlight_color="#d9480f",
    ),
}

GRID_LEVELS: tuple[int, ...] = (1, 2, 3)
