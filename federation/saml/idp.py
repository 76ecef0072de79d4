"""What the broker knows of a city's IdP: entity id, sign-in URL and the certificates it signs
with, read from the city's settings and files at each use (a replaced file needs no restart)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import serialization
from onelogin.saml2.constants import OneLogin_Saml2_Constants as C
from onelogin.saml2.idp_metadata_parser import OneLogin_Saml2_IdPMetadataParser

from federation.saml.settings import SamlDirectorySettings

MAX_FILE = 4 * 1024 * 1024


class IdpMisconfigured(Exception):
    """The IdP's description is missing or unusable (the message names the setting)."""


@dataclass(frozen=True)
class IdentityProvider:
    entity_id: str
    sso_url: str
    certificates: tuple[str, ...]  # PEM, every one trusted to sign

    def settings(self) -> dict:
        """The ``idp`` part of python3-saml's settings."""
        idp: dict = {
            "entityId": self.entity_id,
            "singleSignOnService": {"url": self.sso_url, "binding": C.BINDING_HTTP_REDIRECT},
            "x509cert": self.certificates[0],
        }
        if len(self.certificates) > 1:  # rollover: python3-saml tries each
            idp["x509certMulti"] = {"signing": list(self.certificates)}
        return idp


def _read(path: str, setting: str) -> bytes:
    try:
        with Path(path).open("rb") as handle:
            data = handle.read(MAX_FILE + 1)
    except OSError as exc:
        raise IdpMisconfigured(f"{setting}: cannot read the file ({exc.strerror})") from exc
    if len(data) > MAX_FILE:
        raise IdpMisconfigured(f"{setting}: the file is too large")
    return data


def _pem(der_b64: str) -> str:
    body = "".join(der_b64.split())
    lines = [body[i : i + 64] for i in range(0, len(body), 64)]
    return "-----BEGIN CERTIFICATE-----\n" + "\n".join(lines) + "\n-----END CERTIFICATE-----\n"


def _certificates(pems: list[str], setting: str) -> tuple[str, ...]:
    """Each certificate parsed (so a broken one is reported here, not as a bad signature)."""
    out = []
    for pem in pems:
        try:
            cert = x509.load_pem_x509_certificate(pem.encode())
        except ValueError as exc:
            raise IdpMisconfigured(f"{setting}: not a PEM certificate") from exc
        out.append(cert.public_bytes(serialization.Encoding.PEM).decode("ascii"))
    if not out:
        raise IdpMisconfigured(f"{setting}: no certificate found")
    return tuple(dict.fromkeys(out))


def _certificate_file(path: str) -> tuple[str, ...]:
    data = _read(path, "idp_certificate_file")
    try:
        certs = x509.load_pem_x509_certificates(data)
    except ValueError as exc:
        raise IdpMisconfigured("idp_certificate_file: no PEM certificate in the file") from exc
    return _certificates(
        [c.public_bytes(serialization.Encoding.PEM).decode("ascii") for c in certs],
        "idp_certificate_file",
    )


def _from_metadata(cfg: SamlDirectorySettings) -> dict:
    data = _read(cfg.idp_metadata_file or "", "idp_metadata_file")
    try:
        parsed = OneLogin_Saml2_IdPMetadataParser.parse(
            data,
            required_sso_binding=C.BINDING_HTTP_REDIRECT,
            entity_id=cfg.idp_entity_id,
        )
    except Exception as exc:  # the parser raises anything from XMLSyntaxError to KeyError
        raise IdpMisconfigured(
            f"idp_metadata_file: not usable SAML metadata ({type(exc).__name__})"
        ) from exc
    idp = parsed.get("idp") or {}
    if not idp.get("entityId"):
        raise IdpMisconfigured("idp_metadata_file: no IdP entity (or not idp_entity_id) found")
    return idp


def identity_provider(cfg: SamlDirectorySettings) -> IdentityProvider:
    """The IdP as configured; settings given by hand win over the metadata file's."""
    meta = _from_metadata(cfg) if cfg.idp_metadata_file else {}
    entity_id = cfg.idp_entity_id or meta.get("entityId")
    sso_url = cfg.idp_sso_url or (meta.get("singleSignOnService") or {}).get("url")
    if cfg.idp_certificate_file:
        certificates = _certificate_file(cfg.idp_certificate_file)
    else:
        multi = (meta.get("x509certMulti") or {}).get("signing") or []
        single = [meta["x509cert"]] if meta.get("x509cert") else []
        certificates = _certificates([_pem(c) for c in multi or single], "idp_metadata_file")
    if not sso_url or not sso_url.startswith(("https://", "http://")):
        raise IdpMisconfigured("idp_sso_url: no HTTP-Redirect sign-in URL")
    return IdentityProvider(entity_id, sso_url, certificates)
