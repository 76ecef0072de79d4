"""A city's SAML settings: the IdP described by its metadata file, a missing or broken
certificate (the readable 503 page, never a 500), attribute-map failures, the settings checks."""

from __future__ import annotations

import pytest

from idp.config import ConfigError, load_config
from idp.logs import JsonFormatter
from tests.federation.saml.conftest import (
    CITY,
    IDP_METADATA,
    PUPIL,
    SUBJECT,
    counts,
    write_config,
)
from tests.federation.saml.peer import IDP_ENTITY, TRANSIENT

pytestmark = pytest.mark.filterwarnings("ignore:CFB has been moved")
UNAVAILABLE = "sign-in cannot be reached right now"


def _logged(caplog) -> str:
    return "\n".join(JsonFormatter().format(record) for record in caplog.records)


@pytest.mark.parametrize(
    "directory",
    [
        {
            "idp_metadata_file": IDP_METADATA,
            "idp_entity_id": None,
            "idp_sso_url": None,
            "idp_certificate_file": None,
        }
    ],
    indirect=True,
)
def test_idp_from_its_metadata_file(app, client, idp, idp_files, begin, finish):
    """The city hands over its IdP metadata (here: what pysaml2 publishes for itself)."""
    from saml2.metadata import create_metadata_string

    metadata = create_metadata_string(None, config=idp.server.config, sign=False)
    idp_files["metadata"].write_bytes(metadata)
    request = begin()
    answered = finish(idp.response(request, SUBJECT, PUPIL), request)
    assert answered.status_code == 303
    assert client.get(answered.headers["Location"]).status_code == 302


@pytest.mark.parametrize(
    "directory", [{"idp_metadata_file": IDP_METADATA, "idp_certificate_file": None}], indirect=True
)
def test_idp_metadata_file_missing(app, client, caplog):
    assert client.get(f"/login/{CITY}").status_code == 503
    assert "idp_metadata_file: cannot read the file" in _logged(caplog)


def test_missing_certificate_file(app, client, caplog, idp_files):
    idp_files["cert"].unlink()
    page = client.get(f"/login/{CITY}")
    assert page.status_code == 503
    assert UNAVAILABLE in page.get_data(as_text=True)
    assert "idp_certificate_file: cannot read the file" in _logged(caplog)
    assert counts(app)["upstream_logins"] == 0
    # Our metadata does not depend on the IdP's: the city's IT can still fetch it.
    assert client.get(f"/federation/{CITY}/metadata").status_code == 200


def test_certificate_file_without_a_certificate(app, client, caplog, idp_files):
    idp_files["cert"].write_text("-----BEGIN CERTIFICATE-----\nbm90IGEgY2VydA==\n")
    page = client.get(f"/login/{CITY}")
    assert page.status_code == 503
    assert "idp_certificate_file: no PEM certificate" in _logged(caplog)


def test_certificate_gone_while_the_person_signs_in(app, client, caplog, idp, idp_files, begin):
    from tests.federation.saml.peer import post_form

    request = begin()
    xml = idp.response(request, SUBJECT, PUPIL)
    idp_files["cert"].unlink()
    answer = client.post(f"/federation/{CITY}/callback", data=post_form(xml, request.relay_state))
    assert answer.status_code == 503
    assert UNAVAILABLE in answer.get_data(as_text=True)
    assert counts(app)["sso_sessions"] == 0


def test_certificate_rollover_file_with_two_certificates(
    app, client, idp, idp_files, begin, finish
):
    """During the IdP's rollover the file holds the new and the old certificate."""
    from tests.federation.saml.peer import key_and_certificate

    _, new_cert = key_and_certificate(idp_files["cert"].parent, "new", "adfs.ouka.test")
    idp_files["cert"].write_text(new_cert.read_text() + idp_files["cert"].read_text())
    request = begin()
    assert finish(idp.response(request, SUBJECT, PUPIL), request).status_code == 303


@pytest.mark.parametrize("directory", [{"idp_sso_url": "javascript:alert(1)"}], indirect=True)
def test_sso_url_that_is_not_http(app, client):
    assert client.get(f"/login/{CITY}").status_code == 503


def test_transient_name_id_is_never_a_subject(app, caplog, idp, begin, finish):
    request = begin()
    answer = finish(idp.response(request, "_0c9f1e", PUPIL, name_id_format=TRANSIENT), request)
    assert answer.status_code == 400
    assert "transient NameID" in _logged(caplog)


def test_missing_attribute(app, caplog, idp, begin, finish):
    request = begin()
    attributes = {k: v for k, v in PUPIL.items() if k != "urn:oid:2.5.4.42"}
    answer = finish(idp.response(request, SUBJECT, attributes), request)
    assert answer.status_code == 400
    assert "given_name: the directory gave no 'urn:oid:2.5.4.42'" in _logged(caplog)
    assert counts(app) == {"upstream_logins": 0, "sso_sessions": 0, "people": 0}


def test_bad_learner_id_is_not_logged(app, caplog, idp, begin, finish):
    request = begin()
    attributes = {**PUPIL, "urn:oid:1.3.6.1.4.1.16161.1.1.27": ["1.2.246.562.24.123"]}
    answer = finish(idp.response(request, SUBJECT, attributes), request)
    assert answer.status_code == 400
    logged = _logged(caplog)
    assert "attribute mapping: learner_id" in logged
    assert "1.2.246.562.24.123" not in logged


def test_roles_of_another_municipality_are_not_ours(app, client, idp, begin, finish):
    request = begin()
    attributes = {**PUPIL, "urn:mpass.id:role": ["091;00123;5A;teacher", "564;06593;7B;learner"]}
    answered = finish(idp.response(request, SUBJECT, attributes), request)
    client.get(answered.headers["Location"])
    page = client.get("/me").get_data(as_text=True)
    assert "Pupil" in page and "Teacher" not in page


def test_settings_need_an_idp(tmp_path):
    folder = write_config(
        tmp_path / "config", {"type": "saml", "attributes": {"subject": "NameID"}}
    )
    with pytest.raises(ConfigError) as caught:
        load_config(folder, environ={})
    assert "cities/oulu.toml" in str(caught.value) or "oulu.toml" in str(caught.value)
    assert "idp_metadata_file" in str(caught.value)


def test_settings_need_a_signature(tmp_path):
    directory = {
        "type": "saml",
        "idp_entity_id": IDP_ENTITY,
        "idp_sso_url": "https://adfs.ouka.test/adfs/ls/",
        "idp_certificate_file": "idp.crt",
        "want_assertions_signed": False,
        "attributes": {"subject": "NameID"},
    }
    with pytest.raises(ConfigError) as caught:
        load_config(write_config(tmp_path / "config", directory), environ={})
    assert "want_response_signed or want_assertions_signed" in str(caught.value)
