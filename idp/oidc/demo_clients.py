"""The demo services' clients: `digione demo seed` registers config/demo/clients/*.toml.

Each file names a fixed ``client_id``, a fixed ``client_secret`` and, under ``[metadata]``, the
RFC 7591 client metadata, which is checked by the same ``validate_metadata`` as every other
registration. Seeding is idempotent: a client that exists is updated to match its file. The
secrets are public (they are in the repository), so this refuses to run in production.
"""

from __future__ import annotations

import tomllib
from pathlib import Path

from sqlalchemy.orm import Session

from core.db import utcnow
from idp.oidc import clients
from idp.oidc.models import Client


class DemoClientError(ValueError):
    """A demo client file that cannot be read or whose metadata is refused."""


def _read(path: Path) -> tuple[str, str, dict]:
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except (OSError, tomllib.TOMLDecodeError) as exc:
        raise DemoClientError(f"{path}: {exc}") from None
    client_id, secret, metadata = (
        data.get("client_id"),
        data.get("client_secret"),
        data.get("metadata"),
    )
    if not isinstance(client_id, str) or not 0 < len(client_id) <= 64:
        raise DemoClientError(f"{path}: client_id: must be a string of 1..64 characters")
    if not isinstance(secret, str) or len(secret) < 16:
        raise DemoClientError(f"{path}: client_secret: must be a string of at least 16")
    if not isinstance(metadata, dict):
        raise DemoClientError(f"{path}: [metadata]: the RFC 7591 client metadata is missing")
    return client_id, secret, metadata


def seed_demo_clients(session: Session, folder: Path, *, development: bool) -> int:
    """Create or update every client described in ``folder/*.toml`` with its fixed client_id and
    the hash of its fixed secret; return how many. The caller commits. Raises DemoClientError
    (naming the file) for a bad file and RuntimeError outside development."""
    if not development:
        raise RuntimeError("demo clients are refused in production: their secrets are public")
    count = 0
    for path in sorted(Path(folder).glob("*.toml")):
        client_id, secret, metadata = _read(path)
        try:
            client = clients.get(session, client_id)
            if client is None:
                checked = clients.validate_metadata(metadata, admin=True, development=True)
                client = Client(
                    client_id=client_id,
                    client_metadata=checked,
                    client_id_issued_at=utcnow(),
                )
                session.add(client)
            else:
                clients.update(session, client, metadata, admin=True, development=True)
        except clients.InvalidClientMetadata as exc:
            raise DemoClientError(f"{path}: {exc.description}") from None
        if not clients.uses_secret(client.client_metadata):
            raise DemoClientError(
                f"{path}: token_endpoint_auth_method: a demo client authenticates with its secret"
            )
        client.client_secret_hash = clients.hash_secret(secret)
        count += 1
    session.flush()
    return count
