"""A validation problem (``gis.hierarchy.Problem``) in the reader's language.

``gis.hierarchy`` writes each problem's ``detail`` in English (the names, numbers and the fix);
:func:`problem_text` says it in Chinese from the problem's own fields — kind, codes, level, area
(m²), width (m), location (lon, lat, EPSG:4490) — with the fix for its kind, and leaves the
English detail as it is. :func:`localise_problems` does it to the ``problems`` of an answer
(``layers.planning.drafts.problems_summary``, ``GET …/problems``, the refusals' ``problems``)
so that ``problems[].detail`` follows the caller's language like the refusal's ``detail``.
"""

from __future__ import annotations

from typing import Any

FIX_ZH = {
    "invalid_geometry": "几何图形无效：请在 QGIS 中用“修复几何图形”修复",
    "empty_geometry": "几何图形为空：请补画该网格的范围",
    "code_format": "编码格式错误：请在属性表中改正编码（编码为数字文本）",
    "code_length": "编码长度与级别不符（镇街 9 位、村社区 12 位、网格 15 位）：请改正编码或级别",
    "code_prefix": "编码与上级编码不一致：请在属性表中使 code 与 parent_code 一致",
    "duplicate_code": "编码重复：请为其中一个网格改用未使用的编码",
    "missing_parent": "缺少上级网格：请填写 parent_code，或补上上级网格",
    "overlap": "网格相互重叠：请移动共享边界，使该区域只属于一个网格"
    "（在 QGIS 中把两者捕捉到同一条边）",
    "gap": "有区域不属于任何下级网格：请扩展相邻网格覆盖它，或补上缺少的网格",
    "outside_parent": "网格超出上级网格范围：请把超出部分移回上级网格内，或调整上级",
    "not_tiling_parent": "下级网格未拼满上级网格：请使下级网格恰好铺满上级网格",
    "count_mismatch": "某一级没有网格：城市需要镇街、村社区和网格三级；请导入缺少的图层",
}
LEVEL_ZH = {1: "镇街", 2: "村社区", 3: "网格"}


def _get(problem: Any, key: str) -> Any:
    if isinstance(problem, dict):
        return problem.get(key)
    value = getattr(problem, key, None)
    return getattr(value, "value", value)  # ProblemKind → its string


def problem_text(problem: Any, lang: str) -> str:
    """The problem's detail in ``lang`` ("zh" or "en"): English as ``gis.hierarchy`` wrote it;
    Chinese built from its fields (``{kind}: {codes} {area} {width} {location}; {fix}``)."""
    english = str(_get(problem, "detail") or "")
    if lang != "zh":
        return english
    kind = str(_get(problem, "kind") or "")
    codes = [str(c) for c in (_get(problem, "codes") or ())]
    level = _get(problem, "level")
    area, width, at = _get(problem, "area_m2"), _get(problem, "width_m"), _get(problem, "location")
    parts = []
    if codes:
        parts.append(f"{LEVEL_ZH.get(level, '网格')} {'、'.join(codes[:8])}")
    elif level in LEVEL_ZH:
        parts.append(f"{LEVEL_ZH[level]}级")
    if area is not None:
        parts.append(f"面积 {float(area):,.1f} m²")
    if width is not None:
        parts.append(f"最宽 {float(width):.2f} m")
    if at:
        parts.append(f"位置 {float(at[0]):.6f}, {float(at[1]):.6f}")
    fix = FIX_ZH.get(kind, "请改正")
    return ("，".join(parts) + "：" if parts else "") + fix


def localise_problems(items: list[dict[str, Any]], lang: str) -> list[dict[str, Any]]:
    """Problem dicts with ``detail`` in ``lang`` (the English one kept as ``detail_en`` when
    it changed)."""
    if lang != "zh":
        return items
    out = []
    for item in items:
        zh = problem_text(item, "zh")
        out.append({**item, "detail": zh, "detail_en": item.get("detail")})
    return out
