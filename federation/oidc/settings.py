"""``[directory]`` of a city that signs its people in with an OpenID Connect provider
(Google Workspace, Entra ID). The broker is the relying party."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict

from federation.mapping import AttributeMap


class OidcDirectorySettings(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True, frozen=True)

    type: Literal["oidc"]
    issuer: str
    client_id: str
    client_secret_env: str | None = None
    client_secret_file: str | None = None
    scopes: list[str] = ["openid", "profile", "email"]
    use_userinfo: bool = False
    attributes: AttributeMap
