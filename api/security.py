"""Browser security in one place: the cross-site write check (CSRF) and the security headers.

CSRF: a write (POST/PUT/PATCH/DELETE) that could ride on the page session cookie, i.e. one
without its own credentials in a header (``Authorization: Bearer|Basic``, ``X-API-Token``), must
come from this very origin (scheme, host and port): its ``Origin`` header, or failing that its
``Referer``, is compared with the request's own origin. A cross-origin form, a different port
included, gets 403 problem+json before any route runs. With the session cookie and neither
header the write is refused too (every browser sends ``Origin`` on a POST). Pages that post a
form (``/logout``) also carry a token bound to the session (:func:`form_token`).

Installed by :func:`install_security` in ``api/main.py``; pure ASGI (no body buffering).
"""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Awaitable, Callable, MutableMapping
from typing import Any
from urllib.parse import urlsplit

from fastapi import FastAPI, Request

from api.errors import problem

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]

SESSION_COOKIE = "gridgis_session"
UNSAFE_METHODS = frozenset({"POST", "PUT", "PATCH", "DELETE"})
DEFAULT_PORTS = {"http": 80, "https": 443}

SECURITY_HEADERS: dict[str, str] = {
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
    # Same-origin requests keep their Referer (the CSRF check's fallback); others get none.
    "Referrer-Policy": "same-origin",
}
# The Content-Security-Policy (no inline script, only the configured tile hosts) is built by
# api.csp.content_security_policy and given to install_security; it goes with every response.


def _origin_of(url: str) -> tuple[str, str, int] | None:
    """(scheme, host, port) of a URL or an Origin header value; None if it has none."""
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError:
        return None
    if parts.scheme not in DEFAULT_PORTS or not parts.hostname:
        return None
    return parts.scheme, parts.hostname.lower(), port or DEFAULT_PORTS[parts.scheme]


def own_origin(scope: Scope, headers: dict[str, str]) -> tuple[str, str, int] | None:
    """This request's own origin, from its scheme (https behind a proxy when uvicorn trusts the
    proxy's X-Forwarded-Proto) and its Host header."""
    scheme = str(scope.get("scheme", "http"))
    host = headers.get("host")
    if not host:
        server = scope.get("server")
        if not server:
            return None
        host = f"{server[0]}:{server[1]}"
    return _origin_of(f"{scheme}://{host}")


def is_cross_site_write(scope: Scope, headers: dict[str, str]) -> str | None:
    """Why this request is refused as a possible cross-site write, or None if it is not one."""
    if scope["method"] not in UNSAFE_METHODS:
        return None
    auth = headers.get("authorization", "").lower()
    if auth.startswith(("bearer ", "basic ")) or headers.get("x-api-token"):
        return None  # credentials a foreign page cannot send
    has_cookie = f"{SESSION_COOKIE}=" in headers.get("cookie", "")
    claimed = headers.get("origin")
    if claimed is None or claimed == "null":
        referer = headers.get("referer")
        claimed = referer if referer else claimed
    if claimed is None:
        return (
            "a write with the session cookie needs an Origin or Referer header; send the form "
            "from this site's pages, or call the API with 'Authorization: Bearer <token>'"
            if has_cookie
            else None
        )
    theirs, ours = _origin_of(claimed), own_origin(scope, headers)
    if theirs is None or theirs != ours:
        shown = claimed if len(claimed) < 200 else claimed[:200] + "…"
        return (
            f"cross-origin write refused: the request comes from {shown!r}, not from this site; "
            "use this site's own pages, or call the API with 'Authorization: Bearer <token>'"
        )
    return None


def form_token(secret: str, session_value: str, purpose: str) -> str:
    """A token for a form posted with the session (e.g. ``logout``): HMAC-SHA256 of the session
    id under the app's secret, so only a page of this site holding the session can know it."""
    message = f"{purpose}:{session_value}".encode()
    return hmac.new(secret.encode(), message, hashlib.sha256).hexdigest()


def check_form_token(secret: str, session_value: str, purpose: str, token: str) -> bool:
    return hmac.compare_digest(form_token(secret, session_value, purpose), token or "")


class SecurityMiddleware:
    """Refuses cross-site writes (403 problem+json) and adds the security headers."""

    def __init__(
        self,
        app: Callable[[Scope, Receive, Send], Awaitable[None]],
        content_security_policy: str | None = None,
    ) -> None:
        self.app = app
        self.content_security_policy = content_security_policy

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        headers = {k.decode("latin-1").lower(): v.decode("latin-1") for k, v in scope["headers"]}
        reason = is_cross_site_write(scope, headers)

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                present = {k.lower() for k, _ in message.get("headers", [])}
                extra = dict(SECURITY_HEADERS)
                if self.content_security_policy:
                    extra["Content-Security-Policy"] = self.content_security_policy
                message["headers"] = [
                    *message.get("headers", []),
                    *(
                        (k.lower().encode(), v.encode())
                        for k, v in extra.items()
                        if k.lower().encode() not in present
                    ),
                ]
            await send(message)

        if reason is not None:
            response = problem(
                403, "Cross-site request refused", reason, field="Origin", request=Request(scope)
            )
            await response(scope, receive, send_with_headers)
            return
        await self.app(scope, receive, send_with_headers)


def install_security(app: FastAPI, content_security_policy: str | None = None) -> None:
    """Add :class:`SecurityMiddleware` to ``app`` (outermost: it runs before any route), with
    the Content-Security-Policy to send (:func:`api.csp.content_security_policy`)."""
    app.add_middleware(SecurityMiddleware, content_security_policy=content_security_policy)
