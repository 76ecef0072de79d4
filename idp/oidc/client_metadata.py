"""Client metadata (RFC 7591 section 2): the one place where it is checked and normalised.

Used by ``digione clients`` (admin) and dynamic registration (RFC 7591/7592, not admin). Fields
are named as in RFC 7591, OIDC Dynamic Registration, RP-Initiated Logout and Back-Channel Logout
section 2.2. Unknown fields are dropped; a null value counts as absent (RFC 7592 section 2.2); a
wrong value raises :class:`InvalidClientMetadata` naming the field. URI rules: client_uris.

A pairwise client's redirect URIs share one host, its sector identifier (OIDC Core section 8.1);
``sector_identifier_uri`` is not supported. ``edu:learner_id`` is granted only by an admin.

DigiOne extensions:

- ``access_token_lifetime``: seconds (60..3600) this client's access tokens live; when absent,
  ``oidc.access_token_seconds`` applies.
- ``approval_scopes``: scopes (a subset of ``scope``) the user approves on a page the first
  time they are released to this client.
- ``resources``: https URIs of the resource servers (audiences) this client may request access
  tokens for (RFC 8707).

- ``admin_city`` / ``admin_auditor``: what a client with ``digione:admin`` administers, set
  only by an administrator and required with that scope: the consent records of one city
  (a city's slug), or, as a national auditor, every city's, read-only (consent.scope).

``grant_types`` may include ``urn:ietf:params:oauth:grant-type:token-exchange`` (RFC 8693,
consent-bound tokens: consent.exchange) only when an administrator registers the client, and
only for a confidential client.

``backchannel_logout_session_required`` defaults to true: logout tokens always carry ``sid``.
"""

from __future__ import annotations

import re
from typing import Any

from core import outbound
from idp.oidc.client_uris import MAX_URI, check_uri, sector_of

SCOPES = (
    "openid", "profile", "email", "offline_access",
    "edu:school", "edu:roles", "edu:municipality", "edu:learner_id", "edu:children",
    "digione:admin",
)  # fmt: skip
ADMIN_ONLY_SCOPES = ("edu:learner_id", "edu:children", "digione:admin")
TOKEN_EXCHANGE = "urn:ietf:params:oauth:grant-type:token-exchange"  # RFC 8693 section 2.1
GRANT_TYPES = ("authorization_code", "refresh_token", "client_credentials", TOKEN_EXCHANGE)
ADMIN_ONLY_GRANTS = (TOKEN_EXCHANGE,)
CONFIDENTIAL_GRANTS = ("client_credentials", TOKEN_EXCHANGE)  # never with auth method none
AUTH_METHODS = ("client_secret_basic", "client_secret_post", "private_key_jwt", "none")
ID_TOKEN_ALGS = ("RS256", "ES256")
SUBJECT_TYPES = ("pairwise", "public")
NAME_LANGUAGES = ("fi", "sv", "en")
INFO_URIS = ("client_uri", "logo_uri", "tos_uri", "policy_uri")
PRIVATE_JWK_MEMBERS = ("d", "p", "q", "dp", "dq", "qi", "oth", "k")
MAX_ITEMS = 50
ADMIN_SCOPE = "digione:admin"
CITY_SLUG = re.compile(r"[a-z0-9][a-z0-9-]{0,31}")
INVALID = "invalid_client_metadata"
REDIRECT = "invalid_redirect_uri"


class InvalidClientMetadata(ValueError):
    """A refused registration (RFC 7591 section 3.2.2): ``error`` is ``invalid_redirect_uri``
    or ``invalid_client_metadata``; ``description`` names the field."""

    def __init__(self, description: str, error: str = INVALID) -> None:
        super().__init__(description)
        self.error = error
        self.description = description


def _text(data: dict, name: str, *, max_len: int = 200) -> str | None:
    value = data.get(name)
    if value is None:
        return None
    if not isinstance(value, str) or not value.strip() or len(value) > max_len:
        raise InvalidClientMetadata(f"{name}: must be a non-empty string of at most {max_len}")
    return value.strip()


def _strings(data: dict, name: str) -> list[str] | None:
    value = data.get(name)
    if value is None:
        return None
    if (
        not isinstance(value, list)
        or len(value) > MAX_ITEMS
        or not all(isinstance(item, str) and item for item in value)
    ):
        raise InvalidClientMetadata(f"{name}: must be a list of non-empty strings")
    return list(dict.fromkeys(value))  # without duplicates, in the given order


def _uri(uri: str, name: str, *, development: bool, error: str = INVALID, **rules) -> str:
    try:
        return check_uri(uri, development=development, **rules)
    except ValueError as exc:
        raise InvalidClientMetadata(f"{name}: {exc}", error) from None


def _server_uri(uri: str, name: str, *, development: bool) -> str:
    """A URI the broker itself calls (jwks_uri, backchannel_logout_uri). In production: https
    to a host whose addresses are all public now (core.outbound, checked again at every call);
    the loopback exception of RFC 8252 is for a native app's redirect, not a server."""
    checked = _uri(uri, name, development=development, loopback=development)
    try:
        return outbound.check(checked, outbound.Policy.for_mode(production=not development))
    except outbound.Refused as exc:
        raise InvalidClientMetadata(f"{name}: {exc}") from None


def _uris(data: dict, name: str, *, development: bool, error: str) -> list[str]:
    uris = _strings(data, name) or []
    return [_uri(uri, name, development=development, native=True, error=error) for uri in uris]


def _grants(data: dict, admin: bool, granted: tuple[str, ...]) -> tuple[list[str], list[str]]:
    grants = _strings(data, "grant_types")
    grants = ["authorization_code"] if grants is None else grants
    unknown = [grant for grant in grants if grant not in GRANT_TYPES]
    if not grants or unknown:
        raise InvalidClientMetadata(f"grant_types: must be a non-empty subset of {GRANT_TYPES}")
    for grant in ADMIN_ONLY_GRANTS:
        if grant in grants and not admin and grant not in granted:
            raise InvalidClientMetadata(f"grant_types: {grant} is granted only by an administrator")
    if "refresh_token" in grants and "authorization_code" not in grants:
        raise InvalidClientMetadata("grant_types: refresh_token needs authorization_code")
    expected = ["code"] if "authorization_code" in grants else []
    response_types = _strings(data, "response_types")
    if response_types is not None and response_types != expected:
        raise InvalidClientMetadata(f"response_types: must be {expected} with these grant_types")
    return grants, expected


def _choice(data: dict, name: str, choices: tuple[str, ...]) -> str:
    value = choices[0] if data.get(name) is None else data[name]
    if value not in choices:
        raise InvalidClientMetadata(f"{name}: must be one of {', '.join(choices)}")
    return value


def _jwks(value: Any) -> dict:
    from joserfc.jwk import KeySet

    keys = value.get("keys") if isinstance(value, dict) else None
    if not isinstance(keys, list) or not keys or len(keys) > MAX_ITEMS:
        raise InvalidClientMetadata("jwks: must be a JWK Set with a non-empty keys list")
    for key in keys:
        if not isinstance(key, dict) or key.get("kty") not in ("RSA", "EC"):
            raise InvalidClientMetadata("jwks: every key must be an RSA or EC public key")
        if any(member in key for member in PRIVATE_JWK_MEMBERS):
            raise InvalidClientMetadata("jwks: carries private key material; send public keys")
    try:
        KeySet.import_key_set({"keys": keys})
    except Exception:  # joserfc raises several types for malformed keys
        raise InvalidClientMetadata("jwks: a key could not be read") from None
    return {"keys": keys}


def _auth(data: dict, grants: list[str], development: bool) -> dict:
    method = _choice(data, "token_endpoint_auth_method", AUTH_METHODS)
    for grant in CONFIDENTIAL_GRANTS:
        if method == "none" and grant in grants:
            raise InvalidClientMetadata(f"token_endpoint_auth_method: none cannot use {grant}")
    out: dict[str, Any] = {"token_endpoint_auth_method": method}
    jwks_uri = _text(data, "jwks_uri", max_len=MAX_URI)
    if jwks_uri is not None:
        out["jwks_uri"] = _server_uri(jwks_uri, "jwks_uri", development=development)
    if data.get("jwks") is not None:
        out["jwks"] = _jwks(data["jwks"])
    if "jwks" in out and "jwks_uri" in out:
        raise InvalidClientMetadata("jwks: give either jwks or jwks_uri, not both")
    if method == "private_key_jwt" and not ("jwks" in out or "jwks_uri" in out):
        raise InvalidClientMetadata("token_endpoint_auth_method: private_key_jwt needs jwks_uri")
    return out


def _scopes(data: dict, grants: list[str], admin: bool, granted: tuple[str, ...]) -> list[str]:
    value = "openid" if data.get("scope") is None else data["scope"]
    if not isinstance(value, str) or not value.split():
        raise InvalidClientMetadata("scope: must be a space-separated string of scopes")
    scopes = list(dict.fromkeys(value.split()))
    unknown = [scope for scope in scopes if scope not in SCOPES]
    if unknown:
        raise InvalidClientMetadata(f"scope: unknown scope {unknown[0]!r}")
    for scope in ADMIN_ONLY_SCOPES:
        if scope in scopes and not admin and scope not in granted:
            raise InvalidClientMetadata(f"scope: {scope} is granted only by an administrator")
    if "offline_access" in scopes and "refresh_token" not in grants:
        raise InvalidClientMetadata("scope: offline_access needs the refresh_token grant")
    return scopes


def _names(data: dict) -> dict:
    out = {"client_name": _text(data, "client_name")}
    if out["client_name"] is None:
        raise InvalidClientMetadata("client_name: is required")
    for lang in NAME_LANGUAGES:
        name = _text(data, f"client_name#{lang}")
        if name is not None:
            out[f"client_name#{lang}"] = name
    return out


def _logout(data: dict, development: bool) -> dict:
    out: dict[str, Any] = {
        "post_logout_redirect_uris": _uris(
            data, "post_logout_redirect_uris", development=development, error=INVALID
        )
    }
    uri = _text(data, "backchannel_logout_uri", max_len=MAX_URI)
    if uri is not None:
        out["backchannel_logout_uri"] = _server_uri(
            uri, "backchannel_logout_uri", development=development
        )
        required = data.get("backchannel_logout_session_required")
        required = True if required is None else required
        if not isinstance(required, bool):
            raise InvalidClientMetadata("backchannel_logout_session_required: must be a boolean")
        out["backchannel_logout_session_required"] = required
    return out


def _extensions(data: dict, scopes: list[str], development: bool, admin: bool, held: dict) -> dict:
    out: dict[str, Any] = {}
    lifetime = data.get("access_token_lifetime")
    if lifetime is not None:
        if type(lifetime) is not int or not 60 <= lifetime <= 3600:
            raise InvalidClientMetadata("access_token_lifetime: must be 60..3600 seconds")
        out["access_token_lifetime"] = lifetime
    approval = _strings(data, "approval_scopes") or []
    if any(scope not in scopes for scope in approval):
        raise InvalidClientMetadata("approval_scopes: must be a subset of scope")
    out["approval_scopes"] = approval
    out["resources"] = [
        _uri(uri, "resources", development=development, loopback=False)
        for uri in _strings(data, "resources") or []
    ]
    kept = set(held.get("resources") or ())
    if not admin and not set(out["resources"]) <= kept:
        # RFC 8707 audiences are other services' APIs: their tokens would be accepted there
        raise InvalidClientMetadata("resources: only an administrator can grant an audience")
    for name in INFO_URIS:
        uri = _text(data, name, max_len=MAX_URI)
        if uri is not None:
            out[name] = _uri(uri, name, development=development, loopback=False)
    contacts = _strings(data, "contacts")
    if contacts is not None:
        out["contacts"] = contacts
    return out


def _introspection(data: dict, admin: bool, held: dict) -> dict:
    """DigiOne extension: a resource server (admin-registered) may introspect tokens whose
    audience is one of its ``resources``."""
    value = data.get("introspection")
    if value is None or value is False:
        return {}
    if value is not True:
        raise InvalidClientMetadata("introspection: must be true or false")
    if not admin and held.get("introspection") is not True:
        raise InvalidClientMetadata("introspection: only an administrator can grant it")
    return {"introspection": True}


def _administration(data: dict, scopes: list[str], admin: bool, held: dict) -> dict:
    """DigiOne extension: the reach of a ``digione:admin`` client, one city or (an auditor)
    every city. Required with the scope, refused without it; only an administrator sets it."""
    city, auditor = data.get("admin_city"), data.get("admin_auditor")
    auditor = None if auditor is False else auditor
    if city is None and auditor is None:
        if ADMIN_SCOPE in scopes:
            raise InvalidClientMetadata(
                f"admin_city: a {ADMIN_SCOPE} client administers one city (admin_city) "
                "or reads every city as an auditor (admin_auditor)"
            )
        return {}
    if ADMIN_SCOPE not in scopes:
        raise InvalidClientMetadata(f"admin_city: only a client with {ADMIN_SCOPE} has one")
    same = (city, auditor) == (held.get("admin_city"), held.get("admin_auditor"))
    if not admin and not same:
        raise InvalidClientMetadata("admin_city: only an administrator can grant it")
    if city is not None and auditor is not None:
        raise InvalidClientMetadata("admin_city: give either admin_city or admin_auditor")
    if auditor is not None:
        if auditor is not True:
            raise InvalidClientMetadata("admin_auditor: must be true or false")
        return {"admin_auditor": True}
    if not isinstance(city, str) or not CITY_SLUG.fullmatch(city):
        raise InvalidClientMetadata("admin_city: must be a city's slug, as in config/cities")
    return {"admin_city": city}


def validate_metadata(
    data: dict,
    *,
    admin: bool,
    development: bool,
    held: dict | None = None,
) -> dict:
    """Checked, normalised metadata with defaults filled in (RFC 7591 section 2). What only an
    administrator grants (docs/connect-your-service.md, "Registration policy") a non-admin
    registration or RFC 7592 update may keep but not add, from ``held``, the client's metadata
    now: admin-only scopes and grant types, audiences, public subjects, introspection, an
    administrator's reach."""
    held = held or {}
    granted = tuple(
        value
        for value in [*(held.get("scope") or "").split(), *(held.get("grant_types") or ())]
        if value in ADMIN_ONLY_SCOPES or value in ADMIN_ONLY_GRANTS
    )
    if not isinstance(data, dict):
        raise InvalidClientMetadata("the client metadata must be a JSON object")
    grants, response_types = _grants(data, admin, granted)
    redirect_uris = _uris(data, "redirect_uris", development=development, error=REDIRECT)
    if "authorization_code" in grants and not redirect_uris:
        raise InvalidClientMetadata("redirect_uris: required for authorization_code", REDIRECT)
    subject_type = _choice(data, "subject_type", SUBJECT_TYPES)
    if subject_type == "public" and not admin and held.get("subject_type") != "public":
        # the same sub at every service: a person's broker-wide identifier
        raise InvalidClientMetadata("subject_type: only an administrator can grant public")
    if subject_type == "pairwise" and len({sector_of(uri) for uri in redirect_uris}) > 1:
        raise InvalidClientMetadata(
            "redirect_uris: a pairwise client's redirect URIs must share one host", REDIRECT
        )
    if data.get("sector_identifier_uri") is not None:
        raise InvalidClientMetadata("sector_identifier_uri: is not supported")
    scopes = _scopes(data, grants, admin, granted)
    return {
        **_names(data),
        "redirect_uris": redirect_uris,
        "grant_types": grants,
        "response_types": response_types,
        **_auth(data, grants, development),
        "scope": " ".join(scopes),
        "subject_type": subject_type,
        "id_token_signed_response_alg": _choice(
            data, "id_token_signed_response_alg", ID_TOKEN_ALGS
        ),
        # DigiOne extension: the JWS algorithm of the client's RFC 9068 access tokens.
        "access_token_signed_response_alg": _choice(
            data, "access_token_signed_response_alg", ID_TOKEN_ALGS
        ),
        **_introspection(data, admin, held),
        **_administration(data, scopes, admin, held),
        **_logout(data, development),
        **_extensions(data, scopes, development, admin, held),
    }
