"""Log in with user name and password (or an API token); log out with a POST.

The browser keeps only an opaque session id in an HttpOnly cookie (layers/accounts.py); every
request checks it in the database, so logging out, revoking the token or disabling the user
ends it at once. The page is ``templates/login.html`` with ``maps/static/gridgis-login.css``.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any
from urllib.parse import parse_qs, parse_qsl, urlencode, urlsplit, urlunsplit

from fastapi import APIRouter, Form, Query, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from jinja2 import Environment, FileSystemLoader, select_autoescape
from sqlalchemy.exc import DBAPIError

from api import device_cookie
from api.deps import SESSION_COOKIE, SessionDep, client_address
from api.errors import DATABASE_FAULTS
from api.security import check_form_token, form_token
from layers import accounts, auth, login_throttle, password_gate
from layers.db import database_fault
from layers.errors import AuthError
from maps.assets import STATIC_DIR, static_mounts
from maps.styles import resolve_lang

router = APIRouter(tags=["pages"])

TEMPLATES = Environment(
    loader=FileSystemLoader(Path(__file__).parent / "templates"),
    autoescape=select_autoescape(["html"]),
)
CSS_URL = next(u for u, d in static_mounts("/static").items() if d == STATIC_DIR) + (
    "/gridgis-login.css"
)

TEXT: dict[str, dict[str, str]] = {
    "zh": {
        "title": "网格通 · 登录",
        "username": "用户名",
        "password": "密码",
        "submit": "登录",
        "with_token": "使用访问令牌登录",
        "token": "访问令牌",
        "switch": "English",
        "failed_password": "用户名或密码错误",
        "failed_token": "令牌无效或已停用",
        "disabled": "账号已停用，请联系管理员",
        "missing": "请输入用户名和密码",
        "signed_in_as": "当前登录：",
        "logout": "退出登录",
        "back": "返回地图",
        "bad_form": "退出请求缺少本页的表单令牌（或来自其他网站），未退出；请在本页点击“退出登录”",
        "throttled": "登录失败次数过多，请 {s} 秒后再试（每多失败一次，等待时间加倍）",
        "busy": "服务器正忙于核对登录，请 {s} 秒后再试",
        "no_session": (
            "登录信息核对无误，但数据库暂时只读（或磁盘已满），无法保存登录会话；"
            "请 {s} 秒后再试（访问令牌仍可读取数据）"
        ),
    },
    "en": {
        "title": "GridGIS · Sign in",
        "username": "User name",
        "password": "Password",
        "submit": "Sign in",
        "with_token": "Sign in with an access token",
        "token": "Access token",
        "switch": "中文",
        "failed_password": "Unknown user name or wrong password",
        "failed_token": "Unknown or revoked token",
        "disabled": "This account is disabled; ask an administrator",
        "missing": "Enter your user name and password",
        "signed_in_as": "Signed in as",
        "logout": "Sign out",
        "back": "Back to the map",
        "bad_form": "The sign-out request lacks this page's form token (or came from another "
        "site); you are still signed in. Use the Sign out button on this page",
        "throttled": "Too many failed sign-ins: try again in {s} s (each further failure "
        "doubles the wait)",
        "busy": "The server is checking too many sign-ins at once: try again in {s} s",
        "no_session": "Your sign-in is correct, but the database takes no writes at the moment "
        "(read-only or disk full), so the sign-in session cannot be stored: try again in {s} s "
        "(access tokens still read data)",
    },
}


def _safe_next(target: str | None) -> str:
    # Only local paths: never redirect to another site after login.
    if not target or not target.startswith("/") or target.startswith("//") or "\\" in target:
        return "/"  # the front page
    return target


def _lang_of(url: str | None) -> str | None:
    """The ``lang`` a page address asks for ("en"/"zh"), None when it names none."""
    value = parse_qs(urlsplit(url or "").query).get("lang", [None])[0]
    return None if value is None else resolve_lang(value)


def _in_lang(target: str, lang: str) -> str:
    """``target`` (a local path) opened in ``lang``: ``lang=en`` set, or dropped for zh (the
    default), every other parameter kept. Login returns to the page in the language the user
    signed in with."""
    parts = urlsplit(target)
    query = [(k, v) for k, v in parse_qsl(parts.query, keep_blank_values=True) if k != "lang"]
    if lang == "en":
        query.append(("lang", "en"))
    return urlunsplit(("", "", parts.path, urlencode(query), parts.fragment))


def render(lang: str, status_code: int = 200, **values: Any) -> HTMLResponse:
    page = TEMPLATES.get_template("login.html").render(
        lang=lang,
        other_lang="en" if lang == "zh" else "zh",
        html_lang="zh-CN" if lang == "zh" else "en",
        t=TEXT[lang],
        css_url=CSS_URL,
        **{"mode": "login", "next_url": "/", "username": "", **values},
    )
    return HTMLResponse(page, status_code=status_code, headers={"Cache-Control": "no-store"})


def is_phone_app(next_url: str) -> bool:
    """Does the sign-in return to the officer app (``/m``, ``/m/…``)? Its session lasts the
    shift (``settings.auth.phone_session_s``), idle included."""
    path = urlsplit(next_url).path
    return path == "/m" or path.startswith("/m/")


@router.get("/login", response_class=HTMLResponse, include_in_schema=False)
def login_page(
    request: Request,
    lang: Annotated[str | None, Query()] = None,
    next: Annotated[str | None, Query()] = None,
) -> HTMLResponse:
    """In ``lang``; without it, in the language of the page to return to (``next``'s
    ``lang``), else of the page that linked here (the Referer of this site), else Chinese."""
    if lang is None:
        referer = request.headers.get("referer")
        same_site = referer and urlsplit(referer).netloc == request.url.netloc
        lang = _lang_of(next) or (_lang_of(referer) if same_site else None)
    return render(resolve_lang(lang), next_url=_safe_next(next))


@router.post("/login", include_in_schema=False)
def login(
    request: Request,
    session: SessionDep,
    username: Annotated[str | None, Form(max_length=100)] = None,
    password: Annotated[str | None, Form(max_length=accounts.PASSWORD_MAX_CHARS)] = None,
    token: Annotated[str | None, Form(max_length=200)] = None,
    next: Annotated[str | None, Form(max_length=2000)] = None,
    lang: Annotated[str, Form(max_length=5)] = "zh",
) -> Response:
    """A password login (``username`` + ``password``) or a token login (``token``); 401 with
    the form again, keeping ``lang`` and ``next``, when refused; 429 with ``Retry-After`` while
    the (user name, address) pair is locked or the name / address is slowed after repeated
    attempts (layers/login_throttle.py: the design, after OWASP and NIST SP 800-63B; a success
    resets the pair and the name); 503 with ``Retry-After`` when this process already checks
    too many passwords (layers/password_gate.py)."""
    lang, next_url = resolve_lang(lang), _safe_next(next)
    phone = is_phone_app(next_url)  # the officer app's sign-in: a session for the shift
    auth_settings = request.app.state.settings.auth
    max_age_s = auth_settings.phone_session_s if phone else auth_settings.session_max_age_s
    user_agent = request.headers.get("user-agent")
    engine = request.app.state.engine
    address = client_address(request)

    def refused(exc: login_throttle.TooManyAttempts | password_gate.VerifierBusy) -> Response:
        busy = isinstance(exc, password_gate.VerifierBusy)
        page = render(lang, 503 if busy else 429, next_url=next_url, username=username or "",
                      error=TEXT[lang]["busy" if busy else "throttled"].format(
                          s=exc.retry_after_s))  # fmt: skip
        page.headers["Retry-After"] = str(exc.retry_after_s)
        return page

    if token:
        try:
            row = auth.verify_token(session=session, value=token.strip())
        except AuthError:
            # a valid token is never refused; a wrong one counts per (token, address)
            try:
                armed = login_throttle.admit(
                    engine, login_throttle.token_keys(token=token.strip(), address=address)
                )
            except login_throttle.TooManyAttempts as exc:
                return refused(exc)
            login_throttle.record_failure(engine, armed, what="token")
            return render(lang, 401, next_url=next_url, error=TEXT[lang]["failed_token"],
                          token_open=True)  # fmt: skip
        opened = _open_session(session, lang, next_url, max_age_s=max_age_s, user_id=row.user_id,
                               token_id=row.id, user_agent=user_agent, phone=phone)  # fmt: skip
        if isinstance(opened, Response):
            return opened
        value = opened
    elif username and password:
        # a browser that signed in as this user before: counted per device cookie only, so
        # others' failures never lock it out (api/device_cookie.py, after OWASP)
        device = device_cookie.device_of(request, username)
        attempt = (
            login_throttle.device_keys(nonce=device)
            if device is not None
            else login_throttle.keys(user=username, address=address)
        )
        try:
            # a bounded number of argon2 checks at once; counted atomically before the check,
            # no database connection held while hashing (layers/password_gate.py)
            with password_gate.slot(known_device=device is not None):  # a lane of its own
                armed = login_throttle.admit(engine, attempt)
                try:
                    user = accounts.authenticate(session=session, name=username, password=password)
                except AuthError as exc:
                    key = "disabled" if exc.field == "name" else "failed_password"
                    if key == "failed_password":
                        login_throttle.record_failure(engine, armed, what="password")
                    return render(lang, 401, next_url=next_url, error=TEXT[lang][key],
                                  username=username)  # fmt: skip
        except (login_throttle.TooManyAttempts, password_gate.VerifierBusy) as exc:
            return refused(exc)
        opened = _open_session(session, lang, next_url, max_age_s=max_age_s, user_id=user.id,
                               user_agent=user_agent, username=username,
                               phone=phone)  # fmt: skip
        if isinstance(opened, Response):
            return opened
        value = opened
        login_throttle.reset(engine, attempt)
    else:
        return render(lang, 401, next_url=next_url, error=TEXT[lang]["missing"])
    response = RedirectResponse(_in_lang(next_url, lang), status_code=303)
    response.set_cookie(
        SESSION_COOKIE,
        value,
        max_age=max_age_s,
        httponly=True,
        samesite="lax",
        secure=request.url.scheme == "https",
        path="/",
    )
    if username and password and not token:
        device_cookie.issue(request, response, username)  # a new one at each sign-in
    return response


def _open_session(
    session: Any, lang: str, next_url: str, *, username: str = "", **kw: Any
) -> str | Response:
    """The new page session's cookie value (the password or token already checked), or the
    login page with a 503 and ``Retry-After`` when the database takes no writes (read-only, a
    standby, disk full): the one write that failed is named, nothing of the sign-in is stored
    (rolled back), and the user's API tokens keep working for reads."""
    try:
        return accounts.start_session(session=session, **kw)[1]
    except DBAPIError as exc:
        fault = database_fault(exc)
        if fault is None or fault.kind not in login_throttle.NO_WRITES:
            raise
        session.rollback()
    retry_after_s = DATABASE_FAULTS[fault.kind][1]
    page = render(lang, 503, next_url=next_url, username=username,
                  error=TEXT[lang]["no_session"].format(s=retry_after_s))  # fmt: skip
    page.headers["Retry-After"] = str(retry_after_s)
    return page


def _live_session(request: Request, session: SessionDep) -> tuple[str, accounts.Identity] | None:
    cookie = request.cookies.get(SESSION_COOKIE)
    if not cookie:
        return None
    try:
        auth_settings = request.app.state.settings.auth
        return cookie, accounts.resolve_session(
            session=session, value=cookie, idle_s=auth_settings.session_idle_s,
            phone_idle_s=auth_settings.phone_session_s,
        )  # fmt: skip
    except AuthError:
        return None


@router.get("/logout", response_class=HTMLResponse, include_in_schema=False)
def logout_page(
    request: Request, session: SessionDep, lang: Annotated[str, Query()] = "zh"
) -> Response:
    """A page with a sign-out button (a GET never logs out: a link or an image on another site
    could do that); not logged in: the login page."""
    lang = resolve_lang(lang)
    live = _live_session(request, session)
    if live is None:
        return RedirectResponse(f"/login?lang={lang}", status_code=303)
    cookie, identity = live
    secret = request.app.state.session_secret
    return render(
        lang, mode="logout", who=identity.name, csrf_token=form_token(secret, cookie, "logout")
    )


@router.post("/logout", include_in_schema=False)
def logout(
    request: Request,
    session: SessionDep,
    csrf_token: Annotated[str, Form(max_length=200)] = "",
    lang: Annotated[str, Form(max_length=5)] = "zh",
) -> Response:
    """End the session server-side (the old cookie is refused from now on) and drop the cookie.
    Needs the form's token: without it (a page of another site, a stale form) the answer is 403,
    the sign-out page again with the reason, and the session stays. A foreign ``Origin`` is
    refused before this runs (api/security.py, 403)."""
    lang = resolve_lang(lang)
    secret = request.app.state.session_secret
    live = _live_session(request, session)
    if live is not None:
        cookie, identity = live
        if not check_form_token(secret, cookie, "logout", csrf_token):
            return render(
                lang, 403, mode="logout", who=identity.name, error=TEXT[lang]["bad_form"],
                csrf_token=form_token(secret, cookie, "logout"),
            )  # fmt: skip
        accounts.end_session(session=session, value=cookie)
    response = RedirectResponse(f"/login?lang={lang}", status_code=303)
    response.delete_cookie(SESSION_COOKIE, path="/")
    return response
