"""Ending a single sign-on session everywhere: RP-Initiated Logout 1.0 (``end_session_endpoint``)
and Back-Channel Logout 1.0 (a signed logout token POSTed to every service of the session).

Both the broker's own sign-out button and a service's logout request end up in
idp.sso.frontends.end_everywhere, which asks every frontend, the OP through
:func:`session_ending`, for its part. Refresh tokens of the session die with it, except those
granted for ``offline_access`` (Back-Channel Logout 1.0 section 2.7).
"""

from __future__ import annotations

import logging
import secrets
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor

from sqlalchemy import select, update

from core.db import db, utcnow
from idp.oidc import oidc
from idp.oidc.models import Client, SessionClient, TokenFamily
from idp.sso.models import SsoSession

log = logging.getLogger("digione.logout")
EVENT = "http://schemas.openid.net/event/backchannel-logout"
DELIVERY_TIMEOUT = 3.0


class _NoRedirects(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args, **kwargs):  # a logout token is never forwarded
        return None


_OPENER = urllib.request.build_opener(_NoRedirects)


def logout_token(client: Client, person_id: str, sid: str) -> str:
    """The logout token (Back-Channel Logout 1.0 section 2.4) for one client."""
    state = oidc()
    minter = state.provider.minter()
    from federation.models import Person

    now = int(utcnow().timestamp())
    claims = {
        "iss": state.provider.issuer,
        "sub": minter.subject(db.session.get(Person, person_id), client),
        "aud": client.client_id,
        "iat": now,
        "exp": now + 120,
        "jti": secrets.token_urlsafe(16),
        "events": {EVENT: {}},
        "sid": sid,
    }
    alg = client.client_metadata.get("id_token_signed_response_alg") or "RS256"
    return minter.keys.sign_jwt(claims, use=alg.lower(), headers={"typ": "logout+jwt"})


def _deliver(uri: str, token: str, client_id: str) -> bool:
    body = urllib.parse.urlencode({"logout_token": token}).encode()
    request = urllib.request.Request(  # noqa: S310 - registered https (or loopback) URI
        uri,
        data=body,
        method="POST",
        headers={"Content-Type": "application/x-www-form-urlencoded"},
    )
    try:
        with _OPENER.open(request, timeout=DELIVERY_TIMEOUT) as response:
            ok = response.status in (200, 204)
    except (urllib.error.URLError, OSError, ValueError) as exc:
        ok = False
        log.warning(
            "back-channel logout not delivered",
            extra={"event": {"client_id": client_id, "error": type(exc).__name__}},
        )
    return ok


def session_ending(session_row: SsoSession) -> Callable[[], int] | None:
    """The OP's part in ending ``session_row`` (idp.sso.frontends.end_everywhere), in its
    transaction: revoke the session's online refresh tokens, forget which services it signed in
    to, and make each service's logout token. Returns the deliveries, to run once the end is
    committed; they return how many services acknowledged."""
    sid, person_id = session_row.sid, session_row.person_id
    db.session.execute(
        update(TokenFamily)
        .where(
            TokenFamily.sid == sid,
            TokenFamily.revoked_at.is_(None),
            TokenFamily.scope.not_like("%offline_access%"),
        )
        .values(revoked_at=utcnow(), revoked_reason="logout")
    )
    deliveries = []
    for client in db.session.scalars(
        select(Client).join(SessionClient).where(SessionClient.sid == sid)
    ):
        uri = client.client_metadata.get("backchannel_logout_uri")
        if uri:
            deliveries.append((uri, logout_token(client, person_id, sid), client.client_id))
    db.session.execute(SessionClient.__table__.delete().where(SessionClient.sid == sid))
    if not deliveries:
        return None
    return lambda: _deliver_all(deliveries)


def _deliver_all(deliveries: list[tuple[str, str, str]]) -> int:
    with ThreadPoolExecutor(max_workers=min(8, len(deliveries))) as pool:
        results = list(pool.map(lambda d: _deliver(*d), deliveries))
    log.info(
        "back-channel logout sent",
        extra={"event": {"services": len(deliveries), "acknowledged": sum(results)}},
    )
    return sum(results)
