"""Security headers on every response and CSRF protection on every form.

Headers follow the OWASP secure headers project and RFC 9700 section 4.16 (clickjacking):
pages may not be framed, scripts and styles only from the broker itself.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any
from urllib.parse import urlsplit

from flask import Flask, Response, make_response, render_template
from flask_wtf.csrf import CSRFProtect

csrf = CSRFProtect()

CSP = (
    "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "font-src 'self'; connect-src 'self'; form-action 'self'; frame-ancestors 'none'; "
    "base-uri 'none'"
)


def safe_next(target: str | None) -> str | None:
    """Only a path on this broker: never another host (open redirect, RFC 9700 4.11)."""
    if not target or not target.startswith("/") or target.startswith(("//", "/\\")):
        return None
    if any(ch in target for ch in "\r\n\t\\"):
        return None
    return target


def allow_form_targets(response: Response, urls: list[str]) -> Response:
    """Let this page's forms lead to other origins (CSP ``form-action`` also governs the
    redirects after a submission, so a sign-in form that ends at a service's redirect URI
    needs that origin). Only for URIs the caller has checked against a registration."""
    origins = sorted({"{0.scheme}://{0.netloc}".format(urlsplit(u)) for u in urls if u})
    if origins:
        response.headers["Content-Security-Policy"] = CSP.replace(
            "form-action 'self'", "form-action 'self' " + " ".join(origins)
        )
    return response


def auto_post(action: str, fields: dict[str, str]) -> Response:
    """A page whose form posts ``fields`` to ``action`` by itself (a button without
    JavaScript): form_post responses to services, SAML POST binding to a city's IdP. Its CSP
    lets forms go to that origin only, not even back to the broker."""
    response = make_response(render_template("form_post.html", action=action, fields=fields))
    origin = "{0.scheme}://{0.netloc}".format(urlsplit(action))
    response.headers["Content-Security-Policy"] = CSP.replace(
        "form-action 'self'", f"form-action {origin}"
    )
    return response


def _defaults(secure: bool) -> list[tuple[str, str]]:
    headers = [
        ("Content-Security-Policy", CSP),
        ("X-Frame-Options", "DENY"),
        ("X-Content-Type-Options", "nosniff"),
        ("Referrer-Policy", "no-referrer"),
        ("Cross-Origin-Opener-Policy", "same-origin"),
        ("Permissions-Policy", "camera=(), microphone=(), geolocation=()"),
    ]
    if secure:
        headers.append(("Strict-Transport-Security", "max-age=31536000; includeSubDomains"))
    return headers


class SecurityHeaders:
    """WSGI middleware: the headers above on every response that does not set its own (a page
    may widen its CSP's form-action: :func:`allow_form_targets`), and ``no-store`` on HTML.

    At the WSGI level, on the list of header pairs, rather than as a Flask hook that looked up
    each header in Werkzeug's Headers (6 % of a client_credentials grant)."""

    def __init__(self, app: Callable, secure: bool) -> None:
        self.app = app
        self.defaults = [(name.lower(), name, value) for name, value in _defaults(secure)]

    def __call__(self, environ: dict, start_response: Callable) -> Iterable[bytes]:
        def start(status: str, headers: list, exc_info: Any = None) -> Callable:
            present = {name.lower(): value for name, value in headers}
            headers.extend((n, v) for key, n, v in self.defaults if key not in present)
            html = present.get("content-type", "").startswith("text/html")
            if html and "cache-control" not in present:
                headers.append(("Cache-Control", "no-store"))
            return start_response(status, headers, exc_info)

        return self.app(environ, start)


def init_app(app: Flask) -> None:
    csrf.init_app(app)
    app.wsgi_app = SecurityHeaders(app.wsgi_app, app.config["SESSION_COOKIE_SECURE"])  # type: ignore[method-assign]
