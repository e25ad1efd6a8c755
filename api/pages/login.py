"""Log in with a token; the page keeps a signed session cookie (no token in the browser's JS)."""

from __future__ import annotations

import html
from typing import Annotated

from fastapi import APIRouter, Form, Query, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from api.deps import SESSION_COOKIE, SessionDep, cookie_serializer
from layers import auth
from layers.errors import AuthError
from maps.styles import label

router = APIRouter(tags=["pages"])


def _safe_next(target: str | None) -> str:
    # Only local paths: never redirect to another site after login.
    if not target or not target.startswith("/") or target.startswith("//"):
        return "/map"
    return target


def login_form(lang: str, next_url: str, error: str | None = None) -> str:
    message = f'<p class="error" role="alert">{html.escape(error)}</p>' if error else ""
    return f"""<!doctype html>
<html lang="{"zh-CN" if lang == "zh" else "en"}"><head><meta charset="utf-8">
<title>{label("login_title", lang)}</title>
<meta name="viewport" content="width=device-width, initial-scale=1">
<style>
body {{ font-family: "Noto Sans CJK SC", "Microsoft YaHei", sans-serif; background: #0f2537;
       color: #e8eef3; display: flex; align-items: center; justify-content: center;
       height: 100vh; margin: 0; }}
form {{ background: #18324a; padding: 2rem 2.5rem; border-radius: 8px; width: 22rem;
       box-shadow: 0 4px 24px rgba(0,0,0,.4); }}
h1 {{ font-size: 1.3rem; margin: 0 0 1rem; }}
input {{ width: 100%; box-sizing: border-box; padding: .6rem; margin: .5rem 0 1rem;
        border-radius: 4px; border: 1px solid #4b6a85; background: #0f2537; color: #fff; }}
button {{ width: 100%; padding: .6rem; border: 0; border-radius: 4px; background: #2f80ed;
         color: #fff; font-size: 1rem; cursor: pointer; }}
.error {{ color: #ff9b9b; }}
a {{ color: #9cc7ff; }}
</style></head><body>
<form method="post" action="/login">
<h1>{label("login_title", lang)}</h1>
{message}
<label for="token">{label("login_token", lang)}</label>
<input id="token" name="token" type="password" autocomplete="current-password" required>
<input type="hidden" name="next" value="{html.escape(next_url)}">
<input type="hidden" name="lang" value="{html.escape(lang)}">
<button type="submit">{label("login_submit", lang)}</button>
<p><a href="/login?lang={"en" if lang == "zh" else "zh"}&next={html.escape(next_url)}">
{label("switch_language", lang)}</a></p>
</form></body></html>"""


@router.get("/login", response_class=HTMLResponse, include_in_schema=False)
def login_page(
    lang: Annotated[str, Query()] = "zh", next: Annotated[str | None, Query()] = None
) -> HTMLResponse:
    lang = "en" if lang == "en" else "zh"
    return HTMLResponse(login_form(lang, _safe_next(next)))


@router.post("/login", include_in_schema=False)
def login(
    request: Request,
    session: SessionDep,
    token: Annotated[str, Form()],
    next: Annotated[str | None, Form()] = None,
    lang: Annotated[str, Form()] = "zh",
) -> Response:
    lang = "en" if lang == "en" else "zh"
    try:
        row = auth.verify_token(session=session, value=token.strip())
    except AuthError:
        return HTMLResponse(
            login_form(lang, _safe_next(next), label("login_failed", lang)), status_code=401
        )
    value = cookie_serializer(request).dumps(
        {"id": row.id, "name": row.name, "role": row.role.value}
    )
    response = RedirectResponse(_safe_next(next), status_code=303)
    response.set_cookie(
        SESSION_COOKIE,
        value,
        max_age=request.app.state.settings.auth.session_max_age_s,
        httponly=True,
        samesite="lax",
    )
    return response


@router.get("/logout", include_in_schema=False)
def logout() -> Response:
    response = RedirectResponse("/login", status_code=303)
    response.delete_cookie(SESSION_COOKIE)
    return response
