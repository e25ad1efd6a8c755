"""GET /api/v1/grid-names (issue 15, review r15: lists and popups showed raw grid codes): each
known code's name with its village's and town's from the active generation; unknown codes left
out; bad codes and too many codes are 422 naming ``codes``."""

from __future__ import annotations


def test_names_with_village_and_town(client, demo_grids) -> None:  # type: ignore[no-untyped-def]
    l3 = demo_grids[demo_grids.level == 3].sort_values("code").iloc[3]
    names = dict(zip(demo_grids.code, demo_grids.name, strict=True))
    town, village = l3.code[:9], l3.code[:12]
    r = client.get("/api/v1/grid-names", params={"codes": f"{l3.code},{village},{town},999999999"})
    assert r.status_code == 200, r.text
    got = r.json()["names"]
    assert got[l3.code] == {"name": l3["name"], "level": 3, "village": names[village],
                            "town": names[town]}  # fmt: skip
    assert got[village] == {"name": names[village], "level": 2, "village": None,
                            "town": names[town]}  # fmt: skip
    assert got[town]["town"] is None and got[town]["level"] == 1
    assert "999999999" not in got


def test_bad_codes_are_named(client) -> None:  # type: ignore[no-untyped-def]
    for codes in ("12ab", "1234", ",".join(["320281001"] * 201)):
        r = client.get("/api/v1/grid-names", params={"codes": codes})
        assert r.status_code == 422 and r.json()["field"] == "codes", r.text
    assert client.get("/api/v1/grid-names").status_code == 422
