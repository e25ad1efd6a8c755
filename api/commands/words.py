"""The planners' command line in the reader's language: Chinese by default, English with
``--lang en`` on the command or ``GRIDGIS_LANG=en`` in the environment (the one table of the
words of ``gridgis grids import|draft|submit|approve|reject|publish|decide`` and ``gridgis
drafts …``; the pages' words are in maps/styles.py and the page scripts).

- :func:`use` sets the language for the run (a command's ``--lang``; else the environment);
- :func:`t` gives a message by key, formatted with ``str.format`` values;
- :func:`detail` gives a refusal's text (``DomainError.detail_zh`` where one was written,
  ``layers.errors.with_zh``, else the English ``detail``);
- :func:`problem_detail` gives a validation problem's text
  (``layers.planning.problem_words.problem_text``).
"""

from __future__ import annotations

import os
from typing import Annotated, Any

import typer

LANGS = ("zh", "en")
_chosen: list[str] = []  # the run's language once a command named one (--lang)

LangOpt = Annotated[
    str | None,
    typer.Option(
        "--lang", help="language of the messages: zh (default) or en (or GRIDGIS_LANG=en)"
    ),
]

WORDS: dict[str, dict[str, str]] = {
    "zh": {
        "dry_run": "[yellow]预演[/]：未保存任何内容；加 --commit 才会保存",
        "dry_run_import": "预演：未保存任何内容（加 --commit 保存）",
        "dry_run_publish": "预演：未做任何改变；加 --commit 才会发布",
        "field": "（字段：{field}）",
        "valid": "[green]校验通过[/]（{counts}）",
        "problems": "[red]{n} 个问题[/]（{counts}）：{kinds}",
        "problem_table": "类型|编码|位置（经度, 纬度）|面积 m²|宽度 m|处理办法",
        "note": "说明：{note}",
        "no_active": "没有可比较的现行版本",
        "compared": "与现行版本比较：{levels}",
        "outline": "外轮廓：{area} km²（现行 {active} km²），减少 {dropped} m²（{share}），增加 "
        "{added} m²，Hausdorff 距离 {hausdorff} m；编码新增 {add}、删除 {removed}、改变 {changed}",
        "force_hint": "（加 --force 仍可保存）",
        "stored": "版本 {id} 已保存为{state}",
        "state_active": "现行版本",
        "state_draft": "草案",
        "state_unpublishable": "草案（不可发布）",
        "publish_needs_reason": "[red]--publish 会跳过审核（仅限紧急情况）："
        "请用 --reason 说明原因，或去掉 --publish，按提交/批准/发布流程办理[/]",
        "copied": "草案 {id} 复制自版本 {source}（L1：{l1}，L2：{l2}，L3：{l3}）",
        "status_is": "版本 {id} 的状态为 {status}",
        "publish_needs_why": "[red]未发布：请用 --reason 说明原因（审核记录会保存）[/]",
        "not_published": "[red]未发布：{detail}[/]",
        "publish_db_refused": "[red]未发布：数据库拒绝了这次发布（{what}），什么都没有改变；"
        "请把这条信息和版本号交给管理员[/]",
        "problems_by_kind": "问题：{kinds}",
        "newer_since": "[yellow]复制自版本 {base}；之后发布了：{since}[/]",
        "newer_reverted": "[yellow]撤销：{n} 个网格[/] {codes}",
        "newer_overridden": "[yellow]覆盖：{n} 个网格[/] {codes}",
        "summary_head": "|数量",
        "changed_grids": "变化网格",
        "households": "网格改变的住户",
        "open_events": "未结事件（保留上报时的网格）",
        "assignments": "人员分工",
        "to_decide": "需人工确定（分工、网格岗位、片区成员）",
        "zones": "执法片区",
        "devices": "设备",
        "households_moved": "已移动的住户",
        "assignments_moved": "已移动的分工",
        "zone_members": "已替换的片区成员",
        "supersedes": "将使定时发布失效：版本 {id} {name}（{at}）",
        "superseded_by": "会被拒绝：之前已定时发布版本 {id} {name}（{at}）",
        "decided_move": "分工 {id} 已移到 {code}",
        "decided_end": "分工 {id} 已结束",
        "decide_one": "[red]请给出 --move CODE 或 --end（二选一）[/]",
        "none_to_decide": "没有需人工确定的事项（分工、待配人员的网格岗位、片区成员）",
        "decided_item": "已决定：{decision}",
        "all_decide_table": "类别|网格|人员/岗位/片区|可选|--item 写法",
        "kind_assignment": "分工（原网格已撤销）",
        "kind_grid_role": "网格岗位待配人员",
        "kind_zone_member": "片区成员（原网格已撤销）",
        "move_to": "可移到 {codes}",
        "staff_from": "{name}（{id}，现在 {grid}）",
        "staff_vacant": "（无候选：add 或 vacant）",
        "zone_drop": "（无候选：drop）",
        "all_decide_hint": "{n} 项待定：gridgis to-decide {gen} --item '{{…}}' --reason 原因",
        "decide_table": "分工|人员|岗位|原网格|可移到",
        "decide_none": "（无：用 --end）",
        "decide_hint": "{n} 条待定：gridgis grids decide 版本 分工 --move 编码 "
        "| --end --reason 原因",
        "edit_done": "{what}：写入 {n} 个网格，删除 {removed}；版本 {version}",
        "edit_step": "{step}：编辑 {id}（{what}{why}）",
        "by": "{op}（{actor}）",
        "none": "无",
        "undone": "已撤销",
        "redone": "已重做",
        "towns_valid": "[green]镇街 {towns} 校验通过[/]",
        "params_not_json": "[red]--params 不是 JSON（{error}）；请用单引号括起来[/]",
        "params_not_object": "[red]--params 必须是 JSON 对象[/]",
        "rebased": "草案 {id}：版本 {base} 加上草案 {draft} 的 {edits} 条编辑",
        "rebased_import": "草案 {id}：导入的草案 {draft} 变基到版本 {base}："
        "取自现行版本的网格 {taken} 个，保留草案的网格 {kept} 个，已处理冲突 {conflicts} 个",
        "conflict_chosen": "  {code}：采用 {side}",
        "conflict_row": "  {code}：草案{draft}，现行版本{active}",
        "did_added": "新增",
        "did_removed": "删除",
        "did_changed": "修改",
        "did_?": "？",
        "choose_bad": "[red]--choose {pair}：请写成 编码=draft 或 编码=active[/]",
        "log_table": "编号|版本|时间|操作人|操作|网格|原因|状态",
        "log_version": "草案 {id} 当前版本 {version}",
        "impact_table": "网格|变化|原面积 m²|新面积 m²|迁出住户|迁入|未结事件|人员分工",
        "written": "已写入 {path}",
        "diff_table": "级别|编码|变化|面积变化 m²",
        "choose_layer": "请用 --layer 名称 选择一个图层；各级网格分层存放时用 --layer all：",
        "layer_row": "  {name}：{geometry}，{features} 个要素",
        "no_geometry": "无几何",
        "give_crs": "请用 --crs 给出坐标系（如 --crs EPSG:4490）",
        "not_publishing": "[red]网格有问题，不予发布；请修正后重新导入[/]",
        "nothing_to_archive": "{month} 之前没有可归档的月份：已归档或没有定位数据的月份不再列出，"
        "当月（仍在接收定位）从不归档",
        "archive_table": "分区|起|止|定位数",
        "archive_title": "截至 {limit} 结束的月份",
        "archive_dry_run": "预演：未归档任何内容（加 --commit 才会归档）",
        "month_format": "月份 {month!r} 不是 YYYY-MM 格式，例如 2026-01",
        "not_archived": "{month} 没有归档（gridgis positions archive 列出可归档的月份）",
        "restore_plan": "{month}：归档文件 {path} 中有 {rows} 个定位，将放回数据库",
        "restore_dry_run": "预演：未放回任何内容（加 --commit 才会放回）",
        "archive_file_missing": "[red]归档文件 {path} 不存在；什么都没有改变[/]",
        "restored": "{month}：读取 {read} 个定位，放回 {inserted} 个（已在库中的保留）；"
        "文件保留为 {kept}",
    },
    "en": {
        "dry_run": "[yellow]dry run[/]: nothing stored; add --commit to keep it",
        "dry_run_import": "dry run: nothing stored (add --commit to store)",
        "dry_run_publish": "dry run: nothing changed; add --commit to publish",
        "field": " (field: {field})",
        "valid": "[green]valid[/] ({counts})",
        "problems": "[red]{n} problems[/] ({counts}): {kinds}",
        "problem_table": "kind|codes|where (lon, lat)|area m²|width m|what to do",
        "note": "note: {note}",
        "no_active": "no active generation to compare with",
        "compared": "compared with the active generation: {levels}",
        "outline": "outline: {area} km² (active {active} km²), drops {dropped} m² ({share}), "
        "adds {added} m², Hausdorff {hausdorff} m; codes added {add}, removed {removed}, "
        "changed {changed}",
        "force_hint": "(--force stores it all the same)",
        "stored": "generation {id} stored as {state}",
        "state_active": "active",
        "state_draft": "draft",
        "state_unpublishable": "draft (not publishable)",
        "publish_needs_reason": "[red]--publish skips review (emergency only): say why with "
        "--reason, or leave --publish out and take the draft through submit / approve / "
        "publish[/]",
        "copied": "draft {id} copied from generation {source} (L1: {l1}, L2: {l2}, L3: {l3})",
        "status_is": "generation {id} is {status}",
        "publish_needs_why": "[red]not published: say why with --reason (the review log keeps "
        "it)[/]",
        "not_published": "[red]not published: {detail}[/]",
        "publish_db_refused": "[red]not published: the database refused the publication "
        "({what}); nothing was changed. Give this message and the generation id to an admin[/]",
        "problems_by_kind": "problems: {kinds}",
        "newer_since": "[yellow]copied from generation {base}; published since: {since}[/]",
        "newer_reverted": "[yellow]reverted: {n} grids[/] {codes}",
        "newer_overridden": "[yellow]overridden: {n} grids[/] {codes}",
        "summary_head": "|count",
        "changed_grids": "changed grids",
        "households": "households whose grid changes",
        "open_events": "open events (keep their report-time grid)",
        "assignments": "staff assignments",
        "to_decide": "to decide (assignments, grid roles, zone members)",
        "zones": "zones",
        "devices": "devices",
        "households_moved": "households moved",
        "assignments_moved": "assignments moved",
        "zone_members": "zone members replaced",
        "supersedes": "supersedes the scheduled: generation {id} {name} at {at}",
        "superseded_by": "would be refused: scheduled before it: generation {id} {name} at {at}",
        "decided_move": "assignment {id} moved to {code}",
        "decided_end": "assignment {id} ended",
        "decide_one": "[red]say --move CODE or --end (one of them)[/]",
        "none_to_decide": "nothing to decide (assignments, grid roles to staff, zone members)",
        "decided_item": "decided: {decision}",
        "all_decide_table": "kind|grid|person / role / zone|choices|--item",
        "kind_assignment": "assignment (grid retired)",
        "kind_grid_role": "grid role to staff",
        "kind_zone_member": "zone member (grid retired)",
        "move_to": "move to {codes}",
        "staff_from": "{name} ({id}, now on {grid})",
        "staff_vacant": "(no candidates: add or vacant)",
        "zone_drop": "(no candidates: drop)",
        "all_decide_hint": "{n} to decide: gridgis to-decide {gen} --item '{{…}}' --reason WHY",
        "decide_table": "assignment|person|role|retired grid|move to one of",
        "decide_none": "(none: --end)",
        "decide_hint": "{n} to decide: gridgis grids decide GENERATION ASSIGNMENT --move CODE "
        "| --end --reason WHY",
        "edit_done": "{what}: {n} grids written, removed {removed}; version {version}",
        "edit_step": "{step}: edit {id} ({what}{why})",
        "by": "{op} by {actor}",
        "none": "none",
        "undone": "undone",
        "redone": "redone",
        "towns_valid": "[green]towns {towns} valid[/]",
        "params_not_json": "[red]--params is not JSON ({error}); quote it in single quotes[/]",
        "params_not_object": "[red]--params must be a JSON object[/]",
        "rebased": "draft {id}: generation {base} with the {edits} edits of draft {draft}",
        "rebased_import": "draft {id}: imported draft {draft} over generation {base}: {taken} "
        "grids taken from the active generation, {kept} kept from the draft, {conflicts} "
        "conflicts settled",
        "conflict_chosen": "  {code}: {side}",
        "conflict_row": "  {code}: draft {draft}, active {active}",
        "did_added": "added",
        "did_removed": "removed",
        "did_changed": "changed",
        "did_?": "?",
        "choose_bad": "[red]--choose {pair}: write CODE=draft or CODE=active[/]",
        "log_table": "id|version|at|who|op|grids|why|state",
        "log_version": "draft {id} is at version {version}",
        "impact_table": "grid|change|area before m²|after m²|households out|in|open events|"
        "assignments",
        "written": "written {path}",
        "diff_table": "level|code|change|area change m²",
        "choose_layer": "choose one with --layer NAME, or --layer all when the levels are in "
        "separate layers:",
        "layer_row": "  {name}: {geometry}, {features} features",
        "no_geometry": "no geometry",
        "give_crs": "give the CRS with --crs (e.g. --crs EPSG:4490)",
        "not_publishing": "[red]not publishing a grid with problems; fix them and import again[/]",
        "nothing_to_archive": "nothing to archive before {month}: months already archived or "
        "without fixes are not listed, and the month in progress is never archived",
        "archive_table": "partition|from|to|fixes",
        "archive_title": "months ending by {limit}",
        "archive_dry_run": "dry run: nothing archived (add --commit)",
        "month_format": "month {month!r} is not YYYY-MM, e.g. 2026-01",
        "not_archived": "{month} was never archived (gridgis positions archive lists the months)",
        "restore_plan": "{month}: {rows} fixes in {path} go back into the database",
        "restore_dry_run": "dry run: nothing restored (add --commit)",
        "archive_file_missing": "[red]the archive file {path} is missing; nothing changed[/]",
        "restored": "{month}: {read} fixes read, {inserted} put back (those already stored "
        "kept); the file is kept as {kept}",
    },
}


def use(lang: str | None) -> None:
    """The language of this run: ``lang`` (a command's ``--lang``) when given, else
    ``GRIDGIS_LANG``; anything but ``en`` is Chinese. A bad ``--lang`` exits 2."""
    _chosen.clear()
    if lang is None:
        return
    if lang.strip().lower() not in LANGS:
        typer.echo(f"--lang {lang}: give zh or en", err=True)
        raise typer.Exit(2)
    _chosen.append(lang.strip().lower())


def current() -> str:
    """``"zh"`` or ``"en"``: the command's ``--lang``, else ``GRIDGIS_LANG``, else Chinese."""
    if _chosen:
        return _chosen[0]
    return "en" if os.environ.get("GRIDGIS_LANG", "").strip().lower() == "en" else "zh"


def t(key: str, **values: Any) -> str:
    """The message ``key`` in the run's language, ``values`` filled in."""
    return WORDS[current()][key].format(**values)


def columns(key: str) -> list[str]:
    """A table's column titles (``|``-separated in the table)."""
    return t(key).split("|")


def detail(exc: Any) -> str:
    """A refusal (``DomainError``, ``GridFileError``) in the run's language: its Chinese text
    where one was written, else its English ``detail``; with the field it names."""
    text = getattr(exc, "detail", str(exc))
    if current() == "zh":
        text = getattr(exc, "detail_zh", None) or text
    field = getattr(exc, "field", None)
    return text + (t("field", field=field) if field else "")


def problem_detail(problem: Any) -> str:
    """A validation problem's text (a ``gis.hierarchy.Problem`` or its dict) in the run's
    language."""
    from layers.planning.problem_words import problem_text

    return problem_text(problem, current())
