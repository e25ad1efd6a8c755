"""The language of a request: ``?lang=`` first, then the browser's ``Accept-Language``.

Answers that carry names people read (the event dictionary's class and subclass names) give
them in this language; identifiers and codes never change with it. Only "zh" (the default) and
"en" exist (maps.styles.Lang).
"""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Query, Request

from maps.styles import DEFAULT_LANG, Lang, resolve_lang


def accept_language(header: str | None) -> Lang | None:
    """The first of "zh"/"en" in an ``Accept-Language`` header by quality (RFC 9110 §12.5.4);
    None when it names neither. ``"en-GB,en;q=0.9,zh;q=0.8"`` gives "en"."""
    ranked: list[tuple[float, int, str]] = []
    for n, part in enumerate((header or "").split(",")):
        tag, _, params = part.strip().partition(";")
        q = 1.0
        for param in params.split(";"):
            key, _, value = param.strip().partition("=")
            if key.strip() == "q":
                try:
                    q = float(value)
                except ValueError:
                    q = 0.0
        primary = tag.strip().lower().split("-")[0]
        if primary in ("zh", "en") and q > 0:
            ranked.append((-q, n, primary))
    return resolve_lang(min(ranked)[2]) if ranked else None


async def request_lang(
    request: Request,
    lang: Annotated[
        str | None,
        Query(max_length=5, description="language of names: zh (default) or en"),
    ] = None,
) -> Lang:
    """``lang`` if given ("en" or anything else: "zh"), else ``Accept-Language``, else zh."""
    if lang:
        return resolve_lang(lang)
    return accept_language(request.headers.get("accept-language")) or DEFAULT_LANG


LangDep = Annotated[Lang, Depends(request_lang)]
