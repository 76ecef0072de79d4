"""``[directory]`` of a city that signs its people in with a SAML 2.0 IdP (Entra ID, ADFS,
MPASSid). The broker is the service provider."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict

from federation.mapping import AttributeMap


class SamlDirectorySettings(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True, frozen=True)

    type: Literal["saml"]
    idp_entity_id: str
    idp_sso_url: str  # HTTP-Redirect binding
    idp_certificate_file: str  # PEM; the only key trusted to sign (never one from KeyInfo)
    want_response_signed: bool = False
    want_assertions_signed: bool = True
    want_assertions_encrypted: bool = False
    attributes: AttributeMap
