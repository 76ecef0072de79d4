"""Dynamic client registration (RFC 7591) and its management protocol (RFC 7592).

``POST /oidc/register`` takes an initial access token (``digione clients token``) as Bearer; the
client configuration endpoint ``/oidc/register/<client_id>`` takes the client's registration
access token. A caller without the right token learns nothing, not even whether the client
exists (RFC 7592 section 2). Metadata is checked only by client_metadata.validate_metadata;
dynamic registration never grants admin-only scopes. Every answer is JSON and not cached.
"""

from __future__ import annotations

import logging

from flask import Blueprint, Response, abort, current_app, jsonify, request

from core.app import config_of
from core.db import db
from core.security import csrf
from idp.oidc import clients
from idp.oidc.bearer import bearer_error, bearer_token
from idp.oidc.models import Client

bp = Blueprint("oidc_registration", __name__, url_prefix="/oidc/register")
csrf.exempt(bp)  # a JSON API authenticated by Bearer tokens, not by a cookie
log = logging.getLogger("digione.oidc.registration")


def _error(status: int, error: str, description: str) -> Response:
    if status == 401:  # a challenge naming only the error (RFC 6750 section 3)
        return bearer_error(error, description, describe=False)
    response = jsonify(error=error, error_description=description)
    response.status_code = status
    return response


def _body() -> dict:
    data = request.get_json(silent=True) if request.is_json else None
    if not isinstance(data, dict):
        abort(_error(400, "invalid_client_metadata", "the body must be a JSON object"))
    return data


def _settings():
    return config_of(current_app).settings


def _development() -> bool:
    return _settings().server.mode == "development"


def _info(client: Client, **secrets: str | None) -> dict:
    return clients.client_info(client, issuer=_settings().server.issuer, **secrets)


def _managed_client(client_id: str) -> Client:
    """The client whose registration access token is presented, else 401 (RFC 7592 section 3)."""
    client = clients.get(db.session, client_id)
    stored = client.registration_access_token_hash if client else None
    if not clients.verify_secret(stored, bearer_token()):
        abort(_error(401, "invalid_token", "a valid registration access token is required"))
    return client


@bp.before_request
def _enabled() -> Response | None:
    if not _settings().oidc.registration:
        return _error(404, "not_found", "dynamic client registration is not enabled")
    return None


@bp.after_request
def _no_store(response: Response) -> Response:
    response.headers["Cache-Control"] = "no-store"
    response.headers["Pragma"] = "no-cache"
    return response


@bp.post("")
def register() -> Response | tuple[Response, int]:
    """RFC 7591 section 3: 201 with the client information, its secret and its registration
    access token, or 400 with invalid_client_metadata / invalid_redirect_uri."""
    if not clients.check_initial_access_token(db.session, bearer_token()):
        return _error(401, "invalid_token", "a valid initial access token is required")
    try:
        made = clients.register(
            db.session, _body(), admin=False, development=_development(), dynamic=True
        )
    except clients.InvalidClientMetadata as exc:
        return _error(400, exc.error, exc.description)
    db.session.commit()
    log.info("client registered", extra={"event": {"client_id": made.client.client_id}})
    info = _info(
        made.client, secret=made.client_secret, registration_token=made.registration_access_token
    )
    return jsonify(info), 201


@bp.get("/<client_id>")
def read(client_id: str) -> Response:
    """RFC 7592 section 2.1: the metadata and registration_client_uri. Secrets are stored
    hashed, so they are not repeated."""
    return jsonify(_info(_managed_client(client_id)))


@bp.put("/<client_id>")
def replace(client_id: str) -> Response:
    """RFC 7592 section 2.2: the body replaces the metadata; it names the client_id and, if
    it carries a client_secret, the current one. A secret made by the update is returned."""
    client = _managed_client(client_id)
    data = _body()
    if data.get("client_id") != client.client_id:
        return _error(400, "invalid_request", "client_id: must be this client's client_id")
    if "client_secret" in data and not client.check_client_secret(data["client_secret"]):
        return _error(400, "invalid_request", "client_secret: does not match")
    try:
        made = clients.update(db.session, client, data, admin=False, development=_development())
    except clients.InvalidClientMetadata as exc:
        db.session.rollback()
        return _error(400, exc.error, exc.description)
    db.session.commit()
    log.info("client updated", extra={"event": {"client_id": client.client_id}})
    return jsonify(_info(client, secret=made.client_secret))


@bp.delete("/<client_id>")
def delete(client_id: str) -> Response:
    """RFC 7592 section 2.3: 204; the client's grants and tokens go with it."""
    client = _managed_client(client_id)
    clients.remove(db.session, client)
    db.session.commit()
    log.info("client deleted", extra={"event": {"client_id": client_id}})
    return Response(status=204)
