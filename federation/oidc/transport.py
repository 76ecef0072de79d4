"""HTTP towards a city's OpenID Connect provider: short timeouts, no redirects, small bodies.

Only the standard library (urllib): the broker needs no HTTP client package for this. Whatever
goes wrong on the way (refused, timed out, a 5xx, not JSON) is ``DirectoryUnavailable``; an
answer the provider meant (a 4xx with an OAuth error) is returned for the caller to judge.
"""

from __future__ import annotations

import functools
import json
import ssl
import urllib.error
import urllib.parse
import urllib.request
from dataclasses import dataclass
from typing import Any

from federation.connector import DirectoryUnavailable
from federation.oidc.settings import check_url

MAX_BODY = 1024 * 1024
USER_AGENT = "DigiOne-broker"


class _NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, req, fp, code, msg, headers, newurl):
        return None  # a 3xx is answered as an error below


@dataclass(frozen=True)
class Answer:
    status: int
    content_type: str
    body: bytes

    def json(self) -> dict[str, Any]:
        try:
            value = json.loads(self.body)
        except ValueError as exc:
            raise DirectoryUnavailable("the provider's answer is not JSON") from exc
        if not isinstance(value, dict):
            raise DirectoryUnavailable("the provider's answer is not a JSON object")
        return value


@dataclass(frozen=True)
class Http:
    timeout: float
    ca_file: str | None = None

    def _opener(self) -> urllib.request.OpenerDirector:
        return urllib.request.build_opener(
            _NoRedirect(), urllib.request.HTTPSHandler(context=_tls(self.ca_file))
        )

    def send(
        self,
        url: str,
        *,
        form: dict[str, str] | None = None,
        headers: dict[str, str] | None = None,
    ) -> Answer:
        """GET ``url`` (or POST ``form``); a 2xx or 4xx answer, else DirectoryUnavailable."""
        try:
            check_url(url)
        except ValueError as exc:
            raise DirectoryUnavailable(f"refusing to call {url!r}: not https") from exc
        data = urllib.parse.urlencode(form).encode() if form is not None else None
        request = urllib.request.Request(  # noqa: S310 - the scheme is checked above
            url,
            data=data,
            headers={"Accept": "application/json", "User-Agent": USER_AGENT, **(headers or {})},
        )
        try:
            with self._opener().open(request, timeout=self.timeout) as response:
                return self._read(response.status, response)
        except urllib.error.HTTPError as exc:
            with exc:
                if 400 <= exc.code < 500:
                    return self._read(exc.code, exc)
            raise DirectoryUnavailable(f"{_where(url)} answered HTTP {exc.code}") from None
        except (urllib.error.URLError, OSError, ValueError) as exc:
            reason = getattr(exc, "reason", exc)
            raise DirectoryUnavailable(f"{_where(url)} unreachable: {reason}") from None

    @staticmethod
    def _read(status: int, response) -> Answer:
        body = response.read(MAX_BODY + 1)
        if len(body) > MAX_BODY:
            raise DirectoryUnavailable("the provider's answer is too large")
        content_type = (response.headers.get("Content-Type") or "").split(";")[0].strip()
        return Answer(status, content_type.lower(), body)


@functools.cache
def _tls(ca_file: str | None) -> ssl.SSLContext:
    """Certificate-verifying TLS settings, loaded once (loading the CA store is slow)."""
    return ssl.create_default_context(cafile=ca_file)


def _where(url: str) -> str:
    """The URL without its query, for the log."""
    return url.split("?", 1)[0]
