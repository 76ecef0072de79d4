"""Provisioning: the broker's view follows the directory at every sign-in."""

from __future__ import annotations

from dataclasses import replace

from sqlalchemy import select

from core.db import db
from federation.accounts import provision
from federation.models import CityIdentity, Guardianship, Person, RoleAssignment
from federation.profile import Identity, RoleClaim

CHILD = Identity(
    city="vantaa",
    municipality_code="092",
    subject="kid",
    given_name="Venla",
    family_name="Testi",
    learner_id="1.2.246.562.24.99999999901",
    roles=(RoleClaim("learner", "092", "03628", "4C", 4),),
)
PARENT = Identity(
    city="vantaa",
    municipality_code="092",
    subject="parent",
    given_name="Kimmo",
    family_name="Testi",
    roles=(RoleClaim("guardian", "092"),),
    children=(CHILD.learner_id,),
)


def _active_guardianships() -> list[Guardianship]:
    return list(db.session.scalars(select(Guardianship).where(Guardianship.ended_at.is_(None))))


def test_a_removed_guardianship_is_ended_with_its_time_not_deleted(app):
    with app.app_context():
        provision(db.session, CHILD)
        provision(db.session, PARENT)
        db.session.commit()
        assert len(_active_guardianships()) == 1
        provision(db.session, replace(PARENT, children=()))
        db.session.commit()
        assert _active_guardianships() == []
        [ended] = db.session.scalars(select(Guardianship)).all()
        assert ended.ended_at is not None and ended.ended_at >= ended.started_at


def test_roles_are_replaced_and_profile_refreshed(app):
    with app.app_context():
        provision(db.session, CHILD)
        moved_up = replace(
            CHILD, family_name="Uusi", roles=(RoleClaim("learner", "092", "03628", "5C", 5),)
        )
        link = provision(db.session, moved_up)
        db.session.commit()
        assert [(r.group, r.class_level) for r in link.roles] == [("5C", 5)]
        assert link.person.family_name == "Uusi"


def test_the_same_learner_id_in_two_cities_is_one_person(app):
    with app.app_context():
        provision(db.session, CHILD)
        in_espoo = replace(CHILD, city="espoo", municipality_code="049", subject="venla.t")
        provision(db.session, in_espoo)
        db.session.commit()
        assert db.session.scalar(select(db.func.count()).select_from(Person)) == 1
        cities = db.session.scalars(select(CityIdentity.city).order_by(CityIdentity.city)).all()
        assert cities == ["espoo", "vantaa"]


def test_links_say_why_and_an_admin_can_undo_a_wrong_one(app, app_config):
    from click.testing import CliRunner

    from idp.cli import main
    from tests.idp.test_operations import _cli_env

    with app.app_context():
        provision(db.session, CHILD)
        provision(db.session, replace(CHILD, city="espoo", municipality_code="049", subject="v.t"))
        db.session.commit()
        reasons = dict(db.session.execute(select(CityIdentity.city, CityIdentity.linked_by)).all())
        assert reasons == {"vantaa": "new", "espoo": "learner_id"}
    runner, env = CliRunner(), _cli_env(app_config)
    listed = runner.invoke(main, ["people", "links"], env=env)
    assert "learner_id" in listed.output and "v.t" in listed.output
    done = runner.invoke(main, ["people", "unlink", "espoo", "v.t"], env=env)
    assert done.exit_code == 0, done.output
    with app.app_context():
        db.session.expire_all()
        assert db.session.scalar(select(db.func.count()).select_from(Person)) == 2
        provision(db.session, replace(CHILD, city="espoo", municipality_code="049", subject="v.t"))
        db.session.commit()  # signing in again does not re-link it
        espoo = db.session.scalar(select(CityIdentity).where(CityIdentity.city == "espoo"))
        vantaa = db.session.scalar(select(CityIdentity).where(CityIdentity.city == "vantaa"))
        assert espoo.person_id != vantaa.person_id and espoo.linked_by == "unlinked"
        assert vantaa.person.learner_id == CHILD.learner_id
    again = runner.invoke(main, ["people", "unlink", "espoo", "v.t"], env=env)
    assert again.exit_code == 1 and "not linked" in again.output


def test_two_first_sign_ins_naming_one_new_school_at_once(app):
    """Pupils of a new school sign in at the same moment: both read "no such school", the
    second's insert waits for the first's commit, and then leaves the row as it is (it raised
    a unique violation, a 500, when the read decided)."""
    import threading

    first, second = replace(CHILD, learner_id=None), replace(CHILD, subject="kid2", learner_id=None)
    flushed, done = threading.Event(), []

    def sign_in_first() -> None:
        with app.app_context():
            provision(db.session, first)  # flushes the school, holds the row (or the lock)
            flushed.set()
            threading.Event().wait(0.5)  # the second's read sees no school meanwhile
            db.session.commit()
            done.append(True)

    worker = threading.Thread(target=sign_in_first)
    worker.start()
    assert flushed.wait(30)
    with app.app_context():
        provision(db.session, second)
        db.session.commit()
        schools = db.session.scalars(select(RoleAssignment.school_code)).all()
    worker.join(30)
    assert done == [True] and schools == ["03628", "03628"]


def test_the_same_first_sign_in_twice_at_once(app, monkeypatch):
    """A sign-in form sent twice: both requests read "no such account" and the other one
    commits first. This one's insert breaks the unique constraint, is undone to its savepoint
    and done once more: it finds the same person (a 500 before)."""
    import federation.accounts as accounts

    original, raced = accounts._person_for, []

    def read_before_the_other_committed(session, identity):
        if raced:
            return original(session, identity)
        raced.append(True)
        person = Person(given_name=identity.given_name, family_name=identity.family_name)
        session.add(person)
        return person, None

    with app.app_context():
        provision(db.session, CHILD)  # the other request
        db.session.commit()
        monkeypatch.setattr(accounts, "_person_for", read_before_the_other_committed)
        link = accounts.provision_once_more(db.session, CHILD)
        db.session.commit()
        assert raced == [True]
        assert db.session.scalars(select(CityIdentity)).all() == [link]
        assert len(db.session.scalars(select(Person)).all()) == 1
