"""A refusal by a database constraint, in words a caller can act on.

The database's constraints (unique keys, foreign keys, NOT NULL, CHECK) are the last line of
defence. When one refuses a write, the caller must learn *which field* and *what to do*, never
the constraint's name or the SQL text (``duplicate key value violates unique constraint
"app_user_name_key"``). :func:`describe_integrity` turns the driver's error (psycopg's
``diag``: SQLSTATE, constraint, column, detail) into ``IntegrityWords(field, en, zh)``: a known
constraint by :data:`CONSTRAINTS`, any other by its kind and key columns.
Used by api/errors.py (HTTP 409 problem+json), the roster import and the grid loader.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

# psycopg's message_detail of a unique or foreign-key violation:
#   Key (generation_id, code)=(12, 320281001001001) already exists.
#   Key (grid_code)=(3202…) is not present in table "grid".
#   Key (id)=(5) is still referenced from table "event".
_KEY = re.compile(
    r"Key \((?P<cols>[^)]*)\)=\((?P<vals>.*)\) "
    r"(?P<what>already exists|is not present|is still referenced)"
)


@dataclass(frozen=True)
class IntegrityWords:
    """What a constraint refused: the request field to fix and the message (en, zh)."""

    field: str
    en: str
    zh: str


# constraint → (field, English, Chinese); ``{value}`` is the refused value as the caller sent it
# (left out where it is a secret's hash).
CONSTRAINTS: dict[str, tuple[str, str, str]] = {
    "app_user_name_key": ("name", "a user named {value} already exists; choose another user name",
                          "用户名 {value} 已存在，请换一个用户名"),
    "api_token_token_hash_key": ("token", "this token already exists; create a new token",
                                 "该令牌已存在，请重新生成令牌"),
    "user_session_id_hash_key": ("session", "this session already exists; sign in again",
                                 "该会话已存在，请重新登录"),
    "grid_code_unique_per_generation": (
        "code", "code {value} is already used in this generation; choose a free code",
        "编码 {value} 在该版本中已被使用，请换一个未用的编码"),
    "grid_code_prefixed_by_parent": (
        "code", "a grid's code must be its parent's code followed by 3 digits (a town's code has "
        "no parent); fix the code or the parent_code (DOMAIN.md section 1)",
        "网格编码须为上级编码加 3 位数字（镇级无上级），请更正编码或上级编码"),
    "grid_code_length_matches_level": (
        "code", "a grid's code has 9, 12 or 15 digits for levels 1, 2 and 3; fix the code or "
        "the level",
        "网格编码长度须与层级一致（一、二、三级分别为 9、12、15 位），请更正编码或层级"),
    "grid_code_digits": ("code", "a grid's code is digits only; fix the code",
                         "网格编码只能由数字组成，请更正编码"),
    "grid_level_valid": ("level", "a grid's level is 1, 2 or 3", "网格层级只能是 1、2 或 3"),
    "grid_geom_valid": ("geometry", "a grid's polygon is not valid (self-intersecting or "
                        "broken); repair it (e.g. ST_MakeValid or QGIS's Fix geometries)",
                        "网格面不合法（自相交或破损），请先修复（如 QGIS 的修复几何）"),
    "grid_parent_exists": ("parent_code", "the parent grid {value} does not exist in this "
                           "generation; add it or fix parent_code",
                           "上级网格 {value} 在该版本中不存在，请补上或更正上级编码"),
    "generation_one_active": (
        "generation", "another generation is already in force; publish through the review "
        "(POST /api/v1/generations/{{id}}/publish), which retires it",
        "已有现行版本；请通过审核发布（publish），发布时会停用旧版本"),
    "person_id_number_key": ("id_number", "a person with ID number {value} already exists; "
                             "update that person instead of adding a new one",
                             "证件号 {value} 的人员已存在，请修改该人员而不是新增"),
    "team_name_key": ("name", "a team named {value} already exists; choose another name",
                      "队伍名称 {value} 已存在，请换一个名称"),
    "device_external_id_key": ("external_id", "a device with external id {value} is already "
                               "registered; update that device or use another id",
                               "外部编号为 {value} 的设备已登记，请修改该设备或换一个编号"),
    "assignment_unique": ("grid_code", "this person already holds this role in this grid from "
                          "that date; change the role or the date",
                          "该人员自该日期起已在此网格担任此岗位，请更改岗位或日期"),
    "event_external_ref_key": ("external_ref", "an event with external reference {value} "
                               "already exists; send each report once",
                               "外部编号 {value} 的事件已存在，同一上报请只发送一次"),
    "enforcement_zone_code_key": ("code", "a zone with code {value} already exists; choose "
                                  "another code", "编码 {value} 的执法区域已存在，请换一个编码"),
    "household_code_key": ("code", "a household with code {value} already exists; choose "
                           "another code", "编码 {value} 的住户已存在，请换一个编码"),
    "market_entity_credit_code_key": ("credit_code", "a market entity with credit code {value} "
                                      "already exists; update that entity",
                                      "统一社会信用代码 {value} 的市场主体已存在，请修改该主体"),
    "coverage_run_unique": ("day", "this day's coverage was computed meanwhile; read it instead",
                            "该日的覆盖率已在计算完成，请直接读取"),
    "idempotency_key_owner_key": ("Idempotency-Key", "this Idempotency-Key was used at the same "
                                  "moment; send the request again to get its answer",
                                  "该 Idempotency-Key 正在被同时使用，请重发请求以取得结果"),
}  # fmt: skip


def _key(detail: str) -> tuple[list[str], str, str] | None:
    m = _KEY.search(detail or "")
    if m is None:
        return None
    return [c.strip() for c in m["cols"].split(",")], m["vals"], m["what"]


def describe_integrity(exc: BaseException) -> IntegrityWords:
    """The field and the fix for an integrity error (SQLAlchemy's ``IntegrityError`` or the
    driver's own), in English and Chinese, naming no constraint and no SQL."""
    orig: Any = getattr(exc, "orig", None) or exc
    diag = getattr(orig, "diag", None)
    state = getattr(orig, "sqlstate", None) or getattr(diag, "sqlstate", None) or ""
    constraint = getattr(diag, "constraint_name", None) or ""
    detail = getattr(diag, "message_detail", None) or ""
    key = _key(detail)
    cols, value = (key[0], key[1]) if key else ([], "")
    # the key's last column is the one a caller chose (generation_id, code → code)
    shown = value.split(", ")[-1] if value else ""
    if constraint in CONSTRAINTS:
        field, en, zh = CONSTRAINTS[constraint]
        return IntegrityWords(field, en.format(value=shown or "…"), zh.format(value=shown or "…"))
    column = getattr(diag, "column_name", None) or (cols[-1] if cols else "")
    field = column or "body"
    if state == "23505":  # unique_violation
        return IntegrityWords(
            field, f"{field} {shown} is already used; choose another value",
            f"{field} {shown} 已被使用，请换一个值",
        )  # fmt: skip
    if state == "23503":  # foreign_key_violation
        if key and key[2] == "is still referenced":
            return IntegrityWords(
                field, "this record is still used by other records; remove or move those first",
                "该记录仍被其他记录引用，请先删除或移走它们",
            )  # fmt: skip
        return IntegrityWords(
            field, f"{field} {shown} does not exist; give an existing one",
            f"{field} {shown} 不存在，请填写已有的值",
        )  # fmt: skip
    if state == "23502":  # not_null_violation
        return IntegrityWords(field, f"{field} is required; give it", f"{field} 为必填项，请填写")
    return IntegrityWords(
        field, "a value breaks a rule of the data; correct it and send it again",
        "某个值不符合数据规则，请更正后重新发送",
    )  # fmt: skip
