"""Personal identifiers: checks and masks (names, resident ID numbers, mobile numbers).

Pure functions on strings. Masks follow the usual Chinese display rules: a name keeps its
surname (``张**``), a phone keeps its first 3 and last 4 digits (``138****1234``), an ID number
keeps its first 6 (the issuing area) and last 4 characters.
"""

from __future__ import annotations

import re

# GB 11643-1999: weights of the first 17 digits and the check character for sum mod 11.
_ID_WEIGHTS = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)
_ID_CHECK = "10X98765432"
_ID_FORM = re.compile(r"^[1-9]\d{16}[\dX]$")
_MOBILE_FORM = re.compile(r"^1[3-9]\d{9}$")
# Two-character compound surnames common enough to keep whole when masking.
COMPOUND_SURNAMES = frozenset(
    {"欧阳", "司马", "诸葛", "上官", "东方", "皇甫", "尉迟", "公孙", "慕容"}
)


def id_check_char(first17: str) -> str:
    """The GB 11643 check character (``0``-``9`` or ``X``) of the first 17 digits."""
    total = sum(int(d) * w for d, w in zip(first17, _ID_WEIGHTS, strict=True))
    return _ID_CHECK[total % 11]


def id_number_problem(value: str) -> str | None:
    """Why ``value`` is not a valid 18-character resident ID number, or None if it is."""
    v = value.strip().upper()
    if not _ID_FORM.match(v):
        return "an ID number has 17 digits and a final digit or X (18 characters)"
    if id_check_char(v[:17]) != v[17]:
        return f"its check character should be {id_check_char(v[:17])}, not {v[17]}; retype it"
    return None


def mobile_problem(value: str) -> str | None:
    """Why ``value`` is not a mainland mobile number (11 digits, 13x-19x), or None."""
    if not _MOBILE_FORM.match(normalize_mobile(value)):
        return "a mobile number has 11 digits starting 13-19, e.g. 13812341234"
    return None


def normalize_mobile(value: str) -> str:
    v = value.strip().replace(" ", "").replace("-", "")
    return v[3:] if v.startswith("+86") else v


def mask_name(name: str | None) -> str | None:
    """``张三丰`` -> ``张**``; compound surnames are kept whole (``欧阳**``)."""
    if not name:
        return name
    keep = 2 if name[:2] in COMPOUND_SURNAMES else 1
    return name[:keep] + "*" * max(len(name) - keep, 1)


def mask_phone(phone: str | None) -> str | None:
    """``13812341234`` -> ``138****1234``; short numbers keep only their last 2 digits."""
    if not phone:
        return phone
    if len(phone) >= 11:
        return phone[:3] + "*" * (len(phone) - 7) + phone[-4:]
    return "*" * max(len(phone) - 2, 1) + phone[-2:]


def mask_id_number(value: str | None) -> str | None:
    """``320281199001011234`` -> ``320281********1234``."""
    if not value:
        return value
    if len(value) < 10:
        return "*" * len(value)
    return value[:6] + "*" * (len(value) - 10) + value[-4:]
