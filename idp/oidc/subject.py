"""Subject identifiers (OpenID Connect Core section 8).

Pairwise by default: ``sub`` = base64url(HMAC-SHA256(secret, sector || person id)), so two
services cannot correlate a child by ``sub``. The sector is the host shared by the client's
redirect URIs (section 8.1); a person whose accounts in several cities are linked is one Person
and so keeps one ``sub`` per sector. Public subjects (the Person id) only for clients
registered with ``subject_type = "public"``.
"""

from __future__ import annotations

import hashlib
import hmac
from urllib.parse import urlsplit

from core.hashing import b64url


def sector_of(metadata: dict, client_id: str) -> str:
    """The sector identifier host of a client: its redirect URIs' host, else its client_id."""
    hosts = {
        urlsplit(uri).hostname or urlsplit(uri).scheme for uri in metadata.get("redirect_uris", [])
    }
    return hosts.pop() if len(hosts) == 1 else f"client:{client_id}"


def subject_for(person_id: str, metadata: dict, client_id: str, secret: bytes) -> str:
    """The ``sub`` a client sees for a person."""
    if metadata.get("subject_type") == "public":
        return person_id
    message = f"{sector_of(metadata, client_id)}\0{person_id}".encode()
    digest = hmac.new(secret, message, hashlib.sha256).digest()
    return b64url(digest)
