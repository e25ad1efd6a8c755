"""Grid code rules (DOMAIN.md section 1)."""

from __future__ import annotations

import pytest

from gis.codes import (
    JIANGYIN_TOWNS,
    InvalidCode,
    ancestors_of,
    code_problems,
    is_community,
    level_of,
    parent_of,
    town_kind,
)


def test_levels_and_parents() -> None:
    assert level_of("320281104") == 1
    assert level_of("320281104201") == 2
    assert level_of("320281104201003") == 3
    assert parent_of("320281104201003") == "320281104201"
    assert parent_of("320281104") is None
    assert ancestors_of("320281104201003") == ["320281104201", "320281104"]


@pytest.mark.parametrize("bad", ["", "12345", "3202811042010031", "32028110420100x", "ABCDEFGHI"])
def test_bad_codes_raise_with_a_fix(bad: str) -> None:
    with pytest.raises(InvalidCode, match="digits"):
        level_of(bad)


def test_real_town_table() -> None:
    assert len(JIANGYIN_TOWNS) == 17
    assert JIANGYIN_TOWNS["320281104"] == "徐霞客镇"
    assert town_kind("001").label_zh == "街道"
    assert town_kind("112").label_zh == "镇"
    assert town_kind("400").label_zh == "开发区"


def test_code_problems() -> None:
    assert code_problems("320281104201003", 3, "320281104201") == []
    assert "start with its parent" in code_problems("320281104202003", 3, "320281104201")[0]
    assert "12 digits" in code_problems("3202811042", 2, "320281104")[0]
    assert "0xx for communities" in code_problems("320281104501", 2, "320281104")[0]
    assert "001-999" in code_problems("320281104201000", 3, "320281104201")[0]
    assert "no parent" in code_problems("320281104", 1, "320281")[0]
    assert is_community("320281001003") and not is_community("320281104201")
