"""The checks on a SAML Response beyond python3-saml's strict mode.

python3-saml (strict) checks the schema, the signatures against the configured certificates
only, the signed-element structure, exactly one assertion, issuer, and a SubjectConfirmation.
Where it is lenient the SAML 2.0 Web Browser SSO profile is not, and neither is this module:

* the document is screened before python3-saml parses it: no DTD (XXE, entity expansion), no
  comments or processing instructions (CVE-2017-11427 comment injection) and no repeated IDs;
* InResponseTo must be there and name our AuthnRequest (python3-saml lets an unsolicited
  response through when the attribute is missing);
* Destination must be there and equal the ACS URL (python3-saml compares by prefix);
* a bearer SubjectConfirmationData must name exactly the ACS URL as Recipient (python3-saml
  accepts any Recipient that contains it), our request as InResponseTo and carry NotOnOrAfter;
* every AudienceRestriction must name us, and there must be one (python3-saml accepts none);
* Conditions NotBefore/NotOnOrAfter are held to the city's clock skew (python3-saml: 300 s).
"""

from __future__ import annotations

import base64
import binascii
import secrets
from collections import Counter
from copy import deepcopy
from dataclasses import dataclass
from datetime import UTC, datetime

from lxml import etree
from onelogin.saml2.constants import OneLogin_Saml2_Constants as C
from onelogin.saml2.errors import OneLogin_Saml2_ValidationError
from onelogin.saml2.response import OneLogin_Saml2_Response
from onelogin.saml2.utils import OneLogin_Saml2_Utils as U
from onelogin.saml2.xml_utils import OneLogin_Saml2_XML

MAX_RESPONSE = 512 * 1024  # base64 characters
RESPONSE = f"{{{C.NS_SAMLP}}}Response"


class Refused(Exception):
    """The response breaks a rule; the message (no personal data) says which."""


def _parser() -> etree.XMLParser:
    """A parser per call (lxml parsers are not to be shared between threads) that loads no
    DTD, resolves no entity, opens no network and keeps comments, for us to see them."""
    return etree.XMLParser(
        resolve_entities=False,
        no_network=True,
        load_dtd=False,
        huge_tree=False,
        remove_comments=False,
        remove_pis=False,
    )


def screen(saml_response: str) -> None:
    """Refuse what no IdP sends and what attacks need, before any SAML library parses it."""
    if not saml_response or len(saml_response) > MAX_RESPONSE:
        raise Refused("SAMLResponse missing or too large")
    try:
        raw = base64.b64decode(saml_response)
    except (binascii.Error, ValueError) as exc:
        raise Refused("SAMLResponse is not base64") from exc
    if b"<!DOCTYPE" in raw or b"<!ENTITY" in raw:
        raise Refused("document type declaration (XXE or entity expansion)")
    try:
        root = etree.fromstring(raw, _parser())
    except etree.XMLSyntaxError as exc:
        raise Refused("not well-formed XML") from exc
    tree = root.getroottree()
    if tree.docinfo.doctype or tree.docinfo.internalDTD is not None:
        raise Refused("document type declaration (XXE or entity expansion)")
    _no_comments(root)
    ids = Counter(el.get("ID") for el in root.iter() if el.get("ID") is not None)
    if any(count > 1 for count in ids.values()):
        raise Refused("repeated ID attribute (signature wrapping)")


def _no_comments(root) -> None:
    """(XPath, because python3-saml's element class hides comments from iteration.)"""
    if root.xpath(".//comment()"):
        raise Refused("XML comment inside the response (comment injection)")
    if root.xpath(".//processing-instruction()"):
        raise Refused("XML processing instruction inside the response")


@dataclass(frozen=True)
class Rules:
    request_id: str
    acs_url: str
    sp_entity_id: str
    clock_skew: int


def _time(value: str | None) -> int | None:
    return U.parse_SAML_to_time(value) if value else None


class StrictResponse(OneLogin_Saml2_Response):
    """python3-saml's Response with the checks of this module; ``replay_until`` is when the
    assertion can no longer be accepted anyway (so the replay memory may forget it)."""

    def __init__(self, settings, response, *, rules: Rules):
        super().__init__(settings, response)
        self.rules = rules
        self.replay_until: datetime | None = None

    def is_valid(self, request_data, request_id=None, raise_exceptions=False):
        if not super().is_valid(request_data, request_id, raise_exceptions):
            return False
        try:
            self._profile_checks(U.now())
        except Refused as exc:
            self._error = str(exc)
            if raise_exceptions:
                raise
            return False
        return True

    def _decrypt_assertion(self, xml):
        """Decrypt the EncryptedData detached from the response and splice the plaintext in as
        text, then parse the whole again.

        python3-saml decrypts in place, and both libxml2 (parsing the plaintext in the
        response's context) and lxml (moving a node between documents) replace the assertion's
        own namespace prefixes with the response's when both name the same namespace (pysaml2's
        responses do). Exclusive c14n keeps prefixes, so the signature would no longer verify.
        A plaintext that needs the response's namespaces falls back to python3-saml's way."""
        wrapper = xml.find("saml:EncryptedAssertion", C.NSMAP)
        data = wrapper.find("xenc:EncryptedData", C.NSMAP) if wrapper is not None else None
        key = self._settings.get_sp_key()
        if data is None or not key:
            return super()._decrypt_assertion(xml)
        detached = deepcopy(data)
        key_info = detached.find("ds:KeyInfo", C.NSMAP)
        if key_info is None:
            raise OneLogin_Saml2_ValidationError(
                "No KeyInfo present, invalid Assertion",
                OneLogin_Saml2_ValidationError.KEYINFO_NOT_FOUND_IN_ENCRYPTED_DATA,
            )
        if key_info.find("xenc:EncryptedKey", C.NSMAP) is None:  # a RetrievalMethod sibling
            for encrypted_key in wrapper.findall("xenc:EncryptedKey", C.NSMAP):
                key_info.append(deepcopy(encrypted_key))
        try:
            decrypted = U.decrypt_element(detached, key, inplace=True)
        except Exception:
            return super()._decrypt_assertion(xml)
        _no_comments(decrypted)
        placeholder = f"decrypted-assertion-{secrets.token_hex(16)}"
        xml.replace(wrapper, etree.Element(placeholder))
        text = etree.tostring(xml).replace(f"<{placeholder}/>".encode(), etree.tostring(decrypted))
        return OneLogin_Saml2_XML.to_etree(text)

    def _profile_checks(self, now: int) -> None:
        rules = self.rules
        if not rules.request_id or self.document.get("InResponseTo") != rules.request_id:
            raise Refused("InResponseTo missing or not our AuthnRequest")
        if self.document.get("Destination") != rules.acs_url:
            raise Refused("Destination missing or not our ACS URL")
        assertions = self._query_assertion("")
        parent = assertions[0].getparent() if len(assertions) == 1 else None
        if parent is None or parent.tag != RESPONSE or parent.getparent() is not None:
            raise Refused("the assertion is not the response's one child assertion")
        ids = Counter(el.get("ID") for el in parent.iter() if el.get("ID") is not None)
        if any(count > 1 for count in ids.values()):
            raise Refused("repeated ID attribute (signature wrapping)")
        self._check_audience()
        skew = rules.clock_skew
        conditions = self._query_assertion("/saml:Conditions")[0]
        not_before = _time(conditions.get("NotBefore"))
        not_after = _time(conditions.get("NotOnOrAfter"))
        if not_before is not None and not_before > now + skew:
            raise Refused("assertion not yet valid (Conditions NotBefore)")
        if not_after is not None and not_after + skew <= now:
            raise Refused("assertion expired (Conditions NotOnOrAfter)")
        limits = self._check_confirmation(now, skew)
        if not_after is not None:
            limits.append(not_after + skew)
        self.replay_until = datetime.fromtimestamp(max(limits), UTC)

    def _check_audience(self) -> None:
        restrictions = self._query_assertion("/saml:Conditions/saml:AudienceRestriction")
        if not restrictions:
            raise Refused("no AudienceRestriction")
        for restriction in restrictions:
            audiences = {
                (node.text or "").strip()
                for node in restriction.findall("saml:Audience", namespaces=C.NSMAP)
            }
            if self.rules.sp_entity_id not in audiences:
                raise Refused("an AudienceRestriction does not name us")

    def _check_confirmation(self, now: int, skew: int) -> list[int]:
        """A bearer SubjectConfirmationData fit for us; the NotOnOrAfter of every bearer one."""
        rules, ours, limits = self.rules, False, []
        for confirmation in self._query_assertion("/saml:Subject/saml:SubjectConfirmation"):
            if confirmation.get("Method") != C.CM_BEARER:
                continue
            data = confirmation.find("saml:SubjectConfirmationData", namespaces=C.NSMAP)
            if data is None or not data.get("NotOnOrAfter"):
                raise Refused("bearer SubjectConfirmationData without NotOnOrAfter")
            not_after, not_before = _time(data.get("NotOnOrAfter")), _time(data.get("NotBefore"))
            limits.append(not_after)
            if (
                data.get("Recipient") == rules.acs_url
                and data.get("InResponseTo") == rules.request_id
                and not_after > now
                and (not_before is None or not_before <= now + skew)
            ):
                ours = True
        if not ours:
            raise Refused(
                "no bearer SubjectConfirmation with our Recipient, InResponseTo and time window"
            )
        return limits
