"""SAML 2.0 connector: the broker as the service provider toward a city's IdP (Entra ID, ADFS,
MPASSid), on python3-saml in strict mode plus :mod:`federation.saml.response`'s checks.

* ``start``: a signed AuthnRequest over HTTP-Redirect; RelayState is the flow's handle; the
  request ID is kept in the flow's state, so the answer must be InResponseTo it.
* ``finish``: the Response from the HTTP-POST binding, checked, the assertion remembered until
  it expires (replay), its attributes and NameID mapped by the city's attribute map.
* ``metadata``: our SP metadata (entity id ``{issuer}/federation/{city}/metadata``) with the
  active signing certificate and the next one, so the IdP knows it before it signs.

The broker's SAML key rotates, so it is read from the key store at every use.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping
from dataclasses import replace
from functools import partial
from urllib.parse import urlsplit

from lxml import etree
from onelogin.saml2.auth import OneLogin_Saml2_Auth
from onelogin.saml2.constants import OneLogin_Saml2_Constants as C
from onelogin.saml2.errors import OneLogin_Saml2_Error, OneLogin_Saml2_ValidationError
from onelogin.saml2.settings import OneLogin_Saml2_Settings
from onelogin.saml2.utils import OneLogin_Saml2_Utils
from onelogin.saml2.xml_utils import OneLogin_Saml2_XML
from sqlalchemy.orm import Session

from core.settings.schema import CitySettings
from federation.connector import DirectoryUnavailable, Environment, Redirect, UpstreamRejected
from federation.mapping import MappingError, map_identity
from federation.profile import Identity
from federation.saml.idp import IdentityProvider, IdpMisconfigured, identity_provider
from federation.saml.replay import assertion_key, first_use
from federation.saml.response import Refused, Rules, StrictResponse, screen
from federation.saml.settings import SamlDirectorySettings
from keys.store import KeyStore

log = logging.getLogger("digione.federation.saml")
NAMEID = "NameID"  # the attribute name under which the assertion's NameID is mapped
TRANSIENT = "urn:oasis:names:tc:SAML:2.0:nameid-format:transient"
METADATA_TYPE = "application/samlmetadata+xml"


class _Auth(OneLogin_Saml2_Auth):
    """Keeps the validated response object (for its ``replay_until``)."""

    valid_response: StrictResponse | None = None

    def store_valid_response(self, response):
        self.valid_response = response
        super().store_valid_response(response)


def _request_data(url: str, post: Mapping[str, str] | None = None) -> dict:
    """python3-saml's view of "the current request": the configured callback URL (never the
    Host header), so Destination and Recipient are compared with what the broker published."""
    parts = urlsplit(url)
    return {
        "https": "on" if parts.scheme == "https" else "off",
        "http_host": parts.netloc,
        "script_name": parts.path,
        "get_data": {},
        "post_data": dict(post or {}),
    }


class SamlDirectory:
    def __init__(
        self, city: CitySettings, session: Session, issuer: str, keys: Callable[[], KeyStore]
    ) -> None:
        assert isinstance(city.directory, SamlDirectorySettings)
        self.city = city
        self.directory: SamlDirectorySettings = city.directory
        self.session = session
        self.keys = keys
        self.sp_entity_id = f"{issuer.rstrip('/')}/federation/{city.slug}/metadata"

    @classmethod
    def open(cls, city: CitySettings, env: Environment) -> SamlDirectory:
        return cls(city, env.session, env.issuer, env.keys)

    # -- settings ------------------------------------------------------------------------------

    def _idp(self) -> IdentityProvider:
        try:
            return identity_provider(self.directory)
        except IdpMisconfigured as exc:
            log.warning(
                "SAML IdP misconfigured",
                extra={"event": {"city": self.city.slug, "reason": str(exc)}},
            )
            raise DirectoryUnavailable(str(exc)) from exc

    def _sp(self, acs_url: str, *, with_next: bool = False) -> dict:
        from keys.models import NEXT

        store = self.keys()
        key = store.active("saml")
        sp = {
            "entityId": self.sp_entity_id,
            "assertionConsumerService": {"url": acs_url, "binding": C.BINDING_HTTP_POST},
            "NameIDFormat": self.directory.name_id_format,
            "x509cert": key.certificate_pem,
            "privateKey": key.private_key_pem(),
        }
        if with_next:
            upcoming = [k for k in store.list_keys() if k.use == "saml" and k.state == NEXT]
            if upcoming and upcoming[0].certificate_pem:
                sp["x509certNew"] = upcoming[0].certificate_pem
        return sp

    def _security(self) -> dict:
        d = self.directory
        return {
            "authnRequestsSigned": True,
            "signatureAlgorithm": C.RSA_SHA256,
            "digestAlgorithm": C.SHA256,
            "wantMessagesSigned": d.want_response_signed,
            "wantAssertionsSigned": d.want_assertions_signed,
            "wantAssertionsEncrypted": d.want_assertions_encrypted,
            "wantNameId": d.attributes.subject == NAMEID,
            "wantAttributeStatement": False,  # the attribute map says what is required
            "allowRepeatAttributeName": True,  # values of repeated attributes are merged
            "requestedAuthnContext": list(d.authn_context) or False,
            "failOnAuthnContextMismatch": bool(d.authn_context),
            "rejectDeprecatedAlgorithm": True,  # no SHA-1
            "metadataCacheDuration": "PT24H",
        }

    def _auth(self, acs_url: str, post: Mapping[str, str] | None = None) -> _Auth:
        idp = self._idp()
        settings = {
            "strict": True,
            "debug": False,
            "sp": self._sp(acs_url),
            "idp": idp.settings(),
            "security": self._security(),
        }
        try:
            return _Auth(_request_data(acs_url, post), settings)
        except OneLogin_Saml2_Error as exc:
            log.warning(
                "SAML settings refused",
                extra={"event": {"city": self.city.slug, "reason": str(exc)[:200]}},
            )
            raise DirectoryUnavailable("SAML settings refused") from exc

    # -- RedirectConnector -----------------------------------------------------------------------

    def start(self, callback_url: str, handle: str) -> tuple[Redirect, dict]:
        auth = self._auth(callback_url)
        url = auth.login(return_to=handle, force_authn=self.directory.force_authn)
        return Redirect(url), {"request_id": auth.get_last_request_id()}

    def finish(self, answer: Mapping[str, str], state: dict, callback_url: str) -> Identity:
        saml_response = answer.get("SAMLResponse") or ""
        try:
            screen(saml_response)
        except Refused as exc:
            raise UpstreamRejected(str(exc)) from exc
        request_id = str(state.get("request_id") or "")
        auth = self._auth(callback_url, {"SAMLResponse": saml_response})
        rules = Rules(
            request_id, callback_url, self.sp_entity_id, self.directory.clock_skew_seconds
        )
        auth.response_class = partial(StrictResponse, rules=rules)
        try:
            auth.process_response(request_id=request_id)
        except (Refused, OneLogin_Saml2_ValidationError) as exc:
            raise UpstreamRejected(str(exc)[:300]) from exc
        except Exception as exc:  # unreadable: bad XML, forbidden DTD, failed decryption...
            raise UpstreamRejected(f"unreadable response ({type(exc).__name__})") from exc
        if auth.get_errors() or not auth.is_authenticated() or auth.valid_response is None:
            reason = auth.get_last_error_reason() or ", ".join(auth.get_errors())
            # An IdP's StatusMessage (after " -> ") is free text: it stays out of the log.
            raise UpstreamRejected(str(reason).split(" -> ")[0][:300])
        idp = auth.get_settings().get_idp_data()["entityId"]
        assertion_id = auth.get_last_assertion_id() or ""
        until = auth.valid_response.replay_until
        if not assertion_id or until is None:
            raise UpstreamRejected("assertion without ID or validity")
        if not first_use(self.session, assertion_key(self.city.slug, idp, assertion_id), until):
            raise UpstreamRejected("assertion replayed")
        return self._identity(auth)

    def _identity(self, auth: _Auth) -> Identity:
        amap = self.directory.attributes
        attrs: dict[str, list[str]] = {
            name: [value for value in values if isinstance(value, str)]
            for name, values in auth.get_attributes().items()
        }
        attrs.pop(NAMEID, None)  # only the Subject's NameID goes by that name
        name_id, name_id_format = auth.get_nameid(), auth.get_nameid_format()
        if amap.subject == NAMEID and name_id_format == TRANSIENT:
            raise UpstreamRejected("the subject is mapped to a transient NameID")
        if name_id and name_id_format != TRANSIENT:
            attrs[NAMEID] = [name_id]
        try:
            identity = map_identity(
                attrs, amap, city=self.city.slug, municipality_code=self.city.municipality_code
            )
        except MappingError as exc:  # a message that quotes a value is cut to the field
            message = str(exc) if "gave no" in str(exc) else str(exc).split(":")[0]
            raise UpstreamRejected(f"attribute mapping: {message}") from exc
        contexts = [c for c in auth.get_last_authn_contexts() or [] if isinstance(c, str)]
        return replace(identity, authn_acr=contexts[0][:200] if contexts else None)

    # -- MetadataConnector -----------------------------------------------------------------------

    def metadata(self, callback_url: str) -> tuple[str, str]:
        settings = OneLogin_Saml2_Settings(
            {
                "strict": True,
                "sp": self._sp(callback_url, with_next=True),
                "security": self._security(),
            },
            sp_validation_only=True,
        )
        document = OneLogin_Saml2_XML.to_etree(settings.get_sp_metadata())
        document.attrib.pop("validUntil", None)  # the keys roll over, the address stays
        active = OneLogin_Saml2_Utils.format_cert(settings.get_sp_cert(), heads=False)
        for descriptor in document.iterfind(".//md:KeyDescriptor[@use='encryption']", C.NSMAP):
            certificate = descriptor.findtext(".//ds:X509Certificate", "", C.NSMAP)
            if "".join(certificate.split()) != active:  # decryption uses the active key only
                descriptor.getparent().remove(descriptor)
        xml = etree.tostring(document, xml_declaration=True, encoding="UTF-8")
        return METADATA_TYPE, xml.decode("utf-8")
