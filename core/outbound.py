"""The one HTTP client for every request the broker makes on someone else's behalf: a client's
JWK Set, a back-channel logout, a city's OpenID Connect discovery, keys and tokens.

A URL someone registered (a service, a city) can name any host, so each request is held to a
policy before a byte leaves (OWASP Server-Side Request Forgery Prevention Cheat Sheet):

- in production ``https`` only, and every address the host resolves to must be globally
  routable: no loopback, private (RFC 1918, IPv6 ULA), link-local (169.254.169.254, the cloud
  metadata address), shared (CGNAT, RFC 6598), multicast, reserved or unspecified address, nor
  one of those inside an IPv6 form (IPv4-mapped, NAT64, 6to4, Teredo). A city's provider on its
  own network is called only when the operator allows it for that city;
- the connection goes to the address that was checked (the TLS handshake still verifies the
  certificate for the host name), so a second DNS answer cannot turn the request inward;
- redirects are never followed: a 3xx is an answer the caller refuses;
- the body is capped and the whole exchange bounded in time.

The standard library only (http.client, socket, ssl): pinning the checked address needs the
connection in hand, which the higher-level clients hide.
"""

from __future__ import annotations

import functools
import http.client
import ipaddress
import socket
import ssl
import time
from dataclasses import dataclass, field
from urllib.parse import urlsplit

USER_AGENT = "DigiOne-broker"
MAX_BODY = 1024 * 1024
_NAT64 = ipaddress.ip_network("64:ff9b::/96")


class OutboundError(Exception):
    """A request that was not made or did not complete; ``str()`` is safe to log (no query)."""


class Refused(OutboundError):
    """The policy forbids the URL: nothing was sent."""


class Failed(OutboundError):
    """The request was allowed but did not complete (unreachable, TLS, timeout, too large)."""


@dataclass(frozen=True)
class Policy:
    """What a request may reach: ``https_only`` and ``public_only`` hold in production."""

    https_only: bool = True
    public_only: bool = True

    @classmethod
    def for_mode(cls, *, production: bool, internal: bool = False) -> Policy:
        """Production's policy (``internal``: the operator allowed a private address for this
        one destination), or development's, which lets tests and a laptop reach loopback."""
        if not production:
            return cls(https_only=False, public_only=False)
        return cls(https_only=True, public_only=not internal)


@dataclass(frozen=True)
class Response:
    status: int
    content_type: str
    body: bytes
    headers: dict[str, str] = field(default_factory=dict)

    @property
    def ok(self) -> bool:
        return 200 <= self.status < 300


def is_public(address: str) -> bool:
    """Whether an IP address is globally routable, looking inside IPv6 forms that carry an
    IPv4 address (mapped, NAT64, 6to4, Teredo)."""
    ip = ipaddress.ip_address(address.split("%", 1)[0])
    if isinstance(ip, ipaddress.IPv6Address):
        inner = ip.ipv4_mapped or ip.sixtofour or (ip.teredo[1] if ip.teredo else None)
        if inner is None and ip in _NAT64:
            inner = ipaddress.IPv4Address(int(ip) & 0xFFFFFFFF)
        if inner is not None:
            return is_public(str(inner))
    return ip.is_global and not (ip.is_multicast or ip.is_reserved or ip.is_unspecified)


def _where(url: str) -> str:
    """The URL without its query (it may carry a code or a token), for messages and logs."""
    return url.split("?", 1)[0]


def _target(url: str, policy: Policy) -> tuple[str, str, int]:
    """(scheme, host, port) of an allowed URL, else Refused."""
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError:
        raise Refused(f"{_where(url)!r} is not a valid URL") from None
    allowed = ("https",) if policy.https_only else ("https", "http")
    if parts.scheme not in allowed or not parts.hostname:
        raise Refused(f"{_where(url)!r} must be an {' or '.join(allowed)} URL with a host")
    if parts.username is not None or parts.password is not None:
        raise Refused(f"{_where(url)!r} carries user information")
    return parts.scheme, parts.hostname, port or (443 if parts.scheme == "https" else 80)


def _resolve(host: str, port: int, policy: Policy, *, unresolved_ok: bool = False) -> list[str]:
    """Every address ``host`` resolves to, each of which must pass the policy: Refused when one
    does not, or when none resolves (an empty list with ``unresolved_ok``)."""
    try:
        found = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except (OSError, UnicodeError) as exc:
        if unresolved_ok:
            return []
        raise Refused(f"{host!r} could not be resolved ({exc})") from None
    addresses = list(dict.fromkeys(info[4][0] for info in found))
    if policy.public_only:
        inward = [address for address in addresses if not is_public(address)]
        if inward:
            raise Refused(
                f"{host!r} resolves to an address that is not public ({inward[0]}): refused in"
                " production"
            )
    return addresses


def check(url: str, policy: Policy) -> str:
    """``url`` when the policy allows it (the scheme, and the addresses the host has now),
    else Refused: for registration, before a URL is stored. A name that does not resolve yet
    passes here; every request checks again."""
    _scheme, host, port = _target(url, policy)
    _resolve(host, port, policy, unresolved_ok=True)
    return url


class _PinnedHTTP(http.client.HTTPConnection):
    """A connection to ``address`` for a request to ``host`` (the Host header stays the name)."""

    def __init__(self, host: str, port: int, address: str, timeout: float):
        super().__init__(host, port, timeout=timeout)
        self._address = address

    def connect(self) -> None:
        self.sock = socket.create_connection((self._address, self.port), self.timeout)


class _PinnedHTTPS(http.client.HTTPSConnection):
    """TLS to ``address``, the certificate verified for ``host`` (SNI and name check)."""

    def __init__(self, host: str, port: int, address: str, timeout: float, context):
        super().__init__(host, port, timeout=timeout, context=context)
        self._address = address

    def connect(self) -> None:
        sock = socket.create_connection((self._address, self.port), self.timeout)
        self.sock = self._context.wrap_socket(sock, server_hostname=self.host)


@functools.cache
def tls_context(ca_file: str | None = None) -> ssl.SSLContext:
    """Certificate-verifying TLS settings, loaded once (loading the CA store is slow)."""
    return ssl.create_default_context(cafile=ca_file)


def request(
    url: str,
    policy: Policy,
    *,
    method: str = "GET",
    body: bytes | None = None,
    headers: dict[str, str] | None = None,
    timeout: float = 5.0,
    max_bytes: int = MAX_BODY,
    ca_file: str | None = None,
) -> Response:
    """Send one request under ``policy``; any status comes back (a 3xx is not followed).
    Refused when the policy forbids it, Failed when it does not complete within ``timeout``
    seconds in all or the body passes ``max_bytes``."""
    scheme, host, port = _target(url, policy)
    addresses = _resolve(host, port, policy)
    parts = urlsplit(url)
    path = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
    deadline = time.monotonic() + timeout
    sent = {"User-Agent": USER_AGENT, **(headers or {})}
    last: Exception | None = None
    for address in addresses:
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            break
        if scheme == "https":
            connection = _PinnedHTTPS(host, port, address, remaining, tls_context(ca_file))
        else:
            connection = _PinnedHTTP(host, port, address, remaining)
        try:
            connection.connect()
        except OSError as exc:  # this address is down: try the host's next one
            last = exc
            connection.close()
            continue
        try:
            connection.request(method, path, body=body, headers=sent)
            answer = connection.getresponse()
            return Response(
                answer.status,
                (answer.getheader("Content-Type") or "").split(";")[0].strip().lower(),
                _read(answer, connection, deadline, max_bytes, url),
                {name.lower(): value for name, value in answer.getheaders()},
            )
        except (OSError, http.client.HTTPException) as exc:
            raise Failed(f"{_where(url)}: {_reason(exc)}") from None
        finally:
            connection.close()
    raise Failed(f"{_where(url)}: {_reason(last) if last else 'timed out'}")


def _read(answer, connection, deadline: float, max_bytes: int, url: str) -> bytes:
    """The body, read against the overall deadline (a server dripping a byte at a time ends
    when the time is up) and the size cap."""
    chunks, size = [], 0
    while True:
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            raise Failed(f"{_where(url)}: timed out reading the answer")
        if connection.sock is not None:
            connection.sock.settimeout(remaining)
        chunk = answer.read1(65536)
        if not chunk:
            return b"".join(chunks)
        size += len(chunk)
        if size > max_bytes:
            raise Failed(f"{_where(url)}: the answer is larger than {max_bytes} bytes")
        chunks.append(chunk)


def _reason(exc: BaseException) -> str:
    """A short, value-free reason: refused, timed out, TLS, or the exception's kind."""
    if isinstance(exc, TimeoutError | socket.timeout):
        return "timed out"
    if isinstance(exc, ConnectionRefusedError):
        return "connection refused"
    if isinstance(exc, ssl.SSLCertVerificationError):
        return f"TLS certificate not accepted ({exc.verify_message})"
    if isinstance(exc, ssl.SSLError):
        return "TLS failure"
    return str(exc) or type(exc).__name__
