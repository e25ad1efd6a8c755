"""Unified social credit codes (统一社会信用代码, GB 32100-2015): check and describe."""

from __future__ import annotations

ALPHABET = "0123456789ABCDEFGHJKLMNPQRTUWXY"  # 31 characters: no I, O, Z, S, V
WEIGHTS = (1, 3, 9, 27, 19, 26, 16, 17, 20, 29, 25, 13, 8, 24, 10, 30, 28)


def check_char(first17: str) -> str:
    total = sum(ALPHABET.index(c) * w for c, w in zip(first17, WEIGHTS, strict=True))
    return ALPHABET[(31 - total % 31) % 31]


def credit_code_problem(value: str) -> str | None:
    """Why ``value`` is not a valid unified social credit code, or None."""
    v = value.strip().upper()
    if len(v) != 18:
        return f"a unified social credit code has 18 characters, this has {len(v)}"
    bad = sorted({c for c in v if c not in ALPHABET})
    if bad:
        return f"characters {''.join(bad)} cannot appear (I, O, Z, S, V are never used)"
    expected = check_char(v[:17])
    if v[17] != expected:
        return f"its check character should be {expected}, not {v[17]}; retype the code"
    return None


def make_code(first17: str) -> str:
    """Complete 17 valid characters with their check character (for synthetic registers)."""
    return first17 + check_char(first17)
