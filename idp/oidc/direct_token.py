"""The token endpoint's direct path: a client_credentials grant (RFC 6749 section 4.4) by a
client authenticating with its secret (client_secret_basic or client_secret_post, section
2.3.1), answered at the WSGI level, without Flask's request dispatch or Authlib's grant
machinery, which together cost more than the signature (docs/benchmarks.md).

Only a request that is certain to succeed takes it. Anything else goes on, untouched, to the
Flask endpoint (idp.oidc.endpoints), which owns every error and every other grant: another
grant type, a parameter named twice or not known here, an empty value, a client or key this
process does not hold in memory right now (its cache is checked against the database by the
full path), key upkeep due, a wrong secret, a scope not allowed. So both paths answer the same
request the same way, and the conformance tests run against both (tests/oidc).
"""

from __future__ import annotations

import base64
import binascii
import io
import json
from collections.abc import Callable, Iterable
from urllib.parse import parse_qsl, unquote

from flask import Flask

from idp.oidc.server import SCOPES
from keys.store import NotInMemory

PATH = "/oidc/token"
GRANT = "client_credentials"
FORM = "application/x-www-form-urlencoded"
MAX_BODY = 4096  # a longer body goes the full way (which takes up to MAX_CONTENT_LENGTH)
KNOWN = frozenset({"grant_type", "scope", "resource", "client_id", "client_secret"})
SUPPORTED = frozenset(SCOPES)
HEADERS = [("Content-Type", "application/json"), ("Cache-Control", "no-store"),
           ("Pragma", "no-cache")]  # fmt: skip


def plain_form(body: bytes) -> dict[str, str] | None:
    """The parameters of a form body (RFC 6749 Appendix B: UTF-8, form-urlencoded) when it is
    plain: each parameter known here, present once, with a value. Else None."""
    try:
        text = body.decode("ascii")  # a percent-encoded form is ASCII
        pairs = parse_qsl(text, keep_blank_values=True, encoding="utf-8", errors="strict")
    except (UnicodeDecodeError, ValueError):
        return None
    form = dict(pairs)
    if len(form) != len(pairs) or not KNOWN.issuperset(form) or not all(form.values()):
        return None
    return form


def basic_credentials(header: str) -> tuple[str, str] | None:
    """client_id and client_secret from HTTP Basic (RFC 7617), each form-urlencoded first
    (RFC 6749 section 2.3.1), as Authlib reads them; None unless both are there."""
    scheme, _, token = header.partition(" ")
    if scheme.lower() != "basic":
        return None
    try:
        decoded = base64.b64decode(token.strip(), validate=True).decode("utf-8")
    except (binascii.Error, UnicodeDecodeError):
        return None
    client_id, colon, secret = decoded.partition(":")
    if not colon:
        return None
    client_id, secret = unquote(client_id), unquote(secret)
    return (client_id, secret) if client_id and secret else None


class DirectToken:
    """WSGI middleware in front of the Flask app (inside the access log and the security
    headers, which apply to both paths alike)."""

    def __init__(self, app: Flask, wsgi_app: Callable) -> None:
        self.app, self.wsgi_app = app, wsgi_app
        self._parts: tuple | None = None

    def __call__(self, environ: dict, start_response: Callable) -> Iterable[bytes]:
        if environ.get("PATH_INFO") == PATH and environ.get("REQUEST_METHOD") == "POST":
            body = self._answer(environ)
            if body is not None:
                headers = [*HEADERS, ("Content-Length", str(len(body)))]
                start_response("200 OK", headers)
                return [body]
        return self.wsgi_app(environ, start_response)

    def _state(self) -> tuple:
        """The provider, the client cache, key upkeep and an in-memory view of the keys (the
        app's extensions, all made when the app was built; the keys' store is made on first
        use, and where it cannot be, the full path says why)."""
        if self._parts is None:
            from idp.oidc import OIDC
            from keys.app import KEYS

            oidc, keys = OIDC.of(self.app), KEYS.of(self.app)
            self._parts = (oidc.provider, oidc.server.clients, keys, keys.store().in_memory())
        return self._parts

    def _answer(self, environ: dict) -> bytes | None:
        """The response body, or None to go the full way (with the body put back)."""
        if environ.get("CONTENT_TYPE", "").partition(";")[0].strip().lower() != FORM:
            return None
        try:
            length = int(environ.get("CONTENT_LENGTH") or 0)
        except ValueError:
            return None
        if not 0 < length <= MAX_BODY or "HTTP_TRANSFER_ENCODING" in environ:
            return None
        body = environ["wsgi.input"].read(length)
        environ["wsgi.input"] = io.BytesIO(body)  # read again by the full path, if it goes there
        form = plain_form(body)
        if form is None or form.get("grant_type") != GRANT:
            return None
        try:
            token = self._grant(environ, form)
        except NotInMemory:
            return None
        return None if token is None else json.dumps(token, sort_keys=True).encode()

    def _grant(self, environ: dict, form: dict[str, str]) -> dict | None:
        try:
            provider, clients, keys, in_memory = self._state()
        except Exception:  # e.g. no master key: the full path answers, and says why
            return None
        header = environ.get("HTTP_AUTHORIZATION")
        if header is not None:
            if "client_id" in form or "client_secret" in form:
                return None  # two ways at once: the full path decides
            credentials, method = basic_credentials(header), "client_secret_basic"
        else:
            credentials = form.get("client_id"), form.get("client_secret")
            method = "client_secret_post"
        if not credentials or not all(credentials) or keys.due():
            return None
        client_id, secret = credentials
        client = clients.peek(client_id)
        if (
            client is None
            or not client.check_endpoint_auth_method(method, "token")
            or not client.check_grant_type(GRANT)
            or not client.check_client_secret(secret)
        ):
            return None
        scope = form.get("scope")
        if scope is not None:
            scopes = scope.split()
            if "openid" in scopes or not SUPPORTED.issuperset(scopes):
                return None
        minter = provider.minter(in_memory)
        return provider.client_token(minter, client, scope, form.get("resource"))


def install(app: Flask) -> None:
    """Put the direct path in front of the app's WSGI callable as it is now (call before the
    access log and the security headers wrap it)."""
    app.wsgi_app = DirectToken(app, app.wsgi_app)  # type: ignore[method-assign]
