"""Import row errors count rows as a planner does (the file's first feature is row 1) and are
fully Chinese in ``detail_zh`` (issue 10, F10b: no "row 0", no English words on a zh page)."""

from __future__ import annotations

import re
from pathlib import Path

import pandas as pd
import pytest

from gis.gridfiles import GridFileError, read_grid_file

ENGLISH = re.compile(r"\b(row|rows|has|the|code|fill|with|wrong|empty|correct)\b")


@pytest.fixture(scope="module")
def town(demo_grids):  # type: ignore[no-untyped-def]
    return demo_grids[demo_grids.code.str.startswith("320281001")].reset_index(drop=True)


@pytest.mark.parametrize("change", ["empty_parent", "short_code", "wrong_prefix"])
def test_first_row_is_row_1_and_zh_is_chinese(town, tmp_path: Path, change: str) -> None:  # type: ignore[no-untyped-def]
    k = town.index[town.level == 3][0]
    bad = pd.concat([town.loc[[k]], town.drop(index=k)]).reset_index(drop=True)
    if change == "empty_parent":
        bad.loc[0, "parent_code"] = ""
    elif change == "short_code":
        bad.loc[0, "code"] = bad.loc[0, "code"][:-1]
    else:
        bad.loc[0, "parent_code"] = "320281001999"
    path = tmp_path / "bad.gpkg"
    bad.to_file(path)
    with pytest.raises(GridFileError) as err:
        read_grid_file(path)
    assert err.value.problems[0]["row"] == 1, err.value.problems
    assert "row 1 (" in err.value.detail and "row 0" not in err.value.detail
    zh = err.value.detail_zh or ""
    assert "第 1 行" in zh, zh
    assert not ENGLISH.search(zh.replace("parent_code", "")), zh
