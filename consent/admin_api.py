"""The admin API for purposes and consent records (docs/consent.md): what `digione purposes`
and `digione consent show` do, for an administrator's tools.

Authentication: a Bearer access token (RFC 6750 section 2.1) from the client_credentials grant,
issued to a client registered with the admin-only scope ``digione:admin`` and a reach: one
city's records (``admin_city``) or, read-only, every city's (``admin_auditor``; consent.scope).
A record outside the reach is answered as if it did not exist. Errors are JSON
``{"error", "error_description"}``; nothing is cached. Every change, view and list is appended
to the audit trail with the client's id as the actor.
"""

from __future__ import annotations

import json

from flask import Blueprint, Response, g, jsonify, request, url_for
from sqlalchemy.exc import IntegrityError

from consent import audit, history, purposes, search
from consent.scope import Scope, scope_of_client
from core.db import db, utcnow
from core.security import csrf
from idp.oidc.bearer import REALM, BearerGuard, bearer_error
from idp.oidc.models import Client

bp = Blueprint("admin_api", __name__, url_prefix="/admin/api")
csrf.exempt(bp)

SCOPE = "digione:admin"
MAX_BODY = 64 * 1024  # a purpose is a few kilobytes
NO_STORE = {"Cache-Control": "no-store", "Pragma": "no-cache"}
# Only the client_credentials grant: a token a person signed in for never administers. Every
# challenge names the realm, an insufficient_scope one the scope (RFC 6750 section 3).
GUARD = BearerGuard(
    scopes=(SCOPE,),
    holder="client",
    realm=REALM,
    challenge_scope=True,
    insufficient=f"A client_credentials token with {SCOPE} is needed.",
)


class ApiError(Exception):
    def __init__(self, status: int, error: str, description: str):
        super().__init__(description)
        self.status, self.error, self.description = status, error, description


def _json(body, status: int = 200, **headers):
    response = jsonify(body)
    response.status_code = status
    response.headers.update(NO_STORE)
    response.headers.update(headers)
    return response


@bp.errorhandler(ApiError)
def _api_error(exc: ApiError):
    db.session.rollback()
    return _json({"error": exc.error, "error_description": exc.description}, exc.status)


NO_REACH = (
    "This client is registered for no city: register the tool with admin_city "
    "(digione clients add --admin-city) or as an auditor (--admin-auditor)."
)
READ_ONLY = "An auditor's client reads; it changes nothing."


@bp.before_request
def _authenticate():
    grant = GUARD.check()
    if isinstance(grant, Response):
        return grant
    client = db.session.get(Client, grant.client_id)
    reach = scope_of_client(client.client_metadata or {}) if client is not None else None
    if reach is None:
        return bearer_error("insufficient_scope", NO_REACH, 403, realm=REALM)
    g.admin_client_id, g.admin_scope = grant.client_id, reach
    return None


def _scope() -> Scope:
    return g.admin_scope


@bp.before_request
def _read_only_auditor():
    """An auditor's tool only reads (GET and HEAD)."""
    if request.method not in ("GET", "HEAD") and not _scope().cities:
        return bearer_error("insufficient_scope", READ_ONLY, 403, realm=REALM)
    return None


def _body() -> dict:
    """The request's JSON object, at most MAX_BODY bytes."""
    if request.content_length is not None and request.content_length > MAX_BODY:
        raise ApiError(413, "invalid_request", f"The body is larger than {MAX_BODY} bytes.")
    if request.mimetype != "application/json":
        raise ApiError(400, "invalid_request", "Send a JSON object (application/json).")
    raw = request.get_data(cache=True)  # read once (idp.edge has looked at it already)
    if len(raw) > MAX_BODY:
        raise ApiError(413, "invalid_request", f"The body is larger than {MAX_BODY} bytes.")
    try:
        data = json.loads(raw)
    except (ValueError, RecursionError):  # UnicodeDecodeError is a ValueError
        raise ApiError(400, "invalid_request", "The body is not valid JSON.") from None
    if not isinstance(data, dict):
        raise ApiError(400, "invalid_request", "purpose: must be a JSON object")
    return data


def _spec(data: dict) -> purposes.PurposeSpec:
    try:
        return purposes.parse(data)
    except purposes.PurposeError as exc:
        raise ApiError(400, "invalid_request", str(exc)) from None


def _version_arg() -> int | None:
    value = request.args.get("version")
    if value is None:
        return None
    if not value.isascii() or not value.isdigit() or len(value) > 9 or int(value) < 1:
        raise ApiError(400, "invalid_request", "version: must be a positive integer")
    return int(value)


def _existing(purpose_id: str, version: int | None = None):
    row = purposes.get(db.session, purpose_id, version)
    if row is None:
        which = f" version {version}" if version is not None else ""
        raise ApiError(404, "not_found", f"No purpose {purpose_id}{which}.")
    return row


def _audit(action: str, purpose_id: str, **detail) -> None:
    audit.append(
        db.session, actor_type="admin", actor_id=g.admin_client_id, action=action,
        channel="api", purpose_id=purpose_id, detail=detail,
    )  # fmt: skip


def _commit() -> None:
    """Commit; a concurrent publication of the same purpose or version is a conflict."""
    try:
        db.session.commit()
    except IntegrityError:
        db.session.rollback()
        raise ApiError(409, "conflict", "Someone published the same purpose at once.") from None


def _created(row, **extra):
    location = url_for(
        "admin_api.purpose", purpose_id=row.purpose_id, version=row.version, _external=True
    )
    return _json({**purposes.to_dict(row), **extra}, 201, Location=location)


@bp.get("/purposes")
def purpose_list():
    """The latest version of every purpose."""
    return _json({"purposes": [purposes.to_dict(p) for p in purposes.all_latest(db.session)]})


@bp.post("/purposes")
def purpose_add():
    """Register version 1 of a purpose: the body is the purpose file's content as JSON."""
    spec = _spec(_body())
    if purposes.latest(db.session, spec.id) is not None:
        raise ApiError(409, "conflict", f"id: purpose {spec.id} exists; publish a new version.")
    try:
        row = purposes.add(db.session, spec, created_by=g.admin_client_id)
    except purposes.PurposeError as exc:
        raise ApiError(400, "invalid_request", str(exc)) from None
    _audit("purpose.add", row.purpose_id, version=row.version)
    _commit()
    return _created(row)


@bp.get("/purposes/<purpose_id>")
def purpose(purpose_id: str):
    """The latest version of a purpose, or ``?version=N``."""
    return _json(purposes.to_dict(_existing(purpose_id, _version_arg())))


@bp.post("/purposes/<purpose_id>/versions")
def purpose_new_version(purpose_id: str):
    """Publish the next version; the body's id (if given) must be the path's."""
    data = _body()
    data.setdefault("id", purpose_id)
    if data["id"] != purpose_id:
        raise ApiError(400, "invalid_request", f"id: must be {purpose_id}, as in the path")
    spec = _spec(data)
    current = _existing(purpose_id)
    if current.withdrawn_at is not None:
        raise ApiError(409, "conflict", f"The purpose {purpose_id} has been withdrawn.")
    ending = history.still_open(db.session, purpose_id) if spec.requires_reconsent else 0
    try:
        row = purposes.new_version(db.session, spec, created_by=g.admin_client_id)
    except purposes.PurposeError as exc:
        raise ApiError(400, "invalid_request", str(exc)) from None
    _audit(
        "purpose.new_version", purpose_id, version=row.version, previous=current.version,
        requires_reconsent=row.requires_reconsent, ended=ending,
    )  # fmt: skip
    _commit()
    return _created(row, ended_records=ending)


@bp.post("/purposes/<purpose_id>/withdraw")
def purpose_withdraw(purpose_id: str):
    """Withdraw every version of a purpose: every consent under it ends."""
    current = _existing(purpose_id)
    if current.withdrawn_at is not None:
        raise ApiError(409, "conflict", f"The purpose {purpose_id} is withdrawn already.")
    ending = history.still_open(db.session, purpose_id)
    purposes.withdraw(db.session, purpose_id)
    _audit("purpose.withdraw", purpose_id, version=current.version, ended=ending)
    _commit()
    db.session.expire_all()
    return _json({**purposes.to_dict(_existing(purpose_id)), "ended_records": ending})


@bp.get("/consents")
def consent_list():
    """A page of the consent records in the client's reach, newest first, filtered as the
    query asks (consent.search); each record shown is an audit entry, ``consent.list``."""
    try:
        filters = search.parse(request.args)
        limit = search.limit_of(request.args.get("limit"))
        found = search.page(
            db.session, _scope(), filters, now=utcnow(), limit=limit,
            cursor=request.args.get("cursor") or None,
        )  # fmt: skip
    except search.FilterError as exc:
        raise ApiError(400, "invalid_request", str(exc)) from None
    used = filters.used()
    audit.append_many(
        db.session,
        [
            {
                "actor_type": "admin",
                "actor_id": g.admin_client_id,
                "action": "consent.list",
                "channel": "api",
                "record_id": row["id"],
                "purpose_id": row["purpose"]["id"],
                "detail": {"role": _scope().role, "filters": used},
            }
            for row in found.rows
        ],
    )
    db.session.commit()
    body: dict = {"consents": found.rows, "next_cursor": found.next}
    if found.next is not None:
        args = {**request.args.to_dict(), "cursor": found.next}
        body["next"] = url_for("admin_api.consent_list", _external=True, **args)
    return _json(body)


@bp.get("/consents/<record_id>")
def consent(record_id: str):
    """A consent record with its state now and its history (as `digione consent show`); the
    view is appended to the audit trail. A record outside the client's reach is not found."""
    record = _scope().visible(db.session, record_id)
    if record is None:
        raise ApiError(404, "not_found", f"No consent record {record_id[:36]}.")
    shown = history.record_to_dict(db.session, record)
    audit.append(
        db.session, actor_type="admin", actor_id=g.admin_client_id, action="consent.view",
        channel="api", record_id=record.id, purpose_id=record.purpose_id,
        detail={"role": _scope().role},
    )  # fmt: skip
    db.session.commit()
    return _json(shown)
