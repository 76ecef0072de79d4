"""The broker's Flask request, response and session classes: Flask's own, minus per-request
work that the token endpoint measurably paid for (docs/benchmarks.md)."""

from __future__ import annotations

from typing import Any

from flask import Flask, Request, Response
from flask.sessions import SecureCookieSession, SecureCookieSessionInterface
from werkzeug.datastructures import EnvironHeaders


class _Headers(EnvironHeaders):
    """The request's headers, read from the WSGI environ as Werkzeug's are. Always true:
    Authlib tests ``headers or {}``, and Werkzeug's truth test counts the headers by walking
    the whole environ, which granian fills with the process environment."""

    def __bool__(self) -> bool:
        return True


class DigiOneRequest(Request):
    def __init__(self, environ: dict, populate_request: bool = True, shallow: bool = False):
        super().__init__(environ, populate_request, shallow)
        self.headers = _Headers(environ)


class CookieSessions(SecureCookieSessionInterface):
    """Flask's signed-cookie sessions, without building the signer for a request that brings
    no cookie (every API call: 5 % of a client_credentials grant)."""

    def open_session(self, app: Flask, request: Request) -> SecureCookieSession | None:
        if app.secret_key and "HTTP_COOKIE" not in request.environ:
            return self.session_class()
        return super().open_session(app, request)


class BufferedResponse(Response):
    """Flask's response, handed to the WSGI server as one list when its body is already in
    memory (every page and JSON answer here): granian sends a list in one piece, where it
    would step through an iterator across the GIL ."""

    def get_app_iter(self, environ: dict) -> Any:
        if not self.is_sequence or self.direct_passthrough:
            return super().get_app_iter(environ)
        status = self.status_code
        empty = environ["REQUEST_METHOD"] == "HEAD" or status < 200 or status in (204, 304)
        body = [] if empty else [b"".join(self.iter_encoded())]
        self.close()  # nothing is left to stream: run what waits for the end now
        return body


def install(app: Flask) -> None:
    app.request_class = DigiOneRequest
    app.response_class = BufferedResponse
    app.session_interface = CookieSessions()
