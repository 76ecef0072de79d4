"""The embedded directory: argon2id passwords, rehash on parameter change, equal-time misses,
and provisioning into Person, roles and guardianships (on SQLite and PostgreSQL)."""

from __future__ import annotations

import dataclasses
from datetime import date

from sqlalchemy import select

from core.app import config_of
from core.db import db
from core.settings.schema import DemoPerson, PasswordSettings
from federation.connector import AccountLocked, PasswordConnector, connector_for
from federation.demo import birthdate_for, seed
from federation.embedded.models import EmbeddedAccount
from federation.models import CityIdentity, Guardianship, Person
from idp.signin.context import directories


def _connector(app, slug="espoo", passwords=None):
    env = directories()
    if passwords:
        env = dataclasses.replace(env, passwords=passwords)
    connector = connector_for(config_of(app).cities[slug], env)
    assert isinstance(connector, PasswordConnector)
    return connector


def test_demo_contract_in_every_city(seeded):
    with seeded.app_context():
        for slug in ("espoo", "oulu", "tampere", "turku", "vantaa"):
            connector = _connector(seeded, slug)
            pupil1 = connector.authenticate("pupil1", "demo")
            pupil2 = connector.authenticate("pupil2", "demo")
            assert pupil1 and pupil2
            today = date.today()
            assert _age(pupil1.birthdate, today) == 9
            assert _age(pupil2.birthdate, today) == 15
            assert pupil1.roles[0].role == "learner" and len(pupil1.roles[0].school_code) == 5
            assert pupil1.learner_id.startswith("1.2.246.562.24.")
            g1, g2, g3 = (connector.authenticate(f"guardian{n}", "demo") for n in (1, 2, 3))
            assert g1.children == g2.children == (pupil1.learner_id,)
            assert g3.children == (pupil2.learner_id,)
            assert connector.authenticate("teacher1", "demo").roles[0].role == "teacher"
            assert connector.authenticate("admin1", "demo").permissions == ("consent_admin",)
            assert connector.authenticate("pupil1", "wrong") is None


def _age(born: date, today: date) -> int:
    return today.year - born.year - ((today.month, today.day) < (born.month, born.day))


def test_learner_ids_are_unique_across_cities(seeded):
    with seeded.app_context():
        ids = db.session.scalars(
            select(EmbeddedAccount.learner_id).where(EmbeddedAccount.learner_id.is_not(None))
        ).all()
        # every learner id is unique except the mover's, one pupil in two cities
        assert len(ids) == 12 and len(set(ids)) == 11


def test_seed_is_idempotent_and_links_guardians(seeded):
    with seeded.app_context():
        seed(db.session, config_of(seeded))
        assert db.session.scalar(select(db.func.count()).select_from(EmbeddedAccount)) == 38
        # One person fewer than accounts: the mover; Espoo's auditor1 is the 38th account.
        assert db.session.scalar(select(db.func.count()).select_from(Person)) == 37
        pupil1 = db.session.scalar(
            select(Person)
            .join(CityIdentity)
            .where(CityIdentity.city == "espoo", CityIdentity.subject == "pupil1")
        )
        guardians = db.session.scalars(
            select(Guardianship).where(
                Guardianship.child_id == pupil1.id, Guardianship.ended_at.is_(None)
            )
        ).all()
        assert len(guardians) == 2


def test_passwords_are_argon2id_and_rehashed_when_parameters_change(seeded):
    with seeded.app_context():
        account = db.session.scalar(
            select(EmbeddedAccount).where(
                EmbeddedAccount.city == "oulu", EmbeddedAccount.username == "teacher1"
            )
        )
        before = account.password_hash
        assert before.startswith("$argon2id$") and "m=8192,t=1,p=1" in before
        stronger = PasswordSettings(time_cost=2, memory_kib=16384, parallelism=1)
        assert _connector(seeded, "oulu", stronger).authenticate("teacher1", "demo")
        db.session.commit()
        db.session.refresh(account)
        assert "m=16384,t=2,p=1" in account.password_hash
        assert _connector(seeded, "oulu", stronger).authenticate("teacher1", "demo")
        assert _connector(seeded, "oulu", stronger).authenticate("teacher1", "x") is None


def test_locked_account_is_refused_only_with_the_right_password(seeded):
    with seeded.app_context():
        account = db.session.scalar(
            select(EmbeddedAccount).where(
                EmbeddedAccount.city == "turku", EmbeddedAccount.username == "pupil2"
            )
        )
        account.locked = True
        db.session.commit()
        connector = _connector(seeded, "turku")
        assert connector.authenticate("pupil2", "wrong") is None
        try:
            connector.authenticate("pupil2", "demo")
        except AccountLocked:
            pass
        else:
            raise AssertionError("a locked account signed in")


def test_unknown_user_costs_a_password_check(seeded, monkeypatch):
    """A miss verifies against a dummy hash, so its timing matches a wrong password."""
    import federation.embedded.connector as module

    calls = []
    real = module.verify_password

    def counting(hasher, stored, password):
        calls.append(stored)
        return real(hasher, stored, password)

    monkeypatch.setattr(module, "verify_password", counting)
    with seeded.app_context():
        assert _connector(seeded).authenticate("nobody", "demo") is None
    assert calls == [None]  # verify_password then checks the dummy hash


def test_birthdate_keeps_demo_ages_true():
    person = DemoPerson(
        username="x", given_name="A", family_name="B", age=9, birthday="03-14", roles=[]
    )
    assert birthdate_for(person, date(2026, 3, 13)) == date(2016, 3, 14)
    assert birthdate_for(person, date(2026, 3, 14)) == date(2017, 3, 14)


def test_demo_mover_is_one_person_with_one_subject_per_service(seeded):
    from tests.oidc.helpers import register, tokens, verify

    rp = register(seeded)
    client = seeded.test_client()
    in_espoo = verify(client, tokens(seeded, rp, "espoo", "mover")["id_token"], rp.client_id)
    in_vantaa = verify(client, tokens(seeded, rp, "vantaa", "mover")["id_token"], rp.client_id)
    assert in_espoo["sub"] == in_vantaa["sub"]
