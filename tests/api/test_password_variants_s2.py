"""Variants of weak passwords are refused too (issue 11, task S2 part 4): a common word doubled
or written with leet digits and symbols, a short unit repeated, and passwords that are little
more than the product's or the city's name (layers/password_rules.py); long phrases that merely
mention them pass."""

from __future__ import annotations

import pytest

from layers.password_rules import candidates, password_problem, repeated_unit


@pytest.mark.parametrize(
    ("password", "rule"),
    [
        ("passwordpassword", "common"),
        ("asdasdasdasd", "common"),
        ("zaq1zaq1zaq1", "common"),
        ("Passw0rd!Passw0rd!", "common"),
        ("P@55w0rd2026", "common"),
        ("qwertyqwerty", "common"),
        ("GridGIS2026!", "common"),
        ("Gr1dG1S-2026", "common"),
        ("网格通123456789", "context"),
        ("Jiangyin@2026", "context"),
        ("jiangyin1234", "context"),
        ("JIANGYIN-gridgis", "context"),
        ("江阴市网格通2026", "context"),
    ],
)
def test_variants_are_refused(password: str, rule: str) -> None:
    found = password_problem(password, "zhangsan")
    assert found is not None and found[0] == rule, (password, found)
    assert "choose" in found[1]


@pytest.mark.parametrize(
    "password",
    [
        "correct horse battery",
        "网格通巡查员的口令很长",
        "jiangyin river walks at dawn",
        "Tr0ub4dor&3x-lantern",
        "n3w pass word",
        "a phrase of my own",
        "blue kettle blue kettle sings",
    ],
)
def test_own_phrases_pass(password: str) -> None:
    assert password_problem(password, "zhangsan") is None, password


def test_normalising() -> None:
    assert repeated_unit("abcabc") == "abc"
    assert repeated_unit("abcab") is None
    assert "password" in candidates("Passw0rd!Passw0rd!")
    assert "password" in candidates("p@ssw0rd")
