"""Readable error pages, in the person's language, for every failure a browser can meet."""

from __future__ import annotations

import logging

from authlib.oauth2.rfc6749.errors import InsecureTransportError
from flask import Flask, jsonify, render_template, request
from flask_babel import gettext as _
from flask_wtf.csrf import CSRFError
from werkzeug.exceptions import HTTPException

log = logging.getLogger("digione.errors")


API_PREFIXES = ("/oidc/token", "/oidc/userinfo", "/oidc/introspect", "/oidc/revoke",
                "/oidc/register", "/.well-known/", "/jwks.json", "/consent/api/",
                "/admin/api/", "/consent-log/")  # fmt: skip


def error_response(status: int, title: str, detail: str, reason: str | None = None):
    """A page for people, or for a machine (API_PREFIXES) an OAuth-style JSON error whose
    description is ``reason`` (English, for a developer) or the title."""
    if request.path.startswith(API_PREFIXES):
        # Machines get OAuth-style JSON errors (RFC 6749 5.2), never an HTML page.
        error = "server_error" if status >= 500 else "invalid_request"
        response = jsonify(error=error, error_description=reason or str(title))
        response.status_code = status
        response.headers["Cache-Control"] = "no-store"
        return response
    return render_template("error.html", status=status, title=title, detail=detail), status


def csrf_error(_error: CSRFError):
    return error_response(
        400,
        _("The form expired"),
        _("For your security the form was not accepted. Go back, reload the page and try again."),
    )


def http_error(error: HTTPException):
    if error.code == 404:
        return error_response(
            404, _("Page not found"), _("Check the address, or start from the front page.")
        )
    if error.code == 405:
        return error_response(
            405, _("Not allowed"), _("This address does not accept that kind of request.")
        )
    if error.code == 413:
        return error_response(413, _("Too much data"), _("The request was too large."))
    return error_response(
        error.code or 400, _("Bad request"), _("The request could not be understood.")
    )


def insecure_transport(_error: InsecureTransportError):
    """Authlib refuses a token, introspection, revocation or consent API request that came
    over plain http to a host other than loopback, before any handler (RFC 6749 section
    3.2): a 400 that says so, not a 500."""
    return error_response(
        400,
        _("Bad request"),
        _("This address needs https."),
        "https is required: the request came over plain http to a host other than loopback",
    )


def unexpected(error: Exception):
    log.exception("unexpected error")
    return error_response(
        500,
        _("Something went wrong"),
        _("The error has been recorded. Please try again in a moment."),
    )


def init_app(app: Flask) -> None:
    """Every error a browser or a client can meet gets a page or an OAuth-style error."""
    app.register_error_handler(CSRFError, csrf_error)
    app.register_error_handler(InsecureTransportError, insecure_transport)
    app.register_error_handler(HTTPException, http_error)
    app.register_error_handler(Exception, unexpected)
