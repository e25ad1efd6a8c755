"""The login page speaks the language of the page that sent the user there (``next``'s
``lang``, else the referring page's) and, after login, returns to that page in the language the
user signed in with (issue 15, item 7)."""

from __future__ import annotations

from urllib.parse import quote

from tests.api.accounts_support import PASSWORD, browser, make_user


def test_login_page_takes_the_language_of_next_or_the_referrer(anon, live_server) -> None:  # type: ignore[no-untyped-def]
    page = anon.get(f"/login?next={quote('/events/map?status=reported&lang=en')}")
    assert 'lang="en"' in page.text and "User name" in page.text
    assert 'name="lang" value="en"' in page.text
    page = anon.get("/login", headers={"Referer": f"{live_server}/live?lang=en"})
    assert 'lang="en"' in page.text
    # another site's referrer, or none, or a Chinese page: Chinese
    for headers in ({"Referer": "http://elsewhere.example/x?lang=en"}, {}):
        assert 'lang="zh-CN"' in anon.get("/login", headers=headers).text
    assert 'lang="zh-CN"' in anon.get(f"/login?next={quote('/map?lang=zh')}").text
    # an explicit lang wins
    assert 'lang="zh-CN"' in anon.get(f"/login?lang=zh&next={quote('/map?lang=en')}").text


def test_after_login_the_page_opens_in_the_login_language(live_server, engine) -> None:  # type: ignore[no-untyped-def]
    user = make_user(engine, "viewer")
    cases = [
        ("/events/map?status=reported", "en", "/events/map?status=reported&lang=en"),
        ("/events/map?lang=en&town=320281001", "zh", "/events/map?town=320281001"),
        ("/live?lang=en", "en", "/live?lang=en"),
        ("", "en", "/?lang=en"),  # from the sign-out page: the front page, still in English
        ("//elsewhere.example/?lang=en", "en", "/?lang=en"),  # never another site
    ]
    for next_url, lang, expected in cases:
        with browser(live_server) as c:
            data = {"username": user["name"], "password": PASSWORD, "lang": lang}
            if next_url:
                data["next"] = next_url
            r = c.post("/login", data=data)
            assert r.status_code == 303, r.text
            assert r.headers["location"] == expected
