"""The request filter at the edge: input that no endpoint can use is answered here, once, in the
protocol's own format (idp.errors: an OAuth-style JSON error for machines, a page for people),
before any handler or database sees it.

- A NUL character in a query or form parameter (name or value), a path segment, a JSON string
  or the Basic credentials: PostgreSQL's text cannot hold one (the driver raised, a 500).
- A JSON body nested deeper than any of the broker's documents (RFC 7591 metadata, the consent
  API) or that the parser cannot take: a client error, not a recursion in the server.
- Basic credentials (RFC 7617) that are not base64 of UTF-8 text.
"""

from __future__ import annotations

import base64
import binascii
from collections.abc import Iterable
from urllib.parse import unquote

from flask import Flask, request
from flask_babel import gettext as _
from flask_babel import lazy_gettext
from werkzeug.datastructures import MultiDict

from idp.errors import error_response

MAX_JSON_DEPTH = 16
NUL = "\x00"
NUL_CHARACTER = "a parameter holds a NUL character"
TOO_DEEP = "the JSON body is nested too deeply or cannot be parsed"
NOT_BASIC = "the Basic credentials are not base64 of UTF-8 text"
READABLE = {  # what the page tells a person, in their language
    NUL_CHARACTER: lazy_gettext("It contains a character that is not allowed."),
    TOO_DEEP: lazy_gettext("Its data is nested too deeply."),
    NOT_BASIC: lazy_gettext("Its credentials could not be read."),
}


def _has_nul(values: Iterable[str]) -> bool:
    return any(NUL in value for value in values)


def _pairs_have_nul(pairs: MultiDict) -> bool:
    """A NUL in any name or in any value, a repeated parameter's later values too."""
    return any(NUL in name or NUL in value for name, value in pairs.items(multi=True))


def _json_problem(value, depth: int = 0) -> str | None:
    """Why a parsed JSON document cannot be taken, or None."""
    if depth > MAX_JSON_DEPTH:
        return TOO_DEEP
    if isinstance(value, str):
        return NUL_CHARACTER if NUL in value else None
    if isinstance(value, dict):
        for key, item in value.items():
            problem = (NUL in key and NUL_CHARACTER) or _json_problem(item, depth + 1)
            if problem:
                return problem
    elif isinstance(value, list):
        for item in value:
            problem = _json_problem(item, depth + 1)
            if problem:
                return problem
    return None


def _basic_problem(header: str) -> str | None:
    scheme, _space, credentials = header.partition(" ")
    if scheme.lower() != "basic":
        return NUL_CHARACTER if NUL in header else None
    try:
        text = base64.b64decode(credentials.strip(), validate=True).decode("utf-8")
    except (binascii.Error, ValueError):
        return NOT_BASIC
    # RFC 6749 section 2.3.1: the client id and secret are form-urlencoded inside
    return NUL_CHARACTER if NUL in text or NUL in unquote(text) else None


def problem() -> str | None:
    """What makes this request unusable, or None."""
    if _pairs_have_nul(request.args):
        return NUL_CHARACTER
    if _has_nul(str(value) for value in (request.view_args or {}).values()):
        return NUL_CHARACTER
    if request.method in ("POST", "PUT", "PATCH", "DELETE"):
        if request.mimetype in ("application/x-www-form-urlencoded", "multipart/form-data"):
            if _pairs_have_nul(request.form):
                return NUL_CHARACTER
        elif request.is_json and request.content_length != 0:
            try:
                document = request.get_json(silent=True)
            except RecursionError:
                return TOO_DEEP
            reason = _json_problem(document)
            if reason:
                return reason
    header = request.headers.get("Authorization")
    return _basic_problem(header) if header else None


def refuse_unusable_input():
    """before_request: a 400 for a request no endpoint can use, else None."""
    reason = problem()
    if reason is None:
        return None
    return error_response(400, _("Bad request"), str(READABLE[reason]), reason)


def init_app(app: Flask) -> None:
    app.before_request(refuse_unusable_input)
