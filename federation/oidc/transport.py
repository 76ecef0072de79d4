"""HTTP towards a city's OpenID Connect provider, through the broker's one outbound client
(core.outbound: in production https to a public address, or to the city's own network when the
operator allows it; no redirects; short timeouts; small bodies).

Whatever goes wrong on the way (refused by the policy, unreachable, timed out, a 3xx or 5xx,
not JSON) is ``DirectoryUnavailable``; an answer the provider meant (a 4xx with an OAuth error)
is returned for the caller to judge.
"""

from __future__ import annotations

import json
import urllib.parse
from dataclasses import dataclass
from typing import Any

from core import outbound
from federation.connector import DirectoryUnavailable
from federation.oidc.settings import check_url

MAX_BODY = outbound.MAX_BODY


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
    policy: outbound.Policy
    ca_file: str | None = None

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
            raise DirectoryUnavailable(f"refusing to call {_where(url)!r}: not https") from exc
        sent = {"Accept": "application/json", **(headers or {})}
        body = None
        if form is not None:
            body = urllib.parse.urlencode(form).encode()
            sent["Content-Type"] = "application/x-www-form-urlencoded"
        try:
            answer = outbound.request(
                url,
                self.policy,
                method="POST" if form is not None else "GET",
                body=body,
                headers=sent,
                timeout=self.timeout,
                max_bytes=MAX_BODY,
                ca_file=self.ca_file,
            )
        except outbound.Refused as exc:
            raise DirectoryUnavailable(f"refusing to call the provider: {exc}") from None
        except outbound.Failed as exc:
            raise DirectoryUnavailable(f"unreachable: {exc}") from None
        if answer.ok or 400 <= answer.status < 500:
            return Answer(answer.status, answer.content_type, answer.body)
        raise DirectoryUnavailable(f"{_where(url)} answered HTTP {answer.status}")


def _where(url: str) -> str:
    """The URL without its query, for the log."""
    return url.split("?", 1)[0]
