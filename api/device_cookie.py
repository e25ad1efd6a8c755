"""Device cookies (issue 11, task S part 1): the real user is never locked out by someone else's
failed sign-ins from the same address.

After OWASP "Slow Down Online Guessing Attacks with Device Cookies"
(https://owasp.org/www-community/Slow_Down_Online_Guessing_Attacks_with_Device_Cookies): a
browser that signed in successfully as a user gets a **device cookie** ``gridgis_device``
(HttpOnly, SameSite=Strict, path ``/login``, 180 days) holding a digest of that user name
and a random nonce, signed with the app's secret (``itsdangerous``, the session secret of
``api.settings.AuthSettings.secret``). A password attempt for that user from a browser holding a
valid device cookie *for that user* is counted per device cookie only
(``layers.login_throttle.DEVICE``: 5 failures, then that cookie is locked up to 15 min);
attempts without one (an attacker) keep the per (user, address), per user and per address
throttle. So an attacker's 20 failures for ``admin`` from the office's (or a local proxy's)
address lock the untrusted path, while the admin's browser signs in at once. Each successful
sign-in issues a new device cookie (a new nonce).
"""

from __future__ import annotations

import hashlib
import secrets
from typing import Any

from fastapi import Request, Response
from itsdangerous import BadSignature, URLSafeTimedSerializer

DEVICE_COOKIE = "gridgis_device"
MAX_AGE_S = 180 * 24 * 3600
_SALT = "gridgis-device-cookie"


def _serializer(request: Request) -> URLSafeTimedSerializer:
    return URLSafeTimedSerializer(str(request.app.state.session_secret), salt=_SALT)


def _name(user_name: str) -> str:
    """The user name as the cookie holds it: a digest of the stripped, lower-cased name (the
    cookie is signed, not encrypted: nobody reads the name from it)."""
    return hashlib.sha256(user_name.strip().lower().encode()).hexdigest()[:32]


def device_of(request: Request, user_name: str) -> str | None:
    """The nonce of the request's device cookie if it is validly signed, younger than
    :data:`MAX_AGE_S` and issued for ``user_name`` (case-insensitive); None otherwise."""
    value = request.cookies.get(DEVICE_COOKIE)
    if not value or len(value) > 500:
        return None
    try:
        data: Any = _serializer(request).loads(value, max_age=MAX_AGE_S)
    except BadSignature:  # also SignatureExpired
        return None
    if not isinstance(data, dict) or data.get("u") != _name(user_name):
        return None
    nonce = data.get("n")
    return nonce if isinstance(nonce, str) and 16 <= len(nonce) <= 64 else None


def issue(request: Request, response: Response, user_name: str) -> None:
    """Set a new device cookie for ``user_name`` on ``response`` (after a successful sign-in)."""
    value = _serializer(request).dumps({"u": _name(user_name), "n": secrets.token_urlsafe(24)})
    response.set_cookie(
        DEVICE_COOKIE,
        value,
        max_age=MAX_AGE_S,
        httponly=True,
        samesite="strict",
        secure=request.url.scheme == "https",
        path="/login",
    )
