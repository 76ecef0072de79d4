"""Consent-bound tokens: RFC 8693 token exchange at /oidc/token (consent.exchange), and their
introspection (RFC 7662) while the consent lasts. The helpers here are shared by test_api and
test_concurrency."""

from __future__ import annotations

import base64

import pytest
from flask import Flask
from sqlalchemy import select
from werkzeug.datastructures import MultiDict

from consent import purposes, records
from consent.exchange import ACCESS_TOKEN_TYPE, PAIRWISE_SUB
from consent.models import AuditEntry, ConsentRecord
from core.db import db
from idp.oidc import OIDC, clients
from idp.oidc.client_metadata import TOKEN_EXCHANGE
from idp.oidc.models import Client
from idp.oidc.pairwise import person_for
from idp.oidc.subject import subject_for
from tests.consent.conftest import ASSESSMENTS, READING, known_sub, person, public_client
from tests.oidc.forge import KeyPair, assertion_form, register_service
from tests.oidc.helpers import verify

SECRETS = {
    "demo-learning-service": "demo-only-learning-service-secret-never-use-in-production",
    "demo-reading-app": "demo-only-reading-app-secret-never-use-in-production",
    "demo-school-admin": "demo-only-school-admin-secret-never-use-in-production",
}
SOURCE = "demo-school-admin"
RESOURCE = "https://school-admin.demo.digione.invalid/api"


def basic(client_id: str, secret: str | None = None) -> dict:
    raw = f"{client_id}:{secret or SECRETS[client_id]}".encode()
    return {"Authorization": "Basic " + base64.b64encode(raw).decode()}


def exchange_form(sub: str, purpose: str = READING, **extra) -> dict:
    form = {
        "grant_type": TOKEN_EXCHANGE,
        "subject_token": sub,
        "subject_token_type": PAIRWISE_SUB,
        "purpose": purpose,
        "audience": SOURCE,
    }
    form.update(extra)
    return {key: value for key, value in form.items() if value is not None}


def exchange(app: Flask, sub: str, purpose: str = READING, client_id: str = "demo-reading-app",
             **extra):  # fmt: skip
    return app.test_client().post(
        "/oidc/token", data=exchange_form(sub, purpose, **extra), headers=basic(client_id)
    )


def introspect(app: Flask, token: str, client_id: str = SOURCE) -> dict:
    response = app.test_client().post(
        "/oidc/introspect", data={"token": token}, headers=basic(client_id)
    )
    assert response.status_code == 200
    return response.json


def ask(app: Flask, purpose_id: str, username: str) -> str:
    """A consent request by the purpose's recipient; the record id."""
    with app.app_context():
        purpose = purposes.latest(db.session, purpose_id)
        child = person("espoo", username)
        current, _ = records.request(
            db.session, purpose, child, client_id=purpose.recipient_client_id
        )
        db.session.commit()
        return current.record.id


def answer(app: Flask, record_id: str, username: str, kind: str) -> str:
    with app.app_context():
        record = db.session.get(ConsentRecord, record_id)
        current = records.answer(
            db.session, record, person("espoo", username), kind, method="page", acr="demo"
        )
        db.session.commit()
        return current.derived.state


def sub_of(app: Flask, username: str, client_id: str = "demo-reading-app") -> str:
    with app.app_context():
        child_id = person("espoo", username).id
    return known_sub(app, child_id, client_id)


def audit_actions(app: Flask) -> list[AuditEntry]:
    with app.app_context():
        rows = db.session.scalars(select(AuditEntry).order_by(AuditEntry.id)).all()
        db.session.expunge_all()
        return rows


def public_task_purpose(app: Flask, recipient: str = "demo-reading-app") -> str:
    """A purpose resting on public task (nobody is asked), with the reading purpose's texts."""
    with app.app_context():
        data = purposes.to_dict(purposes.latest(db.session, READING))
        keep = set(purposes.PurposeSpec.model_fields)
        spec = {key: value for key, value in data.items() if key in keep}
        spec.update(id="demo-class-register", lawful_basis="public_task", recipient=recipient)
        purposes.add(db.session, purposes.parse(spec), created_by="test")
        db.session.commit()
    return "demo-class-register"


def given(app: Flask, username: str = "pupil1") -> str:
    """pupil1's reading consent given by both guardians; the record id."""
    record_id = ask(app, READING, username)
    assert answer(app, record_id, "guardian1", "approve") == "partially_approved"
    assert answer(app, record_id, "guardian2", "approve") == "given"
    return record_id


def test_exchange_while_the_consent_lasts(consent_app):
    """request → guardian1 (partially approved) → guardian2 (given) → token → withdrawal."""
    app = consent_app
    sub = sub_of(app, "pupil1")
    record_id = ask(app, READING, "pupil1")
    assert answer(app, record_id, "guardian1", "approve") == "partially_approved"
    refused = exchange(app, sub)
    assert refused.status_code == 400 and refused.json["error"] == "access_denied"
    assert answer(app, record_id, "guardian2", "approve") == "given"

    response = exchange(app, sub, resource=RESOURCE)
    assert response.status_code == 200, response.json
    assert response.headers["Cache-Control"] == "no-store"
    body = response.json
    assert body["issued_token_type"] == ACCESS_TOKEN_TYPE and body["token_type"] == "Bearer"
    assert body["scope"] == "school:class school:school" and "refresh_token" not in body
    assert 0 < body["expires_in"] <= 300
    with app.app_context():
        pupil1 = person("espoo", "pupil1")
        school = db.session.get(Client, SOURCE)
        secret = OIDC.of(app).provider.pairwise_secret
        source_sub = subject_for(pupil1.id, school.client_metadata, SOURCE, secret)
        learner_id = pupil1.learner_id
    claims = verify(app.test_client(), body["access_token"], audience=RESOURCE)
    assert claims["sub"] == source_sub != sub
    assert claims["learner_id"] == learner_id  # the source holds edu:learner_id
    assert claims["act"] == {"sub": "demo-reading-app"}
    assert claims["client_id"] == "demo-reading-app"
    assert claims["scope"] == "school:class school:school"
    # Written in one statement with the audit entry: the source can name the child by its sub.
    with app.app_context():
        assert person_for(db.session, school, source_sub).id == pupil1.id
    issued = [entry for entry in audit_actions(app) if entry.action == "consent.exchange"]
    assert len(issued) == 1 and issued[0].record_id == record_id
    assert issued[0].detail == {"version": 1, "jti": claims["jti"], "aud": RESOURCE}
    assert issued[0].actor_id == "demo-reading-app" and issued[0].channel == "token_exchange"
    assert issued[0].purpose_id == READING and issued[0].at is not None
    assert claims["consent_id"] == record_id
    assert (claims["purpose"], claims["purpose_version"]) == (READING, 1)
    assert claims["exp"] - claims["iat"] <= 300
    assert claims["iss"] == OIDC.of(app).provider.issuer
    import jwt

    assert jwt.get_unverified_header(body["access_token"])["typ"] == "at+jwt"

    seen = introspect(app, body["access_token"])
    assert seen["active"] is True and seen["consent_id"] == record_id
    assert seen["sub"] == source_sub and seen["act"] == {"sub": "demo-reading-app"}
    assert introspect(app, body["access_token"], "demo-reading-app")["active"] is True
    assert introspect(app, body["access_token"], "demo-learning-service") == {"active": False}
    userinfo = app.test_client().get(
        "/oidc/userinfo", headers={"Authorization": f"Bearer {body['access_token']}"}
    )
    assert userinfo.status_code == 401

    assert answer(app, record_id, "guardian1", "withdraw") == "withdrawn"
    assert introspect(app, body["access_token"]) == {"active": False}
    again = exchange(app, sub)
    assert again.status_code == 400 and again.json["error"] == "access_denied"
    assert "withdrawn" in again.json["error_description"]
    entries = audit_actions(app)
    actions = [entry.action for entry in entries]
    assert actions.count("consent.exchange") == 1
    assert actions.count("consent.exchange_denied") == 2
    denied = [entry for entry in entries if entry.action == "consent.exchange_denied"][-1]
    assert denied.detail["purpose"] == READING and denied.record_id == record_id
    assert denied.detail["reason"] == "no_active_consent:withdrawn"
    assert denied.actor_id == "demo-reading-app" and denied.channel == "token_exchange"


def test_audience_by_client_id_and_a_subset_of_scopes(consent_app):
    app = consent_app
    sub = sub_of(app, "pupil1")
    given(app)
    response = exchange(app, sub, scope="school:class")
    assert response.status_code == 200, response.json
    assert response.json["scope"] == "school:class"
    claims = verify(app.test_client(), response.json["access_token"], audience=RESOURCE)
    assert claims["scope"] == "school:class"  # the source's first resource
    ok = exchange(app, sub, requested_token_type=ACCESS_TOKEN_TYPE, audience=None,
                  resource=RESOURCE)  # fmt: skip
    assert ok.status_code == 200


def test_source_without_resources_gets_its_client_id_as_audience(consent_app):
    app = consent_app
    with app.app_context():
        school = db.session.get(Client, SOURCE)
        metadata = {**school.client_metadata, "resources": []}
        clients.update(db.session, school, metadata, admin=True, development=True)
        db.session.commit()
    sub = sub_of(app, "pupil1")
    given(app)
    response = exchange(app, sub)
    assert response.status_code == 200, response.json
    claims = verify(app.test_client(), response.json["access_token"], audience=SOURCE)
    assert claims["aud"] == SOURCE
    assert introspect(app, response.json["access_token"])["active"] is True


def test_lifetime_never_more_than_five_minutes(consent_app):
    app = consent_app
    with app.app_context():
        reading = db.session.get(Client, "demo-reading-app")
        metadata = {**reading.client_metadata, "access_token_lifetime": 3600}
        clients.update(db.session, reading, metadata, admin=True, development=True)
        db.session.commit()
    sub = sub_of(app, "pupil1")
    given(app)
    response = exchange(app, sub)
    assert response.status_code == 200 and response.json["expires_in"] == 300


def test_pupil2_at_15_consents_for_themself(consent_app):
    app = consent_app
    sub = sub_of(app, "pupil2", "demo-learning-service")
    record_id = ask(app, ASSESSMENTS, "pupil2")
    assert answer(app, record_id, "pupil2", "approve") == "given"
    response = exchange(app, sub, ASSESSMENTS, "demo-learning-service")
    assert response.status_code == 200, response.json
    assert response.json["scope"] == "school:assessments"


def test_pupil1_at_9_cannot(consent_app):
    app = consent_app
    sub = sub_of(app, "pupil1", "demo-learning-service")
    record_id = ask(app, ASSESSMENTS, "pupil1")
    with pytest.raises(records.ConsentError):
        answer(app, record_id, "pupil1", "approve")
    response = exchange(app, sub, ASSESSMENTS, "demo-learning-service")
    assert response.status_code == 400 and response.json["error"] == "access_denied"
    assert "requested" in response.json["error_description"]


@pytest.mark.parametrize("which", [READING, ASSESSMENTS, "public_task"])
def test_a_protected_child_is_refused_under_every_policy(consent_app, which):
    app = consent_app
    recipient = "demo-reading-app" if which == READING else "demo-learning-service"
    purpose_id = public_task_purpose(app, recipient) if which == "public_task" else which
    sub = sub_of(app, "pupil2", recipient)
    if which == ASSESSMENTS:  # given before the protection: still refused
        record_id = ask(app, ASSESSMENTS, "pupil2")
        assert answer(app, record_id, "pupil2", "approve") == "given"
    with app.app_context():
        person("espoo", "pupil2").protected = True
        db.session.commit()
    response = exchange(app, sub, purpose_id, recipient)
    assert response.status_code == 400 and response.json["error"] == "access_denied"
    # In the words of any missing consent: the order itself is not disclosed
    assert response.json["error_description"].startswith("There is no active consent")
    denied = [e for e in audit_actions(app) if e.action == "consent.exchange_denied"]
    assert [e.detail["reason"] for e in denied] == ["child_protected"]
    with app.app_context():  # nothing recorded for the public-task purpose either
        pupil2 = person("espoo", "pupil2")
        assert records.records_of(db.session, pupil2.id, "demo-class-register") == []


def test_non_consent_lawful_basis_records_the_sharing(consent_app):
    app = consent_app
    purpose_id = public_task_purpose(app)
    sub = sub_of(app, "pupil1")
    first = exchange(app, sub, purpose_id)
    assert first.status_code == 200, first.json
    second = exchange(app, sub, purpose_id)
    assert second.status_code == 200
    with app.app_context():
        found = records.records_of(db.session, person("espoo", "pupil1").id, purpose_id)
        assert len(found) == 1 and found[0].derived.state == "recorded"
        events = records.events(db.session, found[0].record.id)
        assert [(e.kind, e.method) for e in events] == [("recorded", "token_exchange")]
        record_id = found[0].record.id
    claims = verify(app.test_client(), second.json["access_token"], audience=RESOURCE)
    assert claims["consent_id"] == record_id
    assert introspect(app, second.json["access_token"])["active"] is True


def test_private_key_jwt_recipient(consent_app):
    app = consent_app
    service = register_service(app, KeyPair.rsa(), grant_types=[TOKEN_EXCHANGE])
    purpose_id = public_task_purpose(app, service.client_id)
    sub = sub_of(app, "pupil1", service.client_id)
    form = exchange_form(sub, purpose_id, **assertion_form(service.assertion()))
    response = app.test_client().post("/oidc/token", data=form)
    assert response.status_code == 200, response.json


ERRORS = [
    # (changes to the form, expected status, expected error)
    ({"audience": "demo-learning-service"}, 400, "invalid_target"),
    ({"audience": None, "resource": "https://elsewhere.example/api"}, 400, "invalid_target"),
    ({"audience": None}, 400, "invalid_request"),
    ({"scope": "school:class school:assessments"}, 400, "invalid_scope"),
    ({"scope": "openid"}, 400, "invalid_scope"),
    ({"scope": " "}, 400, "invalid_scope"),
    ({"purpose": "no-such-purpose"}, 400, "invalid_request"),
    ({"purpose": "x" * 5000}, 400, "invalid_request"),
    ({"purpose": None}, 400, "invalid_request"),
    ({"subject_token": "unknown-sub"}, 400, "invalid_request"),
    ({"subject_token": "é" * 500}, 400, "invalid_request"),
    ({"subject_token": None}, 400, "invalid_request"),
    ({"subject_token_type": "urn:ietf:params:oauth:token-type:access_token"}, 400,
     "invalid_request"),
    ({"subject_token_type": None}, 400, "invalid_request"),
    ({"requested_token_type": "urn:ietf:params:oauth:token-type:refresh_token"}, 400,
     "invalid_request"),
    ({"requested_token_type": "urn:ietf:params:oauth:token-type:id_token"}, 400,
     "invalid_request"),
    ({"actor_token": "x", "actor_token_type": PAIRWISE_SUB}, 400, "invalid_request"),
]  # fmt: skip


@pytest.mark.parametrize(("changes", "status", "error"), ERRORS)
def test_oauth_errors(consent_app, changes, status, error):
    app = consent_app
    sub = sub_of(app, "pupil1")
    given(app)
    response = exchange(app, sub, **changes)
    assert (response.status_code, response.json["error"]) == (status, error), response.json
    assert response.headers["Cache-Control"] == "no-store"
    assert "consent.exchange" not in [e.action for e in audit_actions(app)]


def test_repeated_parameter_and_wrong_recipient(consent_app):
    app = consent_app
    sub = sub_of(app, "pupil1")
    given(app)
    form = exchange_form(sub)
    data = MultiDict([*form.items(), ("purpose", ASSESSMENTS)])
    response = app.test_client().post("/oidc/token", data=data, headers=basic("demo-reading-app"))
    assert response.status_code == 400 and response.json["error"] == "invalid_request"
    two = MultiDict([*form.items(), ("audience", SOURCE)])
    response = app.test_client().post("/oidc/token", data=two, headers=basic("demo-reading-app"))
    assert response.status_code == 400 and response.json["error"] == "invalid_target"
    learning_sub = sub_of(app, "pupil1", "demo-learning-service")
    response = exchange(app, learning_sub, READING, "demo-learning-service")
    assert response.status_code == 400 and response.json["error"] == "unauthorized_client"


def test_client_authentication(consent_app):
    app = consent_app
    sub = sub_of(app, "pupil1")
    given(app)
    wrong = app.test_client().post(
        "/oidc/token", data=exchange_form(sub), headers=basic("demo-reading-app", "x" * 20)
    )
    assert wrong.status_code == 401 and wrong.json["error"] == "invalid_client"
    assert wrong.headers["WWW-Authenticate"].startswith("Basic")
    # The source system may not exchange (not registered for the grant).
    school = exchange(app, sub, client_id=SOURCE)
    assert school.status_code == 400 and school.json["error"] == "unauthorized_client"
    # A public client cannot authenticate for it.
    public_id = public_client(app)
    form = {**exchange_form(sub), "client_id": public_id}
    response = app.test_client().post("/oidc/token", data=form)
    assert response.status_code == 401 and response.json["error"] == "invalid_client"
    # Credentials in the URL are not read.
    secret = SECRETS["demo-reading-app"]
    response = app.test_client().post(
        "/oidc/token",
        query_string={"client_id": "demo-reading-app", "client_secret": secret},
        data=exchange_form(sub),
    )
    assert response.status_code == 401


def test_grant_type_is_admin_only_and_confidential_only(consent_app):
    with consent_app.app_context():
        data = {"client_name": "S", "redirect_uris": ["https://s.example/cb"],
                "grant_types": ["authorization_code", TOKEN_EXCHANGE]}  # fmt: skip
        with pytest.raises(clients.InvalidClientMetadata, match="administrator"):
            clients.validate_metadata(data, admin=False, development=True)
        checked = clients.validate_metadata(data, admin=True, development=True)
        assert TOKEN_EXCHANGE in checked["grant_types"]
        with pytest.raises(clients.InvalidClientMetadata, match="none cannot use"):
            clients.validate_metadata(
                {**data, "token_endpoint_auth_method": "none"}, admin=True, development=True
            )


def test_dynamic_registration_refuses_the_grant(consent_app):
    with consent_app.app_context():
        token = clients.issue_initial_access_token(db.session)
        db.session.commit()
    response = consent_app.test_client().post(
        "/oidc/register",
        json={"client_name": "S", "redirect_uris": ["https://s.example/cb"],
              "grant_types": ["authorization_code", TOKEN_EXCHANGE]},
        headers={"Authorization": f"Bearer {token}"},
    )  # fmt: skip
    assert response.status_code == 400
    assert response.json["error"] == "invalid_client_metadata"


def test_a_client_updating_itself_keeps_the_grant_an_admin_gave(consent_app):
    """RFC 7592 full replacement by the client: admin-granted grant types may be kept."""
    metadata = {"client_name": "S", "redirect_uris": ["https://s.example/cb"],
                "grant_types": ["authorization_code", TOKEN_EXCHANGE]}  # fmt: skip
    with consent_app.app_context():
        made = clients.register(db.session, metadata, admin=True, development=True, dynamic=True)
        db.session.commit()
        client_id, token = made.client.client_id, made.registration_access_token
    response = consent_app.test_client().put(
        f"/oidc/register/{client_id}",
        json={**metadata, "client_id": client_id, "client_name": "S2"},
        headers={"Authorization": f"Bearer {token}"},
    )
    assert response.status_code == 200, response.json
    assert TOKEN_EXCHANGE in response.json["grant_types"]


def test_consent_for_an_older_version_and_reconsent(consent_app):
    """A new version without re-consent keeps the consent (tokens name its version); one
    demanding re-consent ends it at once, also for tokens already issued."""
    app = consent_app
    sub = sub_of(app, "pupil1")
    given(app)
    with app.app_context():
        data = purposes.to_dict(purposes.latest(db.session, READING))
        keep = set(purposes.PurposeSpec.model_fields)
        spec = {key: value for key, value in data.items() if key in keep}
        purposes.new_version(db.session, purposes.parse(spec), created_by="test")
        db.session.commit()
    response = exchange(app, sub)
    assert response.status_code == 200, response.json
    token = response.json["access_token"]
    assert verify(app.test_client(), token, audience=RESOURCE)["purpose_version"] == 1
    with app.app_context():
        spec["requires_reconsent"] = True
        purposes.new_version(db.session, purposes.parse(spec), created_by="test")
        db.session.commit()
    assert introspect(app, token) == {"active": False}
    response = exchange(app, sub)
    assert response.status_code == 400 and response.json["error"] == "access_denied"
