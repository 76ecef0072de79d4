"""The client registry: register, update, rotate and remove OAuth clients, and the initial access
tokens that open dynamic registration (RFC 7591 section 3). Flask-free: every function takes a
SQLAlchemy Session, and the caller commits.

Client secrets, registration access tokens (RFC 7592 section 3) and initial access tokens are
256-bit random values, shown once and stored only as SHA-256 digests: for high-entropy secrets a
fast hash is right (RFC 6819 section 5.1.4.1.3). Metadata checks live in client_metadata.
"""

from __future__ import annotations

import re
import secrets
from dataclasses import dataclass
from datetime import timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from core.db import utcnow
from core.hashing import hash_secret, verify_secret
from idp.oidc.client_metadata import (
    ADMIN_ONLY_GRANTS,
    ADMIN_ONLY_SCOPES,
    AUTH_METHODS,
    GRANT_TYPES,
    ID_TOKEN_ALGS,
    SCOPES,
    InvalidClientMetadata,
    validate_metadata,
)
from idp.oidc.models import Client, InitialAccessToken

__all__ = [
    "ADMIN_ONLY_GRANTS", "ADMIN_ONLY_SCOPES", "AUTH_METHODS", "GRANT_TYPES", "ID_TOKEN_ALGS",
    "SCOPES",
    "InvalidClientMetadata", "RegisteredClient", "check_initial_access_token", "client_info",
    "get", "hash_secret", "issue_initial_access_token", "list_clients", "new_secret",
    "register", "registration_client_uri", "remove", "rotate_secret", "update",
    "uses_secret", "validate_metadata", "verify_secret",
]  # fmt: skip

SECRET_METHODS = ("client_secret_basic", "client_secret_post")


CHOSEN_ID = re.compile(r"[a-z0-9][a-z0-9._-]{2,63}")


def new_client_id() -> str:
    """128 random bits, base64url, never starting with "-" (a command line would read an id
    like "-Lx..." as an option: `digione clients show -Lx...` failed)."""
    while (client_id := secrets.token_urlsafe(16)).startswith("-"):
        pass
    return client_id


def new_secret() -> str:
    """256 random bits, URL-safe."""
    return secrets.token_urlsafe(32)


def uses_secret(metadata: dict) -> bool:
    """client_secret_basic and client_secret_post clients have a secret; none and
    private_key_jwt clients do not."""
    return metadata.get("token_endpoint_auth_method") in SECRET_METHODS


@dataclass
class RegisteredClient:
    """A client with the secrets made for it, in plain text this once (None: none made)."""

    client: Client
    client_secret: str | None = None
    registration_access_token: str | None = None


def register(
    session: Session,
    metadata: dict,
    *,
    admin: bool,
    development: bool,
    dynamic: bool = False,
    client_id: str | None = None,
) -> RegisteredClient:
    """Check ``metadata`` and add a client; ``dynamic`` (RFC 7591) also makes the registration
    access token for RFC 7592 management. ``client_id``: one an administrator chose (readable,
    for purpose files), else a random one. Raises InvalidClientMetadata."""
    checked = validate_metadata(metadata, admin=admin, development=development)
    if client_id is not None:
        if not admin or not CHOSEN_ID.fullmatch(client_id):
            raise InvalidClientMetadata(
                "client_id: 3 to 64 of a-z, 0-9, '.', '_' and '-', starting with a letter or "
                "digit, chosen by an administrator"
            )
        if session.get(Client, client_id) is not None:
            raise InvalidClientMetadata(f"client_id: {client_id} is taken")
    secret = new_secret() if uses_secret(checked) else None
    token = new_secret() if dynamic else None
    client = Client(
        client_id=client_id or new_client_id(),
        client_secret_hash=hash_secret(secret) if secret else None,
        client_metadata=checked,
        registration_access_token_hash=hash_secret(token) if token else None,
        client_id_issued_at=utcnow(),
    )
    session.add(client)
    session.flush()
    return RegisteredClient(client, secret, token)


def update(
    session: Session, client: Client, metadata: dict, *, admin: bool, development: bool
) -> RegisteredClient:
    """Replace the client's metadata (RFC 7592 section 2.2: full replacement, defaults refill
    what is left out). A client that now authenticates with a secret but had none gets a new
    one (returned); one that no longer uses a secret loses it. Admin-only scopes and grant
    types the client already holds may be kept by a non-admin update."""
    checked = validate_metadata(
        metadata, admin=admin, development=development, held=dict(client.client_metadata)
    )
    secret = None
    if not uses_secret(checked):
        client.client_secret_hash = None
    elif client.client_secret_hash is None:
        secret = new_secret()
        client.client_secret_hash = hash_secret(secret)
    client.client_metadata = checked
    client.updated_at = utcnow()
    session.flush()
    return RegisteredClient(client, secret)


def rotate_secret(session: Session, client: Client) -> str:
    """A new secret replaces the old one at once; ValueError for clients without secrets."""
    if not uses_secret(client.client_metadata):
        method = client.metadata_value("token_endpoint_auth_method")
        raise ValueError(f"client {client.client_id} uses {method}, which has no client secret")
    secret = new_secret()
    client.client_secret_hash = hash_secret(secret)
    client.updated_at = utcnow()
    session.flush()
    return secret


def remove(session: Session, client: Client) -> None:
    """Delete the client; its codes, token families and approvals go with it (ON DELETE
    CASCADE)."""
    session.delete(client)
    session.flush()


def get(session: Session, client_id: str) -> Client | None:
    if not client_id or len(client_id) > 64:
        return None
    return session.get(Client, client_id)


def list_clients(session: Session) -> list[Client]:
    """Every client, oldest first."""
    query = select(Client).order_by(Client.client_id_issued_at, Client.client_id)
    return list(session.scalars(query))


def registration_client_uri(issuer: str, client_id: str) -> str:
    """The client configuration endpoint (RFC 7592 section 2)."""
    return f"{issuer.rstrip('/')}/oidc/register/{client_id}"


def client_info(
    client: Client,
    *,
    secret: str | None = None,
    registration_token: str | None = None,
    issuer: str,
) -> dict:
    """The client information response (RFC 7591 section 3.2.1, RFC 7592 section 3). Secrets
    are stored hashed, so they appear only when given (just made)."""
    info: dict = {
        "client_id": client.client_id,
        "client_id_issued_at": int(client.client_id_issued_at.timestamp()),
    }
    if secret is not None:
        info["client_secret"] = secret
    if secret is not None or client.client_secret_hash:
        info["client_secret_expires_at"] = 0
    if registration_token is not None:
        info["registration_access_token"] = registration_token
    if registration_token is not None or client.registration_access_token_hash:
        info["registration_client_uri"] = registration_client_uri(issuer, client.client_id)
    return {**info, **client.client_metadata}


def issue_initial_access_token(session: Session, *, days: int = 7, note: str = "") -> str:
    """A bearer token that opens dynamic registration for ``days`` days; shown once."""
    if days < 1:
        raise ValueError("an initial access token lives at least one day")
    token, now = new_secret(), utcnow()
    session.add(
        InitialAccessToken(
            token_hash=hash_secret(token),
            note=note[:200],
            created_at=now,
            expires_at=now + timedelta(days=days),
        )
    )
    session.flush()
    return token


def check_initial_access_token(session: Session, token: str | None) -> bool:
    """Whether ``token`` is an initial access token that has not expired."""
    if not token or len(token) > 512:
        return False
    row = session.get(InitialAccessToken, hash_secret(token))
    return row is not None and row.expires_at > utcnow()
