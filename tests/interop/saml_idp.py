"""A city's SAML IdP reachable over HTTP, for the full-flow tests: pysaml2 (peer.py's SamlIdp,
an implementation independent of the broker's python3-saml) behind a small WSGI app on a
loopback port, served by Werkzeug in a thread of the test process.

- ``GET  /adfs/ls/``  the broker's HTTP-Redirect AuthnRequest; pysaml2 verifies its signature
  against the certificate in the broker's SP metadata (fetched from the broker at the first
  request), then shows a sign-in form;
- ``POST /adfs/ls/``  the form: right password, and the answer is a page whose form (posted by a
  script, or by its button without scripts) carries the signed SAMLResponse and the RelayState
  to the AuthnRequest's ACS URL.

Every request, refusal and exception is written to ``log`` for the failure report.
"""

from __future__ import annotations

import html
import secrets
import threading
import traceback
import urllib.request
from dataclasses import dataclass
from pathlib import Path

from werkzeug.serving import make_server
from werkzeug.wrappers import Request, Response

from tests.federation.saml.peer import (
    AuthnRequest,
    SamlIdp,
    key_and_certificate,
    post_form,
)

SSO_PATH = "/adfs/ls/"
PASSWORD = "salasana"


@dataclass(frozen=True)
class Person:
    subject: str  # the persistent NameID (ADFS: from objectGUID)
    attributes: dict[str, list[str]]


class LoopbackSamlIdp(SamlIdp):
    """peer.SamlIdp with its single sign-on service at ``sso_url`` instead of peer.SSO_URL
    (pysaml2 refuses an AuthnRequest whose Destination is not one of its endpoints)."""

    def __init__(self, key: Path, cert: Path, sp_metadata: list[str], entity_id: str, sso_url):
        from saml2 import BINDING_HTTP_REDIRECT

        super().__init__(key, cert, sp_metadata, entity_id=entity_id)
        endpoints = {"single_sign_on_service": [(sso_url, BINDING_HTTP_REDIRECT)]}
        self.server.config.setattr("idp", "endpoints", endpoints)


PAGE = """<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>{title}</title></head>
<body>{body}</body></html>"""
LOGIN = """<h1>Test IdP sign-in</h1>{error}
<form method="post" action="{action}">
<input type="hidden" name="request" value="{token}">
<label>User name <input name="username" autocomplete="username"></label>
<label>Password <input name="password" type="password"></label>
<button type="submit">Sign in</button>
</form>"""
POST_BACK = """<form method="post" action="{action}" id="saml">
<input type="hidden" name="SAMLResponse" value="{response}">
<input type="hidden" name="RelayState" value="{relay_state}">
<noscript><button type="submit">Continue</button></noscript>
</form>
<script>document.getElementById('saml').submit()</script>"""


class HttpSamlIdp:
    """The IdP's HTTP server; ``start()`` binds a free loopback port, ``stop()`` shuts it."""

    def __init__(self, folder: Path, sp_metadata_url: str, people: dict[str, Person]):
        self.folder, self.sp_metadata_url, self.people = folder, sp_metadata_url, people
        self.key, self.cert = key_and_certificate(folder, "saml-idp", "adfs.ouka.test")
        self.log = folder / "saml-idp.log"
        self.log.write_text("")
        self._idp: LoopbackSamlIdp | None = None
        self._pending: dict[str, AuthnRequest] = {}
        self._lock = threading.Lock()  # pysaml2 and xmlsec1 calls, one request at a time
        self._server = make_server("127.0.0.1", 0, self._app, threaded=True)
        self.url = f"http://127.0.0.1:{self._server.server_port}"
        self.entity_id = f"{self.url}/adfs/services/trust"
        self.sso_url = f"{self.url}{SSO_PATH}"
        self.requests: list[AuthnRequest] = []  # every AuthnRequest pysaml2 accepted
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    def start(self) -> HttpSamlIdp:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(timeout=5)

    def _write(self, line: str) -> None:
        with self.log.open("a", encoding="utf-8") as out:
            out.write(line.rstrip("\n") + "\n")

    def idp(self) -> LoopbackSamlIdp:
        """The pysaml2 IdP, built at the first request: the broker must be up to serve its SP
        metadata, which holds the certificate its AuthnRequests are verified against."""
        if self._idp is None:
            with urllib.request.urlopen(self.sp_metadata_url, timeout=10) as answer:  # noqa: S310
                metadata = answer.read().decode()
            self._idp = LoopbackSamlIdp(
                self.key, self.cert, [metadata], self.entity_id, self.sso_url
            )
        return self._idp

    # -- the WSGI app ---------------------------------------------------------------------------

    @Request.application
    def _app(self, request: Request) -> Response:
        try:
            with self._lock:
                response = self._route(request)
        except Exception:
            self._write(traceback.format_exc())
            response = self._page("Test IdP error", "<p>See saml-idp.log</p>", 500)
        self._write(f"{request.method} {request.path} -> {response.status_code}")
        return response

    def _route(self, request: Request) -> Response:
        if request.path != SSO_PATH:
            return self._page("Not found", "", 404)
        if request.method == "GET":
            try:
                authn = self.idp().receive_query(request.query_string.decode())
            except Exception as exc:
                self._write(f"AuthnRequest refused: {exc!r}")
                return self._page("Bad request", f"<p>{html.escape(repr(exc))}</p>", 400)
            self.requests.append(authn)
            token = secrets.token_urlsafe(16)
            self._pending[token] = authn
            return self._login(token, "", 200)
        if request.method == "POST":
            token = request.form.get("request", "")
            authn = self._pending.get(token)
            if authn is None:
                return self._page("Expired", "<p>Unknown or used sign-in request.</p>", 400)
            person = self.people.get(request.form.get("username", ""))
            if person is None or request.form.get("password") != PASSWORD:
                return self._login(token, "<p role=alert>Wrong user name or password.</p>", 401)
            del self._pending[token]
            xml = self.idp().response(authn, person.subject, person.attributes)
            fields = post_form(xml, authn.relay_state)
            body = POST_BACK.format(
                action=html.escape(authn.acs_url),
                response=fields["SAMLResponse"],
                relay_state=html.escape(fields["RelayState"]),
            )
            return self._page("Signing in", body, 200)
        return self._page("Method not allowed", "", 405)

    def _login(self, token: str, error: str, status: int) -> Response:
        body = LOGIN.format(error=error, action=SSO_PATH, token=token)
        return self._page("Sign in", body, status)

    @staticmethod
    def _page(title: str, body: str, status: int) -> Response:
        text = PAGE.format(title=html.escape(title), body=body)
        return Response(text, status, content_type="text/html; charset=utf-8")
