"""Which URIs a client may register (RFC 9700 section 2.1, RFC 8252 sections 7.1 and 7.3).

Absolute, lowercase scheme, no fragment, no wildcard, no user information; ``https`` with a host,
``http`` to a loopback IP (and to ``localhost`` only in development), or for native apps a
private-use scheme with a dot and a single slash (``fi.espoo.app:/cb``). Registered URIs are
later matched exactly (RFC 9700 section 4.1.3), so nothing here normalises them.
"""

from __future__ import annotations

import ipaddress
import re
from urllib.parse import SplitResult, urlsplit

MAX_URI = 2000
_SCHEME = re.compile(r"^[a-z][a-z0-9+.-]*$")


def _parts(uri: str) -> SplitResult:
    if len(uri) > MAX_URI or any(ch.isspace() or ch in "*#\\" for ch in uri):
        raise ValueError(f"{uri!r} has whitespace, a wildcard, a fragment or a backslash")
    try:
        parts = urlsplit(uri)
        parts.port  # noqa: B018 (a malformed port raises ValueError)
    except ValueError:
        raise ValueError(f"{uri!r} is not a valid URI") from None
    if not parts.scheme or not _SCHEME.match(uri.split(":", 1)[0]):
        raise ValueError(f"{uri!r} is not an absolute URI with a lowercase scheme")
    if "@" in parts.netloc:
        raise ValueError(f"{uri!r} carries user information")
    return parts


def is_loopback(host: str, *, development: bool) -> bool:
    """A loopback IP literal; ``localhost`` only in development (RFC 8252 section 8.3)."""
    if host == "localhost":
        return development
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def check_uri(uri: str, *, development: bool, native: bool = False, loopback: bool = True) -> str:
    """``uri`` when allowed, else ValueError: ``https`` with a host; ``http`` to loopback
    (RFC 8252 section 7.3) when ``loopback``; a private-use scheme (RFC 8252 section 7.1) when
    ``native``."""
    parts = _parts(uri)
    if parts.scheme == "https" and parts.hostname:
        return uri
    host = parts.hostname or ""
    if parts.scheme == "http" and loopback and is_loopback(host, development=development):
        return uri
    if native and "." in parts.scheme and not parts.netloc and parts.path.startswith("/"):
        return uri
    allowed = "https" + (", http to a loopback address" if loopback else "")
    if native:
        allowed += ", or a private-use scheme with a dot and one slash (fi.espoo.app:/cb)"
    raise ValueError(f"{uri!r} must use {allowed}")


def sector_of(uri: str) -> str:
    """The host of a web redirect URI, or the (reverse domain) scheme of a native one: the
    sector identifier of a pairwise client (OIDC Core section 8.1)."""
    parts = urlsplit(uri)
    return parts.hostname or parts.scheme
