"""Reading back a JWT this broker signed (RFC 7519 section 7.2): the one verifier of our access
tokens (RFC 9068 section 4) and of the ID tokens relying parties send back as hints.

The checks follow RFC 8725 (JWT Best Current Practices): the header parses; ``alg`` is RS256 or
ES256 and is the algorithm of the key found (section 3.1, no algorithm confusion); no ``jwk``,
``jku``, ``x5u`` or ``x5c`` header (keys are never taken from the token) nor ``crit`` (no
extension is understood, RFC 7515 section 4.1.11); ``kid`` (RFC 7515 section 4.1.4) names one
of our rs256 or es256 keys, never a SAML or audit key; ``typ`` is explicit (section 3.11); then
PyJWT checks the signature, ``iss``, ``aud``, ``exp``, ``nbf``, ``iat`` and required claims
(sections 3.8, 3.9).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import jwt

from keys.store import KeyStore

ALGORITHMS = frozenset({"RS256", "ES256"})
USES = ("rs256", "es256")  # the JWKS keys; never "saml" (not a JWT key) nor "audit"
FORBIDDEN_HEADERS = frozenset({"jwk", "jku", "x5u", "x5c", "crit"})
REQUIRED = ("iss", "sub", "aud", "exp", "iat")  # RFC 9068 section 2.2, OIDC Core section 2


class JwtError(ValueError):
    """The token is not a valid JWT of ours; the message says why, never quoting the token."""


def _media_type(typ: str) -> str:
    """``typ`` compared as RFC 8725 section 3.11 and RFC 7515 section 4.1.9 say: case-insensitive,
    the ``application/`` prefix optional."""
    typ = typ.lower()
    return typ.removeprefix("application/")


def _header(token: str) -> dict[str, Any]:
    try:
        return jwt.get_unverified_header(token)
    except jwt.PyJWTError as exc:
        raise JwtError(f"not a JWT: {exc}") from exc


def _check_typ(header: dict[str, Any], typs: frozenset[str]) -> None:
    typ = header.get("typ")
    if not isinstance(typ, str) or _media_type(typ) not in {_media_type(t) for t in typs}:
        raise JwtError("wrong token type (typ)")


def _key(header: dict[str, Any], store: KeyStore, published_only: bool) -> jwt.PyJWK:
    alg, kid = header.get("alg"), header.get("kid")
    if not isinstance(alg, str) or alg not in ALGORITHMS:
        raise JwtError("algorithm not accepted (alg)")
    if not isinstance(kid, str):
        raise JwtError("no key id (kid)")
    key = store.public_key(kid, published_only=published_only, uses=USES)
    if key is None:
        raise JwtError("unknown signing key (kid)")
    if key.algorithm_name != alg:
        raise JwtError("the algorithm is not the key's (alg)")
    return key


def read_jwt(
    token: str,
    store: KeyStore,
    *,
    issuer: str,
    typs: frozenset[str] | None,
    audience: str | None = None,
    verify_exp: bool = True,
    require: Sequence[str] = REQUIRED,
    published_only: bool = True,
) -> dict[str, Any]:
    """The claims of ``token``, a JWT signed by one of ``store``'s rs256 or es256 keys; raise
    JwtError.

    ``typs``: the accepted ``typ`` values (None: not checked). ``audience``: checked when given
    (RFC 7519 section 4.1.3). ``verify_exp=False`` accepts an expired token (an
    ``id_token_hint``, OIDC Core section 3.1.2.1). ``published_only=False`` also finds keys
    retired from the JWKS long ago.
    """
    if not isinstance(token, str):
        raise JwtError("not a JWT")
    header = _header(token)
    if FORBIDDEN_HEADERS & header.keys():
        raise JwtError("header parameter not accepted (jwk, jku, x5u, x5c, crit)")
    if typs is not None:
        _check_typ(header, typs)
    key = _key(header, store, published_only)
    try:
        return jwt.decode(
            token,
            key=key,
            algorithms=[key.algorithm_name],
            issuer=issuer,
            audience=audience,
            options={
                "verify_exp": verify_exp,
                "verify_aud": audience is not None,
                "require": list(require),
            },
        )
    except jwt.PyJWTError as exc:
        raise JwtError(str(exc)) from exc
