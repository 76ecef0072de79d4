"""``[directory]`` of a city that signs its people in with an OpenID Connect provider
(Google Workspace, Entra ID). The broker is the relying party (docs/connectors/oidc.md)."""

from __future__ import annotations

from typing import Annotated, Literal
from urllib.parse import urlsplit

from pydantic import Field, field_validator, model_validator

from core.settings.schema import DirectorySettings
from federation.mapping import AttributeMap

LOOPBACK = frozenset({"127.0.0.1", "localhost", "::1"})
# Parameters the connector sets itself; a city's extra parameters may not replace them.
PROTOCOL_PARAMETERS = frozenset(
    {
        "response_type",
        "client_id",
        "redirect_uri",
        "scope",
        "state",
        "nonce",
        "code_challenge",
        "code_challenge_method",
        "request",
        "request_uri",
        "response_mode",
    }
)


def check_url(url: str) -> str:
    """https, or plain http on a loopback address (tests, a local development provider)."""
    parts = urlsplit(url)
    if parts.scheme == "https" and parts.hostname:
        return url
    if parts.scheme == "http" and parts.hostname in LOOPBACK:
        return url
    raise ValueError(f"{url!r} must be an https:// URL (http:// only on a loopback address)")


class OidcDirectorySettings(DirectorySettings):
    type: Literal["oidc"]
    # Exactly as the provider's discovery document states it, e.g. https://accounts.google.com or
    # https://login.microsoftonline.com/<tenant id>/v2.0
    issuer: str
    # Where the discovery document is, when not at <issuer>/.well-known/openid-configuration
    # (e.g. Entra ID's ...?appid=<client id> for an app with its own signing key).
    discovery_url: str | None = None
    client_id: Annotated[str, Field(min_length=1)]
    # The client secret: from an environment variable or a file, never the TOML.
    client_secret_env: str | None = None
    client_secret_file: str | None = None
    scopes: list[str] = ["openid", "profile", "email"]
    # Also ask the userinfo endpoint (its claims join the ID token's; its sub must match).
    use_userinfo: bool = False
    # Extra authorization request parameters, e.g. Google's hd or Entra ID's domain_hint.
    authorize_params: dict[str, str] = {}
    # Claims the ID token must carry with one of the listed values, e.g. Google's
    # hd = ["edu.tampere.fi"] (any Google account can otherwise sign in to a Google client).
    required_claims: dict[str, list[str]] = {}
    ca_file: str | None = None  # verify the provider's TLS certificate against this CA (PEM)
    # The provider is on the city's own network (a private address): production calls only
    # public addresses unless the operator says so here (core.outbound).
    internal_network: bool = False
    timeout_seconds: Annotated[float, Field(gt=0, le=30)] = 5.0
    # How long the discovery document and the JWKS are kept before they are fetched again.
    # An ID token signed by a key not yet seen fetches the JWKS at once (key rollover).
    cache_seconds: Annotated[int, Field(ge=0, le=86400)] = 3600
    attributes: AttributeMap

    @field_validator("issuer")
    @classmethod
    def _issuer(cls, value: str) -> str:
        check_url(value)
        if urlsplit(value).query or urlsplit(value).fragment:
            raise ValueError("an issuer has no query or fragment")
        return value

    @field_validator("discovery_url")
    @classmethod
    def _discovery_url(cls, value: str | None) -> str | None:
        return value if value is None else check_url(value)

    @field_validator("scopes")
    @classmethod
    def _scopes(cls, value: list[str]) -> list[str]:
        if "openid" not in value:
            raise ValueError("scopes must include 'openid'")
        return value

    @field_validator("authorize_params")
    @classmethod
    def _params(cls, value: dict[str, str]) -> dict[str, str]:
        taken = sorted(PROTOCOL_PARAMETERS.intersection(value))
        if taken:
            raise ValueError(f"the connector sets {', '.join(taken)} itself")
        return value

    @model_validator(mode="after")
    def _one_secret(self) -> OidcDirectorySettings:
        if bool(self.client_secret_env) == bool(self.client_secret_file):
            raise ValueError("set exactly one of client_secret_env and client_secret_file")
        return self
