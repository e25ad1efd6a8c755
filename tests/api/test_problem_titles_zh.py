"""A problem's title is in Chinese when the request asks for Chinese (``?lang=zh`` or
``Accept-Language: zh``), as its detail already was; a client that names no language keeps the
English title (RFC 9457 §3.1.3: a title changes only by localization). Every title the API can
answer with has its Chinese (api/errors.py TITLES_ZH)."""

from __future__ import annotations

from http import HTTPStatus

import pytest

from api.errors import DATABASE_FAULTS, STATUS, TITLES_ZH

ZH = {"Accept-Language": "zh-CN,zh;q=0.9"}


def test_every_title_has_its_chinese(live_server) -> None:  # type: ignore[no-untyped-def]
    # every module that adds to STATUS is imported with the app
    import api.main  # noqa: F401

    titles = {title for _, title in STATUS.values()} | {v[0] for v in DATABASE_FAULTS.values()}
    titles |= {HTTPStatus(s).phrase for s in (400, 404, 405, 412, 413, 415, 428, 429)}
    titles |= {"Internal error", "Conflict", "Cross-site request refused", "Device not found"}
    missing = sorted(t for t in titles if t not in TITLES_ZH)
    assert not missing, f"titles without Chinese: {missing}"
    assert all(any("\u4e00" <= ch <= "\u9fff" for ch in zh) for zh in TITLES_ZH.values())


@pytest.mark.parametrize(
    ("path", "english", "chinese"),
    [
        ("/api/v1/grids/999999999999999", "Grid not found", "网格不存在"),
        ("/api/v1/events/987654321", "Event not found", "事件不存在"),
        ("/api/v1/events?limit=abc", "Invalid parameter", "参数无效"),
        ("/api/v1/no-such-thing", "Not Found", "未找到"),
    ],
)
def test_the_title_follows_the_language_asked_for(client, path, english, chinese) -> None:  # type: ignore[no-untyped-def]
    plain = client.get(path)
    assert plain.json()["title"] == english, plain.text
    by_query = path + ("&" if "?" in path else "?") + "lang=zh"
    for r in (client.get(path, headers=ZH), client.get(by_query)):
        assert r.status_code == plain.status_code, r.text
        assert r.headers["content-type"].startswith("application/problem+json")
        body = r.json()
        assert body["title"] == chinese, body
        assert body["type"] == plain.json()["type"]  # the kind never changes with the language
    assert client.get(path, headers={"Accept-Language": "en"}).json()["title"] == english
