"""`digione purposes add|list|show|new-version|withdraw` through click's CliRunner, on the test
database (SQLite, or PostgreSQL with DIGIONE_TEST_DATABASE_URL)."""

from __future__ import annotations

import getpass
import json
import tomllib
from pathlib import Path

import pytest
from sqlalchemy import select

from consent import purposes, records
from consent.models import AuditEntry, Purpose
from core.db import db
from tests.conftest import cli_runner
from tests.consent.conftest import DEMO, READING, person


@pytest.fixture
def digione(digione_cli):
    """Runs `digione ...` on the test database (the app fixtures empty it afterwards)."""
    return digione_cli


@pytest.fixture
def with_clients(seeded):
    """The demo people and clients, but no purposes yet."""
    from idp.oidc.demo_clients import seed_demo_clients

    with seeded.app_context():
        seed_demo_clients(db.session, DEMO / "clients", development=True)
        db.session.commit()
    return seeded


def purpose_file(tmp_path: Path, name: str = "p.toml", **changes) -> Path:
    """The demo reading purpose as TOML, with top-level values changed (strings, ints, bools)."""
    lines = (DEMO / "purposes" / "reading-class.toml").read_text(encoding="utf-8").splitlines()
    out = []
    for line in lines:
        key = line.split("=", 1)[0].strip()
        if key in changes and not line.startswith((" ", "[")) and "=" in line:
            value = changes.pop(key)
            line = f"{key} = {json.dumps(value)}"
        out.append(line)
    top = [f"{key} = {json.dumps(value)}" for key, value in changes.items()]
    path = tmp_path / name
    path.write_text("\n".join(top + out) + "\n", encoding="utf-8")
    return path


def audit_entries(app, action: str) -> list[AuditEntry]:
    with app.app_context():
        rows = db.session.scalars(select(AuditEntry).where(AuditEntry.action == action)).all()
        for row in rows:
            db.session.expunge(row)
        return list(rows)


def test_the_demo_files_load_and_list(with_clients, digione):
    for path in sorted((DEMO / "purposes").glob("*.toml")):
        out = digione("purposes", "add", str(path))
        spec_id = tomllib.loads(path.read_text(encoding="utf-8"))["id"]
        assert f"added purpose {spec_id} version 1" in out
        assert "notice hash " in out
    listing = digione("purposes", "list").splitlines()
    assert listing[0].split()[:4] == ["ID", "VERSION", "LAWFUL_BASIS", "POLICY"]
    reading = next(line for line in listing if line.startswith(READING))
    assert "consent" in reading and "all_guardians" in reading
    assert "demo-school-admin → demo-reading-app" in reading
    assessments = next(line for line in listing if line.startswith("demo-learning-assessments"))
    assert "child from 13" in assessments
    entries = audit_entries(with_clients, "purpose.add")
    assert {e.purpose_id for e in entries} == {READING, "demo-learning-assessments"}
    assert all(e.actor_type == "admin" and e.channel == "cli" for e in entries)
    assert all(e.actor_id == f"cli:{getpass.getuser()}" for e in entries)
    assert all(e.detail == {"version": 1} for e in entries)


def test_list_without_purposes(with_clients, digione):
    assert "no purposes yet" in digione("purposes", "list")


def test_show_prints_every_field_and_json(consent_app, digione):
    out = digione("purposes", "show", READING)
    assert f"id:                 {READING}" in out
    assert "  fi: Lukusovellus saa oppilaan luokan ja koulun" in out
    assert "  sv: Läsappen får elevens klass och skola" in out
    assert "  en: The reading app receives the pupil's class and school" in out
    assert "scopes:             school:class, school:school" in out
    as_json = json.loads(digione("purposes", "show", READING, "--json"))
    with consent_app.app_context():
        assert as_json == purposes.to_dict(purposes.latest(db.session, READING))
    assert as_json["version"] == 1 and as_json["title"]["sv"].startswith("Läsappen")


def test_show_unknown_purpose_or_version(consent_app, digione):
    assert digione("purposes", "show", "nope", code=1).strip() == "Error: no purpose nope"
    err = digione("purposes", "show", READING, "--version", "7", code=1)
    assert err.strip() == f"Error: no purpose {READING} version 7"


def test_new_version_without_reconsent_keeps_consents(consent_app, digione, tmp_path):
    path = purpose_file(tmp_path, validity_days=200)
    out = digione("purposes", "new-version", READING, str(path))
    assert f"published purpose {READING} version 2" in out
    assert "no re-consent" in out
    first = json.loads(digione("purposes", "show", READING, "--version", "1", "--json"))
    latest = json.loads(digione("purposes", "show", READING, "--json"))
    assert first["validity_days"] == 365 and latest["validity_days"] == 200
    assert first["notice_hash"] != latest["notice_hash"]
    (entry,) = audit_entries(consent_app, "purpose.new_version")
    assert entry.purpose_id == READING and entry.detail["version"] == 2


def test_new_version_demanding_reconsent_counts_the_records_it_ends(consent_app, digione, tmp_path):
    with consent_app.app_context():
        purpose = purposes.latest(db.session, READING)
        for city in ("espoo", "oulu"):
            records.request(db.session, purpose, person(city, "pupil1"), client_id="x")
        db.session.commit()
        ids = [v.record.id for v in records.records_of(db.session, person("espoo", "pupil1").id)]
    path = purpose_file(tmp_path, requires_reconsent=True)
    out = digione("purposes", "new-version", READING, str(path))
    assert "demands re-consent: ends 2 open or given record(s)" in out
    with consent_app.app_context():
        record = records.view(db.session, db.session.get(records.ConsentRecord, ids[0]))
        assert record.derived.state == "invalidated"
        assert record.derived.reason == "purpose_new_version"
    (entry,) = audit_entries(consent_app, "purpose.new_version")
    assert entry.detail["ended"] == 2 and entry.detail["requires_reconsent"] is True


def test_new_version_needs_the_same_id(consent_app, digione, tmp_path):
    path = purpose_file(tmp_path, id="something-else")
    err = digione("purposes", "new-version", READING, str(path), code=1)
    assert err.strip() == f"Error: {path}: id is something-else, not {READING}"
    path = purpose_file(tmp_path, id="something-else")
    err = digione("purposes", "new-version", "something-else", str(path), code=1)
    assert "no purpose something-else" in err


def test_withdraw_asks_and_invalidates(consent_app, digione):
    with consent_app.app_context():
        purpose = purposes.latest(db.session, READING)
        view, _ = records.request(
            db.session, purpose, person("espoo", "pupil1"), client_id="demo-reading-app"
        )
        record_id = view.record.id
        db.session.commit()
    digione("purposes", "withdraw", READING, input="n\n", code=1)
    assert not audit_entries(consent_app, "purpose.withdraw")
    out = digione("purposes", "withdraw", READING, input="y\n")
    assert f"withdrew purpose {READING}: 1 open or given record(s) ended" in out
    with consent_app.app_context():
        record = db.session.get(records.ConsentRecord, record_id)
        assert records.view(db.session, record).derived.state == "invalidated"
    assert "withdrawn" in digione("purposes", "list")
    (entry,) = audit_entries(consent_app, "purpose.withdraw")
    assert entry.detail == {"version": 1, "ended": 1} and entry.channel == "cli"
    err = digione("purposes", "withdraw", READING, "--yes", code=1)
    assert err.strip() == f"Error: purpose {READING} is withdrawn already"
    err = digione(
        "purposes", "new-version", READING, str(DEMO / "purposes/reading-class.toml"), code=1
    )
    assert "has been withdrawn" in err


@pytest.mark.parametrize(
    ("changes", "expected"),
    [
        ({"lawful_basis": "whim"}, "lawful_basis: Input should be"),
        ({"recipient": "no-such-client"}, "recipient: no client with client_id no-such-client"),
        ({"notice_url": "http://x.example/"}, "notice_url: String should match pattern"),
        ({"colour": "blue"}, "colour: Extra inputs are not permitted"),
    ],
)
def test_bad_files_give_one_line(with_clients, digione, tmp_path, changes, expected):
    path = purpose_file(tmp_path, **changes)
    err = digione("purposes", "add", str(path), code=1)
    assert len(err.strip().splitlines()) == 1 and "Traceback" not in err
    assert expected in err
    with with_clients.app_context():
        assert db.session.scalar(select(Purpose)) is None


def test_unreadable_files_and_duplicates(consent_app, digione, tmp_path):
    broken = tmp_path / "broken.toml"
    broken.write_text("id = \n", encoding="utf-8")
    err = digione("purposes", "add", str(broken), code=1)
    assert err.startswith(f"Error: {broken}: ") and len(err.strip().splitlines()) == 1
    err = digione("purposes", "add", str(tmp_path / "missing.toml"), code=1)
    assert "missing.toml" in err and len(err.strip().splitlines()) == 1
    err = digione("purposes", "add", str(DEMO / "purposes" / "reading-class.toml"), code=1)
    assert "exists; publish a new version instead" in err


def test_a_database_problem_is_one_line(master_key, tmp_path, consent_app):
    run = cli_runner(f"sqlite:///{tmp_path / 'empty.sqlite'}", master_key, tmp_path)
    err = run("purposes", "list", code=1)
    assert err.strip().startswith("Error: database error (")
    assert "digione db upgrade" in err and "Traceback" not in err
