"""A city's SAML IdP for the tests: pysaml2, an implementation independent of python3-saml,
signing and encrypting with Debian's xmlsec1.

It reads our AuthnRequest (checking its redirect-binding signature against the certificate in
our SP metadata) and answers with a Response made by ``Server.create_authn_response``. An attack
test may change the document before the IdP signs it (``tamper``), so that what arrives is
exactly what a real IdP would have signed; or change it after signing (``after``), to forge.
"""

from __future__ import annotations

import base64
import shutil
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from urllib.parse import parse_qsl, urlsplit

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.x509.oid import NameOID
from lxml import etree

IDP_ENTITY = "https://adfs.ouka.test/adfs/services/trust"
SSO_URL = "https://adfs.ouka.test/adfs/ls/"
PERSISTENT = "urn:oasis:names:tc:SAML:2.0:nameid-format:persistent"
TRANSIENT = "urn:oasis:names:tc:SAML:2.0:nameid-format:transient"
NS = {
    "samlp": "urn:oasis:names:tc:SAML:2.0:protocol",
    "saml": "urn:oasis:names:tc:SAML:2.0:assertion",
    "ds": "http://www.w3.org/2000/09/xmldsig#",
    "md": "urn:oasis:names:tc:SAML:2.0:metadata",
}
ASSERTION = "urn:oasis:names:tc:SAML:2.0:assertion:Assertion"
RESPONSE = "urn:oasis:names:tc:SAML:2.0:protocol:Response"
RSA_SHA256 = "http://www.w3.org/2001/04/xmldsig-more#rsa-sha256"
SHA256 = "http://www.w3.org/2001/04/xmlenc#sha256"


def xmlsec1() -> str | None:
    return shutil.which("xmlsec1")


def pysaml2_available() -> bool:
    try:
        import saml2  # noqa: F401
    except ImportError:
        return False
    return True


def key_and_certificate(folder: Path, name: str, common_name: str) -> tuple[Path, Path]:
    """An RSA key and a self-signed certificate, as PEM files ``<name>.key``/``<name>.crt``."""
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, common_name)])
    now = datetime.now(UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - timedelta(days=1))
        .not_valid_after(now + timedelta(days=365))
        .sign(key, hashes.SHA256())
    )
    key_path, cert_path = folder / f"{name}.key", folder / f"{name}.crt"
    key_path.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.TraditionalOpenSSL,
            serialization.NoEncryption(),
        )
    )
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    return key_path, cert_path


@dataclass(frozen=True)
class AuthnRequest:
    id: str
    acs_url: str
    issuer: str
    relay_state: str
    name_id_format: str | None
    destination: str


class SamlIdp:
    def __init__(
        self,
        key: Path,
        cert: Path,
        sp_metadata: list[str],
        entity_id: str = IDP_ENTITY,
        sign_alg: str = RSA_SHA256,
        digest_alg: str = SHA256,
    ) -> None:
        from saml2 import BINDING_HTTP_REDIRECT
        from saml2.config import IdPConfig
        from saml2.saml import NAME_FORMAT_URI
        from saml2.server import Server

        config = IdPConfig()
        config.load(
            {
                "entityid": entity_id,
                "xmlsec_binary": xmlsec1(),
                "key_file": str(key),
                "cert_file": str(cert),
                "metadata": {"inline": sp_metadata},
                "signing_algorithm": sign_alg,
                "digest_algorithm": digest_alg,
                "service": {
                    "idp": {
                        "endpoints": {"single_sign_on_service": [(SSO_URL, BINDING_HTTP_REDIRECT)]},
                        "want_authn_requests_signed": True,
                        "name_id_format": [PERSISTENT, TRANSIENT],
                        "policy": {
                            "default": {
                                "lifetime": {"minutes": 5},
                                "attribute_restrictions": None,
                                "name_form": NAME_FORMAT_URI,
                            }
                        },
                    }
                },
            }
        )
        self.server = Server(config=config)
        self.entity_id = entity_id
        self.sign_alg, self.digest_alg = sign_alg, digest_alg

    # -- the AuthnRequest ------------------------------------------------------------------------

    def receive(self, location: str) -> AuthnRequest:
        """Our redirect to the IdP, read (and its signature verified) by pysaml2."""
        assert location.startswith(SSO_URL), location
        return self.receive_query(urlsplit(location).query)

    def receive_query(self, query: str) -> AuthnRequest:
        """The AuthnRequest in a redirect's query string; raises when pysaml2 refuses it."""
        from saml2 import BINDING_HTTP_REDIRECT

        fields = dict(parse_qsl(query))
        parsed = self.server.parse_authn_request(
            fields["SAMLRequest"],
            BINDING_HTTP_REDIRECT,
            relay_state=fields.get("RelayState"),
            sigalg=fields.get("SigAlg"),
            signature=fields.get("Signature"),
        )
        message = parsed.message
        policy = message.name_id_policy
        return AuthnRequest(
            id=message.id,
            acs_url=message.assertion_consumer_service_url,
            issuer=message.issuer.text,
            relay_state=fields["RelayState"],
            name_id_format=policy.format if policy else None,
            destination=message.destination,
        )

    # -- the Response ----------------------------------------------------------------------------

    def response(
        self,
        request: AuthnRequest,
        subject: str,
        attributes: dict[str, list[str]],
        *,
        sign_response: bool = False,
        sign_assertion: bool = True,
        encrypt_with: str | None = None,
        name_id_format: str = PERSISTENT,
        sp_entity_id: str | None = None,
        in_response_to: str | None = None,
        destination: str | None = None,
        tamper: Callable[[etree._Element], None] | None = None,
    ) -> str:
        """The IdP's Response to ``request`` as XML text, signed as asked."""
        from saml2.saml import NameID

        made = self.server.create_authn_response(
            identity=attributes,
            in_response_to=in_response_to or request.id,
            destination=destination or request.acs_url,
            sp_entity_id=sp_entity_id or request.issuer,
            name_id=NameID(format=name_id_format, text=subject),
            authn={
                "class_ref": "urn:oasis:names:tc:SAML:2.0:ac:classes:PasswordProtectedTransport"
            },
            sign_response=sign_response and tamper is None,
            sign_assertion=sign_assertion and tamper is None,
            encrypt_assertion=encrypt_with is not None,
            encrypt_cert_assertion=encrypt_with,
            sign_alg=self.sign_alg,
            digest_alg=self.digest_alg,
        )
        xml = str(made)
        if tamper is None:
            return xml
        root = etree.fromstring(xml.encode())
        tamper(root)
        return self.sign(root, assertion=sign_assertion, response=sign_response)

    def sign(self, root: etree._Element, *, assertion: bool, response: bool) -> str:
        """Sign the document's (first) assertion and/or its response with the IdP's key."""
        xml = etree.tostring(root).decode()
        if assertion:
            node = root.find("saml:Assertion", NS)
            xml = self._sign(root, node, ASSERTION)
            root = etree.fromstring(xml.encode())
        if response:
            xml = self._sign(root, root, RESPONSE)
        return xml

    def _sign(self, root: etree._Element, node: etree._Element, node_name: str) -> str:
        from saml2.sigver import pre_signature_part

        for old in node.findall("ds:Signature", NS):
            node.remove(old)
        template = pre_signature_part(
            ident=node.get("ID"),
            public_key=self.server.sec.my_cert,
            sign_alg=self.sign_alg,
            digest_alg=self.digest_alg,
        )
        issuer = node.find("saml:Issuer", NS)
        issuer.addnext(etree.fromstring(template.to_string()))
        return self.server.sec.sign_statement(
            etree.tostring(root).decode(), node_name, node_id=node.get("ID")
        )


def signature_holds(idp: SamlIdp, xml: str, cert: Path, node_name: str, node_id: str) -> bool:
    """Does xmlsec1 still find the signature of ``node_id`` valid under ``cert``?"""
    try:
        return bool(
            idp.server.sec.verify_signature(
                xml, cert_file=str(cert), node_name=node_name, node_id=node_id
            )
        )
    except Exception:
        return False


def post_form(xml: str, relay_state: str) -> dict[str, str]:
    return {"SAMLResponse": base64.b64encode(xml.encode()).decode(), "RelayState": relay_state}
