"""What the broker knows about a city's OpenID Connect provider: its discovery document
(OpenID Connect Discovery 1.0) and its signing keys (JWKS), kept per process for a while.

Key rollover: a provider publishes its next key before signing with it, so an ID token whose
``kid`` is not in the cached JWKS makes the cache fetch the JWKS again, at once, but at most once
every ``REFETCH_INTERVAL`` seconds per provider (an unknown ``kid`` costs nobody a flood of
requests).
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from federation.connector import DirectoryUnavailable
from federation.oidc.settings import check_url
from federation.oidc.transport import Http

log = logging.getLogger("digione.federation.oidc")
REFETCH_INTERVAL = 30.0


@dataclass(frozen=True)
class ProviderMetadata:
    issuer: str
    authorization_endpoint: str
    token_endpoint: str
    jwks_uri: str
    userinfo_endpoint: str | None
    # RFC 9207: the provider names itself in every authorization response (``iss``).
    iss_parameter_supported: bool

    @classmethod
    def parse(cls, document: dict[str, Any], issuer: str) -> ProviderMetadata:
        if document.get("issuer") != issuer:  # Discovery 4.3: exactly the issuer configured
            raise DirectoryUnavailable("the discovery document names another issuer")
        endpoints = {}
        for name in ("authorization_endpoint", "token_endpoint", "jwks_uri", "userinfo_endpoint"):
            value = document.get(name)
            if value is None and name == "userinfo_endpoint":
                endpoints[name] = None
                continue
            if not isinstance(value, str):
                raise DirectoryUnavailable(f"the discovery document has no {name}")
            try:
                endpoints[name] = check_url(value)
            except ValueError as exc:
                raise DirectoryUnavailable(f"the discovery document's {name}: {exc}") from None
        return cls(
            issuer=issuer,
            iss_parameter_supported=document.get("authorization_response_iss_parameter_supported")
            is True,
            **endpoints,
        )


def discovery_url(issuer: str) -> str:
    return issuer.rstrip("/") + "/.well-known/openid-configuration"


@dataclass
class _Jwks:
    keys: list[dict[str, Any]]
    fetched_at: float


class ProviderCache:
    """Discovery documents by URL and JWKS by jwks_uri, each kept ``ttl`` seconds (thread-safe)."""

    def __init__(self, clock: Callable[[], float] = time.monotonic):
        self.clock = clock
        self._lock = threading.Lock()
        self._metadata: dict[str, tuple[ProviderMetadata, float]] = {}
        self._jwks: dict[str, _Jwks] = {}
        self._refetched: dict[str, float] = {}

    def metadata(
        self, issuer: str, http: Http, ttl: float, url: str | None = None
    ) -> ProviderMetadata:
        url = url or discovery_url(issuer)
        with self._lock:
            cached = self._metadata.get(url)
        if cached and cached[0].issuer == issuer and self.clock() - cached[1] < ttl:
            return cached[0]
        answer = http.send(url)
        if answer.status != 200:
            raise DirectoryUnavailable(f"discovery answered HTTP {answer.status}")
        metadata = ProviderMetadata.parse(answer.json(), issuer)
        with self._lock:
            self._metadata[url] = (metadata, self.clock())
        return metadata

    def keys(
        self, metadata: ProviderMetadata, http: Http, ttl: float, kid: str | None
    ) -> list[dict[str, Any]]:
        """The provider's published keys. When ``kid`` is not among them, the JWKS is fetched
        again (rate-limited) in case the provider has rolled its keys over."""
        uri = metadata.jwks_uri
        with self._lock:
            cached = self._jwks.get(uri)
        fresh = cached is None or self.clock() - cached.fetched_at >= ttl
        if fresh:
            cached = self._fetch(uri, http)
        if fresh or kid is None or any(key.get("kid") == kid for key in cached.keys):
            return cached.keys
        with self._lock:
            now = self.clock()
            if now - self._refetched.get(uri, float("-inf")) < REFETCH_INTERVAL:
                return cached.keys
            self._refetched[uri] = now
        log.info(
            "unknown key id, fetching the provider's keys again", extra={"event": {"jwks": uri}}
        )
        return self._fetch(uri, http).keys

    def _fetch(self, uri: str, http: Http) -> _Jwks:
        answer = http.send(uri)
        if answer.status != 200:
            raise DirectoryUnavailable(f"the JWKS answered HTTP {answer.status}")
        keys = answer.json().get("keys")
        if not isinstance(keys, list):
            raise DirectoryUnavailable("the JWKS has no keys")
        jwks = _Jwks([key for key in keys if isinstance(key, dict)], self.clock())
        with self._lock:
            self._jwks[uri] = jwks
        return jwks

    def forget(self) -> None:
        with self._lock:
            self._metadata.clear()
            self._jwks.clear()
            self._refetched.clear()


# One per process: connectors are made per request, what they learn lasts.
CACHE = ProviderCache()
