"""Bad addresses of the pages answered as a page, not as JSON (issue 15).

A browser asking for a page (``GET``, ``Accept`` naming ``text/html``) whose parameters are
wrong, or whose object does not exist, gets the same status with ``templates/error.html``: the
message of the problem, the parameter at fault, the navigation bar and a link back. API clients
(any other ``Accept``) keep getting ``application/problem+json``. Pure ASGI: only a problem
answer of a page path is buffered (it is small).
"""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable, MutableMapping
from typing import Any

from starlette.requests import Request

from api.pages.templating import page_lang, render_page

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]

PAGE_PATHS = ("/map", "/live", "/playback", "/coverage", "/zones", "/events/map")
PAGE_PREFIXES = ("/draws/",)
TEXT = {
    "zh": {"title": "页面地址有误", "field": "有误的参数", "back": "返回网格地图"},
    "en": {"title": "This address cannot be shown", "field": "Parameter at fault",
           "back": "Back to the grid map"},
}  # fmt: skip


def is_page(path: str) -> bool:
    return path in PAGE_PATHS or path.startswith(PAGE_PREFIXES)


class HtmlErrorPages:
    """Turns a problem+json answer of a page requested by a browser into an HTML page."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["method"] != "GET" or not is_page(scope["path"]):
            await self.app(scope, receive, send)
            return
        accept = dict(scope["headers"]).get(b"accept", b"").decode("latin-1")
        if "text/html" not in accept:
            await self.app(scope, receive, send)
            return
        start: Message | None = None
        body: list[bytes] = []

        async def send_page(message: Message) -> None:
            nonlocal start
            if message["type"] == "http.response.start":
                headers = dict(message.get("headers", []))
                kind = headers.get(b"content-type", b"").decode("latin-1")
                if message["status"] >= 400 and kind.startswith("application/problem+json"):
                    start = message
                    return
            elif message["type"] == "http.response.body" and start is not None:
                body.append(message.get("body", b""))
                if message.get("more_body"):
                    return
                html = self.render(scope, int(start["status"]), b"".join(body)).encode()
                kept = [
                    (k, v)
                    for k, v in start.get("headers", [])
                    if k.lower() not in (b"content-type", b"content-length")
                ]
                await send({
                    **start,
                    "headers": [*kept, (b"content-type", b"text/html; charset=utf-8"),
                                (b"content-length", str(len(html)).encode())],
                })  # fmt: skip
                await send({"type": "http.response.body", "body": html})
                return
            await send(message)

        await self.app(scope, receive, send_page)

    @staticmethod
    def render(scope: Scope, status: int, body: bytes) -> str:
        try:
            problem = json.loads(body)
        except ValueError:
            problem = {}
        request = Request(scope)
        lang = page_lang(request)
        return render_page(
            request,
            "error.html",
            t=TEXT[lang],
            status=status,
            problem_title=str(problem.get("title") or ""),
            detail=str(problem.get("detail") or ""),
            field=problem.get("field"),
            back="/map" + ("?lang=en" if lang == "en" else ""),
        )
