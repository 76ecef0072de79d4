"""The full flow per connector type: a service (openid-client, tests/interop/rp.mjs) signs a
person in through a city's own directory, a real peer on a loopback port, and receives the
claims that city's attribute map makes of what the directory said.

One broker process (`digione serve`) runs on a copy of config/ where

- espoo   is Active Directory over LDAP: OpenLDAP slapd with the AD-shaped tree of
          tests/federation/ldap/trees.py; the person types into the broker's own form;
- oulu    is ADFS over SAML 2.0: pysaml2 as the IdP, over HTTP (tests/interop/saml_idp.py);
- vantaa  is Entra ID and tampere Google Workspace over OpenID Connect: oidc-provider
          (tests/federation/oidc/peer.py), through its own sign-in and consent pages;

the other cities keep the embedded directory. A peer that is not installed leaves its city
embedded and skips its test (fails it under CI, as ``require`` does).
"""

from __future__ import annotations

import json
import shutil
import urllib.request
from collections.abc import Iterator

import pytest

from tests.conftest import require
from tests.federation.ldap import slapd as slapd_module
from tests.federation.ldap.trees import CITIES as LDAP_TREES
from tests.federation.ldap.trees import PASSWORD as LDAP_PASSWORD
from tests.federation.ldap.trees import directory_settings, tree
from tests.federation.oidc.cities import (
    SECRET_ENV,
    tampere_directory,
    vantaa_directory,
    write_city,
)
from tests.federation.oidc.fake import CLIENT_SECRET
from tests.federation.oidc.peer import NODE, OidcProvider
from tests.federation.saml.peer import pysaml2_available, xmlsec1
from tests.interop.conftest import ROOT, BrokerSetup, Processes
from tests.interop.saml_idp import PASSWORD as SAML_PASSWORD
from tests.interop.saml_idp import HttpSamlIdp, Person

pytestmark = [
    pytest.mark.browser,
    pytest.mark.filterwarnings("ignore:CFB has been moved"),  # pysaml2 on cryptography 43+
]

TIMEOUT_MS = 15_000  # one whole sign-in, on a loaded machine
LDAP_SERVICE_PASSWORD_ENV = "DIGIONE_TEST_LDAP_PASSWORD"  # directory_settings' bind_password_env
FEDERATED = "urn:digione:loa:federated"  # the acr of a sign-in at a SAML or OIDC directory

# Oulu's ADFS, releasing MPASSid attribute names (as config/examples/saml/cities/oulu.toml).
SAML_ATTRIBUTES = {
    "subject": "NameID",
    "given_name": "urn:oid:2.5.4.42",
    "family_name": "urn:oid:2.5.4.4",
    "learner_id": "urn:oid:1.3.6.1.4.1.16161.1.1.27",
    "mpass_roles": "urn:mpass.id:role",
    "school": "urn:mpass.id:schoolCode",
    "group": "urn:mpass.id:class",
    "class_level": "urn:mpass.id:classLevel",
}
SAML_PEOPLE = {
    "aino.korhonen": Person(
        subject="oulu-adfs-5f1e9c2a-6b7d-4f0e-9a43-2c8d1e7b3a90",
        attributes={
            "urn:oid:2.5.4.42": ["Aino"],
            "urn:oid:2.5.4.4": ["Korhonen"],
            "urn:oid:1.3.6.1.4.1.16161.1.1.27": ["1.2.246.562.24.56473829104"],
            "urn:mpass.id:schoolCode": ["06593"],
            "urn:mpass.id:class": ["7B"],
            "urn:mpass.id:classLevel": ["7"],
            "urn:mpass.id:role": ["564;06593;7B;learner"],
        },
    )
}


# -- the peers -----------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def slapd(tmp_path_factory) -> Iterator[slapd_module.Slapd | None]:
    """slapd with Espoo's Active Directory-shaped tree; None when slapd is not installed."""
    if not slapd_module.available():
        yield None
        return
    suffix = LDAP_TREES["espoo"][0]
    server = slapd_module.Slapd(tmp_path_factory.mktemp("slapd"), {"espoo": suffix})
    server.load({"espoo": tree("espoo")})
    server.start()
    yield server
    server.stop()


@pytest.fixture(scope="module")
def saml_idp(tmp_path_factory, broker_url: str, processes: Processes) -> Iterator:
    """Oulu's IdP over HTTP; None without xmlsec1 or pysaml2."""
    if not (xmlsec1() and pysaml2_available()):
        yield None
        return
    idp = HttpSamlIdp(
        tmp_path_factory.mktemp("saml-idp"),
        f"{broker_url}/federation/oulu/metadata",
        SAML_PEOPLE,
    )
    processes.logs["saml-idp"] = idp.log
    idp.start()
    yield idp
    idp.stop()


@pytest.fixture(scope="module")
def oidc_provider(tmp_path_factory, broker_url: str, processes: Processes) -> Iterator:
    """oidc-provider with clients for Tampere and Vantaa at this broker; None without it."""
    if not (NODE and (ROOT / "node_modules" / "oidc-provider" / "package.json").exists()):
        yield None
        return
    provider = OidcProvider(tmp_path_factory.mktemp("oidc-provider"), broker=broker_url)
    processes.logs["oidc-provider"] = provider.log
    provider.start()
    yield provider
    provider.stop()


@pytest.fixture(scope="module")
def broker_setup(tmp_path_factory, slapd, saml_idp, oidc_provider) -> BrokerSetup:
    """A copy of config/ with each city whose peer runs switched to that peer."""
    folder = tmp_path_factory.mktemp("connectors-config") / "config"
    shutil.copytree(ROOT / "config", folder, ignore=shutil.ignore_patterns("examples"))
    env = {}
    if slapd is not None:
        write_city(folder, "espoo", directory_settings("espoo", [slapd.ldap_url]))
        env[LDAP_SERVICE_PASSWORD_ENV] = slapd_module.SERVICE_PASSWORD
    if saml_idp is not None:
        directory = {
            "type": "saml",
            "idp_entity_id": saml_idp.entity_id,
            "idp_sso_url": saml_idp.sso_url,
            "idp_certificate_file": str(saml_idp.cert),
            "attributes": SAML_ATTRIBUTES,
        }
        write_city(folder, "oulu", directory)
    if oidc_provider is not None:
        write_city(folder, "tampere", tampere_directory(oidc_provider.issuer))
        write_city(folder, "vantaa", vantaa_directory(oidc_provider.issuer))
        env[SECRET_ENV] = CLIENT_SECRET
    return BrokerSetup(folder, env)


# -- the service and the browser -----------------------------------------------------------------


@pytest.fixture(scope="module")
def rp(node_rp) -> tuple[str, dict]:
    """One openid-client relying party for the module's sign-ins (one after the other)."""
    return node_rp("rp-connectors")


@pytest.fixture
def page(browser) -> Iterator:
    """A page in a fresh browser context (scripts on: the SAML IdP's answer posts itself)."""
    context = browser.new_context(locale="en-GB")
    context.set_default_timeout(TIMEOUT_MS)
    yield context.new_page()
    context.close()


def rp_results(base: str) -> dict:
    with urllib.request.urlopen(f"{base}/results", timeout=15) as response:  # noqa: S310
        return json.load(response)


def start_at_service(page, rp: tuple[str, dict], city: str, directory: str) -> None:
    """The service's /login with login_hint=<city>: the browser lands at the city's sign-in."""
    base, _ = rp
    page.goto(f"{base}/login?login_hint={city}")
    assert page.url.startswith(directory), page.url


def back_at_service(page, rp: tuple[str, dict], broker_url: str, acr: str) -> dict:
    """Wait for the service's redirect URI; openid-client's verdict and the claims it got
    (userinfo: the ID token carries none of the scopes' claims)."""
    base, client = rp
    page.wait_for_url(f"{base}/cb?**")
    results = rp_results(base)
    # openid-client checked iss (RFC 9207), state, PKCE and the ID token's signature (the
    # broker's jwks_uri), iss, aud, exp, iat and nonce; otherwise "callback" says what failed.
    assert results["callback"] == {"ok": True}, results
    claims = results["claims"]
    assert claims["iss"] == broker_url
    assert client["client_id"] in (
        [claims["aud"]] if isinstance(claims["aud"], str) else claims["aud"]
    )
    assert results["id_token_header"]["alg"] == "RS256"
    assert claims["acr"] == acr  # the broker's password form, or a federated sign-in
    assert results["userinfo"]["ok"], results["userinfo"]
    userinfo = results["userinfo"]["value"]
    assert userinfo["sub"] == claims["sub"]
    # A claim the ID token carries too says the same there.
    for name in ("given_name", "family_name", "edu_roles"):
        if name in claims:
            assert claims[name] == userinfo[name], name
    return userinfo


def role(role: str, municipality: str, school: str | None = None, group: str | None = None):
    return {"role": role, "municipality_code": municipality, "school_code": school, "group": group}


def schools(userinfo: dict) -> list[tuple]:
    """edu_schools as (school_code, municipality_code, group, class_level)."""
    keys = ("school_code", "municipality_code", "group", "class_level")
    return [tuple(school.get(key) for key in keys) for school in userinfo.get("edu_schools", [])]


# -- signing in through each kind of directory ---------------------------------------------------


def through_ldap(page, rp, broker_url: str) -> dict:
    """Espoo's AD: the broker's own form, the account's sAMAccountName and LDAP password."""
    start_at_service(page, rp, "espoo", f"{broker_url}/login/espoo")
    page.fill("input[name=username]", "pupil1")
    page.fill("input[name=password]", LDAP_PASSWORD)  # the directory's; the demo's is "demo"
    page.click("button[type=submit]")
    return back_at_service(page, rp, broker_url, "urn:digione:loa:password")


def through_saml(page, rp, broker_url: str, idp: HttpSamlIdp) -> dict:
    """Oulu's IdP: its sign-in form, then its page posting the signed Response to the ACS."""
    start_at_service(page, rp, "oulu", idp.sso_url)
    # pysaml2 verified the AuthnRequest's redirect-binding signature against our SP metadata.
    request = idp.requests[-1]
    assert request.issuer == f"{broker_url}/federation/oulu/metadata"
    assert request.acs_url == f"{broker_url}/federation/oulu/callback"
    assert request.destination == idp.sso_url
    page.fill("input[name=username]", "aino.korhonen")
    page.fill("input[name=password]", SAML_PASSWORD)
    page.click("button[type=submit]")
    return back_at_service(page, rp, broker_url, FEDERATED)


def through_oidc(page, rp, broker_url: str, provider: OidcProvider, city: str, login: str):
    """oidc-provider's own sign-in and consent pages."""
    start_at_service(page, rp, city, provider.issuer)
    page.fill("input[name=login]", login)
    page.fill("input[name=password]", "any password")
    with page.expect_navigation(url=f"{provider.issuer}/**"):  # to its consent page
        page.click("button[type=submit]")
    page.click("button[type=submit]")  # Continue
    return back_at_service(page, rp, broker_url, FEDERATED)


# -- the flows -----------------------------------------------------------------------------------


def test_active_directory_over_ldap(broker, rp, page, slapd) -> None:
    require(slapd is not None, "OpenLDAP slapd is not installed (apt-get install slapd)")
    userinfo = through_ldap(page, rp, broker.url)
    assert (userinfo["given_name"], userinfo["family_name"]) == ("Pupu", "Oppilas")
    assert userinfo["birthdate"] == "2016-05-04"
    # memberOf CN=Oppilaat,OU=Groups,DC=espoo,DC=fi → learner; schoolCode, schoolClass.
    assert userinfo["edu_roles"] == [role("learner", "049", "03215", "4B")]
    assert [school[:3] for school in schools(userinfo)] == [("03215", "049", "4B")]


def test_adfs_over_saml(broker, rp, page, saml_idp) -> None:
    require(saml_idp is not None, "xmlsec1 or pysaml2 is missing (apt-get install xmlsec1)")
    userinfo = through_saml(page, rp, broker.url, saml_idp)
    assert (userinfo["given_name"], userinfo["family_name"]) == ("Aino", "Korhonen")
    # urn:mpass.id:role "564;06593;7B;learner"
    assert userinfo["edu_roles"] == [role("learner", "564", "06593", "7B")]
    assert [school[:3] for school in schools(userinfo)] == [("06593", "564", "7B")]


@pytest.mark.parametrize(
    ("city", "login", "names", "roles", "edu_schools"),
    [
        # Entra ID: group object id → learner in 7B, class level 7 (the group's rule); the
        # school from a directory extension attribute.
        ("vantaa", "onni", ("Onni", "Korhonen"), [role("learner", "092", "03312", "7B")],
         [("03312", "092", "7B", 7)]),
        # Google Workspace: the hd claim edu.tampere.fi → learner; Google states no school.
        ("tampere", "eetu", ("Eetu", "Lahtinen"), [role("learner", "837")], []),
    ],
)  # fmt: skip
def test_openid_connect_provider(
    broker, rp, page, oidc_provider, city, login, names, roles, edu_schools
) -> None:
    require(oidc_provider is not None, "node_modules/oidc-provider is missing: run npm ci")
    userinfo = through_oidc(page, rp, broker.url, oidc_provider, city, login)
    assert (userinfo["given_name"], userinfo["family_name"]) == names
    assert userinfo["edu_roles"] == roles
    assert schools(userinfo) == edu_schools


@pytest.mark.parametrize("connector", ["ldap", "saml"])
def test_class_level_from_the_directory(broker, rp, page, slapd, saml_idp, connector) -> None:
    """Espoo's classLevel 4 (role from memberOf), Oulu's urn:mpass.id:classLevel 7 (role from
    the MPASSid role string) reach edu_schools."""
    if connector == "ldap":
        require(slapd is not None, "OpenLDAP slapd is not installed (apt-get install slapd)")
        userinfo, level = through_ldap(page, rp, broker.url), 4
    else:
        require(saml_idp is not None, "xmlsec1 or pysaml2 is missing (apt-get install xmlsec1)")
        userinfo, level = through_saml(page, rp, broker.url, saml_idp), 7
    assert [school[3] for school in schools(userinfo)] == [level]
