"""The event dictionary: classes (2-digit) and subclasses (class + 2 digits), configurable data.

Each subclass carries its acceptance rule, its handling limit (work-hours or work-days), its
closing rule and its responsible department. The seed follows the standard classes of digital
urban management (CJJ/T 106, GB/T 30428) with typical subclasses and limits, plus a local
extension class (21, 河长制 rivers).
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import func, select
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.orm import Session, object_session

from layers.errors import CodeConflict, DomainError
from layers.events.models import EventClass, EventSubclass, LimitUnit


class SubclassNotFound(DomainError):
    """An event subclass code that is not in the dictionary."""


class InvalidEventInput(DomainError):
    """A report, action or query value that is missing or out of range (422)."""


class DictionaryFileError(DomainError):
    """A dictionary import file that cannot be read (names the row and column)."""


CLASSES: list[tuple[str, str]] = [
    ("01", "市容环境"),
    ("02", "宣传广告"),
    ("03", "施工管理"),
    ("04", "街面秩序"),
    ("05", "突发事件"),
    ("06", "其他"),
    ("21", "河道管理"),  # local extension
]

_CITY = "市城管局"
# code, name, limit, unit, department, accept rule, close rule
SUBCLASSES: list[tuple[str, str, float, str, str, str, str]] = [
    (
        "0101",
        "暴露垃圾",
        4,
        "work_hours",
        "镇街环卫所",
        "公共区域可见生活垃圾、建筑垃圾堆放",
        "现场清理干净，有处置后照片",
    ),
    (
        "0102",
        "积存垃圾渣土",
        1,
        "work_days",
        "镇街环卫所",
        "垃圾渣土积存超过0.5立方米",
        "清运完毕，无残留",
    ),
    (
        "0103",
        "道路不洁",
        4,
        "work_hours",
        "镇街环卫所",
        "路面存在明显污物、油渍、泥沙",
        "路面恢复清洁",
    ),
    ("0104", "垃圾满溢", 4, "work_hours", "镇街环卫所", "垃圾桶、垃圾箱满溢", "清运并清洗周边"),
    ("0105", "绿地脏乱", 1, "work_days", "市园林局", "公共绿地内杂物、垃圾", "绿地恢复整洁"),
    ("0106", "水域不洁", 2, "work_days", "市水利局", "河道水面漂浮物", "水面无漂浮物"),
    (
        "0107",
        "焚烧垃圾树叶",
        2,
        "work_hours",
        "镇街环卫所",
        "露天焚烧垃圾、树叶、秸秆",
        "明火熄灭，残余清理",
    ),
    (
        "0201",
        "违规张贴小广告",
        1,
        "work_days",
        _CITY,
        "墙面、设施上张贴、涂写小广告",
        "清除干净，无痕迹",
    ),
    ("0202", "违规户外广告", 5, "work_days", _CITY, "未经审批设置的户外广告牌", "拆除或补办审批"),
    ("0203", "广告牌破损", 3, "work_days", _CITY, "广告设施破损、存在安全隐患", "修复或拆除"),
    ("0301", "施工扰民", 4, "work_hours", "市住建局", "夜间或禁止时段施工噪声", "停止违规施工"),
    (
        "0302",
        "施工占道",
        1,
        "work_days",
        "市住建局",
        "施工围挡占用道路未审批",
        "恢复道路通行或补办手续",
    ),
    ("0303", "违法建设停工", 4, "work_hours", _CITY, "正在施工的违法建设", "责令停工，现场停工"),
    (
        "0304",
        "违法建设拆除",
        20,
        "work_days",
        _CITY,
        "已建成的违法建设，经认定需拆除",
        "拆除完毕，复原场地",
    ),
    ("0305", "渣土车辆撒漏", 4, "work_hours", _CITY, "运输车辆沿途撒漏", "清理路面，查处车辆"),
    ("0401", "占道经营", 2, "work_hours", _CITY, "流动摊贩或店外占道经营", "摊贩撤离，道路畅通"),
    ("0402", "店外经营", 4, "work_hours", _CITY, "商户超出门窗经营", "物品收回店内"),
    ("0403", "乱堆物堆料", 1, "work_days", _CITY, "道路、公共区域堆放物料", "清理完毕"),
    ("0404", "非机动车乱停放", 4, "work_hours", "市公安交警大队", "非机动车阻碍通行", "车辆规整"),
    ("0405", "机动车违停", 2, "work_hours", "市公安交警大队", "人行道、盲道违停", "车辆驶离"),
    ("0406", "露天烧烤", 2, "work_hours", _CITY, "露天烧烤油烟扰民", "停止烧烤，设备收回"),
    (
        "0501",
        "道路塌陷",
        2,
        "work_hours",
        "市交通运输局",
        "路面塌陷、坑洞危及通行",
        "设置警示并修复",
    ),
    ("0502", "井盖缺失", 2, "work_hours", "市住建局", "井盖缺失、破损", "补齐井盖或设置警示"),
    ("0503", "管道破裂", 2, "work_hours", "市水务集团", "供水、排水管道破裂", "止漏并修复"),
    ("0504", "树木倒伏", 4, "work_hours", "市园林局", "树木倒伏阻碍通行", "清理倒伏树木"),
    ("0601", "路灯不亮", 3, "work_days", "市住建局", "路灯夜间不亮", "恢复照明"),
    ("0602", "公共设施损坏", 5, "work_days", "镇街", "座椅、护栏等设施损坏", "修复或更换"),
    ("0603", "其他事项", 5, "work_days", "镇街", "不属于其他小类的事项", "按事项处置完毕"),
    (
        "2101",
        "河道违法排污",
        1,
        "work_days",
        "市生态环境局",
        "排口向河道排放污水",
        "排口封堵，水质复查",
    ),
    ("2102", "河岸违章搭建", 10, "work_days", "市水利局", "河道管理范围内搭建", "拆除并复原河岸"),
]

# English names of the seed (the pages and the API in English, ``lang=en``); a class or
# subclass without one is shown by its Chinese name. Kept apart from the tuples above, which
# migration 0003 unpacks by position.
CLASS_NAMES_EN: dict[str, str] = {
    "01": "City environment",
    "02": "Advertising",
    "03": "Construction",
    "04": "Street order",
    "05": "Emergencies",
    "06": "Other",
    "21": "Rivers",
}
SUBCLASS_NAMES_EN: dict[str, str] = {
    "0101": "Exposed rubbish",
    "0102": "Piled-up rubbish or muck",
    "0103": "Dirty road",
    "0104": "Overflowing bin",
    "0105": "Littered green space",
    "0106": "Dirty water surface",
    "0107": "Burning rubbish or leaves",
    "0201": "Illegal flyposting",
    "0202": "Unlicensed outdoor advertising",
    "0203": "Damaged billboard",
    "0301": "Construction noise",
    "0302": "Construction blocking the road",
    "0303": "Illegal building under way",
    "0304": "Illegal building to demolish",
    "0305": "Spillage from muck trucks",
    "0401": "Street vending",
    "0402": "Trading outside the shop",
    "0403": "Goods piled on public space",
    "0404": "Badly parked bicycles",
    "0405": "Illegally parked vehicle",
    "0406": "Open-air barbecue",
    "0501": "Road collapse",
    "0502": "Missing manhole cover",
    "0503": "Burst pipe",
    "0504": "Fallen tree",
    "0601": "Street light out",
    "0602": "Damaged public facility",
    "0603": "Other matter",
    "2101": "Illegal discharge into a river",
    "2102": "Illegal structure on a river bank",
}

FIELDS = (
    "code",
    "class_code",
    "name",
    "accept_rule",
    "limit_value",
    "limit_unit",
    "close_rule",
    "department",
)


def seed(*, session: Session) -> int:
    """Insert the seed dictionary where the codes are missing (idempotent); rows inserted."""
    session.execute(
        insert(EventClass)
        .values(
            [
                {"code": c, "name": n, "name_en": CLASS_NAMES_EN.get(c), "kind": "event"}
                for c, n in CLASSES
            ]
        )
        .on_conflict_do_nothing()
    )
    rows = [
        dict(
            zip(
                (
                    "code",
                    "name",
                    "limit_value",
                    "limit_unit",
                    "department",
                    "accept_rule",
                    "close_rule",
                ),
                row,
                strict=True,
            )
        )
        | {"class_code": row[0][:2], "name_en": SUBCLASS_NAMES_EN.get(row[0])}
        for row in SUBCLASSES
    ]
    result = session.execute(insert(EventSubclass).values(rows).on_conflict_do_nothing())
    return int(getattr(result, "rowcount", 0) or 0)


def get_subclass(*, session: Session, code: str, field: str = "subclass") -> EventSubclass:
    found = session.get(EventSubclass, code)
    if found is None or not found.active:
        raise SubclassNotFound(
            f"event subclass {code!r} is not in the dictionary; list the codes at "
            "/api/v1/event-dictionary (4 digits: class + subclass, e.g. 0101)",
            field=field,
        )
    return found


UNNAMED_EN = "Event type without an English name"
"""What an English page shows for an entry that has no English name, nor a class that has one
(never the Chinese name, never a bare code)."""


def display_name(
    name_zh: str, name_en: str | None, lang: str, class_name_en: str | None = None
) -> str:
    """The name people read in ``lang`` ("zh" or "en"); the one rule for every page and API.

    Chinese pages: the Chinese name. English pages: the English name; a subclass without one
    falls back to its class's English name (``class_name_en``), then to :data:`UNNAMED_EN`.
    The Chinese name is never shown on an English page (issue 15: one language per page)."""
    if lang != "en":
        return name_zh
    return name_en or class_name_en or UNNAMED_EN


def subclass_name_en() -> Any:
    """SQL: a subclass's English name, else its class's (a column expression over
    ``EventSubclass``; ``None`` when neither has one). Select it beside ``EventSubclass.name``
    and pass both to :func:`display_name`."""
    class_en = (
        select(EventClass.name_en)
        .where(EventClass.code == EventSubclass.class_code)
        .scalar_subquery()
    )
    return func.coalesce(EventSubclass.name_en, class_en)


def subclass_name(s: EventSubclass, lang: str) -> str:
    """A loaded subclass's name in ``lang`` (:func:`display_name`, its class read when the
    subclass has no English name)."""
    class_en = None
    if lang == "en" and not s.name_en:
        session = object_session(s)
        found = session.get(EventClass, s.class_code) if session is not None else None
        class_en = found.name_en if found is not None else None
    return display_name(s.name, s.name_en, lang, class_en)


def class_dict(c: EventClass, lang: str = "zh") -> dict[str, Any]:
    """A class as the API shows it: ``name`` in ``lang``, both names beside it."""
    return {
        "code": c.code,
        "name": display_name(c.name, c.name_en, lang),
        "name_zh": c.name,
        "name_en": c.name_en,
        "kind": c.kind,
    }


def list_dictionary(*, session: Session, lang: str = "zh") -> list[dict[str, Any]]:
    """Every class with its subclasses, names in ``lang``."""
    classes = session.scalars(select(EventClass).order_by(EventClass.code)).all()
    subs = session.scalars(select(EventSubclass).order_by(EventSubclass.code)).all()
    return [
        class_dict(c, lang)
        | {
            "subclasses": [
                subclass_dict(s, lang, class_name_en=c.name_en)
                for s in subs
                if s.class_code == c.code
            ]
        }
        for c in classes
    ]


def subclass_dict(
    s: EventSubclass, lang: str = "zh", *, class_name_en: str | None = None
) -> dict[str, Any]:
    """A subclass as the API shows it: ``name`` in ``lang`` (:func:`display_name`; the class's
    English name read when not given), both stored names beside it."""
    name = (
        display_name(s.name, s.name_en, lang, class_name_en)
        if class_name_en is not None
        else subclass_name(s, lang)
    )
    return {
        "code": s.code,
        "class_code": s.class_code,
        "name": name,
        "name_zh": s.name,
        "name_en": s.name_en,
        "accept_rule": s.accept_rule,
        "limit_value": s.limit_value,
        "limit_unit": s.limit_unit.value,
        "close_rule": s.close_rule,
        "department": s.department,
        "active": s.active,
    }


def _check_row(row: dict[str, Any], where: str) -> dict[str, Any]:
    out = {k: (str(row.get(k)).strip() if row.get(k) is not None else "") for k in FIELDS}
    # Spreadsheets drop leading zeros (0101 -> 101): give them back.
    if out["code"].isdigit() and len(out["code"]) == 3:
        out["code"] = out["code"].zfill(4)
    if out["class_code"].isdigit() and len(out["class_code"]) == 1:
        out["class_code"] = out["class_code"].zfill(2)
    if not out["class_code"]:
        out["class_code"] = out["code"][:2]
    for key in FIELDS:
        if not out[key]:
            raise DictionaryFileError(f"{where}: {key} is empty; fill it in", field=key)
    if len(out["code"]) != 4 or not out["code"].isdigit():
        raise DictionaryFileError(
            f"{where}: code {out['code']!r} must be 4 digits (class + subclass)", field="code"
        )
    if out["code"][:2] != out["class_code"]:
        raise DictionaryFileError(
            f"{where}: code {out['code']} does not start with its class {out['class_code']}",
            field="class_code",
        )
    try:
        value = float(out["limit_value"])
    except ValueError:
        value = -1.0
    if not value > 0:
        raise DictionaryFileError(
            f"{where}: limit_value {out['limit_value']!r} must be a positive number",
            field="limit_value",
        )
    if out["limit_unit"] not in {u.value for u in LimitUnit}:
        raise DictionaryFileError(
            f"{where}: limit_unit {out['limit_unit']!r} must be work_hours or work_days",
            field="limit_unit",
        )
    if out["limit_unit"] == "work_days" and value != int(value):
        raise DictionaryFileError(
            f"{where}: a limit in work_days must be whole; use work_hours for fractions",
            field="limit_value",
        )
    return out | {"limit_value": value}


def upsert_subclass(*, session: Session, row: dict[str, Any], where: str = "body") -> EventSubclass:
    """Create or replace one subclass (its class must exist); a retired one (DELETE) is
    brought back: what is written is in use."""
    values = _check_row(row, where)
    if session.get(EventClass, values["class_code"]) is None:
        raise CodeConflict(
            f"{where}: class {values['class_code']} does not exist; create it first "
            "(POST /api/v1/event-dictionary/classes)",
            field="class_code",
        )
    columns = [k for k in FIELDS if k != "code"]
    values["active"] = True
    columns.append("active")
    if "name_en" in row:  # optional: a file or body without it keeps the stored English name
        values["name_en"] = _name_en(row["name_en"], where)
        columns.append("name_en")
    stmt = insert(EventSubclass).values(**values)
    stmt = stmt.on_conflict_do_update(
        index_elements=["code"], set_={k: stmt.excluded[k] for k in columns}
    )
    session.execute(stmt)
    session.flush()
    found = session.get(EventSubclass, values["code"])
    assert found is not None
    session.refresh(found)
    return found


def _name_en(value: Any, where: str) -> str | None:
    """An English name: text of at most 100 characters, empty meaning none."""
    text = "" if value is None else str(value).strip()
    if len(text) > 100:
        raise DictionaryFileError(
            f"{where}: name_en has {len(text)} characters; shorten it to 100", field="name_en"
        )
    return text or None


def upsert_class(
    *,
    session: Session,
    code: str,
    name: str,
    kind: str = "event",
    name_en: str | None = None,
) -> EventClass:
    """Create or rename a class; ``name_en`` None keeps the stored English name."""
    if len(code) != 2 or not code.isdigit():
        raise DictionaryFileError(f"class code {code!r} must be 2 digits", field="code")
    values: dict[str, Any] = {"name": name, "kind": kind}
    if name_en is not None:
        values["name_en"] = _name_en(name_en, "body")
    stmt = insert(EventClass).values(code=code, **values)
    session.execute(stmt.on_conflict_do_update(index_elements=["code"], set_=values))
    found = session.get(EventClass, code)
    assert found is not None
    session.refresh(found)
    return found


def deactivate_subclass(*, session: Session, code: str) -> None:
    """Subclasses used by events are kept (history needs them): they are deactivated."""
    get_subclass(session=session, code=code).active = False


def read_table(content: bytes, filename: str, charset: str | None = None) -> list[dict[str, Any]]:
    """Rows of a CSV (declared or detected encoding: UTF-8, GB18030, …) or XLSX file as dicts
    by header, read by the one table reader (layers.tables)."""
    from layers.tables import MAX_ROWS, header_dicts, table_kind
    from layers.tables import read_table as read_rows

    rows = read_rows(
        content, kind=table_kind(None, filename), charset=charset, max_rows=MAX_ROWS, field="file"
    )
    if not rows:
        raise DictionaryFileError(f"{filename} is empty", field="file")
    return header_dicts(rows)


def import_subclasses(
    *, session: Session, content: bytes, filename: str, charset: str | None = None
) -> int:
    """Import a CSV/XLSX with columns :data:`FIELDS`; all rows or none (caller's transaction)."""
    rows = read_table(content, filename, charset)
    missing = [f for f in FIELDS if f != "class_code" and rows and f not in rows[0]]
    if missing or not rows:
        raise DictionaryFileError(
            f"{filename} lacks the columns {', '.join(missing) or 'and rows'}; the header must "
            f"be {','.join(FIELDS)}",
            field="file",
        )
    for number, row in enumerate(rows, start=2):
        upsert_subclass(session=session, row=row, where=f"{filename} row {number}")
    return len(rows)
