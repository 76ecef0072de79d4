"""The admin API's reach and its list of consent records (GET /admin/api/consents): a tool
registered for one city reads that city's records only, an auditor's reads every city and
changes nothing; filters, keyset pages, the stored state each row shows (consent.status) and
the audit entry of every record a list showed."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import delete, select, update

from consent import history, purposes, records, search
from consent.models import AuditEntry, ConsentRecord, ConsentStatus
from consent.scope import AUDITOR, CONSENT_ADMIN, Scope
from core.db import db, utcnow
from idp.oidc.models import Client
from tests.consent.conftest import ASSESSMENTS, READING, person
from tests.consent.test_admin_api import API, check_json_error, token_for


def client_for(app, **reach):
    client = app.test_client()
    token = token_for(app, "digione:admin", **reach)
    client.environ_base["HTTP_AUTHORIZATION"] = f"Bearer {token}"
    return client


def ask(city: str, username: str, purpose_id: str = READING) -> str:
    purpose = purposes.latest(db.session, purpose_id)
    client_id = purpose.recipient_client_id
    view, _ = records.request(db.session, purpose, person(city, username), client_id=client_id)
    db.session.commit()
    return view.record.id


def answer(record_id: str, city: str, username: str, kind: str) -> None:
    record = db.session.get(ConsentRecord, record_id)
    records.answer(db.session, record, person(city, username), kind, method="page", acr="demo")
    db.session.commit()


@pytest.fixture
def recorded(consent_app) -> dict[str, str]:
    """Records in Espoo and Vantaa in several states."""
    with consent_app.app_context():
        made = {
            "espoo_given": ask("espoo", "pupil1"),
            "espoo_partial": ask("espoo", "pupil2", ASSESSMENTS),
            "vantaa_requested": ask("vantaa", "pupil1"),
        }
        answer(made["espoo_given"], "espoo", "guardian1", "approve")
        answer(made["espoo_given"], "espoo", "guardian2", "approve")
    return made


def listed(client, query: str = "") -> list[str]:
    response = client.get(f"{API}/consents{query}")
    assert response.status_code == 200, response.json
    return [row["id"] for row in response.json["consents"]]


def test_a_citys_tool_reads_its_city_and_the_auditors_every_city(consent_app, recorded):
    espoo, auditor = client_for(consent_app), client_for(consent_app, admin_auditor=True)
    vantaa = client_for(consent_app, admin_city="vantaa")
    mine = {recorded["espoo_given"], recorded["espoo_partial"]}

    assert set(listed(espoo)) == mine
    assert listed(vantaa) == [recorded["vantaa_requested"]]
    assert set(listed(auditor)) == {*mine, recorded["vantaa_requested"]}
    # Another city's record is not found, as one that does not exist.
    check_json_error(espoo.get(f"{API}/consents/{recorded['vantaa_requested']}"), 404, "not_found")
    assert espoo.get(f"{API}/consents/{recorded['espoo_given']}").status_code == 200
    assert auditor.get(f"{API}/consents/{recorded['vantaa_requested']}").status_code == 200
    # Every filter stays within the reach.
    assert listed(espoo, f"?learner_id={person_learner(consent_app, 'vantaa', 'pupil1')}") == []


def person_learner(app, city: str, username: str) -> str:
    with app.app_context():
        return person(city, username).learner_id


def test_an_auditors_tool_changes_nothing(consent_app):
    auditor = client_for(consent_app, admin_auditor=True)
    assert auditor.get(f"{API}/purposes").status_code == 200
    response = auditor.post(f"{API}/purposes/{READING}/withdraw")
    check_json_error(response, 403, "insufficient_scope")
    with consent_app.app_context():
        assert purposes.latest(db.session, READING).withdrawn_at is None


def test_a_tool_registered_for_no_city_reads_nothing(consent_app):
    """A client stored before tools had a reach (its metadata without one) is refused."""
    client = client_for(consent_app, admin_city="espoo")
    with consent_app.app_context():
        tool = db.session.scalars(
            select(Client).where(Client.client_metadata["admin_city"].as_string() == "espoo")
        ).one()
        metadata = dict(tool.client_metadata)
        del metadata["admin_city"]
        db.session.execute(
            update(Client)
            .where(Client.client_id == tool.client_id)
            .values(client_metadata=metadata)
        )
        db.session.commit()
    response = client.get(f"{API}/purposes")
    check_json_error(response, 403, "insufficient_scope")
    assert "admin_city" in response.json["error_description"]


def test_filters(consent_app, recorded):
    espoo = client_for(consent_app)
    learner = person_learner(consent_app, "espoo", "pupil1")
    assert listed(espoo, "?state=given") == [recorded["espoo_given"]]
    assert listed(espoo, "?state=requested,partially_approved") == [recorded["espoo_partial"]]
    assert listed(espoo, "?state=withdrawn") == []
    assert listed(espoo, f"?purpose={ASSESSMENTS}") == [recorded["espoo_partial"]]
    assert listed(espoo, "?service=demo-reading-app") == [recorded["espoo_given"]]
    assert len(listed(espoo, "?source=demo-school-admin")) == 2
    assert listed(espoo, "?source=demo-reading-app") == []
    assert listed(espoo, f"?learner_id={learner}") == [recorded["espoo_given"]]
    assert len(listed(espoo, "?school=03215")) == 2
    assert listed(espoo, "?school=03628") == []  # Vantaa's school
    assert listed(espoo, "?name=aino") == [recorded["espoo_given"]]  # pupil1 is Aino Virtanen
    assert listed(espoo, "?name=Aino%20Virt") == [recorded["espoo_given"]]
    assert listed(espoo, "?name=virtanen") == [recorded["espoo_given"]]
    assert listed(espoo, "?name=%25") == []  # a LIKE wildcard is a character
    today = utcnow().date()
    assert (
        len(listed(espoo, f"?from={today - timedelta(days=1)}&to={today + timedelta(days=1)}")) == 2
    )
    assert listed(espoo, f"?from={today + timedelta(days=2)}") == []
    assert listed(espoo, f"?to={today - timedelta(days=2)}") == []


@pytest.mark.parametrize(
    ("query", "names"),
    [
        ("?state=lost", "state"),
        ("?school=3215", "school"),
        ("?from=2026-13-01", "from"),
        ("?from=2026-12-02&to=2026-12-01", "from"),
        ("?limit=0", "limit"),
        ("?limit=101", "limit"),
        ("?cursor=not-a-cursor", "cursor"),
        ("?name=" + "x" * 101, "name"),
        ("?purpose=" + "p" * 65, "purpose"),
    ],
)
def test_bad_filters_are_invalid_request(consent_app, query, names):
    response = client_for(consent_app).get(f"{API}/consents{query}")
    check_json_error(response, 400, "invalid_request")
    assert response.json["error_description"].startswith(f"{names}:")


@pytest.mark.parametrize("query", ["?learner_id=%00", "?name=a%00b", "?%00=x"])
def test_a_nul_character_is_refused_before_the_list(consent_app, query):
    response = client_for(consent_app).get(f"{API}/consents{query}")
    check_json_error(response, 400, "invalid_request")
    assert response.json["error_description"] == "a parameter holds a NUL character"


def test_keyset_pages(consent_app):
    with consent_app.app_context():
        made = [
            ask(city, username, purpose_id)
            for city in ("espoo", "vantaa")
            for username in ("pupil1", "pupil2")
            for purpose_id in (READING, ASSESSMENTS)
        ]
    auditor = client_for(consent_app, admin_auditor=True)
    seen, query, pages = [], "?limit=3", 0
    while query is not None:
        body = auditor.get(f"{API}/consents{query}").json
        pages += 1
        seen += [row["id"] for row in body["consents"]]
        query = f"?limit=3&cursor={body['next_cursor']}" if body["next_cursor"] else None
        if query is not None:
            assert body["next"].endswith(f"cursor={body['next_cursor']}")
    assert pages == 3 and sorted(seen) == sorted(made) and len(set(seen)) == len(seen)
    with consent_app.app_context():  # newest first
        created = {r.id: (r.created_at, r.id) for r in db.session.scalars(select(ConsentRecord))}
    assert [created[i] for i in seen] == sorted((created[i] for i in seen), reverse=True)


def test_each_record_a_list_shows_is_an_audit_entry(consent_app, recorded):
    espoo = client_for(consent_app)
    shown = listed(espoo, "?name=aino&state=given")
    with consent_app.app_context():
        entries = db.session.scalars(
            select(AuditEntry).where(AuditEntry.action == "consent.list")
        ).all()
        assert [(e.record_id, e.actor_type, e.channel) for e in entries] == [
            (shown[0], "admin", "api")
        ]
        assert entries[0].detail == {"role": CONSENT_ADMIN, "filters": ["state", "name"]}
        assert entries[0].leaf is not None  # a leaf of the log; the name itself is nowhere
        assert "aino" not in str(entries[0].detail).lower()


def test_the_stored_state_follows_every_event_and_the_purposes_end(consent_app, recorded):
    auditor = Scope(AUDITOR, every_city=True)
    with consent_app.app_context():
        answer(recorded["espoo_given"], "espoo", "guardian1", "withdraw")
        answer(recorded["vantaa_requested"], "vantaa", "guardian1", "refuse")
        purposes.withdraw(db.session, ASSESSMENTS)
        db.session.commit()
        now = utcnow()
        rows = {row["id"]: row for row in search.page(db.session, auditor, search.Filters(),
                                                         now=now).rows}  # fmt: skip
        for record_id, row in rows.items():
            derived = history.record_to_dict(db.session, db.session.get(ConsentRecord, record_id))
            assert (row["state"], row["reason"]) == (derived["state"], derived["reason"])
        assert rows[recorded["espoo_given"]]["state"] == "withdrawn"
        assert rows[recorded["vantaa_requested"]]["state"] == "refused"
        assert rows[recorded["espoo_partial"]]["state"] == "invalidated"
        assert rows[recorded["espoo_partial"]]["reason"] == "purpose_withdrawn"

        # Rebuilt from the events, the rows are the same.
        before = {r.record_id: _columns(r) for r in db.session.scalars(select(ConsentStatus))}
        assert history.rebuild_status(db.session) == 3
        db.session.commit()
        db.session.expire_all()
        after = {r.record_id: _columns(r) for r in db.session.scalars(select(ConsentStatus))}
        assert after == before


def _columns(row: ConsentStatus) -> dict:
    return {c.name: getattr(row, c.name) for c in ConsentStatus.__table__.columns}


def test_a_given_consent_past_its_validity_lists_as_expired(consent_app, recorded):
    with consent_app.app_context():
        db.session.execute(
            update(ConsentStatus)
            .where(ConsentStatus.record_id == recorded["espoo_given"])
            .values(valid_until=utcnow() + timedelta(days=1))
        )
        db.session.commit()
        espoo = Scope(CONSENT_ADMIN, frozenset({"espoo"}))
        later = utcnow() + timedelta(days=2)

        def states(filters: search.Filters, now):
            return [row["state"] for row in search.page(db.session, espoo, filters, now=now).rows]

        given = search.Filters(states=("given",))
        expired = search.Filters(states=("expired",))
        assert states(given, utcnow()) == ["given"] and states(expired, utcnow()) == []
        assert states(given, later) == [] and states(expired, later) == ["expired"]


def test_reindex_rebuilds_the_stored_states(consent_app, recorded, digione_cli):
    with consent_app.app_context():
        before = {r.record_id: _columns(r) for r in db.session.scalars(select(ConsentStatus))}
        db.session.execute(delete(ConsentStatus))
        db.session.commit()
    assert digione_cli("consent", "reindex").strip() == "rebuilt the state of 3 record(s)"
    with consent_app.app_context():
        after = {r.record_id: _columns(r) for r in db.session.scalars(select(ConsentStatus))}
    assert after == before


COMPARED = ("state", "reason", "given_at", "valid_until", "ended_at", "created_at",
            "requested_by", "city")  # fmt: skip


def test_the_export_reads_the_stored_states_as_the_history_folds_them(consent_app, recorded):
    """A city's export (read from consent.status) says what each record's events say, for
    records answered, withdrawn, ended by their purpose and past their validity."""
    with consent_app.app_context():
        answer(recorded["espoo_given"], "espoo", "guardian1", "withdraw")
        purposes.withdraw(db.session, ASSESSMENTS)
        given = ask("espoo", "pupil2")
        answer(given, "espoo", "guardian3", "approve")
        db.session.commit()
        for now in (utcnow(), utcnow() + timedelta(days=800)):  # the last one past validity
            rows = list(history.export_rows(db.session, "espoo", now))
            assert {row["record_id"] for row in rows} == {
                recorded["espoo_given"], recorded["espoo_partial"], given,
            }  # fmt: skip
            for row in rows:
                record = db.session.get(ConsentRecord, row["record_id"])
                folded = history.record_to_dict(db.session, record, now)
                for name in COMPARED:
                    assert row[name] == folded[name], (name, row, folded)
                assert row["learner_id"] == folded["child"]["learner_id"]
                assert (row["purpose_id"], row["purpose_version"]) == (
                    folded["purpose"]["id"], folded["purpose"]["version"],
                )  # fmt: skip
                assert row["events"] == sum(1 for s in folded["history"] if s["event_id"])
        assert {row["state"] for row in rows} >= {"withdrawn", "invalidated", "expired"}
