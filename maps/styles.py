"""User-facing words (zh and en) and the look of the grid levels, in one place.

Every page takes its labels from :data:`LABELS` through :func:`label`, so a wording is changed
once and both languages stay side by side. Chinese is the default; an unknown language falls
back to Chinese rather than failing a page.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal, get_args

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
    # Login page (api/pages/login.py)
    "login_title": {"zh": "网格通 · 登录", "en": "GridGIS · Sign in"},
    "login_token": {"zh": "访问令牌", "en": "Access token"},
    "login_submit": {"zh": "登录", "en": "Sign in"},
    "login_failed": {"zh": "令牌无效或已停用", "en": "Unknown or revoked token"},
}


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
