"""A city's OpenID Connect provider (Google Workspace, Entra ID): the broker as relying party.

Authorization code flow (OpenID Connect Core 3.1) with PKCE S256, ``state`` (the broker's
handle) and ``nonce``; the ``iss`` authorization response parameter (RFC 9207) checked whenever
the provider sends it and required when it says it does; the code exchanged with
client_secret_basic; the ID token validated in :mod:`federation.oidc.idtoken`; userinfo when the
city asks for it. The claims then go through the city's attribute map.
"""

from __future__ import annotations

import base64
import logging
import os
import re
import secrets
from collections.abc import Mapping
from dataclasses import replace
from pathlib import Path
from typing import Any
from urllib.parse import quote, urlencode

from core import outbound
from core.hashing import sha256_b64url
from core.settings.schema import CitySettings
from federation.connector import DirectoryUnavailable, Environment, Redirect, UpstreamRejected
from federation.mapping import MappingError, map_identity
from federation.oidc.discovery import CACHE, ProviderMetadata
from federation.oidc.idtoken import same, validate_id_token
from federation.oidc.settings import OidcDirectorySettings
from federation.oidc.transport import Http
from federation.profile import Identity

log = logging.getLogger("digione.federation.oidc")
_ERROR_CODE = re.compile(r"[^A-Za-z0-9_.-]")


def _s256(verifier: str) -> str:
    """PKCE S256 (RFC 7636 section 4.2) of an ASCII verifier."""
    return sha256_b64url(verifier)


def claims_to_attributes(claims: Mapping[str, Any]) -> dict[str, list[str]]:
    """{claim: [values]} for the attribute map; nested objects are left out."""
    attrs: dict[str, list[str]] = {}
    for name, value in claims.items():
        values = value if isinstance(value, list) else [value]
        flat = [
            ("true" if item else "false") if isinstance(item, bool) else str(item)
            for item in values
            if isinstance(item, str | int | float | bool)
        ]
        if flat:
            attrs[name] = flat
    return attrs


class OidcDirectory:
    """``RedirectConnector`` for a city whose ``[directory] type = "oidc"``."""

    def __init__(self, city: CitySettings, *, production: bool = False):
        assert isinstance(city.directory, OidcDirectorySettings)
        self.city = city
        self.directory: OidcDirectorySettings = city.directory
        policy = outbound.Policy.for_mode(
            production=production, internal=self.directory.internal_network
        )
        self.http = Http(self.directory.timeout_seconds, policy, self.directory.ca_file)

    @classmethod
    def open(cls, city: CitySettings, env: Environment) -> OidcDirectory:
        return cls(city, production=env.production)

    # -- problems -----------------------------------------------------------------------------
    def _unavailable(self, reason: str) -> DirectoryUnavailable:
        log.warning(
            "oidc provider unavailable",
            extra={"event": {"city": self.city.slug, "reason": reason}},
        )
        return DirectoryUnavailable(reason)

    def _provider(self) -> ProviderMetadata:
        try:
            directory = self.directory
            return CACHE.metadata(
                directory.issuer, self.http, directory.cache_seconds, directory.discovery_url
            )
        except DirectoryUnavailable as exc:
            raise self._unavailable(f"discovery: {exc}") from None

    def _client_secret(self) -> str:
        directory = self.directory
        if directory.client_secret_env:
            secret = os.environ.get(directory.client_secret_env, "")
            where = f"environment variable {directory.client_secret_env}"
        else:
            try:
                secret = Path(directory.client_secret_file or "").read_text().strip()
            except OSError:
                secret = ""
            where = f"file {directory.client_secret_file}"
        if not secret:
            raise self._unavailable(f"no client secret in the {where}")
        return secret

    # -- RedirectConnector --------------------------------------------------------------------
    def start(self, callback_url: str, handle: str) -> tuple[Redirect, dict]:
        provider = self._provider()
        self._client_secret()  # a missing secret shows now, before the person is sent away
        verifier, nonce = secrets.token_urlsafe(64), secrets.token_urlsafe(32)
        params = {
            **self.directory.authorize_params,
            "response_type": "code",
            "client_id": self.directory.client_id,
            "redirect_uri": callback_url,
            "scope": " ".join(self.directory.scopes),
            "state": handle,
            "nonce": nonce,
            "code_challenge": _s256(verifier),
            "code_challenge_method": "S256",
        }
        endpoint = provider.authorization_endpoint
        url = endpoint + ("&" if "?" in endpoint else "?") + urlencode(params, quote_via=quote)
        return Redirect(url), {"handle": handle, "nonce": nonce, "code_verifier": verifier}

    def finish(self, answer: Mapping[str, str], state: dict, callback_url: str) -> Identity:
        if not same(answer.get("state"), state.get("handle", "")):
            raise UpstreamRejected("the state is not the one sent")
        provider = self._provider()
        issuer = answer.get("iss")
        expected = issuer is not None or provider.iss_parameter_supported  # RFC 9207 2.4
        if expected and not same(issuer, provider.issuer):
            raise UpstreamRejected("the iss response parameter is not the provider")
        if answer.get("error"):
            code = _ERROR_CODE.sub("", str(answer["error"]))[:64]
            raise UpstreamRejected(f"the provider answered error={code}")
        code = answer.get("code")
        if not code:
            raise UpstreamRejected("the provider's answer has no code")
        tokens = self._exchange(provider, code, state["code_verifier"], callback_url)
        access_token = tokens.get("access_token")
        claims = validate_id_token(
            tokens.get("id_token"),
            keys_for=lambda kid: self._keys(provider, kid),
            issuer=provider.issuer,
            client_id=self.directory.client_id,
            nonce=state["nonce"],
            access_token=access_token if isinstance(access_token, str) else None,
        )
        if self.directory.use_userinfo:
            claims = {**self._userinfo(provider, access_token, claims["sub"]), **claims}
        for name, allowed in self.directory.required_claims.items():
            values = claims_to_attributes({name: claims.get(name)}).get(name, [])
            if not set(values) & set(allowed):
                raise UpstreamRejected(f"the claim {name} has none of the required values")
        try:
            identity = map_identity(
                claims_to_attributes(claims),
                self.directory.attributes,
                city=self.city.slug,
                municipality_code=self.city.municipality_code,
            )
        except MappingError as exc:  # the message may quote a value: log only the field
            field = str(exc).split(":", 1)[0]
            raise UpstreamRejected(f"attribute mapping failed: {field}") from None
        acr, amr = claims.get("acr"), claims.get("amr")  # OIDC Core section 2
        return replace(
            identity,
            authn_acr=acr[:200] if isinstance(acr, str) else None,
            authn_amr=tuple(m[:32] for m in amr if isinstance(m, str))[:10]
            if isinstance(amr, list)
            else (),
        )

    # -- calls to the provider ----------------------------------------------------------------
    def _keys(self, provider: ProviderMetadata, kid: str | None) -> list[dict]:
        try:
            return CACHE.keys(provider, self.http, self.directory.cache_seconds, kid)
        except DirectoryUnavailable as exc:
            raise self._unavailable(f"jwks: {exc}") from None

    def _exchange(self, provider, code: str, verifier: str, callback_url: str) -> dict:
        pair = f"{quote(self.directory.client_id, safe='')}:{quote(self._client_secret(), safe='')}"
        basic = base64.b64encode(pair.encode()).decode()  # RFC 6749 2.3.1: urlencoded, then b64
        form = {
            "grant_type": "authorization_code",
            "code": code,
            "redirect_uri": callback_url,
            "code_verifier": verifier,
        }
        try:
            answer = self.http.send(
                provider.token_endpoint, form=form, headers={"Authorization": f"Basic {basic}"}
            )
            body = answer.json()
        except DirectoryUnavailable as exc:
            raise self._unavailable(f"token endpoint: {exc}") from None
        if answer.status != 200:
            error = _ERROR_CODE.sub("", str(body.get("error", "")))[:64]
            if answer.status == 401 or error == "invalid_client":
                raise self._unavailable(f"token endpoint refused the client ({error})")
            raise UpstreamRejected(f"the token endpoint answered {answer.status} error={error}")
        if not isinstance(body.get("id_token"), str):
            raise UpstreamRejected("the token endpoint gave no ID token")
        token_type = body.get("token_type")
        if not isinstance(token_type, str) or token_type.lower() != "bearer":
            raise UpstreamRejected("the token endpoint's token_type is not Bearer")
        return body

    def _userinfo(self, provider, access_token: Any, subject: str) -> dict[str, Any]:
        if not provider.userinfo_endpoint or not isinstance(access_token, str):
            raise self._unavailable("userinfo is configured but the provider offers none")
        try:
            answer = self.http.send(
                provider.userinfo_endpoint, headers={"Authorization": f"Bearer {access_token}"}
            )
            if answer.status != 200:
                raise UpstreamRejected(f"the userinfo endpoint answered {answer.status}")
            if answer.content_type != "application/json":
                raise UpstreamRejected("the userinfo answer is not JSON (signed is unsupported)")
            claims = answer.json()
        except DirectoryUnavailable as exc:
            raise self._unavailable(f"userinfo: {exc}") from None
        if not same(claims.get("sub"), subject):  # Core 5.3.2
            raise UpstreamRejected("the userinfo sub is not the ID token's")
        return claims
