"""On a request asking for Chinese (``Accept-Language: zh`` or ``?lang=zh``) refusals are fully
Chinese; English otherwise (issue 10, F10b): the duplicate user-name 409
(layers/integrity.py words, picked by api/errors.py)."""

from __future__ import annotations

import re
import uuid

import httpx

HAN = re.compile(r"[\u4e00-\u9fff]")
ASCII_WORDS = re.compile(r"\b(already|exists|choose|nothing|stored)\b")


def test_duplicate_user_name_refused_in_the_callers_language(
    client: httpx.Client, tokens: dict[str, str]
) -> None:
    admin = {"Authorization": f"Bearer {tokens['admin']}"}
    name = f"dup-{uuid.uuid4().hex[:8]}"
    body = {"name": name, "role": "viewer", "password": "Correct-Horse-9-battery"}
    first = client.post("/api/v1/users", json=body, headers=admin)
    assert first.status_code == 201, first.text
    for asked in ({"headers": {**admin, "Accept-Language": "zh-CN,zh;q=0.9"}},
                  {"headers": admin, "params": {"lang": "zh"}}):  # fmt: skip
        again = client.post("/api/v1/users", json=body, **asked)  # type: ignore[arg-type]
        assert again.status_code == 409, again.text
        problem = again.json()
        assert problem["field"] == "name", problem
        assert HAN.search(problem["detail"]) and name in problem["detail"], problem
        assert not ASCII_WORDS.search(problem["detail"]), problem
    en = client.post("/api/v1/users", json=body, headers={**admin, "Accept-Language": "en"})
    assert en.status_code == 409 and "is taken" in en.json()["detail"], en.text


def test_401_in_the_callers_language(live_server: str) -> None:
    """What /plan (which sends Accept-Language: zh) shows when the session has ended."""
    with httpx.Client(base_url=live_server) as bare:
        for headers in ({}, {"Cookie": "gridgis_session=ggs_nonsense"}):
            r = bare.get("/api/v1/users", headers={**headers, "Accept-Language": "zh-CN"})
            assert r.status_code == 401, r.text
            assert HAN.search(r.json()["detail"]) and "/login" in r.json()["detail"], r.text
        en = bare.get("/api/v1/users", headers={"Accept-Language": "en"})
        assert en.status_code == 401 and "needs a token" in en.json()["detail"], en.text
