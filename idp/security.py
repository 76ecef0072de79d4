"""Security headers on every response and CSRF protection on every form.

Headers follow the OWASP secure headers project and RFC 9700 section 4.16 (clickjacking):
pages may not be framed, scripts and styles only from the broker itself.
"""

from __future__ import annotations

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


def init_app(app: Flask) -> None:
    csrf.init_app(app)
    secure = app.config["SESSION_COOKIE_SECURE"]

    @app.after_request
    def _headers(response: Response) -> Response:
        headers = response.headers
        headers.setdefault("Content-Security-Policy", CSP)
        headers.setdefault("X-Frame-Options", "DENY")
        headers.setdefault("X-Content-Type-Options", "nosniff")
        headers.setdefault("Referrer-Policy", "no-referrer")
        headers.setdefault("Cross-Origin-Opener-Policy", "same-origin")
        headers.setdefault("Permissions-Policy", "camera=(), microphone=(), geolocation=()")
        if secure:
            headers.setdefault("Strict-Transport-Security", "max-age=31536000; includeSubDomains")
        if response.mimetype == "text/html":
            headers.setdefault("Cache-Control", "no-store")
        return response
