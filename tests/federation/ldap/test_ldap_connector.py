"""The LDAP / Active Directory connector against a real slapd: success, wrong password, locked
account, injection, TLS (LDAPS and StartTLS), a directory that goes down, and the mover who is
one person across two cities."""

from __future__ import annotations

import pytest

from core.db import db
from federation.connector import AccountLocked, DirectoryUnavailable, connector_for
from federation.ldap.connector import LdapDirectory
from idp.config import CitySettings
from idp.signin.context import directories
from tests.federation.ldap.trees import (
    CITIES,
    MOVER_LEARNER_ID,
    PASSWORD,
    directory_settings,
    learner_id,
)


def city(slug: str, urls: list[str], **extra) -> CitySettings:
    code = CITIES[slug][1]
    return CitySettings.model_validate(
        {
            "slug": slug,
            "municipality_code": code,
            "name": {"fi": slug, "sv": slug, "en": slug},
            "directory": directory_settings(slug, urls, **extra),
        }
    )


def connector(app, slapd, slug: str, **extra) -> LdapDirectory:
    made = connector_for(city(slug, [slapd.ldap_url], **extra), directories())
    assert isinstance(made, LdapDirectory)
    return made


@pytest.mark.parametrize("slug", sorted(CITIES))
def test_pupil_signs_in_and_is_mapped(app, slapd, slug):
    with app.app_context():
        identity = connector(app, slapd, slug).authenticate("pupil1", PASSWORD)
    assert identity is not None
    assert (identity.given_name, identity.family_name) == ("Pupu", "Oppilas")
    assert identity.learner_id == learner_id(slug, 1)
    assert identity.birthdate.isoformat() == "2016-05-04"
    [role] = identity.roles
    assert (role.role, role.municipality_code, role.school_code) == (
        "learner",
        CITIES[slug][1],
        CITIES[slug][2],
    )
    assert role.group == "4B" and identity.subject  # objectGUID or entryUUID


def test_active_directory_user_principal_name_and_groups(app, slapd):
    with app.app_context():
        teacher = connector(app, slapd, "espoo").authenticate("teacher1@edu.espoo.fi", PASSWORD)
    assert teacher is not None and teacher.roles[0].role == "teacher"
    assert teacher.email == "ope.opettaja@espoo.test"


def test_guardian_links_come_from_the_directory(app, slapd):
    with app.app_context():
        guardian = connector(app, slapd, "turku").authenticate("guardian1", PASSWORD)
    assert guardian.children == (learner_id("turku", 1),)
    assert guardian.roles[0].role == "guardian"


@pytest.mark.parametrize("slug", ["espoo", "oulu"])
def test_wrong_password_unknown_user_and_empty_password(app, slapd, slug):
    with app.app_context():
        ldap = connector(app, slapd, slug)
        assert ldap.authenticate("pupil1", "wrong") is None
        assert ldap.authenticate("nobody", PASSWORD) is None
        assert ldap.authenticate("pupil1", "") is None  # never an unauthenticated bind


@pytest.mark.parametrize("slug", ["espoo", "tampere"])
def test_locked_account(app, slapd, slug):
    with app.app_context():
        ldap = connector(app, slapd, slug)
        with pytest.raises(AccountLocked):
            ldap.authenticate("locked1", PASSWORD)
        assert ldap.authenticate("locked1", "wrong") is None  # no hint without the password


@pytest.mark.parametrize(
    "username", ["*", "pupil*", "*)(uid=*", "pupil1)(|(uid=*", "*)(objectClass=*", "\\2a"]
)
def test_ldap_injection_finds_nobody(app, slapd, username):
    with app.app_context():
        for slug in ("espoo", "vantaa"):
            assert connector(app, slapd, slug).authenticate(username, PASSWORD) is None


def test_protected_identity_flag(app, slapd):
    with app.app_context():
        person = connector(app, slapd, "oulu").authenticate("protected1", PASSWORD)
    assert person.protected is True


def test_ldaps_with_the_city_ca(app, slapd):
    with app.app_context():
        ldap = connector_for(
            city("vantaa", [slapd.ldaps_url], ca_file=str(slapd.ca_file)), directories()
        )
        assert ldap.authenticate("pupil1", PASSWORD) is not None


def test_start_tls_with_the_city_ca(app, slapd):
    with app.app_context():
        ldap = connector_for(
            city("vantaa", [slapd.ldap_url], ca_file=str(slapd.ca_file), start_tls=True),
            directories(),
        )
        assert ldap.authenticate("pupil1", PASSWORD) is not None


def test_tls_with_an_untrusted_certificate_is_unavailable(app, slapd, tmp_path):
    from tests.federation.ldap.slapd import _certificates

    other_ca, _cert, _key = _certificates(tmp_path)
    with app.app_context():
        ldap = connector_for(
            city("vantaa", [slapd.ldaps_url], ca_file=str(other_ca)), directories()
        )
        with pytest.raises(DirectoryUnavailable):
            ldap.authenticate("pupil1", PASSWORD)


def test_fail_over_to_the_second_server(app, slapd):
    from tests.federation.ldap.slapd import free_port

    dead = f"ldap://127.0.0.1:{free_port()}"
    with app.app_context():
        ldap = connector_for(city("turku", [dead, slapd.ldap_url]), directories())
        assert ldap.authenticate("pupil1", PASSWORD) is not None


def test_wrong_service_password_is_unavailable_not_wrong_password(app, slapd, monkeypatch):
    monkeypatch.setenv("DIGIONE_TEST_LDAP_PASSWORD", "not-it")
    with app.app_context(), pytest.raises(DirectoryUnavailable):
        connector(app, slapd, "turku").authenticate("pupil1", PASSWORD)


def test_mover_is_one_person_with_both_cities_roles(app, slapd):
    from federation.accounts import provision

    with app.app_context():
        in_vantaa = connector(app, slapd, "vantaa").authenticate("mover", PASSWORD)
        in_espoo = connector(app, slapd, "espoo").authenticate("mover", PASSWORD)
        assert in_vantaa.learner_id == in_espoo.learner_id == MOVER_LEARNER_ID
        one = provision(db.session, in_vantaa)
        two = provision(db.session, in_espoo)
        db.session.commit()
        assert one.person_id == two.person_id
        assert {i.municipality_code for i in one.person.identities} == {"092", "049"}
