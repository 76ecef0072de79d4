"""The services' consent API (CONSENT.md; docs/connect-your-service.md, "Consent API").

A recipient service asks for a child's consent and follows the request; the source system
checks a consent (and the consent-bound token presented to it, RFC 8693 / consent.exchange).
Clients authenticate exactly as at the token endpoint (RFC 6749 section 2.3.1, RFC 7523
section 2.2), confidential methods only; a failure is 401 ``invalid_client`` with a
``WWW-Authenticate`` challenge (RFC 6749 section 5.2). Other errors are OAuth-style JSON,
``{"error", "error_description"}``. Answers carry identifiers and states only, never personal
data, and are never cached (``Cache-Control: no-store``).

- ``POST /consent/api/requests`` (form or JSON): ``purpose``, ``sub`` (the child as the client
  knows them). 201 with a new record (``Location``), 200 with the open one that exists.
- ``GET|POST /consent/api/requests/<id>``: the record, for the client that asked (or the
  purpose's recipient); 404 for everyone else.
- ``POST /consent/api/check``: for the purpose's source system: ``consent_id`` and/or
  ``token`` → ``{"valid", "state", ...}``; 404 for records of other sources.
"""

from __future__ import annotations

from authlib.integrations.flask_oauth2.requests import FlaskOAuth2Request
from authlib.oauth2.base import OAuth2Error
from authlib.oauth2.rfc6749.errors import InvalidClientError
from flask import Blueprint, Response, jsonify, request, url_for
from werkzeug.datastructures import MultiDict

from consent import purposes, records
from consent.models import ConsentRecord, Purpose
from core.db import db
from core.security import csrf
from idp.oidc import oidc
from idp.oidc.bearer import access_grant
from idp.oidc.models import Client
from idp.oidc.pairwise import person_for

bp = Blueprint("consent_api", __name__, url_prefix="/consent/api")
csrf.exempt(bp)

CONFIDENTIAL = ["client_secret_basic", "client_secret_post", "private_key_jwt"]
# Reasons a record ended that a service may see; others (custody, protection) stay with the
# family: they read as null.
SHOWN_REASONS = frozenset({"validity", "purpose_withdrawn", "purpose_new_version"})
MAX_TOKEN = 8192


class ApiError(Exception):
    def __init__(self, status: int, error: str, description: str):
        super().__init__(description)
        self.status, self.error, self.description = status, error, description


@bp.errorhandler(ApiError)
def _api_error(exc: ApiError) -> tuple[Response, int]:
    return jsonify(error=exc.error, error_description=exc.description), exc.status


@bp.after_request
def _no_store(response: Response) -> Response:
    response.headers["Cache-Control"] = "no-store"
    response.headers["Pragma"] = "no-cache"
    return response


class _ApiRequest(FlaskOAuth2Request):
    """Authlib's request over the API's body, so that client_secret_post and private_key_jwt
    read their parameters from a JSON body as from a form."""

    def __init__(self, flask_request, body: MultiDict):
        super().__init__(flask_request)
        self._body = body

    @property
    def form(self) -> MultiDict:
        return self._body


def _body() -> tuple[MultiDict, dict]:
    """The body's string fields, and the raw values (to refuse wrong types). A form's fields
    are always strings; a JSON body must be an object."""
    if request.method == "GET":
        return MultiDict(), {}
    if request.is_json:
        data = request.get_json(silent=True)
        if not isinstance(data, dict):
            raise ApiError(400, "invalid_request", "The JSON body must be an object.")
        strings = {key: value for key, value in data.items() if isinstance(value, str)}
        return MultiDict(strings), data
    return request.form, request.form.to_dict()


def _authenticate(body: MultiDict) -> Client:
    """The client, authenticated as at the token endpoint; 401 invalid_client otherwise."""
    server = oidc().server
    oauth_request = _ApiRequest(request, body)
    try:
        return server.authenticate_client(oauth_request, CONFIDENTIAL, "token")
    except InvalidClientError as error:
        error.status_code = 401  # always a challenge (RFC 6749 section 5.2)
        return _abort(server.handle_error_response(oauth_request, error))
    except OAuth2Error as error:
        return _abort(server.handle_error_response(oauth_request, error))


class _Done(Exception):
    def __init__(self, response: Response):
        self.response = response


def _abort(response: Response):
    raise _Done(response)


@bp.errorhandler(_Done)
def _done(exc: _Done) -> Response:
    return exc.response


def _field(body: MultiDict, raw: dict, name: str, limit: int, *, required: bool = True):
    if name in raw and not isinstance(raw[name], str):
        raise ApiError(400, "invalid_request", f"'{name}' must be a string.")
    value = body.get(name) or None
    if value is None and required:
        raise ApiError(400, "invalid_request", f"'{name}' is required.")
    if value is not None and len(value) > limit:
        raise ApiError(400, "invalid_request", f"'{name}' is too long.")
    return value


def _iso(moment) -> str | None:
    return moment.isoformat() if moment is not None else None


def record_json(current: records.View) -> dict:
    """A record as a service sees it: identifiers, state and times only."""
    record, derived = current.record, current.derived
    guardians = {person for person in derived.answers if person != record.child_id}
    return {
        "id": record.id,
        "purpose": record.purpose_id,
        "purpose_version": record.purpose_version,
        "state": derived.state,
        "active": derived.active,
        "created_at": _iso(record.created_at),
        "given_at": _iso(derived.given_at),
        "valid_until": _iso(derived.valid_until),
        "ended_at": _iso(derived.ended_at),
        "reason": derived.reason if derived.reason in SHOWN_REASONS else None,
        "guardians_answered": len(guardians),
    }


REFUSALS = {
    "cannot_consent": (403, "cannot_consent", "Nobody can give this consent for this child."),
    "purpose_withdrawn": (400, "invalid_request", "The purpose has been withdrawn."),
    "unknown_child": (400, "invalid_request", "The sub names no known person."),
}


@bp.post("/requests")
def create_request() -> tuple[Response, int] | Response:
    """Ask the child's deciders (or, under another lawful basis, record the sharing)."""
    body, raw = _body()
    client = _authenticate(body)
    purpose_id = _field(body, raw, "purpose", 64)
    sub = _field(body, raw, "sub", 64)
    purpose = purposes.latest(db.session, purpose_id)
    if purpose is None:
        raise ApiError(400, "invalid_request", "No such purpose.")
    if purpose.recipient_client_id != client.client_id:
        raise ApiError(403, "unauthorized_client", "The client is not this purpose's recipient.")
    child = person_for(db.session, client, sub)
    if child is None:
        raise ApiError(*REFUSALS["unknown_child"])
    try:
        current, created = records.request(
            db.session, purpose, child, client_id=client.client_id, method="api"
        )
    except records.ConsentError as exc:
        db.session.commit()  # the refusal's audit entry
        raise ApiError(*REFUSALS.get(exc.code, REFUSALS["cannot_consent"])) from None
    db.session.commit()
    response = jsonify(record_json(current))
    if not created:
        return response
    response.headers["Location"] = url_for(".read_request", record_id=current.record.id)
    return response, 201


def _purpose_of(record: ConsentRecord) -> Purpose:
    return db.session.get(Purpose, (record.purpose_id, record.purpose_version))


@bp.route("/requests/<record_id>", methods=["GET", "POST"])
def read_request(record_id: str) -> Response:
    """A record's state, for the client that asked for it or the purpose's recipient. GET
    authenticates with HTTP Basic; POST also with credentials in the body."""
    body, _raw = _body()
    client = _authenticate(body)
    record = db.session.get(ConsentRecord, record_id) if len(record_id) <= 36 else None
    if record is None or client.client_id not in (
        record.requested_by,
        _purpose_of(record).recipient_client_id,
    ):
        raise ApiError(404, "not_found", "No such consent request.")
    return jsonify(record_json(records.view(db.session, record)))


def _for(claims: dict | None, client: Client, consent_id: str) -> bool:
    """Whether a live token is bound to this consent and addressed to this source."""
    if claims is None or claims.get("consent_id") != consent_id:
        return False
    audience = claims.get("aud")
    audiences = audience if isinstance(audience, list) else [audience]
    own = {client.client_id, *client.client_metadata.get("resources", [])}
    return bool(own & {a for a in audiences if isinstance(a, str)})


@bp.post("/check")
def check() -> Response:
    """For the purpose's source system: is the consent (and the token presented) valid now?"""
    body, raw = _body()
    client = _authenticate(body)
    consent_id = _field(body, raw, "consent_id", 64, required=False)
    token = _field(body, raw, "token", MAX_TOKEN, required=False)
    grant = access_grant(token) if token else None  # any audience: _for checks it is this source
    claims = grant.claims if grant is not None else None
    if consent_id is None and token is None:
        raise ApiError(400, "invalid_request", "'consent_id' or 'token' is required.")
    if consent_id is None:
        named = (claims or {}).get("consent_id")
        if not isinstance(named, str):
            return jsonify(valid=False, token_active=False)
        consent_id = named
    record = db.session.get(ConsentRecord, consent_id) if len(consent_id) <= 36 else None
    purpose = _purpose_of(record) if record is not None else None
    if purpose is None or purpose.source_client_id != client.client_id:
        raise ApiError(404, "not_found", "No such consent for this source system.")
    derived = records.view(db.session, record).derived
    answer = {
        "consent_id": record.id,
        "valid": derived.active,
        "state": derived.state,
        "purpose": record.purpose_id,
        "purpose_version": record.purpose_version,
        "scopes": list(purpose.scopes),
        "valid_until": _iso(derived.valid_until),
    }
    if token is not None:
        answer["token_active"] = derived.active and _for(claims, client, record.id)
        answer["valid"] = answer["token_active"]
    return jsonify(answer)
