"""Oulu signs in through a SAML IdP: pysaml2 with its own key, our broker as the SP.

``directory`` is the city's ``[directory]`` table (parametrize it indirectly to change a key);
the app is built on a copy of config/ where oulu.toml says ``type = "saml"``. ``idp`` is the
pysaml2 IdP, fed with the SP metadata the broker serves. ``begin()`` opens /login/oulu and hands
back the AuthnRequest as the IdP read it; ``finish(xml, request)`` posts a Response to the ACS.
"""

from __future__ import annotations

import json
import shutil
from collections.abc import Callable
from pathlib import Path

import pytest
from sqlalchemy import func, select

from core.db import db
from core.settings.loader import DEFAULT_FOLDER
from federation.models import Person
from idp.signin.models import UpstreamLogin
from idp.sso.models import SsoSession
from tests.conftest import require
from tests.federation.saml.peer import (
    IDP_ENTITY,
    SSO_URL,
    AuthnRequest,
    SamlIdp,
    key_and_certificate,
    post_form,
    pysaml2_available,
    xmlsec1,
)

CITY = "oulu"
ACS = f"http://127.0.0.1:5000/federation/{CITY}/callback"
SP_ENTITY = f"http://127.0.0.1:5000/federation/{CITY}/metadata"
MPASS_ATTRIBUTES = {
    "subject": "NameID",
    "given_name": "urn:oid:2.5.4.42",
    "family_name": "urn:oid:2.5.4.4",
    "learner_id": "urn:oid:1.3.6.1.4.1.16161.1.1.27",
    "mpass_roles": "urn:mpass.id:role",
    "school": "urn:mpass.id:schoolCode",
    "group": "urn:mpass.id:class",
    "class_level": "urn:mpass.id:classLevel",
}
PUPIL = {
    "urn:oid:2.5.4.42": ["Aino"],
    "urn:oid:2.5.4.4": ["Korhonen"],
    "urn:oid:1.3.6.1.4.1.16161.1.1.27": ["1.2.246.562.24.56473829104"],
    "urn:mpass.id:uid": ["MPASSOID.1c0d4b5e7f"],
    "urn:mpass.id:schoolCode": ["06593"],
    "urn:mpass.id:class": ["7B"],
    "urn:mpass.id:classLevel": ["7"],
    "urn:mpass.id:municipalityCode": ["564"],
    "urn:mpass.id:role": ["564;06593;7B;learner"],
}
IDP_METADATA = "<the IdP's metadata file>"
SUBJECT = "oulu-adfs-5f1e9c2a-6b7d-4f0e-9a43-2c8d1e7b3a90"


def _toml(value) -> str:
    if isinstance(value, dict):
        return "{ " + ", ".join(f"{json.dumps(k)} = {_toml(v)}" for k, v in value.items()) + " }"
    return json.dumps(value)


def write_config(folder: Path, directory: dict) -> Path:
    """A copy of config/ whose oulu.toml names a SAML directory ``directory`` (its
    ``city_settings``: keys of the city's own table)."""
    shutil.copytree(DEFAULT_FOLDER, folder, ignore=shutil.ignore_patterns("examples"))
    attributes = directory.get("attributes", {})
    city = directory.get("city_settings", {})
    lines = [
        f'slug = "{CITY}"',
        'municipality_code = "564"',
        'email_domains = ["ouka.fi"]',
        *(f"{key} = {_toml(v)}" for key, v in city.items()),
        "[name]",
        'fi = "Oulu"',
        'sv = "Uleåborg"',
        'en = "Oulu"',
        "[directory]",
        *(
            f"{key} = {_toml(v)}"
            for key, v in directory.items()
            if key not in ("attributes", "city_settings")
        ),
        "[directory.attributes]",
        *(f"{key} = {_toml(v)}" for key, v in attributes.items()),
    ]
    (folder / "cities" / f"{CITY}.toml").write_text("\n".join(lines) + "\n", encoding="utf-8")
    return folder


@pytest.fixture
def idp_files(tmp_path: Path) -> dict[str, Path]:
    require(xmlsec1() is not None, "Debian xmlsec1 is not installed (apt-get install xmlsec1)")
    require(pysaml2_available(), "pysaml2 is not installed (pip install pysaml2)")
    keys = tmp_path / "idp-keys"
    keys.mkdir()
    key, cert = key_and_certificate(keys, "idp", "adfs.ouka.test")
    evil_key, evil_cert = key_and_certificate(keys, "evil", "adfs.ouka.test")
    return {
        "key": key,
        "cert": cert,
        "evil_key": evil_key,
        "evil_cert": evil_cert,
        "metadata": keys / "idp-metadata.xml",  # written by a test that wants it
    }


@pytest.fixture
def directory(request, idp_files) -> dict:
    """oulu.toml's [directory]: ADFS-like IdP, MPASSid attribute names, NameID as the subject."""
    table = {
        "type": "saml",
        "idp_entity_id": IDP_ENTITY,
        "idp_sso_url": SSO_URL,
        "idp_certificate_file": str(idp_files["cert"]),
        "attributes": dict(MPASS_ATTRIBUTES),
    }
    changes = dict(getattr(request, "param", {}) or {})
    table["attributes"].update(changes.pop("attributes", {}))
    table.update(changes)
    if table.get("idp_metadata_file") == IDP_METADATA:
        table["idp_metadata_file"] = str(idp_files["metadata"])
    for section in (table, table["attributes"]):  # None: leave the key out
        for key in [key for key, value in section.items() if value is None]:
            del section[key]
    return table


@pytest.fixture
def app_config(app_config: dict, tmp_path: Path, directory: dict) -> dict:
    return {**app_config, "folder": str(write_config(tmp_path / "config", directory))}


@pytest.fixture
def client(app):
    client = app.test_client()
    client.environ_base["HTTP_ACCEPT_LANGUAGE"] = "en"
    return client


@pytest.fixture
def sp_metadata(client) -> str:
    response = client.get(f"/federation/{CITY}/metadata")
    assert response.status_code == 200, response.get_data(as_text=True)
    return response.get_data(as_text=True)


@pytest.fixture
def idp(idp_files, sp_metadata) -> SamlIdp:
    return SamlIdp(idp_files["key"], idp_files["cert"], [sp_metadata])


@pytest.fixture
def impostor(idp_files, sp_metadata) -> SamlIdp:
    """Someone claiming the IdP's entity id, signing with a key of their own."""
    return SamlIdp(idp_files["evil_key"], idp_files["evil_cert"], [sp_metadata])


@pytest.fixture
def begin(client, idp) -> Callable[[], AuthnRequest]:
    def begin() -> AuthnRequest:
        started = client.get(f"/login/{CITY}")
        assert started.status_code == 302, started.get_data(as_text=True)
        return idp.receive(started.headers["Location"])

    return begin


@pytest.fixture
def finish(client) -> Callable[..., object]:
    def finish(xml: str, request: AuthnRequest):
        return client.post(f"/federation/{CITY}/callback", data=post_form(xml, request.relay_state))

    return finish


def counts(app) -> dict[str, int]:
    with app.app_context():
        return {
            model.__tablename__: db.session.scalar(select(func.count()).select_from(model))
            for model in (UpstreamLogin, SsoSession, Person)
        }
