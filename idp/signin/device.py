"""Device cookies (OWASP, "Slow Down Online Guessing Attacks with Device Cookies"): a browser
that has signed in to an account gets a signed cookie naming that account (by an HMAC tag, not
its user name) with a random nonce. Its later tries at that account are counted on the nonce's
own key, apart from everyone else's, so that someone failing at a pupil's user name from
anywhere cannot keep the pupil's own device out (idp.signin.throttle). Guessing stays slow: a
device's own failures are throttled as an account's are, and without the cookie every try
counts on the account's shared key as before.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets

from flask import Request, Response, current_app
from itsdangerous import BadSignature, URLSafeTimedSerializer

COOKIE = "digione_device"
LIFETIME_SECONDS = 180 * 24 * 3600
MAX_ACCOUNTS = 5  # a family's shared tablet
PATH = "/login/"  # sent only to the sign-in forms


def _serializer() -> URLSafeTimedSerializer:
    return URLSafeTimedSerializer(current_app.config["SECRET_KEY"], salt="digione-device")


def _tag(city: str, username: str) -> str:
    key = current_app.config["SECRET_KEY"].encode()
    account = f"device\0{city}\0{username.strip().lower()}".encode()
    return hmac.new(key, account, hashlib.sha256).hexdigest()[:32]


def _entries(request: Request) -> list[list[str]]:
    value = request.cookies.get(COOKIE)
    if not value:
        return []
    try:
        entries = _serializer().loads(value, max_age=LIFETIME_SECONDS)
    except BadSignature:
        return []
    if not isinstance(entries, list):
        return []
    return [e for e in entries if isinstance(e, list) and len(e) == 2
            and all(isinstance(part, str) for part in e)][:MAX_ACCOUNTS]  # fmt: skip


def nonce_for(request: Request, city: str, username: str) -> str | None:
    """The nonce of this browser's cookie for the account, when it holds a valid one."""
    tag = _tag(city, username)
    return next((nonce for entry_tag, nonce in _entries(request) if entry_tag == tag), None)


def remember(response: Response, request: Request, city: str, username: str) -> Response:
    """After a successful sign-in: the cookie names this account (with a fresh nonce, which
    starts its count afresh) and at most MAX_ACCOUNTS - 1 others, the newest kept; secure as
    the session's cookie is."""
    tag = _tag(city, username)
    entries = [[tag, secrets.token_urlsafe(16)]]
    entries += [entry for entry in _entries(request) if entry[0] != tag][: MAX_ACCOUNTS - 1]
    response.set_cookie(
        COOKIE,
        _serializer().dumps(entries),
        max_age=LIFETIME_SECONDS,
        path=PATH,
        samesite="Lax",
        httponly=True,
        secure=current_app.config["SESSION_COOKIE_SECURE"],
    )
    return response
