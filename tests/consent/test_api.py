"""The services' consent API (consent.api): asking for consent, following the request, and the
source system's check. Client authentication as at the token endpoint; OAuth-style JSON errors;
never cached; never a 500 on bad input."""

from __future__ import annotations

import pytest
from flask import Flask
from sqlalchemy import select

from consent.models import AuditEntry
from core.db import db
from idp.oidc import clients
from tests.consent.conftest import ASSESSMENTS, READING, person, public_client
from tests.consent.test_exchange import (
    RESOURCE,
    SECRETS,
    SOURCE,
    answer,
    basic,
    exchange,
    public_task_purpose,
    sub_of,
)
from tests.oidc.forge import ISSUER, KeyPair, assertion_form, register_service


def post(app: Flask, path: str, client_id: str = "demo-reading-app", **kwargs):
    headers = kwargs.pop("headers", None)
    headers = basic(client_id) if headers is None else headers
    response = app.test_client().post(f"/consent/api{path}", headers=headers, **kwargs)
    assert response.headers["Cache-Control"] == "no-store", response.status_code
    return response


def get(app: Flask, path: str, client_id: str = "demo-reading-app", headers=None):
    headers = basic(client_id) if headers is None else headers
    response = app.test_client().get(f"/consent/api{path}", headers=headers)
    assert response.headers["Cache-Control"] == "no-store"
    return response


def use_post(app: Flask, client_id: str) -> None:
    """Register the demo client for client_secret_post (its secret stays)."""
    with app.app_context():
        client = clients.get(db.session, client_id)
        metadata = {**client.client_metadata, "token_endpoint_auth_method": "client_secret_post"}
        clients.update(db.session, client, metadata, admin=True, development=True)
        db.session.commit()


def test_request_then_follow_it(consent_app):
    app = consent_app
    sub = sub_of(app, "pupil1")
    created = post(app, "/requests", data={"purpose": READING, "sub": sub})
    assert created.status_code == 201, created.json
    body = created.json
    assert body["state"] == "requested" and body["purpose"] == READING
    assert body["purpose_version"] == 1 and body["guardians_answered"] == 0
    assert body["valid_until"] is None and body["active"] is False
    assert created.headers["Location"].endswith(f"/consent/api/requests/{body['id']}")
    # identifiers, states and times only
    assert set(body) == {
        "id", "purpose", "purpose_version", "state", "active", "created_at", "given_at",
        "valid_until", "ended_at", "reason", "guardians_answered",
    }  # fmt: skip
    again = post(app, "/requests", json={"purpose": READING, "sub": sub})
    assert again.status_code == 200 and again.json["id"] == body["id"]

    record_id = body["id"]
    assert answer(app, record_id, "guardian1", "approve") == "partially_approved"
    state = get(app, f"/requests/{record_id}")
    assert state.status_code == 200
    assert state.json["state"] == "partially_approved" and state.json["guardians_answered"] == 1
    assert answer(app, record_id, "guardian2", "approve") == "given"
    state = get(app, f"/requests/{record_id}").json
    assert state["state"] == "given" and state["active"] and state["valid_until"]
    assert state["guardians_answered"] == 2
    # Nobody else sees it
    for client_id in ("demo-learning-service", SOURCE):
        missing = get(app, f"/requests/{record_id}", client_id)
        assert missing.status_code == 404 and missing.json["error"] == "not_found"
    for unknown in ("no-such-id", "x" * 500):
        assert get(app, f"/requests/{unknown}").status_code == 404
    with app.app_context():
        requested = db.session.scalar(
            select(AuditEntry).where(AuditEntry.action == "consent.requested")
        )
        assert requested.actor_id == "demo-reading-app" and requested.channel == "api"
    # POST with the credentials in the body (client_secret_post) reads it too
    form = {"client_id": "demo-reading-app", "client_secret": SECRETS["demo-reading-app"]}
    assert post(app, f"/requests/{record_id}", data=form, headers={}).status_code == 401
    use_post(app, "demo-reading-app")  # only the registered method authenticates
    assert post(app, f"/requests/{record_id}", data=form, headers={}).json["state"] == "given"


def test_json_body_with_client_secret_post(consent_app):
    app = consent_app
    sub = sub_of(app, "pupil2", "demo-learning-service")
    use_post(app, "demo-learning-service")
    body = {
        "purpose": ASSESSMENTS,
        "sub": sub,
        "client_id": "demo-learning-service",
        "client_secret": SECRETS["demo-learning-service"],
    }
    response = post(app, "/requests", json=body, headers={})
    assert response.status_code == 201, response.json


def test_private_key_jwt_client(consent_app):
    app = consent_app
    service = register_service(app, KeyPair.rsa())
    purpose_id = public_task_purpose(app, service.client_id)
    sub = sub_of(app, "pupil1", service.client_id)
    for aud in (ISSUER, f"{ISSUER}/oidc/token"):
        form = assertion_form(service.assertion(aud=aud), purpose=purpose_id, sub=sub)
        response = post(app, "/requests", data=form, headers={})
        assert response.status_code in (200, 201), response.json
        assert response.json["state"] == "recorded"  # public task: nobody is asked
    replay = assertion_form(service.assertion(), purpose=purpose_id, sub=sub)
    assert post(app, "/requests", data=replay, headers={}).status_code == 200
    assert post(app, "/requests", data=replay, headers={}).status_code == 401


def test_client_authentication_failures(consent_app):
    app = consent_app
    sub = sub_of(app, "pupil1")
    data = {"purpose": READING, "sub": sub}
    public_id = public_client(app)
    attempts = [
        {"data": data, "headers": {}},
        {"data": data, "headers": basic("demo-reading-app", "wrong-secret-wrong-secret")},
        {"data": data, "headers": basic("no-such-client", "wrong-secret-wrong-secret")},
        {"data": {**data, "client_id": "no-such-client", "client_secret": "x"}, "headers": {}},
        {"data": {**data, "client_id": public_id}, "headers": {}},
        {"data": {**data, "client_id": "x" * 500, "client_secret": "x"}, "headers": {}},
        {"json": {**data, "client_id": 5, "client_secret": ["x"]}, "headers": {}},
    ]
    for attempt in attempts:
        response = post(app, "/requests", **attempt)
        assert response.status_code == 401, (attempt, response.json)
        assert response.json["error"] == "invalid_client"
        assert response.headers["WWW-Authenticate"].startswith("Basic")
    for path in ("/requests/some-id", "/check"):
        response = post(app, path, headers={})
        assert response.status_code == 401 and "WWW-Authenticate" in response.headers
    assert get(app, "/requests/some-id", headers={}).status_code == 401
    with app.app_context():
        assert db.session.scalar(select(AuditEntry)) is None  # nothing happened


BAD_INPUT = [
    ({"data": {"sub": "x"}}, 400, "invalid_request"),
    ({"data": {"purpose": READING}}, 400, "invalid_request"),
    ({"data": {"purpose": "", "sub": ""}}, 400, "invalid_request"),
    ({"data": {"purpose": "no-such-purpose", "sub": "SUB"}}, 400, "invalid_request"),
    ({"data": {"purpose": "x" * 100_000, "sub": "SUB"}}, 400, "invalid_request"),
    ({"data": {"purpose": READING, "sub": "unknown"}}, 400, "invalid_request"),
    ({"data": {"purpose": READING, "sub": "é" * 1000}}, 400, "invalid_request"),
    ({"json": {"purpose": 5, "sub": "SUB"}}, 400, "invalid_request"),
    ({"json": {"purpose": READING, "sub": ["SUB"]}}, 400, "invalid_request"),
    ({"json": {"purpose": READING, "sub": None}}, 400, "invalid_request"),
    ({"json": {"purpose": {"id": READING}, "sub": "SUB"}}, 400, "invalid_request"),
    ({"json": ["purpose", READING]}, 400, "invalid_request"),
    ({"json": "text"}, 400, "invalid_request"),
    ({"data": "{not json", "content_type": "application/json"}, 400, "invalid_request"),
    ({"data": {"purpose": ASSESSMENTS, "sub": "SUB"}}, 403, "unauthorized_client"),
]


@pytest.mark.parametrize(("kwargs", "status", "error"), BAD_INPUT)
def test_bad_input_is_an_oauth_error(consent_app, kwargs, status, error):
    app = consent_app
    sub = sub_of(app, "pupil1")
    for key in ("data", "json"):
        if isinstance(kwargs.get(key), dict):
            kwargs = {**kwargs, key: {k: sub if v == "SUB" else v for k, v in kwargs[key].items()}}
    response = post(app, "/requests", **kwargs)
    assert (response.status_code, response.json["error"]) == (status, error), response.json
    assert response.json["error_description"]


def test_a_protected_child_cannot_be_asked_for(consent_app):
    app = consent_app
    sub = sub_of(app, "pupil2", "demo-learning-service")
    with app.app_context():
        person("espoo", "pupil2").protected = True
        db.session.commit()
    response = post(app, "/requests", "demo-learning-service",
                    data={"purpose": ASSESSMENTS, "sub": sub})  # fmt: skip
    assert response.status_code == 403 and response.json["error"] == "cannot_consent"
    assert "protect" not in response.json["error_description"]  # the order is not disclosed
    with app.app_context():
        refused = db.session.scalar(
            select(AuditEntry).where(AuditEntry.action == "consent.request_refused")
        )
        assert refused is not None and refused.detail["reason"] == "child_protected"


def test_public_task_is_recorded_not_asked(consent_app):
    app = consent_app
    purpose_id = public_task_purpose(app)
    sub = sub_of(app, "pupil1")
    response = post(app, "/requests", data={"purpose": purpose_id, "sub": sub})
    assert response.status_code == 201 and response.json["state"] == "recorded"
    assert response.json["active"] is True


def _given_with_token(app: Flask) -> tuple[str, str]:
    sub = sub_of(app, "pupil1")
    record_id = post(app, "/requests", data={"purpose": READING, "sub": sub}).json["id"]
    answer(app, record_id, "guardian1", "approve")
    answer(app, record_id, "guardian2", "approve")
    token = exchange(app, sub)
    assert token.status_code == 200, token.json
    return record_id, token.json["access_token"]


def test_check_by_the_source_system(consent_app):
    app = consent_app
    record_id, token = _given_with_token(app)
    checked = post(app, "/check", SOURCE, data={"consent_id": record_id})
    assert checked.status_code == 200, checked.json
    assert checked.json == {
        "consent_id": record_id,
        "valid": True,
        "state": "given",
        "purpose": READING,
        "purpose_version": 1,
        "scopes": ["school:class", "school:school"],
        "valid_until": checked.json["valid_until"],
    }
    assert checked.json["valid_until"]
    with_token = post(app, "/check", SOURCE, json={"consent_id": record_id, "token": token})
    assert with_token.json["valid"] is True and with_token.json["token_active"] is True
    only_token = post(app, "/check", SOURCE, data={"token": token})
    assert only_token.json["consent_id"] == record_id and only_token.json["valid"] is True
    # Not for the recipient, nor any other client; unknown ids are 404 too
    for client_id in ("demo-reading-app", "demo-learning-service"):
        refused = post(app, "/check", client_id, data={"consent_id": record_id})
        assert refused.status_code == 404 and refused.json["error"] == "not_found"
    for unknown in ("no-such-id", "x" * 60):
        assert post(app, "/check", SOURCE, data={"consent_id": unknown}).status_code == 404

    answer(app, record_id, "guardian2", "withdraw")
    after = post(app, "/check", SOURCE, data={"consent_id": record_id, "token": token}).json
    assert after["valid"] is False and after["state"] == "withdrawn"
    assert after["token_active"] is False


def test_check_bad_input(consent_app):
    app = consent_app
    record_id, token = _given_with_token(app)
    cases = [
        ({"data": {}}, 400),
        ({"json": {"consent_id": 5}}, 400),
        ({"json": {"consent_id": [record_id]}}, 400),
        ({"json": {"token": {"a": 1}}}, 400),
        ({"data": {"consent_id": "x" * 100_000}}, 400),
        ({"data": {"token": "x" * 10_000}}, 400),
    ]
    for kwargs, status in cases:
        response = post(app, "/check", SOURCE, **kwargs)
        assert response.status_code == status, (kwargs, response.json)
        assert response.json["error"] == "invalid_request"
    garbage = post(app, "/check", SOURCE, data={"token": "not.a.jwt"})
    assert garbage.json == {"valid": False, "token_active": False}
    # A token that is not for this consent
    mismatch = post(app, "/check", SOURCE, data={"consent_id": record_id, "token": "a.b.c"})
    assert mismatch.json["valid"] is False and mismatch.json["token_active"] is False
    ok = post(app, "/check", SOURCE, data={"consent_id": record_id, "token": token})
    assert ok.json["token_active"] is True and RESOURCE  # the token names the source's API
