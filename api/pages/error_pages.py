"""Bad addresses of the pages answered as a page, not as JSON (issue 15).

A browser asking for a page (``GET``, ``Accept`` naming ``text/html``) whose parameters are
wrong, or whose object does not exist, gets the same status with ``templates/error.html``: the
message of the problem, the parameter at fault, the navigation bar and a link back. API clients
(any other ``Accept``) keep getting ``application/problem+json``. Pure ASGI: only a problem
answer of a page path is buffered (it is small).
"""

from __future__ import annotations

import json
import re
from collections.abc import Awaitable, Callable, MutableMapping
from typing import Any
from urllib.parse import urlencode

from starlette.requests import Request

from api.pages.templating import TEXT as NAV_TEXT
from api.pages.templating import VIEWS, page_lang, render_page

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]

PAGE_PATHS = ("/", "/map", "/live", "/playback", "/coverage", "/zones", "/events/map")
PAGE_PREFIXES = ("/draws/",)
TEXT = {
    "zh": {"title": "页面地址有误", "field": "有误的参数", "back": "返回{page}"},
    "en": {"title": "This address cannot be shown", "field": "Parameter at fault",
           "back": "Back to {page}"},
}  # fmt: skip
# The problem's title on a Chinese page: by the API's title, else by status.
TITLE_ZH = {
    "Invalid parameter": "参数有误", "Generation not found": "没有这个网格版本",
    "Grid not found": "没有这个网格", "Zone not found": "没有这个片区", "Not found": "未找到",
    "Coverage not computed": "尚未计算覆盖率", "Forbidden": "无权查看",
    "Authentication required": "需要登录", "Unknown event subclass": "没有这个事件小类",
}  # fmt: skip
STATUS_ZH = {400: "请求有误", 401: "需要登录", 403: "无权查看", 404: "未找到", 409: "状态冲突",
             422: "参数有误", 429: "尝试次数过多"}  # fmt: skip
DAY_ZH = "日期请写作 YYYY-MM-DD，例如 2026-11-27"
# How to write each page parameter, said on a Chinese page when the API explained in English.
HINT_ZH = {
    "date": DAY_ZH, "from": DAY_ZH, "to": DAY_ZH,
    "generation": "网格版本请写版本编号（整数），或删去该参数以显示现行版本",
    "resolution": "分辨率请写 H3 分辨率（整数），或删去该参数以使用默认值",
    "threshold": "阈值请写 0 到 1 之间的小数，例如 0.8（即 80%）",
    "shift": "班次请写作 HH:MM-HH:MM，例如 08:00-12:00；留空表示全天",
    "days": "天数请写 1 到 3660 之间的整数，例如 30",
    "draw_id": "请从抽查列表中打开一次已公布的抽查",
    "device": "设备编号请写正整数，或在页面上选择队员",
    "grid": "网格编码为 9、12 或 15 位数字",
}  # fmt: skip
OTHER_ZH = "请改正或删去该参数后重试"
CJK = re.compile(r"[\u4e00-\u9fff]")


def is_page(path: str) -> bool:
    return path in PAGE_PATHS or path.startswith(PAGE_PREFIXES)


def bad_value(request: Request, field: str | None) -> str | None:
    """The value the address gave ``field`` (a query parameter, else the last path segment
    for a path parameter such as ``draw_id``), at most 40 characters; None without one."""
    if not field:
        return None
    if field in request.query_params:
        return request.query_params[field][:40]
    if request.url.path.startswith(PAGE_PREFIXES):
        return request.url.path.rstrip("/").rsplit("/", 1)[-1][:40]
    return None


def zh_detail(status: int, detail: str, field: str | None, value: str | None) -> str:
    """The problem said in Chinese: the API's own detail when it wrote it in Chinese (a page's
    own check, or ``with_zh``), else built from the parameter, its value and how to write it."""
    if CJK.search(detail):
        return detail
    hint = HINT_ZH.get(field or "", OTHER_ZH)
    if not field:
        return "请检查页面地址后重试" if status < 500 else "服务器出错，请稍后重试"
    shown = f"“{value}”" if value is not None else ""
    if status == 404:
        return f"参数 {field} 所指的{shown}不存在：{hint}"
    return f"参数 {field} 的值{shown}无效：{hint}"


def back_link(request: Request, field: str | None, lang: str) -> tuple[str, str]:
    """(href, text) of the way back: the page's own path without the parameter at fault (the
    other parameters and the language kept); a page whose path itself is at fault (a draw
    that does not exist) goes back to the front page."""
    path = request.url.path
    if path.startswith(PAGE_PREFIXES):
        path = "/"
        query = [("lang", "en")] if lang == "en" else []
    else:
        query = [(k, v) for k, v in request.query_params.multi_items() if k != field]
    names = {p: key for p, key in VIEWS}
    page = NAV_TEXT[lang][names.get(path, "home")]
    href = path + ("?" + urlencode(query) if query else "")
    return href, TEXT[lang]["back"].format(page=page)


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
        field = problem.get("field")
        field = str(field) if field else None
        title = str(problem.get("title") or "")
        detail = str(problem.get("detail") or "")
        if lang == "zh":
            title = TITLE_ZH.get(title) or STATUS_ZH.get(status, "出错了")
            detail = zh_detail(status, detail, field, bad_value(request, field))
        href, back = back_link(request, field, lang)
        return render_page(
            request,
            "error.html",
            t=TEXT[lang],
            status=status,
            problem_title=title,
            detail=detail,
            field=field,
            back=href,
            back_text=back,
        )
