"""Guardian consent as a service uses it (docs/connect-your-service.md): ask the guardians
through the broker's consent API, then, once they have approved, exchange the pupil's ``sub``
for a short-lived token to the school's system (OAuth 2.0 Token Exchange, RFC 8693).

Plain ``requests`` calls authenticated with the service's own client credentials
(client_secret_basic), so that a developer sees every parameter."""

from __future__ import annotations

import jwt
import requests

TOKEN_EXCHANGE = "urn:ietf:params:oauth:grant-type:token-exchange"
PAIRWISE_SUB = "urn:digione:params:oauth:token-type:pairwise-sub"


class Broker:
    def __init__(self, url: str, client_id: str, client_secret: str) -> None:
        self.url, self.auth = url.rstrip("/"), (client_id, client_secret)

    def _json(self, response: requests.Response) -> dict:
        try:
            body = response.json()
        except ValueError:
            body = {}
        if response.status_code >= 400:
            raise SharingError(body.get("error_description") or f"HTTP {response.status_code}")
        return body

    def ask(self, purpose: str, sub: str) -> dict:
        """Ask for consent to ``purpose`` for the person the service knows as ``sub``: the
        request (its ``id`` and ``state``), new or the one still open."""
        response = requests.post(
            f"{self.url}/consent/api/requests",
            auth=self.auth,
            json={"purpose": purpose, "sub": sub},
            timeout=10,
        )
        return self._json(response)

    def request_state(self, record_id: str) -> dict:
        response = requests.get(
            f"{self.url}/consent/api/requests/{record_id}", auth=self.auth, timeout=10
        )
        return self._json(response)

    def exchange(self, purpose: str, sub: str, audience: str) -> dict:
        """A consent-bound access token for the purpose's source system, and its claims as
        the source system will read them (this service does not verify a token meant for
        another audience; the source system does)."""
        data = {
            "grant_type": TOKEN_EXCHANGE,
            "subject_token": sub,
            "subject_token_type": PAIRWISE_SUB,
            "purpose": purpose,
            "audience": audience,  # the source system, by its client_id
        }
        response = requests.post(f"{self.url}/oidc/token", auth=self.auth, data=data, timeout=10)
        body = self._json(response)
        body["claims"] = jwt.decode(body["access_token"], options={"verify_signature": False})
        return body


class SharingError(Exception):
    """The broker refused (its error_description is the message)."""
