"""Provider metadata: OpenID Connect Discovery 1.0 section 3 and RFC 8414."""

from __future__ import annotations

from flask import Blueprint, jsonify

from idp.oidc import oidc
from idp.oidc.claims import SUPPORTED_CLAIMS
from idp.oidc.client_metadata import GRANT_TYPES
from idp.oidc.grants import AUTH_METHODS
from idp.oidc.server import ASSERTION_ALGS, SCOPES

bp = Blueprint("oidc_discovery", __name__)


def metadata(issuer: str, registration: bool) -> dict:
    base = f"{issuer}/oidc"
    document = {
        "issuer": issuer,
        "authorization_endpoint": f"{base}/authorize",
        "token_endpoint": f"{base}/token",
        "userinfo_endpoint": f"{base}/userinfo",
        "jwks_uri": f"{issuer}/.well-known/jwks.json",
        "introspection_endpoint": f"{base}/introspect",
        "revocation_endpoint": f"{base}/revoke",
        "end_session_endpoint": f"{base}/logout",
        "backchannel_logout_supported": True,
        "backchannel_logout_session_supported": True,
        "scopes_supported": SCOPES,
        "response_types_supported": ["code"],
        "response_modes_supported": ["query", "form_post"],
        "grant_types_supported": list(GRANT_TYPES),
        "subject_types_supported": ["pairwise", "public"],
        "id_token_signing_alg_values_supported": ["RS256", "ES256"],
        "token_endpoint_auth_methods_supported": AUTH_METHODS,
        "token_endpoint_auth_signing_alg_values_supported": ASSERTION_ALGS,
        "introspection_endpoint_auth_methods_supported": [m for m in AUTH_METHODS if m != "none"],
        "revocation_endpoint_auth_methods_supported": AUTH_METHODS,
        "code_challenge_methods_supported": ["S256"],
        "claims_supported": SUPPORTED_CLAIMS,
        "claims_parameter_supported": True,
        "request_parameter_supported": False,
        "request_uri_parameter_supported": False,
        "require_request_uri_registration": False,
        "authorization_response_iss_parameter_supported": True,
        "prompt_values_supported": ["none", "login", "consent", "select_account"],
        "ui_locales_supported": ["fi", "sv", "en"],
        "claims_locales_supported": ["fi", "sv", "en"],
        "acr_values_supported": ["urn:digione:loa:password", "urn:digione:loa:federated"],
        "service_documentation": f"{issuer}/docs/connect-your-service",
    }
    if registration:
        document["registration_endpoint"] = f"{base}/register"
    return document


@bp.get("/.well-known/openid-configuration")
@bp.get("/.well-known/oauth-authorization-server")
def configuration():
    state = oidc()
    response = jsonify(metadata(state.provider.issuer, state.provider.settings.registration))
    response.headers["Cache-Control"] = "public, max-age=3600"
    response.headers["Access-Control-Allow-Origin"] = "*"
    return response
