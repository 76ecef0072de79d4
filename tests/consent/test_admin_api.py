"""The admin API (/admin/api): Bearer tokens from the client_credentials grant with the scope
digione:admin (RFC 6750), every endpoint, and bad requests that must never be a 500."""

from __future__ import annotations

import json
import tomllib

import pytest
from sqlalchemy import select

from consent import purposes, records
from consent.history import record_to_dict
from consent.models import AuditEntry, ConsentRecord
from core.db import db
from idp.oidc import OIDC
from tests.consent.conftest import DEMO, READING, person
from tests.oidc.helpers import register, tokens

API = "/admin/api"


def token_for(app, scope: str, **reach) -> str:
    """A client_credentials token of a new client with ``scope``; an admin client's reach is
    Espoo unless ``reach`` (admin_city or admin_auditor) says otherwise."""
    if "digione:admin" in scope.split() and not reach:
        reach = {"admin_city": "espoo"}
    service = register(
        app, grant_types=["client_credentials"], redirect_uris=[], scope=scope,
        client_name="Admin tool", **reach,
    )  # fmt: skip
    response = app.test_client().post(
        "/oidc/token",
        data={"grant_type": "client_credentials", "scope": scope},
        headers=service.basic(),
    )
    assert response.status_code == 200, response.json
    return response.json["access_token"]


@pytest.fixture
def api(consent_app):
    """A test client sending an admin token; ``api.client_id`` is the admin client's id."""
    token = token_for(consent_app, "digione:admin")
    client = consent_app.test_client()
    client.environ_base["HTTP_AUTHORIZATION"] = f"Bearer {token}"
    return client


def reading(**changes) -> dict:
    data = tomllib.loads((DEMO / "purposes" / "reading-class.toml").read_text(encoding="utf-8"))
    data.update(changes)
    return data


def entries(app, action: str) -> list[AuditEntry]:
    with app.app_context():
        rows = list(db.session.scalars(select(AuditEntry).where(AuditEntry.action == action)))
        for row in rows:
            db.session.expunge(row)
        return rows


def check_json_error(response, status: int, error: str) -> dict:
    assert response.status_code == status, response.get_data(as_text=True)
    assert response.is_json and response.json["error"] == error
    assert response.headers["Cache-Control"] == "no-store"
    return response.json


# Authentication (RFC 6750 section 3)


def test_no_token_is_a_bare_challenge(consent_app):
    response = consent_app.test_client().get(f"{API}/purposes")
    check_json_error(response, 401, "invalid_request")
    assert response.headers["WWW-Authenticate"] == 'Bearer realm="DigiOne"'
    basic = consent_app.test_client().get(
        f"{API}/purposes", headers={"Authorization": "Basic YWRtaW46YWRtaW4="}
    )
    assert basic.status_code == 401


def test_an_invalid_token_is_invalid_token(consent_app):
    for token in ("garbage", "a.b.c", "x" * 5000):
        response = consent_app.test_client().get(
            f"{API}/purposes", headers={"Authorization": f"Bearer {token}"}
        )
        check_json_error(response, 401, "invalid_token")
        assert 'error="invalid_token"' in response.headers["WWW-Authenticate"]


def test_a_removed_clients_token_is_invalid(consent_app, api):
    token = api.environ_base["HTTP_AUTHORIZATION"].split()[1]
    assert api.get(f"{API}/purposes").status_code == 200
    with consent_app.app_context():
        from idp.oidc.access import decode_access_token
        from idp.oidc.models import AccessTokenRecord, Client

        issuer = OIDC.of(consent_app).provider.issuer
        claims = decode_access_token(token, issuer)
        client = db.session.get(Client, claims["client_id"])
        db.session.delete(client)  # a removed client's tokens stop working
        db.session.query(AccessTokenRecord).filter_by(client_id=client.client_id).delete()
        db.session.commit()
    check_json_error(api.get(f"{API}/purposes"), 401, "invalid_token")


def test_a_token_without_the_admin_scope_is_insufficient(consent_app):
    token = token_for(consent_app, "edu:school")
    response = consent_app.test_client().get(
        f"{API}/purposes", headers={"Authorization": f"Bearer {token}"}
    )
    check_json_error(response, 403, "insufficient_scope")
    challenge = response.headers["WWW-Authenticate"]
    assert 'error="insufficient_scope"' in challenge and 'scope="digione:admin"' in challenge


def test_a_token_a_person_signed_in_for_never_administers(consent_app):
    rp = register(consent_app, scope="openid digione:admin", admin_city="espoo")
    issued = tokens(consent_app, rp, scope="openid digione:admin")
    assert "digione:admin" in issued["scope"].split()
    response = consent_app.test_client().get(
        f"{API}/purposes", headers={"Authorization": f"Bearer {issued['access_token']}"}
    )
    check_json_error(response, 403, "insufficient_scope")


# Purposes


def test_list_gives_the_latest_versions(api):
    response = api.get(f"{API}/purposes")
    assert response.status_code == 200 and response.headers["Cache-Control"] == "no-store"
    ids = [p["id"] for p in response.json["purposes"]]
    assert ids == ["demo-learning-assessments", READING]


def test_add_creates_version_1_with_location_and_audit(consent_app, api):
    response = api.post(f"{API}/purposes", json=reading(id="demo-reading-extra"))
    assert response.status_code == 201, response.json
    assert response.json["id"] == "demo-reading-extra" and response.json["version"] == 1
    location = response.headers["Location"]
    assert location.endswith(f"{API}/purposes/demo-reading-extra?version=1")
    fetched = api.get(location)
    assert fetched.status_code == 200 and fetched.json == response.json
    (entry,) = entries(consent_app, "purpose.add")
    assert entry.actor_type == "admin" and entry.channel == "api"
    assert entry.actor_id == response.json["created_by"] and entry.detail == {"version": 1}
    again = api.post(f"{API}/purposes", json=reading(id="demo-reading-extra"))
    check_json_error(again, 409, "conflict")


def test_get_one_purpose_and_its_versions(consent_app, api):
    latest = api.get(f"{API}/purposes/{READING}")
    with consent_app.app_context():
        assert latest.json == purposes.to_dict(purposes.latest(db.session, READING))
    assert api.get(f"{API}/purposes/{READING}?version=1").json == latest.json
    check_json_error(api.get(f"{API}/purposes/{READING}?version=2"), 404, "not_found")
    check_json_error(api.get(f"{API}/purposes/nope"), 404, "not_found")
    check_json_error(api.get(f"{API}/purposes/{'x' * 500}"), 404, "not_found")
    for bad in ("abc", "0", "-1", "1.5", "9" * 40, "١"):
        body = check_json_error(
            api.get(f"{API}/purposes/{READING}?version={bad}"), 400, "invalid_request"
        )
        assert body["error_description"].startswith("version:")


def test_new_version_and_reconsent(consent_app, api):
    plain = reading(validity_days=100)
    del plain["id"]  # the path names it
    response = api.post(f"{API}/purposes/{READING}/versions", json=plain)
    assert response.status_code == 201, response.json
    assert response.json["version"] == 2 and response.json["ended_records"] == 0
    assert response.headers["Location"].endswith(f"/purposes/{READING}?version=2")
    with consent_app.app_context():
        purpose = purposes.latest(db.session, READING)
        view, _ = records.request(db.session, purpose, person("espoo", "pupil1"), client_id="x")
        record_id = view.record.id
        db.session.commit()
    response = api.post(f"{API}/purposes/{READING}/versions", json=reading(requires_reconsent=True))
    assert response.status_code == 201 and response.json["ended_records"] == 1
    assert api.get(f"{API}/consents/{record_id}").json["state"] == "invalidated"
    logged = entries(consent_app, "purpose.new_version")
    assert [e.detail["version"] for e in logged] == [2, 3]
    assert all(e.channel == "api" and e.purpose_id == READING for e in logged)


def test_new_version_errors(api):
    wrong = api.post(f"{API}/purposes/{READING}/versions", json=reading(id="other"))
    assert check_json_error(wrong, 400, "invalid_request")["error_description"].startswith("id:")
    missing = api.post(f"{API}/purposes/nope/versions", json=reading(id="nope"))
    check_json_error(missing, 404, "not_found")


def test_withdraw(consent_app, api):
    response = api.post(f"{API}/purposes/{READING}/withdraw")
    assert response.status_code == 200, response.json
    assert response.json["withdrawn_at"] and response.json["ended_records"] == 0
    check_json_error(api.post(f"{API}/purposes/{READING}/withdraw"), 409, "conflict")
    later = api.post(f"{API}/purposes/{READING}/versions", json=reading())
    check_json_error(later, 409, "conflict")
    check_json_error(api.post(f"{API}/purposes/nope/withdraw"), 404, "not_found")
    (entry,) = entries(consent_app, "purpose.withdraw")
    assert entry.detail == {"version": 1, "ended": 0} and entry.channel == "api"


# Bad bodies: a readable 4xx, never a 500


@pytest.mark.parametrize(
    ("body", "content_type", "status", "starts"),
    [
        ("not json", "application/json", 400, "The body is not valid JSON"),
        (b"\xff\xfe{}", "application/json", 400, "The body is not valid JSON"),
        ("[" * 20000 + "]" * 20000, "application/json", 400,
         "the JSON body is nested too deeply"),  # refused at the edge (idp.edge)
        ("[1, 2]", "application/json", 400, "purpose: must be a JSON object"),
        ("{}", "text/plain", 400, "Send a JSON object"),
        ("", "application/json", 400, "The body is not valid JSON"),
        ('{"id": 5}', "application/json", 400, "id: Input should be a valid string"),
        (json.dumps(reading(id="n1", validity_days="7")), "application/json", 400,
         "validity_days:"),
        (json.dumps(reading(id="n2", title={"fi": "x"})), "application/json", 400, "title.sv:"),
        (json.dumps(reading(id="n3", scopes=[])), "application/json", 400, "scopes:"),
        (json.dumps(reading(id="n4", valid_until="2026-02-30")), "application/json", 400,
         "valid_until:"),
        (json.dumps(reading(id="n5", recipient="ghost")), "application/json", 400,
         "recipient: no client"),
        (json.dumps(reading(id="n6", policy=[1])), "application/json", 400, "policy:"),
        ("{" + '"a": 1,' * 12000 + '"b": 1}', "application/json", 413, "The body is larger"),
        ('{"id": ' + "9" * 5000 + "}", "application/json", 400, "The body is not valid JSON"),
    ],
)  # fmt: skip
def test_bad_bodies(consent_app, api, body, content_type, status, starts):
    response = api.post(f"{API}/purposes", data=body, content_type=content_type)
    description = check_json_error(response, status, "invalid_request")["error_description"]
    assert description.startswith(starts), description
    with consent_app.app_context():
        assert len(purposes.all_latest(db.session)) == 2
    assert not entries(consent_app, "purpose.add")


def test_a_body_beyond_the_app_limit(api):
    response = api.post(
        f"{API}/purposes", data="x" * (2 * 1024 * 1024), content_type="application/json"
    )
    assert response.status_code == 413 and response.is_json


# Consent records


def test_consent_record_is_the_shared_json(consent_app, api):
    with consent_app.app_context():
        purpose = purposes.latest(db.session, READING)
        view, _ = records.request(
            db.session, purpose, person("espoo", "pupil1"), client_id="demo-reading-app"
        )
        records.answer(
            db.session, view.record, person("espoo", "guardian1"), "approve", method="page",
            acr="demo",
        )  # fmt: skip
        db.session.commit()
        record_id = view.record.id
    response = api.get(f"{API}/consents/{record_id}")
    assert response.status_code == 200 and response.headers["Cache-Control"] == "no-store"
    with consent_app.app_context():
        expected = record_to_dict(db.session, db.session.get(ConsentRecord, record_id))
    assert response.json == json.loads(json.dumps(expected))
    assert response.json["state"] == "partially_approved"
    assert [s["kind"] for s in response.json["history"]] == ["requested", "approve"]
    with consent_app.app_context():  # the view is in the audit trail, and so in the log
        viewed = db.session.scalars(
            select(AuditEntry).where(AuditEntry.action == "consent.view")
        ).all()
        assert [(e.record_id, e.channel, e.actor_type) for e in viewed] == [
            (record_id, "api", "admin")
        ]
        assert viewed[0].leaf is not None
    check_json_error(api.get(f"{API}/consents/nope"), 404, "not_found")
    check_json_error(api.get(f"{API}/consents/{'z' * 300}"), 404, "not_found")


def test_unknown_paths_and_methods_are_json(api):
    assert api.get(f"{API}/nothing").is_json
    response = api.delete(f"{API}/purposes")
    assert response.status_code == 405 and response.is_json


def test_an_admin_client_registered_at_the_command_line(consent_app, digione_cli):
    """As docs/consent.md tells the operator: `digione clients add` with the scope
    digione:admin and the client_credentials grant, then a token from /oidc/token."""
    args = "clients add --name Tool --grant-type client_credentials --scope digione:admin"
    # A tool administers one configured city or, an auditor's, reads them all.
    refused = digione_cli(*args.split(), "--admin-city", "helsinki", code=1)
    assert "--admin-city: no city 'helsinki'" in refused
    assert "admin_city" in digione_cli(*args.split(), code=1)
    info = json.loads(digione_cli(*args.split(), "--admin-city", "espoo", "--json"))
    assert info["admin_city"] == "espoo"
    client = consent_app.test_client()
    response = client.post(
        "/oidc/token",
        data={"grant_type": "client_credentials", "scope": "digione:admin"},
        auth=(info["client_id"], info["client_secret"]),
    )
    assert response.status_code == 200, response.json
    token = response.json["access_token"]
    listing = client.get(f"{API}/purposes", headers={"Authorization": f"Bearer {token}"})
    assert listing.status_code == 200 and len(listing.json["purposes"]) == 2
