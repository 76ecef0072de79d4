"""``[directory]`` of a city that signs its people in with a SAML 2.0 IdP (Entra ID, ADFS,
MPASSid). The broker is the service provider; docs/connectors/saml.md explains every key.

The IdP is described either by its metadata file (``idp_metadata_file``, with ``idp_entity_id``
choosing one entity when the file holds several) or by hand (``idp_entity_id``, ``idp_sso_url``
and ``idp_certificate_file``). Files are read at each sign-in, so a replaced certificate takes
effect without a restart; a relative path is relative to the broker's working directory.
"""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import Field, model_validator

from core.settings.schema import DirectorySettings
from federation.mapping import AttributeMap

PERSISTENT = "urn:oasis:names:tc:SAML:2.0:nameid-format:persistent"


class SamlDirectorySettings(DirectorySettings):
    type: Literal["saml"]
    # The IdP's metadata (EntityDescriptor or EntitiesDescriptor) as a local file...
    idp_metadata_file: str | None = None
    # ...or these three by hand (the entity id also picks the entity out of a metadata file).
    idp_entity_id: str | None = None
    idp_sso_url: str | None = None  # HTTP-Redirect binding
    # PEM; the only keys trusted to sign (never one from KeyInfo). During the IdP's certificate
    # rollover the file may hold the old and the new certificate: either one is accepted.
    idp_certificate_file: str | None = None
    want_response_signed: bool = False
    want_assertions_signed: bool = True
    want_assertions_encrypted: bool = False
    # NameIDPolicy of our AuthnRequests. A transient NameID is never accepted as the subject.
    name_id_format: str = PERSISTENT
    # RequestedAuthnContext class references; empty: none requested (the IdP decides).
    authn_context: list[str] = []
    force_authn: bool = False
    # Clock difference tolerated on the assertion's Conditions (NotBefore, NotOnOrAfter).
    clock_skew_seconds: Annotated[int, Field(ge=0, le=300)] = 60
    attributes: AttributeMap

    @model_validator(mode="after")
    def _idp_described(self) -> SamlDirectorySettings:
        by_hand = (self.idp_entity_id, self.idp_sso_url, self.idp_certificate_file)
        if self.idp_metadata_file is None and not all(by_hand):
            raise ValueError(
                "give idp_metadata_file, or idp_entity_id, idp_sso_url and idp_certificate_file"
            )
        if not (self.want_response_signed or self.want_assertions_signed):
            raise ValueError("want_response_signed or want_assertions_signed must be true")
        return self
