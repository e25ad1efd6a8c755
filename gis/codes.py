"""Grid codes of the three-level grid (DOMAIN.md section 1).

- L1 town / sub-district: 9 digits = county code (6) + town code (3), e.g. 320281104.
  Town codes: 001-099 sub-districts (街道), 100-199 towns (镇), 400-599 development zones.
- L2 village / community: 12 digits = L1 + 3 digits; 0xx communities (社区), 2xx villages (村).
- L3 unit grid: 15 digits = L2 + 3-digit sequence 001-999, numbered west to east, then north
  to south inside the village.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

LEVEL_CODE_LENGTH: dict[int, int] = {1: 9, 2: 12, 3: 15}
LEVELS = (1, 2, 3)
JIANGYIN_COUNTY_CODE = "320281"

JIANGYIN_TOWNS: dict[str, str] = {
    # code: name (2022 statistical division codes; 400 is the high-tech zone, the 17th L1 grid)
    "320281001": "澄江街道",
    "320281004": "南闸街道",
    "320281005": "云亭街道",
    "320281007": "申港街道",
    "320281008": "利港街道",
    "320281009": "夏港街道",
    "320281100": "璜土镇",
    "320281102": "月城镇",
    "320281103": "青阳镇",
    "320281104": "徐霞客镇",
    "320281107": "华士镇",
    "320281108": "周庄镇",
    "320281109": "新桥镇",
    "320281110": "长泾镇",
    "320281111": "顾山镇",
    "320281112": "祝塘镇",
    "320281400": "江阴高新技术产业开发区",
}


_DIGITS = re.compile(r"^[0-9]+$")


class InvalidCode(ValueError):
    """A grid code that does not follow the rules; the message says which rule and the fix."""

    def __init__(self, code: str, reason: str) -> None:
        super().__init__(f"grid code {code!r}: {reason}")
        self.code = code
        self.reason = reason


@dataclass(frozen=True)
class TownKind:
    """What a 3-digit town code range means."""

    label_zh: str
    label_en: str


def level_of(code: str) -> int:
    """The grid level (1, 2 or 3) a code denotes by its length.

    Raises
    ------
    InvalidCode
        If the code is not all digits or not 9, 12 or 15 digits long.
    """
    if not isinstance(code, str) or not _DIGITS.match(code):
        raise InvalidCode(str(code), "must consist of digits only, e.g. 320281104201003")
    for level, length in LEVEL_CODE_LENGTH.items():
        if len(code) == length:
            return level
    raise InvalidCode(
        code, f"has {len(code)} digits; L1 codes have 9, L2 codes 12 and L3 codes 15 digits"
    )


def parent_of(code: str) -> str | None:
    """The parent's code (the code without its last three digits); None for an L1 code."""
    level = level_of(code)
    if level == 1:
        return None
    return code[: LEVEL_CODE_LENGTH[level - 1]]


def ancestors_of(code: str) -> list[str]:
    """Codes of all ancestors, nearest first (an L3 code gives [L2, L1])."""
    out: list[str] = []
    parent = parent_of(code)
    while parent is not None:
        out.append(parent)
        parent = parent_of(parent)
    return out


def code_problems(code: str, level: int, parent_code: str | None) -> list[str]:
    """Every rule the code breaks for a grid of ``level`` under ``parent_code`` (empty if fine).

    Each message names the rule and how to fix it.
    """
    problems: list[str] = []
    expected = LEVEL_CODE_LENGTH.get(level)
    if expected is None:
        return [f"level {level} does not exist; use 1, 2 or 3"]
    if not isinstance(code, str) or not _DIGITS.match(code):
        return [f"code {code!r} must consist of digits only"]
    if len(code) != expected:
        problems.append(
            f"code {code} has {len(code)} digits; a level-{level} code has {expected} digits"
        )
    local = code[-3:]
    if level == 3 and local == "000":
        problems.append(f"code {code}: unit-grid sequence numbers run 001-999, not 000")
    if level == 2 and not (local.startswith("0") or local.startswith("2")):
        problems.append(
            f"code {code}: village codes are 0xx for communities and 2xx for villages, not {local}"
        )
    if level == 1:
        if parent_code is not None:
            problems.append(f"code {code}: a level-1 grid has no parent, got {parent_code}")
    else:
        if parent_code is None:
            problems.append(f"code {code}: a level-{level} grid needs a parent code")
        elif code[:-3] != parent_code:
            problems.append(
                f"code {code} must start with its parent's code {parent_code}; "
                f"use {parent_code}{local}"
            )
    return problems


def town_kind(town_code3: str) -> TownKind:
    """The kind of first-level unit a 3-digit town code denotes."""
    number = int(town_code3)
    if 1 <= number <= 99:
        return TownKind("街道", "sub-district")
    if 100 <= number <= 199:
        return TownKind("镇", "town")
    if 400 <= number <= 599:
        return TownKind("开发区", "development zone")
    return TownKind("其他", "other")


def is_community(village_code: str) -> bool:
    """True for a community (社区, local code 0xx), False for a village (村, 2xx)."""
    return village_code[-3] == "0"
